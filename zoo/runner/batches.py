"""The data path: uint8 tensors in memory -> whole batches -> float, normalised, on the device.

Samples are never touched one by one in Python. Training streams (``DeviceBatches``) keep a split's uint8
tensors on the device, moved there once, and index them there with one index tensor per pass: no
DataLoader, no per-batch host-to-device copy (a split too large for that, e.g. 224 px images, streams in
pinned chunks: ``zoo.runner.pinned_chunks``). Evaluation uses ``make_loader`` (``TensorBatches.__getitems__``
indexes the uint8 tensor once per batch), sharded by Accelerate. ``zoo.backbones.normalize.Normalizer``
converts and normalises a batch on the device.

Usage::

    stream = DeviceBatches(split, batch_size=128, seed=0, device=device)
    images, labels = next(stream)            # (128, 1, 28, 28) uint8, (128,) int64, both on ``device``
    loader = make_loader(split, batch_size=128, shuffle=False)
    for images, labels in loader:            # (128, 1, 28, 28) uint8, (128,) int64
        x = normalizer(images.to(device))    # (128, C, 28, 28) float32
"""

from __future__ import annotations

import itertools
from typing import Iterator, Sequence

import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, WeightedRandomSampler

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


def to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``tensor`` on ``device``: through pinned memory without a stream sync on CUDA, as is elsewhere."""
    if device.type == "cuda" and tensor.device.type == "cpu":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


RESIDENT_SHARE = 0.25  # of a GPU's memory, the most one training split's images may take there


def resident_limit(device: torch.device) -> float:
    """Bytes of a split's images that may move to ``device`` whole: a quarter of a GPU's memory; on the host,
    any (there is no copy to make)."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory * RESIDENT_SHARE
    return float("inf")


class DeviceBatches:
    """The batches of one training stream, cycled forever, indexed on the device (no DataLoader).

    Yields exactly the batches, in exactly the order, that ``cycle(accelerator.prepare_data_loader(
    make_loader(split, batch_size, True, seed, drop_last, with_domains, sample_weights)))`` yields: the
    index order comes from torch's own samplers on the same seeded CPU generator (so a run's data order is
    the same on every device), and with several processes Accelerate's own ``BatchSamplerShard`` gives each
    process its shard of each pass, as the prepared loader did. Only the indices of a pass cross to the
    device, once per pass; the uint8 split is moved there once (``images``/``labels``/``domains``, or
    tensors already there passed in ``resident`` to share one copy between streams of the same split).
    A split whose images exceed ``resident_limit_bytes`` (default :func:`resident_limit`: a quarter of a
    GPU's memory) stays on the host and streams in pinned chunks (``zoo.runner.pinned_chunks``): the same
    batches in the same order. The limit is per split: a run's source and target splits, or several runs
    packed on one GPU, may together hold more.
    """

    def __init__(self, split: Split, batch_size: int, seed: int = 0, device: torch.device | str = "cpu",
                 drop_last: bool = False, with_domains: bool = False, sample_weights: torch.Tensor | None = None,
                 num_processes: int = 1, process_index: int = 0, split_batches: bool = False,
                 even_batches: bool = True, resident: dict[int, tuple] | None = None,
                 resident_limit_bytes: float | None = None) -> None:
        self.device = torch.device(device)
        resident = {} if resident is None else resident

        def on_device(tensor: torch.Tensor) -> torch.Tensor:
            if id(tensor) not in resident:  # keyed by the host tensor, kept alive beside its copy
                resident[id(tensor)] = (tensor, to_device(tensor, self.device))
            return resident[id(tensor)][1]

        limit = resident_limit(self.device) if resident_limit_bytes is None else resident_limit_bytes
        self.chunks = None  # a split over the limit stays on the host and streams in pinned chunks
        if split.images.device.type == "cpu" and split.images.numel() * split.images.element_size() > limit:
            from zoo.runner.pinned_chunks import PinnedChunks

            self.images, self.chunks = split.images, PinnedChunks(split.images, self.device)
        else:
            self.images = on_device(split.images)  # (N, C, H, W) uint8
        self.labels = on_device(split.labels)  # (N,) int64: small, always on the device
        self.domains = None
        if with_domains:
            self.domains = on_device(split.domains) if split.domains is not None else torch.zeros_like(self.labels)
        n = len(split)
        generator = torch.Generator().manual_seed(seed)
        if sample_weights is not None:  # make_loader's sampler; its loader's generator never touches the order
            sampler = WeightedRandomSampler(sample_weights.double(), n, replacement=True, generator=generator)
            self._loader_generator = None
        else:
            sampler = RandomSampler(range(n), generator=generator)
            self._loader_generator = generator  # the DataLoader shared it with the sampler: see ``_pass``
        batches = BatchSampler(sampler, batch_size, drop_last)
        if num_processes > 1:  # what accelerator.prepare_data_loader does to a map-style loader
            from accelerate.data_loader import BatchSamplerShard

            batches = BatchSamplerShard(batches, num_processes=num_processes, process_index=process_index,
                                        split_batches=split_batches, even_batches=even_batches)
        self._batches = batches
        self._batch_size = batch_size
        self._iter = self._cycle()

    def __len__(self) -> int:
        """Batches per pass, on this process."""
        return len(self._batches)

    def _pass(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """One pass's index tensors, one per batch (the last may be partial): on the host, and on the device."""
        if self._loader_generator is not None:
            # Each DataLoader iterator draws its base seed from the loader's generator before the sampler's
            # first permutation; a shuffled make_loader shares that generator with its sampler, so the draw
            # is made here too, or every pass after the first would be a different permutation.
            torch.empty((), dtype=torch.int64).random_(generator=self._loader_generator)
        batches = list(self._batches)  # [[i, ...], ...] python ints, from torch's own sampler code
        flat = torch.tensor(list(itertools.chain.from_iterable(batches)), dtype=torch.long)  # (sum B,)
        sizes = [len(b) for b in batches]
        return list(flat.split(sizes)), list(to_device(flat, self.device).split(sizes))

    def _batch(self, images: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.domains is not None:
            return images, self.labels[idx], self.domains[idx]  # ..., (B,) source index
        return images, self.labels[idx]  # (B, C, H, W) uint8, (B,) int64

    def _cycle(self) -> Iterator[tuple[torch.Tensor, ...]]:
        while True:
            host_idx, device_idx = self._pass()
            if self.chunks is None:
                for idx in device_idx:  # (B,) int64 on the device
                    yield self._batch(self.images[idx], idx)
            else:
                yield from self._streamed(host_idx, device_idx)

    def _streamed(self, host_idx: list[torch.Tensor], device_idx: list[torch.Tensor]):
        """A pass over a host-resident split: chunks of whole batches. The next chunk is gathered and its copy
        started once the current chunk's first batch has been handed out (its step is queued by then), so
        the host gather and the copy overlap the current chunk's steps."""
        per_chunk = self.chunks.rows_per_chunk(self._batch_size) // self._batch_size  # batches per chunk
        groups = [range(i, min(i + per_chunk, len(host_idx))) for i in range(0, len(host_idx), per_chunk)]
        pending = self.chunks.stage(torch.cat([host_idx[j] for j in groups[0]])) if groups else None
        for g, group in enumerate(groups):
            chunk = self.chunks.ready(pending)  # (sum B, C, H, W) uint8 on the device
            for k, (j, images) in enumerate(zip(group, chunk.split([len(host_idx[j]) for j in group]))):
                yield self._batch(images, device_idx[j])
                if k == 0 and g + 1 < len(groups):
                    pending = self.chunks.stage(torch.cat([host_idx[j] for j in groups[g + 1]]))

    def __iter__(self) -> "DeviceBatches":
        return self

    def __next__(self) -> tuple[torch.Tensor, ...]:
        return next(self._iter)
