"""A shift's severity means the same at every native size: shifts are applied at the size the run trains on.

Before, a domain was shifted at its native size and then resized: Gaussian noise of severity 4 (sigma 0.16,
40.8 grey levels) added to 64 px brain MRI arrived at 28 px with about 12 grey levels, a severity 1. Here a
domain of flat mid-grey images (so that resizing leaves the image itself unchanged) is built at native
sizes 28, 64 and 128 and trained at 28 px (and 64 px); the noise measured on what the network sees must be
the nominal sigma of every severity, up to clipping at 0 and 255 and rounding, which the expected value
includes. The last test shows the measurement would catch the old order.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from zoo.bench.task_data import build_task_data
from zoo.datasets.shift import SHIFTS, apply_shift

GREY = 128


def _expected_std(sigma: float, n: int = 400_000) -> float:
    """Std of round(clip(128 + N(0, 255 sigma))), the uint8 noise a flat grey image carries."""
    rng = np.random.default_rng(0)
    return float(np.clip(np.round(GREY + 255 * sigma * rng.standard_normal(n)), 0, 255).std())


def _flat_npz(tmp_path, size: int):
    path = tmp_path / f"flat{size}.npz"
    images = np.full((300, size, size), GREY, dtype=np.uint8)
    np.savez(path, images=images, labels=np.arange(300) % 2, label_names=np.array(["a", "b"]))
    return path


def _config(path, severity: int, image_size: int):
    spec = {"dataset": "npz", "path": str(path), "val": 0.1, "test": 0.2, "seed": 0}
    return {"task": {"sources": {"src": {**spec, "partition": {"part": 0, "of": 2}}},
                     "target": {"tgt": {**spec, "partition": {"part": 1, "of": 2},
                                        "shift": {"name": "gaussian_noise", "severity": severity}}},
                     "target_budget": 0, "label_map": None},
            "seed": 0, "image_size": image_size, "channels": None}


@pytest.mark.parametrize("trained", [28, 64])
@pytest.mark.parametrize("native", [28, 64, 128])
def test_noise_has_its_nominal_sigma_at_the_trained_size(tmp_path, native, trained):
    path = _flat_npz(tmp_path, native)
    for severity in range(1, 6):
        data = build_task_data(_config(path, severity, trained))
        images = data.target.splits["train"].images  # (N, 1, trained, trained) uint8
        assert images.shape[-1] == trained
        measured = images.float().std().item()
        expected = _expected_std(SHIFTS["gaussian_noise"].param(severity, trained))
        assert measured == pytest.approx(expected, rel=0.03), (native, trained, severity, measured, expected)


def test_the_old_order_would_have_been_caught():
    """Noise added at 64 px, then resized to 28 px: about a third of the nominal sigma survives."""
    flat = torch.full((200, 1, 64, 64), GREY, dtype=torch.uint8)
    noisy = apply_shift(flat, "gaussian_noise", 4, seed=0)
    small = F.interpolate(noisy.float(), size=(28, 28), mode="bilinear", antialias=True).round()
    assert small.std().item() < 0.5 * _expected_std(SHIFTS["gaussian_noise"].param(4, 28))
