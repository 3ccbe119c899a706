"""Acquisition shifts: the math of each corruption, determinism, and the domain-level contract."""

from __future__ import annotations

import logging

import pytest
import torch
import torchvision.transforms.functional as TF

from zoo.datasets.base import Domain, Split
from zoo.datasets.shift import SHIFTS, apply_shift, modality_group, shift_domain, suitable_shifts
from zoo.datasets.synthetic import synthetic_domain
from zoo.errors import ConfigError

RAMP = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)  # every intensity once


def _images(n=64, c=1, size=32, seed=0):
    return torch.randint(0, 256, (n, c, size, size), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def test_required_shifts_exist():
    for name in ("gamma", "contrast", "gaussian_blur", "gaussian_noise", "speckle_noise", "resolution", "bias_field"):
        assert name in SHIFTS and len(SHIFTS[name].params) == 5


@pytest.mark.parametrize("name", ["gamma", "gamma_down"])
@pytest.mark.parametrize("severity", [1, 3, 5])
def test_gamma_follows_the_formula(name, severity):
    gamma = SHIFTS[name].params[severity - 1]
    out = apply_shift(RAMP, name, severity)
    expected = (255.0 * (torch.arange(256.0) / 255.0) ** gamma).round()
    assert torch.equal(out.flatten().float(), expected)
    reference = TF.adjust_gamma(RAMP, gamma)  # torchvision (MedMNIST-C's call) truncates instead of rounding
    assert (out.int() - reference.int()).abs().max() <= 1


@pytest.mark.parametrize("channels", [1, 3])
def test_contrast_blends_with_the_gray_mean_like_torchvision(channels):
    images = _images(c=channels)
    for severity in (1, 5):
        factor = SHIFTS["contrast"].params[severity - 1]
        out = apply_shift(images, "contrast", severity)
        reference = TF.adjust_contrast(images, factor)
        assert (out.int() - reference.int()).abs().max() <= 1
    assert apply_shift(images, "contrast", 5).float().std() < images.float().std()


def test_noise_std_grows_with_severity_and_is_seeded():
    flat = torch.full((32, 1, 32, 32), 128, dtype=torch.uint8)
    for name in ("gaussian_noise", "speckle_noise", "shot_noise", "impulse_noise"):
        stds = [(apply_shift(flat, name, s).float() - 128).std().item() for s in range(1, 6)]
        assert stds == sorted(stds) and stds[0] > 0, name
        assert torch.equal(apply_shift(flat, name, 3, seed=7), apply_shift(flat, name, 3, seed=7))
        assert not torch.equal(apply_shift(flat, name, 3, seed=7), apply_shift(flat, name, 3, seed=8))
    sigma = SHIFTS["gaussian_noise"].params[2]
    measured = (apply_shift(flat, "gaussian_noise", 3).float() - 128).std().item() / 255
    assert abs(measured - sigma) < 0.01


def test_speckle_is_multiplicative():
    dark = torch.zeros((4, 1, 16, 16), dtype=torch.uint8)
    assert torch.equal(apply_shift(dark, "speckle_noise", 5), dark)  # no signal, no speckle


@pytest.mark.parametrize("size", [64, 224])
def test_blur_preserves_the_mean_and_smooths(size):
    images = _images(n=8, c=3, size=size)
    out = apply_shift(images, "gaussian_blur", 5)
    assert abs(out.float().mean() - images.float().mean()) < 0.5
    assert out.float().std() < 0.6 * images.float().std()
    flat = torch.full((2, 1, size, size), 77, dtype=torch.uint8)
    assert torch.equal(apply_shift(flat, "gaussian_blur", 5), flat)


def test_resolution_keeps_size_and_removes_detail():
    images = _images(n=4, size=28)
    for name in ("resolution", "pixelate"):
        out = apply_shift(images, name, 5)
        assert out.shape == images.shape
        assert out.float().std() < images.float().std()
    # the pixelate look: a 0.35 x 28 = 10 px image upsampled with nearest has at most 10 distinct rows
    assert len(torch.unique(apply_shift(images, "pixelate", 5)[0, 0], dim=0)) <= 10


def test_bias_field_is_smooth_and_keeps_brightness():
    flat = torch.full((16, 1, 64, 64), 120, dtype=torch.uint8)
    out = apply_shift(flat, "bias_field", 5, seed=0).float()
    assert abs(out.mean() - 120) < 3  # mean gain 1
    assert out.std() > 3  # but inhomogeneous
    steps = (out[:, :, :, 1:] - out[:, :, :, :-1]).abs().mean(dim=(1, 2, 3))  # (N,) mean neighbour step
    assert (steps / out.std(dim=(1, 2, 3))).max() < 0.3  # smooth: white noise would give about 1.1


def test_unknown_shift_and_bad_severity():
    dom = synthetic_domain()
    with pytest.raises(ConfigError, match="unknown shift 'gama'; did you mean 'gamma'.*available: gamma, "):
        shift_domain(dom, "gama", 3)
    for bad in (0, 6, 2.5, True, "3"):
        with pytest.raises(ConfigError, match="severity must be an integer 1..5"):
            shift_domain(dom, "gamma", bad)


def _domain(modality):
    split = Split(_images(n=12, size=28), torch.arange(12) % 2)
    return Domain("d", {"train": split, "val": split, "test": split}, ["a", "b"], modality, "x", "")


def test_shift_domain_is_fixed_per_split_and_recorded():
    dom = _domain("chest X-ray")
    a = shift_domain(dom, "gaussian_noise", 2, seed=3)
    b = shift_domain(dom, "gaussian_noise", 2, seed=3)
    assert torch.equal(a.splits["train"].images, b.splits["train"].images)  # a fixed target scanner
    assert not torch.equal(a.splits["train"].images, a.splits["val"].images)  # per-split noise draws
    assert torch.equal(a.splits["train"].labels, dom.splits["train"].labels)
    assert a.name == "d_gaussian_noise2"
    assert a.info["shift"] == {"name": "gaussian_noise", "severity": 2, "seed": 3, "param": 0.08,
                               "source": "MedMNIST-C gaussian_noise"}


def test_modality_table_and_warning(caplog):
    assert [modality_group(m) for m in ("chest X-ray", "abdominal CT", "MRI", "ultrasound", "OCT", "fundus",
                                        "histopathology", "blood cell microscopy", "dermatoscopy", "unknown")] == \
        ["xray", "ct", "mri", "ultrasound", "oct", "fundus", "histopathology", "microscopy", "dermatoscopy", None]
    assert "bias_field" in suitable_shifts("MRI") and "bias_field" not in suitable_shifts("ultrasound")
    assert "speckle_noise" in suitable_shifts("ultrasound") and "gamma" not in suitable_shifts("ultrasound")
    with caplog.at_level(logging.WARNING, logger="zoo.datasets.shift"):
        shift_domain(_domain("ultrasound"), "speckle_noise", 1)
        assert not caplog.records
        shift_domain(_domain("ultrasound"), "bias_field", 1)
    assert any("not typical for ultrasound" in r.getMessage() for r in caplog.records)


def test_blur_at_28px_warns_that_it_is_weak(caplog):
    with caplog.at_level(logging.WARNING, logger="zoo.datasets.shift"):
        shift_domain(_domain("abdominal CT"), "gaussian_blur", 1)
    assert any("barely changes" in r.getMessage() for r in caplog.records)


def test_rejects_non_uint8():
    with pytest.raises(ValueError, match="uint8"):
        apply_shift(torch.zeros(2, 1, 8, 8), "gamma", 1)
