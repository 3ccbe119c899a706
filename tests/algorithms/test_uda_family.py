"""The adaptation family's shared structure (zoo.algorithms.uda): what is aligned, parameter groups, CDAN's map."""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo.algorithms import ALGORITHMS
from zoo.errors import ConfigError

X = torch.randn(6, 1, 28, 28, generator=torch.Generator().manual_seed(0))


def _build(name: str, num_classes: int = 3, **hparams):
    torch.manual_seed(0)
    return ALGORITHMS.get(name)(zoo.create_backbone("simple_cnn", in_chans=1), num_classes, hparams)


@pytest.mark.parametrize("name", ["coral", "dan", "mcc", "m3sda"])
def test_moment_matching_methods_align_the_backbone_features_by_default(name):
    algo = _build(name).eval()
    assert algo.features_dim == algo.backbone.num_features == 512
    with torch.no_grad():
        assert torch.equal(algo.features(X), algo.backbone.forward_features(X))  # no extra layer: weight 0 = ERM
    assert [g["name"] for g in algo.param_groups()] == ["backbone", "head"]


@pytest.mark.parametrize("name", ["dann", "cdan"])
def test_adversarial_methods_align_a_batchnorm_bottleneck_the_head_reads(name):
    algo = _build(name)
    assert algo.features_dim == 256 and algo.classifier.in_features == 256
    assert algo.features(X).shape == (6, 256)
    assert algo.predict(X).shape == (6, 3)
    groups = {g["name"]: g for g in algo.param_groups()}
    assert set(groups) == {"backbone", "head", "bottleneck", "discriminator"}
    assert groups["bottleneck"]["params"] == list(algo.bottleneck.parameters())
    plain = _build(name, bottleneck_dim=0)
    assert plain.features_dim == 512 and "bottleneck" not in {g["name"] for g in plain.param_groups()}


def test_backbone_lr_multiplier_applies_to_the_backbone_group_only():
    groups = {g["name"]: g["lr_mult"] for g in _build("dann", backbone_lr_mult=0.1).param_groups()}
    assert groups == {"backbone": 0.1, "head": 1.0, "bottleneck": 1.0, "discriminator": 1.0}


@pytest.mark.parametrize("num_classes, bottleneck, chosen, expected_map", [
    (3, 256, "auto", None),  # 768 <= 4096: the full multilinear map
    (20, 256, "auto", "randomized"),  # 5120 > 4096: randomized (Eq. 6)
    (3, 0, "auto", None),  # 1536
    (9, 0, "auto", "randomized"),  # 4608
    (3, 256, "randomized", "randomized"),
    (20, 256, "full", None),
])
def test_cdan_picks_the_multilinear_map_as_eq_6(num_classes, bottleneck, chosen, expected_map):
    algo = _build("cdan", num_classes, bottleneck_dim=bottleneck, map=chosen)
    rmap = algo.domain_loss.map
    assert (rmap is not None) == (expected_map == "randomized")
    first = algo.domain_loss.adversarial.discriminator.net[0]
    assert first.in_features == (rmap.output_dim if rmap is not None else algo.features_dim * num_classes)
    out = algo.training_step((X, torch.tensor([0, 1, 2, 0, 1, 2]) % num_classes), (X + 0.5, None))
    assert torch.isfinite(out["loss"])


def test_dann_follows_the_runner_progress_with_its_warm_start():
    algo = _build("dann")
    coeffs = []
    for step in (0, 50, 99):
        algo.set_progress(step, 100)
        coeffs.append(float(algo.training_step((X, torch.zeros(6, dtype=torch.long)), (X, None))["grl_coeff"]))
    assert coeffs[0] == 0.0 and 0.98 < coeffs[1] < coeffs[2] < 1.0


def test_ccsa_needs_target_labels_and_verifies_at_half_its_margin():
    algo = _build("ccsa", margin=1.4)
    assert algo.verification_threshold == pytest.approx(0.7)
    with pytest.raises(ConfigError, match="target_budget is 0"):
        algo.stages(algo.hparams, 0.0)
    assert [s.data for s in algo.stages(algo.hparams, 0.1)] == ["source+target_labeled"]
