"""The checkpoint format medzoo publishes, and loading it back as a ready-to-use classifier.

A checkpoint folder holds ``model.safetensors`` (the network's own keys, timm-style: a timm backbone's
keys as timm names them with the head under timm's classifier name, e.g. ``fc.weight``; other backbones
their own keys plus ``classifier.*``), ``config.json`` (timm's layout: ``architecture``, ``num_classes``,
``label_names``, ``pretrained_cfg`` with ``input_size``/``mean``/``std``/``classifier``, plus a ``medzoo``
block naming the medzoo backbone that rebuilds the network) and ``README.md`` (the model card).

Usage::

    folder = export_run(Path("medzoo-runs/runs/3f9c2a1b"), Path("out/ckpt"), record=record)
    model = load_pretrained_dir(folder)            # PretrainedModel: backbone + head + normalisation
    logits = model.predict_images(uint8_images)    # (N, C, H, W) uint8 -> (N, K), normalised as in training
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from zoo.errors import ConfigError, HubError
from zoo.hub.weights import read_state, sha256_file

FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
CARD = "README.md"


def _head_name(arch: str | None) -> str:
    """timm's classifier module name for ``arch`` (``fc`` for ResNets); ``classifier`` for non-timm backbones."""
    if not arch:
        return "classifier"
    from timm.models import get_pretrained_cfg_value

    head = get_pretrained_cfg_value(arch, "classifier") or "classifier"
    return head if isinstance(head, str) else head[0]


def base_backbone_spec(run_backbone: dict[str, Any], backbone_config: dict[str, Any]) -> dict[str, Any]:
    """The plain medzoo backbone (``{"name", **options}``) that rebuilds the run's network.

    A run that started from a Hub checkpoint (``medzoo:NAME``) names that checkpoint; its backbone
    records the plain spec it was built from in ``extra["base_backbone"]``.
    """
    base = (backbone_config.get("extra") or {}).get("base_backbone")
    if base:
        return dict(base)
    hub_only = {"revision", "endpoint", "trust_pickle", "sha256", "catalogue", "cache_dir"}
    return {k: v for k, v in run_backbone.items() if k not in hub_only}


def export_state(state: dict[str, torch.Tensor], arch: str | None) -> dict[str, torch.Tensor]:
    """Algorithm state (``backbone.*``, ``classifier.*``, others) -> the network's own timm-style keys."""
    prefix = "backbone.model." if arch else "backbone."
    head = _head_name(arch)
    out = {}
    for key, value in state.items():
        if key.startswith(prefix):
            out[key[len(prefix):]] = value.contiguous()
        elif key.startswith("classifier."):
            out[f"{head}.{key[len('classifier.'):]}"] = value.contiguous()
    return out  # anything else an algorithm owns (a discriminator, a second head) is not the published model


def export_run(run_dir: Path, out_dir: Path, record: dict[str, Any] | None = None,
               recipe: dict[str, Any] | None = None, name: str | None = None) -> Path:
    """Write ``model.safetensors``, ``config.json`` and ``README.md`` for the run saved in ``run_dir``."""
    from safetensors.torch import save_file

    from zoo.checkpoint import load_checkpoint
    from zoo.hub.card import render_model_card
    from zoo.version import __version__

    try:
        state, meta = load_checkpoint(run_dir)
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError(f"'{run_dir}' is not a finished medzoo run (model.safetensors + config.json): "
                          f"{type(err).__name__}") from None
    bcfg = meta.get("backbone") or {}
    spec = base_backbone_spec(meta["run"]["backbone"], bcfg)
    arch = (bcfg.get("extra") or {}).get("timm_arch")
    weights = export_state(state, arch)
    head = _head_name(arch)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(out_dir / WEIGHTS), metadata={"format": "pt"})
    sha = sha256_file(out_dir / WEIGHTS)
    labels = list(meta["label_names"])
    run = meta["run"]
    (target_name, target_spec), = run["task"]["target"].items()
    config = {
        "architecture": arch or spec["name"],
        "num_classes": len(labels),
        "num_features": int(weights[f"{head}.weight"].shape[1]),
        "label_names": labels,
        "pretrained_cfg": {
            "input_size": list(bcfg.get("input_size") or []),
            "mean": list(bcfg.get("mean") or []),
            "std": list(bcfg.get("std") or []),
            "interpolation": "bilinear",
            "crop_pct": 1.0,
            "classifier": head,
            "first_conv": "conv1" if arch else "conv_blocks.0.0",
            "num_classes": len(labels),
            "license": "cc-by-4.0",
        },
        "medzoo": {
            "format_version": FORMAT_VERSION,
            "name": name,
            "backbone": spec,
            "weights_sha256": sha,
            "medzoo_version": __version__,
            "run_id": record["run_id"] if record else run_dir.name,
            "trained_on": {"domain": target_name, **target_spec},
            "target_budget": run["task"]["target_budget"],
            "algorithm": run["algorithm"],
            "selection": meta.get("selection"),
            "train": run["train"],
            "seed": run["seed"],
            "recipe": recipe,
        },
    }
    (out_dir / CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    (out_dir / CARD).write_text(render_model_card(config, record), encoding="utf-8")
    return out_dir


def read_config(folder: Path, where: str) -> dict[str, Any]:
    try:
        return json.loads((folder / CONFIG).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise HubError(f"{where}: no readable config.json ({type(err).__name__}); a medzoo checkpoint has "
                       "model.safetensors + config.json") from None


def build_backbone_from(config: dict[str, Any], state: dict[str, torch.Tensor], where: str):
    """The medzoo backbone named by ``config["medzoo"]["backbone"]``, with the checkpoint's weights loaded.

    That backbone is a registered one (``zoo.backbones.factory``), never a Hub name: an export records the
    plain backbone a run's network was built from (``base_backbone_spec``).
    """
    from zoo.backbones.factory import create_registered, factory_of, factory_takes

    block = config.get("medzoo") or {}
    spec = dict(block.get("backbone") or {})
    if "name" not in spec:
        raise HubError(f"{where}: config.json has no medzoo.backbone; it was not written by medzoo "
                       "(load timm checkpoints as hf-hub:org/name)")
    cfg = config["pretrained_cfg"]
    channels, height, width = cfg["input_size"]
    options = {k: v for k, v in spec.items() if k != "name"}
    options.setdefault("in_chans", int(channels))
    if factory_takes(factory_of(spec["name"]), "image_size"):
        options.setdefault("image_size", int(height) if height == width else (int(height), int(width)))
    backbone = create_registered(spec["name"], **options)
    head = cfg.get("classifier", "classifier")
    body = {k: v for k, v in state.items() if not k.startswith(f"{head}.")}
    from zoo.backbones.timm_backbone import TimmBackbone

    target = backbone.model if isinstance(backbone, TimmBackbone) else backbone  # timm keys have no "model."
    try:
        target.load_state_dict(body, strict=True)
    except RuntimeError as err:
        first = str(err).replace("\n", " ")[:200]
        raise HubError(f"{where}: the weights do not fit backbone {spec['name']}: {first}") from None
    return backbone, spec


class PretrainedModel(nn.Module):
    """A published checkpoint as a classifier that normalises its own inputs.

    ``preprocess`` (uint8 (N, C, H, W) -> float) applies the checkpoint's mean/std; ``predict_images``
    runs it and the network. ``label_names[i]`` is the class of logit ``i``.
    """

    def __init__(self, backbone, classifier: nn.Linear, label_names: list[str], config: dict[str, Any]) -> None:
        super().__init__()
        from zoo.backbones.normalize import Normalizer

        self.backbone, self.classifier = backbone, classifier
        self.label_names = label_names
        self.config = config
        cfg = config["pretrained_cfg"]
        self.input_size = tuple(cfg["input_size"])
        self.preprocess = Normalizer(cfg["mean"], cfg["std"], int(cfg["input_size"][0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # normalised float (N, C, H, W) -> (N, K)
        return self.classifier(self.backbone.forward_features(x))

    @torch.no_grad()
    def predict_images(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (N, C, H, W) at the checkpoint's input size -> logits (N, K), in eval mode."""
        if tuple(images.shape[-2:]) != self.input_size[1:]:
            raise ConfigError(f"this checkpoint was trained on {self.input_size[1]}x{self.input_size[2]} px "
                              f"images, got {images.shape[-2]}x{images.shape[-1]}; resize them first")
        self.eval()
        return self(self.preprocess(images))


def load_pretrained_dir(folder: Path, trust_pickle: bool = False, where: str | None = None) -> PretrainedModel:
    """The checkpoint in ``folder`` (as written by ``export_run``) as a ``PretrainedModel``."""
    where = where or str(folder)
    config = read_config(folder, where)
    state = read_state(folder / WEIGHTS, trust_pickle, where)
    backbone, _ = build_backbone_from(config, state, where)
    head = config["pretrained_cfg"].get("classifier", "classifier")
    classifier = nn.Linear(int(config["num_features"]), int(config["num_classes"]))
    classifier.load_state_dict({"weight": state[f"{head}.weight"], "bias": state[f"{head}.bias"]})
    return PretrainedModel(backbone, classifier, list(config["label_names"]), config).eval()
