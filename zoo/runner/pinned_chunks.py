"""Images too large to keep on the device, streamed there in chunks through two reused pinned buffers.

A 224 px split can be gigabytes (50,000 x 3 x 224 x 224 uint8 = 7.5 GB), too much to move to the GPU
once as ``DeviceBatches`` does with 28-64 px sets. For such a split the rows of the next few batches are
gathered on the host straight into a page-locked buffer (``index_select(out=...)``: no pageable
intermediate), copied to the device asynchronously on a side stream, and the training stream waits for
that copy only when it first reads the chunk, so the copy of chunk i + 1 overlaps the steps of chunk i.
(Other devices get a plain synchronous copy of the gathered rows.)
Two buffers are used in turn; a buffer is refilled only after its previous copy has finished.

On a CPU "device" each chunk is gathered into the buffer and cloned out, which keeps the chunking and
buffer logic the same (and tested) without a GPU.

Usage::

    stager = PinnedChunks(split.images, torch.device("cuda"))
    pending = stager.stage(rows)          # rows: (R,) int64 on the host -> copy in flight
    chunk = stager.ready(pending)         # (R, C, H, W) uint8 on the device, safe to read on this stream
"""

from __future__ import annotations

from typing import NamedTuple

import torch

CHUNK_BYTES = 256 * 2**20  # images per chunk: enough batches that one copy's fixed cost is amortised


class Staged(NamedTuple):
    """A chunk whose copy may still be in flight: read it through ``PinnedChunks.ready``."""

    images: torch.Tensor  # (R, C, H, W) uint8 on the device
    copied: object  # torch.cuda.Event recorded after the copy on the side stream; None off CUDA


class PinnedChunks:
    """Host uint8 images -> device chunks of chosen rows, through two pinned buffers used in turn."""

    def __init__(self, images: torch.Tensor, device: torch.device) -> None:
        self.images, self.device = images, torch.device(device)  # (N, C, H, W) uint8 on the host
        self.cuda = self.device.type == "cuda"
        self.stream = torch.cuda.Stream(self.device) if self.cuda else None
        self._buffers: list[torch.Tensor | None] = [None, None]
        self._copied: list[object] = [None, None]  # the event of each buffer's last copy
        self._turn = 0

    def rows_per_chunk(self, batch_size: int) -> int:
        """Rows in a chunk: whole batches, about ``CHUNK_BYTES`` of images, at least one batch."""
        row_bytes = max(1, self.images[:1].numel() * self.images.element_size())
        return max(1, CHUNK_BYTES // (row_bytes * batch_size)) * batch_size

    def stage(self, rows: torch.Tensor) -> Staged:
        """Start moving ``images[rows]`` to the device; returns at once on CUDA."""
        turn, self._turn = self._turn, 1 - self._turn
        if self._copied[turn] is not None:
            self._copied[turn].synchronize()  # the buffer's previous copy has left it
        buffer = self._buffers[turn]
        if buffer is None or len(buffer) < len(rows):
            buffer = torch.empty((len(rows), *self.images.shape[1:]), dtype=self.images.dtype, pin_memory=self.cuda)
            self._buffers[turn] = buffer
        host = buffer[: len(rows)]
        torch.index_select(self.images, 0, rows, out=host)  # (R, C, H, W) gathered into pinned memory
        if not self.cuda:  # a copy the buffer's next use cannot touch (on a CPU "device": a host clone)
            return Staged(host.to(self.device, copy=True), None)
        with torch.cuda.stream(self.stream):
            images = host.to(self.device, non_blocking=True)
            copied = torch.cuda.Event()
            copied.record(self.stream)
        self._copied[turn] = copied
        return Staged(images, copied)

    def ready(self, staged: Staged) -> torch.Tensor:
        """The staged chunk, once the current stream has been told to wait for its copy."""
        if staged.copied is not None:
            current = torch.cuda.current_stream(self.device)
            current.wait_event(staged.copied)
            staged.images.record_stream(current)  # allocated on the side stream, read on this one
        return staged.images
