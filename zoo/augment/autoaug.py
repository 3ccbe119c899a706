"""RandAugment and TrivialAugment on whole uint8 batches, with different ops for different samples.

Both policies draw a random op (and magnitude) from a fixed list (shear, translate, rotate, brightness,
colour, contrast, sharpness, posterize, solarize, autocontrast, equalize, identity). timm's versions
(``timm.data.auto_augment``) work on one PIL image at a time, so using them here would mean a Python loop
over samples and a uint8 -> PIL -> uint8 round trip per image. torchvision's ``transforms.v2`` versions
work on uint8 tensors of any batch shape, on CPU and GPU, but draw ONE op for the whole tensor per call.
So the batch is shuffled into ``chunks`` random groups (8 by default) and each group gets its own call:
samples in different groups get different ops, at the cost of ``chunks`` small calls per batch.

torchvision draws its ops from PyTorch's global CPU generator; each chunk's call runs inside
``torch.random.fork_rng`` with that generator seeded from the caller's ``generator``, so the result is
deterministic for a given generator state and the global RNG is left as it was.

References: Cubuk et al., "RandAugment: Practical automated data augmentation with a reduced search
space", CVPR Workshops 2020; Muller & Hutter, "TrivialAugment: Tuning-free yet state-of-the-art data
augmentation", ICCV 2021.

Usage::

    aug = build_augment("randaugment", num_ops=2, magnitude=9)
    out = aug(images, generator)                  # (B, C, H, W) uint8 -> same
"""

from __future__ import annotations

from typing import Callable

import torch
from torchvision.transforms import v2

from zoo.augment.base import AUGMENTATIONS, BatchAugment, check_int

_SEED_HIGH = 2**62


class _ChunkedTorchvision(BatchAugment):
    """Applies a torchvision v2 batch transform to ``chunks`` random groups of the batch, one call each."""

    transform: Callable[[torch.Tensor], torch.Tensor]

    def __init__(self, chunks: int, **options) -> None:
        super().__init__(chunks=chunks, **options)
        self.chunks = check_int(self.name, "chunks", chunks, 1, 4096)

    def apply(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        b = images.shape[0]
        n = min(self.chunks, b)
        order = torch.randperm(b, generator=generator, device=generator.device)  # (B,) random groups
        seeds = torch.randint(_SEED_HIGH, (n,), generator=generator, device=generator.device).tolist()
        out = torch.empty_like(images)
        for group, seed in zip(order.tensor_split(n), seeds):  # n groups of ~B/n samples
            idx = group.to(images.device)
            with torch.random.fork_rng(devices=[]):  # only the CPU generator: CUDA's stays untouched
                torch.default_generator.manual_seed(seed)
                out[idx] = self.transform(images[idx])  # (b_i, C, H, W) uint8, one op for the group
        return out


@AUGMENTATIONS.register("randaugment")
class RandAugmentBatch(_ChunkedTorchvision):
    """RandAugment (``num_ops`` ops of fixed ``magnitude`` out of ``num_magnitude_bins``) per random chunk.

    Options: ``num_ops`` (2), ``magnitude`` (9), ``num_magnitude_bins`` (31), ``chunks`` (8).

    Usage::

        build_augment("randaugment", num_ops=1, magnitude=5)(images, generator)
    """

    name = "randaugment"

    def __init__(self, num_ops: int = 2, magnitude: int = 9, num_magnitude_bins: int = 31, chunks: int = 8) -> None:
        super().__init__(chunks, num_ops=num_ops, magnitude=magnitude, num_magnitude_bins=num_magnitude_bins)
        bins = check_int(self.name, "num_magnitude_bins", num_magnitude_bins, 2, 1000)
        self.transform = v2.RandAugment(num_ops=check_int(self.name, "num_ops", num_ops, 0, 16),
                                        magnitude=check_int(self.name, "magnitude", magnitude, 0, bins - 1),
                                        num_magnitude_bins=bins)


@AUGMENTATIONS.register("trivialaugment")
class TrivialAugmentBatch(_ChunkedTorchvision):
    """TrivialAugment-Wide: one op with a uniformly drawn magnitude, per random chunk.

    Options: ``num_magnitude_bins`` (31), ``chunks`` (8).

    Usage::

        build_augment("trivialaugment", chunks=16)(images, generator)
    """

    name = "trivialaugment"

    def __init__(self, num_magnitude_bins: int = 31, chunks: int = 8) -> None:
        super().__init__(chunks, num_magnitude_bins=num_magnitude_bins)
        bins = check_int(self.name, "num_magnitude_bins", num_magnitude_bins, 2, 1000)
        self.transform = v2.TrivialAugmentWide(num_magnitude_bins=bins)
