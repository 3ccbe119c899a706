"""The data path: uint8 tensors in memory -> whole batches -> float, normalised, on the device.

Samples are never touched one by one in Python: ``TensorBatches.__getitems__`` indexes the uint8 image
tensor once per batch (PyTorch's DataLoader calls it with the batch's indices), and ``Normalizer``
converts and normalises the batch on the device. Accelerate shards these loaders across processes.

Usage::

    loader = make_loader(split, batch_size=128, shuffle=True, seed=0)
    for images, labels in loader:            # (128, 1, 28, 28) uint8, (128,) int64
        x = normalizer(images.to(device))    # (128, C, 28, 28) float32
"""

from __future__ import annotations

from typing import Iterator, Sequence

import torch
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

from zoo.datasets.base import Split


class TensorBatches(Dataset):
    """A map-style dataset over a ``Split`` that fetches whole batches with one tensor index.

    With ``with_domains`` a batch is ``(images, labels, domains)``: ``domains`` (B,) int64 is the source
    domain index of each sample (``split.domains``, or zeros for a single domain).
    """

    def __init__(self, split: Split, with_domains: bool = False) -> None:
        self.images, self.labels = split.images, split.labels
        self.domains = None
        if with_domains:
            self.domains = split.domains if split.domains is not None else torch.zeros_like(split.labels)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        if self.domains is not None:
            return self.images[index], self.labels[index], self.domains[index]
        return self.images[index], self.labels[index]

    def __getitems__(self, indices: Sequence[int]) -> tuple[torch.Tensor, ...]:
        idx = torch.as_tensor(indices, dtype=torch.long)
        if self.domains is not None:
            return self.images[idx], self.labels[idx], self.domains[idx]  # ..., (B,) int64 source index
        return self.images[idx], self.labels[idx]  # (B, C, H, W) uint8, (B,) int64


def keep_batch(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Collate function: ``__getitems__`` already returns a collated batch."""
    return batch


def make_loader(split: Split, batch_size: int, shuffle: bool, seed: int = 0, drop_last: bool = False,
                with_domains: bool = False, sample_weights: torch.Tensor | None = None) -> DataLoader:
    """A DataLoader over ``split`` with seeded shuffling (no worker processes: indexing is the whole cost).

    ``with_domains`` adds each sample's source-domain index as a third batch element (see ``TensorBatches``).
    ``sample_weights`` (N,) draws samples with replacement in proportion to them instead of shuffling
    (class-balanced sampling); the seeded generator makes every process draw the same sequence, which
    Accelerate then shards by batch.
    """
    generator = torch.Generator().manual_seed(seed)
    sampler = None
    if sample_weights is not None:
        sampler = WeightedRandomSampler(sample_weights.double(), len(split), replacement=True, generator=generator)
    return DataLoader(
        TensorBatches(split, with_domains),
        batch_size=batch_size,
        shuffle=shuffle and sampler is None,
        sampler=sampler,
        drop_last=drop_last,
        collate_fn=keep_batch,
        # Always a generator of the loader's own: without one, every pass draws its base seed from the global
        # RNG, so merely evaluating a model would change the next training batches (dropout, sampling).
        generator=generator if shuffle and sampler is None else torch.Generator().manual_seed(seed),
    )


def cycle(loader: DataLoader) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Iterate a loader forever, reshuffling every pass (for streams shorter than an epoch)."""
    epoch = 0
    while True:
        sampler = getattr(loader, "set_epoch", None)
        if callable(sampler):
            sampler(epoch)
        yield from loader
        epoch += 1


class Normalizer(torch.nn.Module):
    """uint8 (N, C_in, H, W) -> float (N, C_model, H, W): scale to [0, 1], repeat gray to RGB, standardise."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], in_chans: int) -> None:
        super().__init__()
        self.in_chans = in_chans
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(1, -1, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float().div_(255.0)  # (N, C_in, H, W) in [0, 1]
        if x.shape[1] != self.in_chans:
            if x.shape[1] == 1:
                x = x.expand(-1, self.in_chans, -1, -1)  # grayscale fed to an RGB network
            else:
                raise ValueError(f"images have {x.shape[1]} channels but the backbone expects {self.in_chans}")
        return (x - self.mean.to(x.device)) / self.std.to(x.device)
