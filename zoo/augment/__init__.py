"""Batch augmentation policies for uint8 image batches, applied by the runner before normalisation.

A policy is a ``BatchAugment``: ``aug(images_uint8, generator) -> images_uint8`` with the same shape
(B, C, H, W), dtype and device, per-sample randomness vectorised over the batch, deterministic for a given
generator state. Policies: ``none``, ``standard`` (flip, resized/padded crop, rotation), ``randaugment``,
``trivialaugment``, ``stain`` (HED jitter, RGB histopathology) and ``intensity`` (gamma and window/level).

Usage::

    from zoo.augment import build_augment
    aug = build_augment("standard")                       # options: build_augment("standard", degrees=15)
    g = torch.Generator().manual_seed(seed)
    for images, labels in loader:                         # (B, C, H, W) uint8
        x = normalizer(aug(images.to(device), g))         # augmented, then float and normalised
"""

from zoo.augment.base import AUGMENTATIONS, BatchAugment
from zoo.augment.builder import augment_names, augment_options, build_augment

__all__ = ["AUGMENTATIONS", "BatchAugment", "augment_names", "augment_options", "build_augment"]
