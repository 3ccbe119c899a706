"""The dataset contract: a ``Domain`` holds splits of uint8 image tensors with integer labels.

Images stay ``uint8`` in memory, shaped ``(N, C, H, W)``; normalisation and augmentation happen later,
on whole batches, on the device (see ``zoo.runner.batches``). A dataset factory registered in
``DATASETS`` is a callable returning a ``Domain``.

Usage::

    domain = DATASETS.get("pneumoniamnist")(size=28)
    x, y = domain.splits["train"].images, domain.splits["train"].labels   # (4708,1,28,28) uint8, (4708,) int64
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import torch

SPLITS = ("train", "val", "test")


@dataclass
class Split:
    """One split of a domain: ``images`` (N, C, H, W) uint8 and ``labels`` (N,) int64.

    ``domains`` (N,) int64, optional: the index of the source domain each row came from, set when several
    source domains are concatenated into one (multi-source tasks); ``None`` for a single domain.
    """

    images: torch.Tensor
    labels: torch.Tensor
    domains: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError(f"images must be (N, C, H, W) uint8, got {tuple(self.images.shape)} {self.images.dtype}")
        if self.labels.ndim != 1 or len(self.labels) != len(self.images):
            raise ValueError(f"labels must be (N,) matching {len(self.images)} images, got {tuple(self.labels.shape)}")
        self.labels = self.labels.long()
        if self.domains is not None:
            if self.domains.shape != self.labels.shape:
                raise ValueError(f"domains must be (N,) matching {len(self.labels)} labels, "
                                 f"got {tuple(self.domains.shape)}")
            self.domains = self.domains.long()

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices: torch.Tensor) -> "Split":
        """A new split holding the rows ``indices`` (a 1-D long tensor)."""
        domains = None if self.domains is None else self.domains[indices]
        return Split(self.images[indices], self.labels[indices], domains)

    def class_counts(self, num_classes: int) -> list[int]:
        return torch.bincount(self.labels, minlength=num_classes).tolist()


@dataclass
class Domain:
    """A named domain: splits plus what a medical user must know about the images.

    ``info`` carries provenance (file, checksum, shift applied, partition) and is copied into results;
    ``license`` and ``citation`` go into every result record (``terms()``).
    """

    name: str
    splits: dict[str, Split]
    label_names: list[str]
    modality: str
    license: str
    citation: str
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    @property
    def channels(self) -> int:
        return int(next(iter(self.splits.values())).images.shape[1])

    @property
    def image_size(self) -> int:
        return int(next(iter(self.splits.values())).images.shape[-1])

    def with_splits(self, splits: dict[str, Split], **changes: Any) -> "Domain":
        """A copy with new splits (and any other fields changed); ``info`` is merged, not replaced."""
        info = {**self.info, **changes.pop("info", {})}
        return replace(self, splits=splits, info=info, **changes)

    def terms(self) -> dict[str, str]:
        """``{"licence", "citation"}`` under which the images may be used, as every result record carries them.

        What the dataset does not state reads ``unknown``, with how to state it: a loader of the user's own
        files (``npz``, ``image_folder``, ``hf``) takes ``license:`` and ``citation:`` in the suite's domain.
        """
        missing = "unknown: not stated by the dataset; give {} in the suite's domain if its loader takes it"
        licence, citation = self.license.strip(), self.citation.strip()
        return {"licence": licence if licence and licence.lower() != "unknown" else missing.format("license:"),
                "citation": citation if citation and citation.lower() != "unknown" else missing.format("citation:")}

    def summary(self) -> dict[str, Any]:
        """Sizes and class counts per split, for ``medzoo doctor`` and result provenance."""
        return {
            "name": self.name,
            "modality": self.modality,
            "classes": self.label_names,
            "image": [self.channels, self.image_size, self.image_size],
            "splits": {k: len(v) for k, v in self.splits.items()},
        }
