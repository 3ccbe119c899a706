"""Conformance of every registered backbone, generated from the registry (DESIGN principle 6).

Each name in ``BACKBONES`` is a case; a family factory (one taking an architecture first, like ``timm``)
is expanded into ``family/arch`` cases through its ``conformance_examples`` attribute. A plugin backbone
installed in the environment is picked up with no edit here.

A backbone whose ``config.extra["fixed_input_size"]`` is true (SimpleCNN's flatten size is fixed) is run
at its own input size instead of at 28 and 64 px.
"""

from __future__ import annotations

import math
import socket

import pytest
import torch

from zoo.backbones import BACKBONES, create_backbone
from zoo.backbones.base import BackboneConfig
from zoo.errors import PluginError


def _cases() -> list[str]:
    cases = []
    for name in BACKBONES.names():
        try:
            examples = getattr(BACKBONES.get(name), "conformance_examples", None)
        except PluginError:  # a broken plugin stays a case: its tests fail with the plugin's own error
            examples = None
        cases.extend(f"{name}/{arch}" for arch in examples) if examples else cases.append(name)
    return cases


CASES = _cases()


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("network access attempted while building a backbone")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def _build(name: str, in_chans: int, seed: int = 0):
    torch.manual_seed(seed)
    return create_backbone(name, in_chans=in_chans, pretrained=False)


def _sizes(backbone) -> list[tuple[int, int]]:
    """(H, W) to test: 28 and 64 px, or the one size a fixed-input backbone was built for."""
    if backbone.config.extra.get("fixed_input_size"):
        return [tuple(backbone.config.input_size[1:])]
    return [(28, 28), (64, 64)]


def test_registry_has_the_builtins():
    assert {"simple_cnn", "resnet18_28", "resnet50_28", "timm"} <= set(BACKBONES.names())
    assert any(case.startswith("timm/") for case in CASES)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("in_chans", [1, 3])
def test_builds_and_gives_finite_features(name, in_chans):
    bb = _build(name, in_chans).eval()
    assert isinstance(bb.num_features, int) and bb.num_features > 0
    for size in _sizes(bb):
        with torch.no_grad():
            feats = bb.forward_features(torch.randn(2, in_chans, *size))  # (2, C, H, W) -> (2, D)
        assert feats.shape == (2, bb.num_features), (name, size)
        assert torch.isfinite(feats).all(), (name, size)
    if bb.config.extra.get("fixed_input_size"):  # another size must fail loudly, not give wrong features
        other = 64 if bb.config.input_size[-1] != 64 else 28
        with pytest.raises(Exception):
            bb.forward_features(torch.randn(2, in_chans, other, other))


@pytest.mark.parametrize("name", CASES)
def test_config_fields(name):
    bb = _build(name, 1)
    cfg = bb.config
    assert isinstance(cfg, BackboneConfig)
    assert isinstance(cfg.name, str) and cfg.name
    assert len(cfg.input_size) == 3 and cfg.input_size[0] == 1 and all(int(s) > 0 for s in cfg.input_size)
    assert cfg.in_chans == 1
    assert len(cfg.mean) == len(cfg.std) == 1
    assert all(math.isfinite(m) for m in cfg.mean) and all(s > 0 for s in cfg.std)
    assert isinstance(cfg.license, str) and cfg.license
    assert isinstance(cfg.weights, str) and cfg.weights
    assert isinstance(cfg.to_dict(), dict)
    assert len(bb.blocks()) >= 1


@pytest.mark.parametrize("name", CASES)
def test_deterministic_under_seed(name):
    a, b = _build(name, 1, seed=123), _build(name, 1, seed=123)
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), f"{name}: '{key}' differs between two builds with one seed"


@pytest.mark.parametrize("name", CASES)
def test_gradients_reach_every_trainable_parameter(name):
    bb = _build(name, 1).train()
    x = torch.randn(2, 1, *_sizes(bb)[0])
    feats = bb.forward_features(x)  # (2, D)
    (feats * torch.randn_like(feats)).sum().backward()  # random projection: no symmetric cancellation
    trainable = [(n, p) for n, p in bb.named_parameters() if p.requires_grad]
    assert trainable
    missing = [n for n, p in trainable if p.grad is None]
    assert not missing, f"{name}: no gradient reaches {missing[:5]}"
    assert all(torch.isfinite(p.grad).all() for _, p in trainable)
    assert any(p.grad.abs().sum() > 0 for _, p in trainable)
