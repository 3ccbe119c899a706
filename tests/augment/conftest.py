"""Real image batches for the augmentation tests: BreastMNIST (ultrasound) and PneumoniaMNIST (X-ray), 28 px,
and an H&E-like RGB batch whose stain maps are real ultrasound images (no histopathology file is available here).
"""

from __future__ import annotations

import pytest
import torch

from zoo.augment.stain import hed_to_rgb
from zoo.datasets.medmnist import load_medmnist


@pytest.fixture(scope="session")
def breast(data_dir) -> torch.Tensor:
    """The first 32 BreastMNIST train images: (32, 1, 28, 28) uint8."""
    return load_medmnist("breastmnist", size=28, data_dir=data_dir).splits["train"].images[:32].clone()


@pytest.fixture(scope="session")
def xray(data_dir) -> torch.Tensor:
    """The first 32 PneumoniaMNIST train images: (32, 1, 28, 28) uint8."""
    return load_medmnist("pneumoniamnist", size=28, data_dir=data_dir).splits["train"].images[:32].clone()


@pytest.fixture(scope="session")
def he_rgb(breast) -> torch.Tensor:
    """(32, 3, 28, 28) uint8 H&E-like images: haematoxylin = one real image, eosin = another, no DAB."""
    maps = breast.float() / 255.0  # (32, 1, 28, 28)
    hed = torch.cat([1.2 * maps, 0.6 * maps.roll(1, dims=0), torch.zeros_like(maps)], dim=1)  # (32, 3, 28, 28) OD
    return hed_to_rgb(hed).mul(255).round().to(torch.uint8)


@pytest.fixture(scope="session")
def batches(breast, he_rgb) -> dict[int, torch.Tensor]:
    """A real batch per channel count: 1 -> ultrasound, 3 -> H&E-like."""
    return {1: breast, 3: he_rgb}
