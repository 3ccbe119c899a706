"""Conformance checks of a dataset factory: a consistent ``Domain``, built the same way twice, offline.

A dataset entry is a factory ``factory(**kwargs) -> Domain``. Its checks need kwargs that build a small
domain without network: given explicitly, or from the factory's ``conformance_kwargs(tmp_dir)`` attribute
(which may write tiny example files into ``tmp_dir``), or none at all (the factory's defaults).

Usage::

    from zoo.testing.datasets import check_dataset
    domain = check_dataset("toy_lesions", tmp_dir=tmp_path)               # conformance_kwargs(tmp_path)
    domain = check_dataset("npz", path="my.npz", modality="MRI", license="CC BY 4.0")
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from zoo.datasets import DATASETS, SPLITS, Domain
from zoo.testing.core import ConformanceError, label_of, no_network, one_thread, require


def dataset_factory(dataset: str | Callable) -> Callable:
    """The factory of a registered name (a broken plugin raises its one-line ``PluginError``) or the callable."""
    factory = DATASETS.get(dataset) if isinstance(dataset, str) else dataset
    require(callable(factory), f"{label_of('dataset', dataset)} is {factory!r}, not a callable returning a Domain")
    return factory


def dataset_kwargs(dataset: str | Callable, tmp_dir: str | os.PathLike | None,
                   kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` if given, else the factory's ``conformance_kwargs(tmp_dir)``, else ``{}``."""
    if kwargs:
        return dict(kwargs)
    make = getattr(dataset_factory(dataset), "conformance_kwargs", None)
    if make is None:
        return {}
    if tmp_dir is None:
        tmp_dir = tempfile.mkdtemp(prefix="medzoo-kit-")
    # The runner hands a factory an existing data folder; a factory writing its example files there may rely on it.
    Path(tmp_dir).mkdir(parents=True, exist_ok=True)
    return dict(make(Path(tmp_dir)))


def _build(dataset: str | Callable, what: str, kwargs: dict[str, Any]) -> Domain:
    try:
        with no_network(what):
            domain = dataset_factory(dataset)(**kwargs)
    except ConformanceError:
        raise
    except Exception as exc:  # noqa: BLE001 - the factory's failure, reported with the kwargs it got
        raise ConformanceError(f"{what} failed to build with {kwargs}: {type(exc).__name__}: {exc}") from exc
    require(isinstance(domain, Domain), f"{what} must return a zoo.datasets.Domain, got {type(domain).__name__}")
    return domain


def _checked(check: Callable) -> Callable:
    @functools.wraps(check)
    def run(dataset: str | Callable, tmp_dir: str | os.PathLike | None = None, **kwargs: Any) -> Any:
        with one_thread():
            return check(dataset, label_of("dataset", dataset), dataset_kwargs(dataset, tmp_dir, kwargs))

    return run


@_checked
def check_domain(dataset, what: str, kwargs: dict[str, Any]) -> Domain:
    """train/val/test splits of (N, C, H, W) uint8 images with labels in ``0..K-1``, label names, metadata
    (modality, and the licence and citation every result record carries)."""
    require(getattr(dataset_factory(dataset), "__doc__", None), f"{what}: the factory needs a docstring (its first "
                                                                "line is shown by `medzoo list --describe`)")
    domain = _build(dataset, what, kwargs)
    require(isinstance(domain.name, str) and domain.name, f"{what}: Domain.name must be a non-empty string")
    require(set(domain.splits) == set(SPLITS),
            f"{what}: splits must be exactly {list(SPLITS)}, got {sorted(domain.splits)}")
    names = domain.label_names
    require(isinstance(names, list) and len(names) >= 2 and all(isinstance(n, str) and n for n in names),
            f"{what}: label_names must be a list of at least 2 non-empty strings, got {names!r}")
    require(len(set(names)) == len(names), f"{what}: label_names must be unique, got {names}")
    shapes = {}
    for split_name, split in domain.splits.items():
        where = f"{what}: split '{split_name}'"
        require(len(split) > 0,
                f"{where} is empty; the conformance kwargs must build a domain with images in every split")
        require(split.images.dtype == torch.uint8 and split.images.ndim == 4,
                f"{where}: images must be (N, C, H, W) uint8, got {split.images.dtype} {tuple(split.images.shape)}")
        require(split.images.shape[1] in (1, 3),
                f"{where}: images must have 1 or 3 channels, got {split.images.shape[1]}")
        require(split.labels.dtype == torch.int64, f"{where}: labels must be int64, got {split.labels.dtype}")
        low, high = int(split.labels.min()), int(split.labels.max())
        require(low >= 0 and high < len(names), f"{where}: labels span {low}..{high} but there are {len(names)} "
                                                f"label names; labels index label_names (0..{len(names) - 1})")
        shapes[split_name] = tuple(split.images.shape[1:])
    require(len(set(shapes.values())) == 1, f"{what}: every split must have one (C, H, W), got {shapes}")
    present = torch.unique(domain.splits["train"].labels).numel()
    require(present >= 2, f"{what}: the train split holds {present} class(es); at least 2 are needed to learn anything")
    require(isinstance(domain.modality, str) and domain.modality,
            f"{what}: Domain.modality must be a non-empty string, got {domain.modality!r}")
    for field, example in (("license", "'CC BY 4.0'"), ("citation", "the paper or DOI of the data")):
        value = getattr(domain, field)  # every result record carries both (Domain.terms)
        require(isinstance(value, str) and value.strip() and value.strip().lower() != "unknown",
                f"{what}: Domain.{field} is {value!r}; every result record states the data's licence and citation: "
                f"set it (e.g. {example}), or, for a loader of users' files, take {field}= and give one in "
                "conformance_kwargs")
    try:  # copied into every result record, which is JSON
        json.dumps(domain.info)
    except (TypeError, ValueError) as exc:
        raise ConformanceError(f"{what}: Domain.info must be JSON-serialisable (it goes into result records): {exc}")
    return domain


@_checked
def check_deterministic(dataset, what: str, kwargs: dict[str, Any]) -> None:
    """Two builds with the same kwargs give identical splits, labels and label names."""
    a, b = _build(dataset, what, kwargs), _build(dataset, what, kwargs)
    require(a.label_names == b.label_names,
            f"{what}: label names differ between two builds: {a.label_names} / {b.label_names}")
    for split in SPLITS:
        sa, sb = a.splits.get(split), b.splits.get(split)
        require(sa is not None and sb is not None, f"{what}: split '{split}' missing")
        same = (sa.images.shape == sb.images.shape and torch.equal(sa.images, sb.images)
                and torch.equal(sa.labels, sb.labels))
        require(same, f"{what}: split '{split}' differs between two builds with the same kwargs; seed every random "
                      "choice (splits, generated images) from a 'seed' argument")


DATASET_CHECKS: dict[str, Callable[..., Any]] = {
    "domain": check_domain,
    "deterministic": check_deterministic,
}


def check_dataset(dataset: str | Callable, tmp_dir: str | os.PathLike | None = None, **kwargs: Any) -> Domain:
    """Run every dataset check; return the built ``Domain``. ``kwargs`` go to the factory.

    Usage::

        domain = check_dataset("toy_lesions", tmp_dir=tmp_path)
    """
    kwargs = dataset_kwargs(dataset, tmp_dir, kwargs)
    domain = check_domain(dataset, tmp_dir, **kwargs)
    check_deterministic(dataset, tmp_dir, **kwargs)
    return domain
