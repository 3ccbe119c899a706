"""The ``standard`` policy: flips flip, crops pad or zoom, rotations stay within ``degrees``."""

from __future__ import annotations

import torch

from zoo.augment import build_augment

STILL = {"scale": 0.0, "translate": 0.0, "degrees": 0.0}  # no crop, no rotation


def test_real_image_is_asymmetric(breast):
    assert not torch.equal(breast, breast.flip(-1)) and not torch.equal(breast, breast.flip(-2))


def test_flip_flips_exactly(breast):
    g = torch.Generator().manual_seed(0)
    assert torch.equal(build_augment("standard", flip_p=1.0, **STILL)(breast, g), breast.flip(-1))
    assert torch.equal(build_augment("standard", flip_p=0.0, **STILL)(breast, g), breast)
    assert torch.equal(build_augment("standard", flip_p=0.0, vflip_p=1.0, **STILL)(breast, g), breast.flip(-2))


def test_flip_is_drawn_per_sample(breast):
    out = build_augment("standard", flip_p=0.5, **STILL)(breast, torch.Generator().manual_seed(0))
    flipped = (out == breast.flip(-1)).flatten(1).all(1)  # (32,)
    kept = (out == breast).flatten(1).all(1)
    assert bool((flipped ^ kept).all())  # every sample is exactly one of the two
    assert 4 <= int(flipped.sum()) <= 28  # and both occur (seeded: 32 fair coins)


def test_zoom_out_pads_with_the_padding_mode():
    white = torch.full((16, 1, 28, 28), 255, dtype=torch.uint8)
    zoom_only = {"flip_p": 0.0, "scale": 0.5, "translate": 0.0, "degrees": 0.0}
    zeros = build_augment("standard", padding="zeros", **zoom_only)(white, torch.Generator().manual_seed(0))
    padded = zeros[:, 0, 0, 0] < 255  # zoom < 1: the image shrinks and black shows at the border
    assert 0 < int(padded.sum()) < 16
    assert bool((zeros[~padded] == 255).all())  # zoom >= 1 samples are crops of white: still all white
    assert int(zeros[padded, 0, 0, 0].min()) == 0  # the strongest zoom-outs have fully black corners
    border = build_augment("standard", padding="border", **zoom_only)(white, torch.Generator().manual_seed(0))
    assert bool((border == 255).all())


def _bar() -> torch.Tensor:
    image = torch.zeros(32, 1, 28, 28, dtype=torch.uint8)
    image[:, :, 13:15, 4:24] = 255  # a centred horizontal bar, 20 px long
    return image


def test_rotation_stays_within_degrees():
    turn = {"flip_p": 0.0, "scale": 0.0, "translate": 0.0}
    small = build_augment("standard", degrees=10, **turn)(_bar(), torch.Generator().manual_seed(0))
    # bar ends are 10 px from the centre: a 10 degree turn lifts them by <= 10 * sin(10 deg) ~ 1.7 px
    assert int(small[:, :, :10].sum()) == 0 and int(small[:, :, 18:].sum()) == 0
    assert not torch.equal(small, _bar())
    large = build_augment("standard", degrees=90, **turn)(_bar(), torch.Generator().manual_seed(0))
    assert int(large[:, :, :10].sum()) > 0  # steep angles do reach the top rows


def _centre_of_mass(images: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) -> (B, 2) intensity-weighted (row, column) centre, in pixels."""
    w = images.float()[:, 0]  # (B, H, W)
    rows = torch.arange(w.shape[1], dtype=torch.float32)
    total = w.sum((1, 2))
    return torch.stack([(w.sum(2) * rows).sum(1) / total, (w.sum(1) * rows).sum(1) / total], dim=1)


def _blob() -> torch.Tensor:
    image = torch.zeros(32, 1, 28, 28, dtype=torch.uint8)
    image[:, :, 11:17, 11:17] = 255  # a centred 6x6 square: centre of mass (13.5, 13.5)
    return image


def test_rotation_and_zoom_turn_about_the_centre():
    out = build_augment("standard", translate=0.0, degrees=30, scale=0.3)(_blob(), torch.Generator().manual_seed(0))
    assert not torch.equal(out, _blob())
    assert torch.allclose(_centre_of_mass(out), torch.full((32, 2), 13.5), atol=0.05)


def test_translation_stays_within_translate():
    out = build_augment("standard", translate=0.1, degrees=0, scale=0.0)(_blob(), torch.Generator().manual_seed(0))
    moved = _centre_of_mass(out) - 13.5  # (32, 2) pixels
    assert float(moved.abs().max()) <= 0.1 * 28 + 0.05  # at most 10% of the size along each axis
    assert float(moved.abs().max()) > 1.0 and float(moved[:, 0].std()) > 0.5 and float(moved[:, 1].std()) > 0.5
