"""``intensity`` (gamma, window/level) on real X-rays and ``stain`` (HED jitter) on H&E-like RGB images."""

from __future__ import annotations

import pytest
import torch

from zoo.augment import build_augment
from zoo.augment.intensity import adjust_gamma, window_level
from zoo.augment.stain import HED_FROM_RGB, hed_to_rgb, rgb_to_hed
from zoo.errors import ConfigError

# -- intensity ----------------------------------------------------------------------------------------------


def test_gamma_one_and_no_window_is_identity(xray):
    g = torch.Generator().manual_seed(0)
    assert torch.equal(build_augment("intensity", gamma=1.0, window=0.0, p=1.0)(xray, g), xray)
    assert torch.equal(build_augment("intensity", gamma=3.0, window=0.3, p=0.0)(xray, g), xray)


def test_gamma_above_one_darkens_mid_greys():
    x = torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0]).view(1, 1, 1, 5)
    dark = adjust_gamma(x, torch.tensor([2.0]))
    assert torch.allclose(dark.flatten(), torch.tensor([0.0, 0.0625, 0.25, 0.5625, 1.0]))
    bright = adjust_gamma(x, torch.tensor([0.5]))
    assert bool((bright.flatten()[1:4] > x.flatten()[1:4]).all())


def test_gamma_policy_darkens_or_brightens_each_xray_as_a_whole(xray):
    out = build_augment("intensity", gamma=2.0, window=0.0, p=1.0)(xray, torch.Generator().manual_seed(0))
    diff = out.int() - xray.int()  # (32, 1, 28, 28)
    darker = (diff <= 0).flatten(1).all(1)
    brighter = (diff >= 0).flatten(1).all(1)
    assert bool((darker | brighter).all())  # one gamma per sample: a monotone change of every pixel
    assert int(darker.sum()) > 0 and int(brighter.sum()) > 0  # gamma drawn on both sides of 1


def test_window_level_stretches_and_clips():
    x = torch.tensor([0.0, 0.1, 0.5, 0.9, 1.0]).view(1, 1, 1, 5)
    out = window_level(x, torch.tensor([0.1]), torch.tensor([0.9]))
    assert torch.allclose(out.flatten(), torch.tensor([0.0, 0.0, 0.5, 1.0, 1.0]))


def test_window_policy_is_a_monotone_contrast_stretch(xray):
    out = build_augment("intensity", gamma=1.0, window=0.3, p=1.0)(xray, torch.Generator().manual_seed(0))
    for before, after in zip(xray.flatten(1), out.flatten(1)):  # 32 samples: a check, not the augmentation
        order = before.argsort()
        assert bool((after[order].diff() >= 0).all())  # brighter stays brighter
    assert float(out.float().std()) > float(xray.float().std())  # contrast went up


# -- stain --------------------------------------------------------------------------------------------------

# skimage 0.26: hed_from_rgb, and rgb2hed of four pixels (skimage divides by -log(1e-6) and clips at 0).
SKIMAGE_HED_FROM_RGB = torch.tensor([[1.8779827369, -1.0076786863, -0.5561158182],
                                     [-0.0659080622, 1.1347303725, -0.1355217986],
                                     [-0.6019073634, -0.4804141885, 1.573588072]], dtype=torch.float64)
PIXELS = torch.tensor([[255, 255, 255], [200, 120, 180], [60, 40, 120], [0, 0, 0]], dtype=torch.float64)
SKIMAGE_RGB2HED = torch.tensor([[0.0, 0.0, 0.0], [0.0142535975, 0.0320787706, 0.0224988092],
                                [0.1550070132, 0.0203976827, 0.0094410814], [1.2101673112, 0.0, 0.8819504551]],
                               dtype=torch.float64)


def test_hed_matches_skimage():
    assert torch.allclose(HED_FROM_RGB, SKIMAGE_HED_FROM_RGB, atol=1e-9)
    rgb = (PIXELS / 255).T.reshape(1, 3, 1, 4)  # (1, 3, 1, 4)
    hed = rgb_to_hed(rgb).reshape(3, 4).T  # (4, 3)
    skimage_units = (hed / -torch.log(torch.tensor(1e-6, dtype=torch.float64))).clamp(min=0)
    assert torch.allclose(skimage_units, SKIMAGE_RGB2HED, atol=1e-9)


def test_zero_sigma_is_a_near_identity_round_trip(he_rgb):
    x = he_rgb.float() / 255
    assert float((hed_to_rgb(rgb_to_hed(x)) - x).abs().max()) < 1e-5
    out = build_augment("stain", sigma=0.0)(he_rgb, torch.Generator().manual_seed(0))
    assert int((out.int() - he_rgb.int()).abs().max()) <= 1


def test_jitter_changes_stain_statistics_per_sample(he_rgb):
    sigma = 0.2
    out = build_augment("stain", sigma=sigma)(he_rgb, torch.Generator().manual_seed(0))
    hed_in = rgb_to_hed(he_rgb.double() / 255)  # (32, 3, 28, 28)
    hed_out = rgb_to_hed(out.double() / 255)
    unclipped = ((out > 2) & (out < 253)).all(1)  # (32, 28, 28): pixels whose RGB was not clipped
    slopes = []
    for s in range(len(he_rgb)):
        for c in range(2):  # H and E: hed_out = alpha * hed_in + beta on unclipped pixels
            a, b = hed_in[s, c][unclipped[s]], hed_out[s, c][unclipped[s]]
            slope = ((a - a.mean()) * (b - b.mean())).sum() / ((a - a.mean()) ** 2).sum()
            shift = b.mean() - slope * a.mean()
            assert 1 - sigma - 0.05 <= float(slope) <= 1 + sigma + 0.05
            assert -sigma - 0.05 <= float(shift) <= sigma + 0.05
            slopes.append(float(slope))
    assert max(slopes) - min(slopes) > sigma  # different samples and stains got different scales
    mean_in, mean_out = hed_in[:, :2].mean((2, 3)), hed_out[:, :2].mean((2, 3))  # (32, 2)
    assert float((mean_out - mean_in).abs().min()) > 1e-3  # every sample's H and E means moved


def test_stain_on_grayscale_is_a_one_line_config_error(breast):
    with pytest.raises(ConfigError) as info:
        build_augment("stain")(breast, torch.Generator().manual_seed(0))
    assert "\n" not in str(info.value) and "3 channels" in str(info.value) and "got 1" in str(info.value)
