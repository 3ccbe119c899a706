"""Conformance checks of a backbone: features, config, determinism, gradients, no network access.

A case is a registered name (``simple_cnn``, a plugin's ``tiny_cnn``) or ``family/arch`` for a family
factory that takes an architecture first (``timm/resnet18``); ``backbone_cases`` expands a family through
its ``conformance_examples`` attribute. A backbone whose ``config.extra["fixed_input_size"]`` is true is
run at its own input size (and must refuse another one) instead of at 28 and 64 px. Every build uses
``pretrained=False`` and may not open a network connection.

Usage::

    from zoo.testing.backbones import BACKBONE_CHECKS, backbone_cases, check_backbone
    check_backbone("tiny_cnn")
    for case in backbone_cases(["timm"]):     # timm/resnet18, timm/convnext_atto, ...
        BACKBONE_CHECKS["features[1ch]"](case)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import torch

from zoo.backbones import BACKBONES, create_backbone
from zoo.backbones.base import BackboneConfig
from zoo.errors import PluginError
from zoo.testing.core import ConformanceError, label_of, no_network, one_thread, require


def backbone_cases(names: list[str] | None = None) -> list[str]:
    """Cases for ``names`` (default: every usable registered backbone), families expanded to ``family/arch``.

    A broken plugin stays a case: its checks then fail with the plugin's own one-line error.
    """
    cases = []
    for name in BACKBONES.names() if names is None else names:
        try:
            examples = getattr(BACKBONES.get(name.partition("/")[0]), "conformance_examples", None)
        except PluginError:
            examples = None
        if examples and "/" not in name:
            cases.extend(f"{name}/{arch}" for arch in examples)
        else:
            cases.append(name)
    return cases


def build(name: str, in_chans: int, seed: int = 0):
    """``create_backbone(name, in_chans=..., pretrained=False)`` on a fresh seed, offline."""
    torch.manual_seed(seed)
    with no_network(label_of("backbone", name)):
        return create_backbone(name, in_chans=in_chans, pretrained=False)


def sizes(backbone) -> list[tuple[int, int]]:
    """(H, W) to test: 28 and 64 px, or the one size a fixed-input backbone was built for."""
    if backbone.config.extra.get("fixed_input_size"):
        return [tuple(backbone.config.input_size[1:])]
    return [(28, 28), (64, 64)]


def _checked(check: Callable) -> Callable:
    @functools.wraps(check)
    def run(name: str, *args: Any, **kwargs: Any) -> Any:
        what = label_of("backbone", name)
        with one_thread(), no_network(what):
            return check(name, what, *args, **kwargs)

    return run


@_checked
def check_features(name: str, what: str, in_chans: int = 1) -> None:
    """``forward_features`` maps (2, C, H, W) to finite (2, num_features) for each test size."""
    bb = build(name, in_chans).eval()
    require(isinstance(bb.num_features, int) and bb.num_features > 0,
            f"{what}: num_features must be a positive int, got {bb.num_features!r}")
    for size in sizes(bb):
        with torch.no_grad():
            feats = bb.forward_features(torch.randn(2, in_chans, *size))  # (2, C, H, W) -> (2, D)
        require(isinstance(feats, torch.Tensor) and feats.shape == (2, bb.num_features),
                f"{what}: forward_features of a (2, {in_chans}, {size[0]}, {size[1]}) batch must be (2, num_features) "
                f"= (2, {bb.num_features}), got {tuple(getattr(feats, 'shape', ()))}; pool and flatten the last "
                "feature map")
        require(torch.isfinite(feats).all(), f"{what}: non-finite features at {size[0]}x{size[1]} px")
    if bb.config.extra.get("fixed_input_size"):  # another size must fail loudly, not give wrong features
        other = 64 if bb.config.input_size[-1] != 64 else 28
        try:
            bb.forward_features(torch.randn(2, in_chans, other, other))
        except Exception:  # noqa: BLE001 - any loud refusal will do
            return
        raise ConformanceError(f"{what} declares fixed_input_size but accepted {other}x{other} px inputs silently; "
                               "raise a one-line ConfigError naming the size it was built for")


@_checked
def check_config(name: str, what: str) -> None:
    """``config`` is a ``BackboneConfig`` describing a 1-channel build: size, mean/std, licence, weights."""
    bb = build(name, 1)
    cfg = bb.config
    require(isinstance(cfg, BackboneConfig), f"{what}: config must be a zoo.backbones.BackboneConfig, got {cfg!r}")
    require(isinstance(cfg.name, str) and cfg.name, f"{what}: config.name must be a non-empty string")
    require(len(cfg.input_size) == 3 and cfg.input_size[0] == 1 and all(int(s) > 0 for s in cfg.input_size),
            f"{what}: config.input_size must be (C, H, W) with C = in_chans = 1, got {cfg.input_size!r}")
    require(cfg.in_chans == 1,
            f"{what}: config.in_chans must be the in_chans it was built with (1), got {cfg.in_chans!r}")
    require(len(cfg.mean) == len(cfg.std) == 1, f"{what}: config.mean/std need one value per channel (1), "
                                                f"got {cfg.mean!r} / {cfg.std!r}")
    require(all(math.isfinite(m) for m in cfg.mean) and all(s > 0 for s in cfg.std),
            f"{what}: config.mean must be finite and config.std positive, got {cfg.mean!r} / {cfg.std!r}")
    require(isinstance(cfg.license, str) and cfg.license, f"{what}: config.license must name the licence")
    require(isinstance(cfg.weights, str) and cfg.weights, f"{what}: config.weights must say where weights come from")
    require(isinstance(cfg.to_dict(), dict), f"{what}: config.to_dict() must return a dict")
    require(len(bb.blocks()) >= 1, f"{what}: blocks() must list at least one module (input -> output)")


@_checked
def check_deterministic(name: str, what: str) -> None:
    """Two builds under one seed have identical weights."""
    a, b = build(name, 1, seed=123), build(name, 1, seed=123)
    sa, sb = a.state_dict(), b.state_dict()
    require(sa.keys() == sb.keys(), f"{what}: two builds have different state_dict keys")
    for key in sa:
        require(torch.equal(sa[key], sb[key]), f"{what}: '{key}' differs between two builds with one seed; initialise "
                                               "from torch's generator only")


@_checked
def check_gradients(name: str, what: str) -> None:
    """A loss on the features sends finite gradients to every trainable parameter."""
    bb = build(name, 1).train()
    x = torch.randn(2, 1, *sizes(bb)[0])
    feats = bb.forward_features(x)  # (2, D)
    (feats * torch.randn_like(feats)).sum().backward()  # random projection: no symmetric cancellation
    trainable = [(n, p) for n, p in bb.named_parameters() if p.requires_grad]
    require(trainable, f"{what} has no trainable parameters")
    missing = [n for n, p in trainable if p.grad is None]
    require(not missing, f"{what}: no gradient reaches {missing[:5]}; remove unused parameters or freeze them")
    require(all(torch.isfinite(p.grad).all() for _, p in trainable), f"{what}: non-finite gradients")
    require(any(p.grad.abs().sum() > 0 for _, p in trainable), f"{what}: every gradient is zero")


BACKBONE_CHECKS: dict[str, Callable[[str], None]] = {
    **{f"features[{c}ch]": functools.partial(check_features, in_chans=c) for c in (1, 3)},
    "config": check_config,
    "deterministic": check_deterministic,
    "gradients": check_gradients,
}


def check_backbone(name: str) -> None:
    """Run every backbone check on ``name`` (each example architecture of a family); the first failure raises.

    Usage::

        check_backbone("tiny_cnn")
    """
    for case in backbone_cases([name]):
        for check in BACKBONE_CHECKS.values():
            check(case)
