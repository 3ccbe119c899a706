"""Seeded, stratified splitting: train/val/test splits, disjoint partitions of a domain, label budgets.

Every function here is deterministic given its seed and keeps class proportions: each class is shuffled
with a ``torch.Generator`` seeded once, then cut by largest-remainder rounding, so that fractions hold per
class (within one image) and every index lands in exactly one part.

Usage::

    from zoo.datasets.partition import stratified_split, partition_domain, label_budget
    parts = stratified_split(labels, {"train": 0.7, "val": 0.1, "test": 0.2}, seed=0)
    source = partition_domain(domain, part=0, of=2)     # never shares an image with part=1
    few = label_budget(target.splits["train"], 0.1, seed=0)
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from typing import Any

import torch

from zoo.datasets.base import SPLITS, Domain, Split
from zoo.errors import ConfigError, DataError

_REST = object()  # the implicit bucket for fractions summing to less than 1; its indices are dropped


def _allocate(n: int, fractions: list[float]) -> list[int]:
    """Cut ``n`` items by ``fractions`` (sum 1) with largest-remainder rounding: counts sum to ``n``."""
    exact = [n * f for f in fractions]
    counts = [math.floor(e) for e in exact]
    leftover = n - sum(counts)
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i] - counts[i]), i))  # ties: first key
    for i in by_remainder[:leftover]:
        counts[i] += 1
    return counts


def stratified_split(labels: Any, fractions: Mapping[Hashable, float], seed: int = 0) -> dict[Hashable, torch.Tensor]:
    """Split indices ``0..N-1`` into parts of the given fractions, per class, seeded.

    ``fractions`` may sum to less than 1 (the rest is left out); each part's indices come back sorted,
    as a 1-D ``torch.long`` tensor. Classes are shuffled in label order with one generator, so the
    result depends only on ``labels``, ``fractions`` and ``seed``.

    Usage::

        idx = stratified_split(torch.tensor([0, 0, 1, 1, 1]), {"a": 0.6, "b": 0.4}, seed=0)
        idx["a"]   # tensor([...]) e.g. 1 of class 0 and 2 of class 1
    """
    labels = torch.as_tensor(labels).long().reshape(-1)  # (N,)
    keys = list(fractions)
    values = [float(fractions[k]) for k in keys]
    if not keys or any(not math.isfinite(v) or v < 0 for v in values) or sum(values) > 1 + 1e-9:
        raise ConfigError(f"split fractions must be non-negative and sum to at most 1, got {dict(fractions)}")
    rest = max(0.0, 1.0 - sum(values))
    generator = torch.Generator().manual_seed(int(seed))
    chunks: dict[Hashable, list[torch.Tensor]] = {k: [] for k in keys}
    for cls in torch.unique(labels):  # sorted class values
        members = torch.nonzero(labels == cls).reshape(-1)  # (n_c,)
        members = members[torch.randperm(len(members), generator=generator)]
        counts = _allocate(len(members), values + [rest])
        start = 0
        for key, count in zip(keys + [_REST], counts):
            if key is not _REST:
                chunks[key].append(members[start:start + count])
            start += count
    empty = torch.empty(0, dtype=torch.long)
    return {k: torch.sort(torch.cat(v)).values if v else empty for k, v in chunks.items()}


def _check_fractions(val: float, test: float) -> None:
    if not (0 < val < 1 and 0 < test < 1 and val + test < 1):
        raise ConfigError(f"val and test fractions must be > 0 with val + test < 1, got val={val}, test={test}")


def split_pool(images: torch.Tensor, labels: torch.Tensor, val: float, test: float, seed: int,
               where: str) -> dict[str, Split]:
    """Make stratified train/val/test splits (fractions ``1-val-test``/``val``/``test``) of one pool.

    ``where`` names the source in the ``DataError`` raised when a split would be empty (too few images).

    Usage::

        splits = split_pool(images, labels, val=0.1, test=0.2, seed=0, where="busi.npz")
    """
    _check_fractions(val, test)
    return complete_splits({"train": Split(images, labels)}, val, test, seed, where)


def complete_splits(splits: dict[str, Split], val: float, test: float, seed: int, where: str) -> dict[str, Split]:
    """Carve the missing ``val``/``test`` splits out of ``train`` (stratified, seeded); keep the others.

    Fractions are of the train split they are carved from: with only ``test`` missing, ``test=0.2`` moves
    20% of train to test.

    Usage::

        splits = complete_splits({"train": tr, "test": te}, val=0.1, test=0.2, seed=0, where="my.npz")
    """
    if "train" not in splits:
        raise DataError(f"{where} has no train split (found {sorted(splits) or 'none'}); provide one")
    _check_fractions(val, test)
    missing = [s for s in ("val", "test") if s not in splits]
    out = {k: v for k, v in splits.items() if k in SPLITS}
    if missing:
        wanted = {"val": val, "test": test}
        fractions = {m: wanted[m] for m in missing}
        fractions["train"] = 1.0 - sum(fractions.values())
        parts = stratified_split(splits["train"].labels, fractions, seed)
        out.update({k: splits["train"].subset(idx) for k, idx in parts.items()})
    for name in SPLITS:
        if len(out[name]) == 0:
            raise DataError(f"{where}: too few images ({sum(len(s) for s in out.values())}) to make a non-empty "
                            f"'{name}' split; add images or raise the val/test fractions")
    return {k: out[k] for k in SPLITS}


def _keep_copies_together(assigned: dict[str, torch.Tensor], domain: Domain) -> dict[str, torch.Tensor]:
    """Move every image to the part of the first image of its group of copies (``zoo.datasets.copies``).

    ``assigned``: split -> (N,) part of each image. Groups span splits (a test image copied in train), so
    the groups are found over all images of the domain, in split order.
    """
    from zoo.datasets.copies import copy_groups, fingerprints

    names = list(domain.splits)
    sizes = [len(domain.splits[n]) for n in names]
    groups = copy_groups(fingerprints(torch.cat([domain.splits[n].images for n in names])))  # (N_all,)
    parts = torch.cat([assigned[n] for n in names])  # (N_all,)
    parts = parts[groups]  # each image takes the part of its group's first image
    return dict(zip(names, torch.split(parts, sizes)))


def partition_domain(domain: Domain, part: int, of: int = 2, seed: int = 0, group_copies: bool = False) -> Domain:
    """Keep part ``part`` of ``of`` disjoint, stratified, seeded parts of *every* split of ``domain``.

    Two domains made from the same dataset with different ``part`` (same ``of``, ``seed`` and
    ``group_copies``) never share an image, so a source and a target drawn from one dataset are truly
    disjoint. ``group_copies``: near-identical copies of one image (a dataset that holds some, like
    BreastMNIST across its official splits) all go to the same part, so the parts share no copy either;
    class proportions then hold within a few images. The name gets a ``_part{part}of{of}`` suffix and
    ``info["partition"]`` records the call.

    Usage::

        source = partition_domain(pneumonia, part=0, of=2, seed=0)
        target = shift_domain(partition_domain(pneumonia, part=1, of=2, seed=0), "gamma", 3)
        us = partition_domain(breast, part=0, of=2, group_copies=True)
    """
    if not isinstance(of, int) or of < 2:
        raise ConfigError(f"partition 'of' must be an integer >= 2, got {of!r}")
    if not isinstance(part, int) or not 0 <= part < of:
        raise ConfigError(f"partition 'part' must be an integer in 0..{of - 1}, got {part!r}")
    if not isinstance(group_copies, bool):
        raise ConfigError(f"partition 'group_copies' must be true or false, got {group_copies!r}")
    assigned = {}
    for name, split in domain.splits.items():
        parts = stratified_split(split.labels, {p: 1.0 / of for p in range(of)}, seed)
        assigned[name] = torch.empty(len(split), dtype=torch.long)  # (N,) part of each image
        for p, idx in parts.items():
            assigned[name][idx] = p
    if group_copies:
        assigned = _keep_copies_together(assigned, domain)
    splits = {name: split.subset(torch.nonzero(assigned[name] == part).reshape(-1))
              for name, split in domain.splits.items()}
    info = {"partition": {"part": part, "of": of, "seed": seed, **({"group_copies": True} if group_copies else {})}}
    return domain.with_splits(splits, name=f"{domain.name}_part{part}of{of}", info=info)


def label_budget(split: Split, fraction: float, seed: int = 0) -> Split:
    """A stratified, seeded subset of ``split`` holding ``fraction`` of each class (at least one image).

    ``fraction=1.0`` returns the split unchanged; a fraction outside (0, 1] is a ``ConfigError``.
    Subsets with one seed are nested: the 10% budget is contained in the 20% budget.

    Usage::

        few_labels = label_budget(target.splits["train"], fraction=0.05, seed=0)
    """
    return label_budget_and_rows(split, fraction, seed)[0]


def label_budget_and_rows(split: Split, fraction: float, seed: int = 0) -> tuple[Split, torch.Tensor]:
    """``label_budget``'s subset and its sorted rows of ``split`` (M,) long, from one draw.

    Usage::

        val_labeled, rows = label_budget_and_rows(target.splits["val"], 0.1, seed=0)   # val.subset(rows)
    """
    if not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
        raise ConfigError(f"label budget fraction must be in (0, 1], got {fraction!r}; for unsupervised "
                          "adaptation give the algorithm no target labels instead of an empty budget")
    if fraction == 1:
        return split, torch.arange(len(split))
    generator = torch.Generator().manual_seed(int(seed))
    keep = []
    for cls in torch.unique(split.labels):
        members = torch.nonzero(split.labels == cls).reshape(-1)  # (n_c,)
        members = members[torch.randperm(len(members), generator=generator)]
        keep.append(members[: max(1, math.floor(len(members) * fraction + 0.5))])
    rows = torch.sort(torch.cat(keep)).values if keep else torch.empty(0, dtype=torch.long)  # (M,)
    return split.subset(rows), rows
