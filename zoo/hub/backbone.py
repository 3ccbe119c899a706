"""Backbones from Hub checkpoints: ``medzoo:NAME[@REV]`` (medzoo's own) and ``hf-hub:org/name[@REV]`` (timm's).

``zoo.create_backbone`` routes these names here. The checkpoint is pulled (``zoo.hub.pull``: cached,
sha256-checked, safetensors only unless ``trust_pickle``), the network rebuilt and its weights loaded.
The backbone's ``config`` carries the checkpoint's mean/std, input size and label names, and the runner
normalises with ``config.mean/std``: a model started from a checkpoint is always fed as it was trained.
A medzoo checkpoint is refused for images of another size or channel count (that would be silent
distribution shift); a timm checkpoint has its first conv adapted to ``in_chans`` as timm does.

Usage::

    net = zoo.create_backbone("medzoo:resnet18_28-pneumoniamnist")      # in a suite:
    # backbone: {name: "medzoo:resnet18_28-pneumoniamnist"}
    net = zoo.create_backbone("hf-hub:MahmoodLab/UNI", trust_pickle=False)
"""

from __future__ import annotations

import json
from typing import Any

from zoo.errors import ConfigError, HubError


def _check_sha(pulled, sha256: str | None, name: str) -> None:
    if sha256 and pulled.sha256 != sha256:
        raise HubError(f"backbone '{name}': weights sha256 {pulled.sha256} differ from the pinned {sha256}; "
                       "pin a revision, or update the sha256 option")


def _medzoo_backbone(name: str, in_chans: int | None, image_size: Any, pulled, trust_pickle: bool):
    from zoo.hub.export import WEIGHTS, build_backbone_from, read_config
    from zoo.hub.weights import read_state

    where = f"backbone '{name}'"
    config = read_config(pulled.folder, where)
    cfg = config["pretrained_cfg"]
    channels, height, width = (int(v) for v in cfg["input_size"])
    size = image_size if isinstance(image_size, (list, tuple)) else (image_size, image_size)
    if (in_chans is not None and in_chans != channels) or (image_size is not None and tuple(size) != (height, width)):
        got = f"{in_chans or channels}x{size[0] if image_size is not None else height}px"
        raise ConfigError(f"{where} was trained on {channels}-channel {height}x{width} px images with mean "
                          f"{cfg['mean']} / std {cfg['std']}, but this task feeds {got}; set image_size: {height} and "
                          f"channels: {channels} in the suite defaults")
    backbone, spec = build_backbone_from(config, read_state(pulled.folder / WEIGHTS, trust_pickle, where), where)
    bc = backbone.config
    bc.mean, bc.std = tuple(cfg["mean"]), tuple(cfg["std"])
    bc.license = str(cfg.get("license", bc.license))
    bc.weights = f"{name.partition('@')[0]}@{pulled.commit} (sha256 {pulled.sha256})"
    bc.extra = {**bc.extra, "base_backbone": spec, "label_names": config["label_names"],
                "checkpoint": {"repo": pulled.repo, "commit": pulled.commit, "sha256": pulled.sha256}}
    return backbone


def _timm_backbone(name: str, in_chans: int | None, pulled, trust_pickle: bool, timm_kwargs: dict[str, Any]):
    from zoo.backbones.timm_backbone import create_timm_backbone, load_state_into, per_channel
    from zoo.hub.weights import read_state

    where = f"backbone '{name}'"
    config = json.loads((pulled.folder / "config.json").read_text(encoding="utf-8"))
    arch = config.get("architecture")
    if not arch:
        raise HubError(f"{where}: config.json names no 'architecture'; it is not a timm checkpoint")
    cfg = dict(config.get("pretrained_cfg") or {})
    kwargs = {**(config.get("model_args") or {}), **(pulled.entry.info.get("timm_kwargs") if pulled.entry else {}),
              **timm_kwargs}
    chans = in_chans or int((cfg.get("input_size") or [3])[0])
    backbone = create_timm_backbone(arch, in_chans=chans, pretrained=False, **kwargs)
    load_state_into(backbone.model, read_state(pulled.folder / pulled.weights, trust_pickle, where), chans, where)
    bc = backbone.config
    if cfg.get("mean") and cfg.get("std"):
        bc.mean, bc.std = per_channel(cfg["mean"], chans), per_channel(cfg["std"], chans)
    if cfg.get("input_size"):
        bc.input_size = (chans, *[int(v) for v in cfg["input_size"][1:]])
    bc.name = name
    bc.license = str(cfg.get("license") or (pulled.entry.licence if pulled.entry else "unknown"))
    bc.weights = f"{name.partition('@')[0]}@{pulled.commit} (sha256 {pulled.sha256})"
    bc.extra = {**bc.extra, "base_backbone": {"name": f"timm/{arch}", **kwargs},
                "checkpoint": {"repo": pulled.repo, "commit": pulled.commit, "sha256": pulled.sha256}}
    return backbone


def create_hub_backbone(name: str, in_chans: int | None = None, pretrained: bool = True, image_size: Any = None,
                        revision: str | None = None, endpoint: str | None = None, trust_pickle: bool = False,
                        sha256: str | None = None, catalogue: str | None = None, cache_dir: str | None = None,
                        **timm_kwargs: Any):
    """The backbone of checkpoint ``name`` (``medzoo:...`` or ``hf-hub:...``), weights loaded.

    Usage::

        net = create_hub_backbone("medzoo:simple_cnn-pneumoniamnist", in_chans=1, image_size=28)
    """
    from zoo.hub.pull import pull

    if not pretrained:
        raise ConfigError(f"backbone '{name}' is a pretrained checkpoint; drop pretrained=False, or use its "
                          "architecture by name to start from random weights")
    prefix, _, ref = name.partition(":")
    if not ref:
        raise ConfigError(f"backbone '{name}': write {prefix}:NAME (a catalogue name or org/repo), optionally @REV")
    if revision and "@" in ref:
        raise ConfigError(f"backbone '{name}': give the revision once (NAME@REV or revision=...)")
    pulled = pull(ref if not revision else f"{ref}@{revision}", endpoint=endpoint, cache_dir=cache_dir,
                  trust_pickle=trust_pickle, catalogue=catalogue)
    _check_sha(pulled, sha256, name)
    if prefix == "medzoo":
        if timm_kwargs:
            raise ConfigError(f"backbone '{name}' takes no options {', '.join(sorted(timm_kwargs))}")
        return _medzoo_backbone(name, in_chans, image_size, pulled, trust_pickle)
    return _timm_backbone(name, in_chans, pulled, trust_pickle, timm_kwargs)
