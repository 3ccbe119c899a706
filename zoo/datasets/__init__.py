"""Datasets: the registry (entry-point group ``medzoo.datasets``) and the ``Domain`` contract.

A registered dataset is a factory ``factory(**kwargs) -> Domain``. Factories that read files accept
``data_dir`` (default: ``$MEDZOO_DATA``, see ``zoo.datasets.paths``).

Usage::

    from zoo.datasets import DATASETS
    domain = DATASETS.get("pneumoniamnist")(size=28)
"""

from typing import Any

from zoo.datasets.base import SPLITS, Domain, Split
from zoo.plugins import discover_into
from zoo.registry import Registry


def _check_dataset(obj: Any) -> str | None:
    return None if callable(obj) else f"expected a callable returning a zoo Domain, got {obj!r}"


DATASETS = Registry("dataset", group="medzoo.datasets", check=_check_dataset, discover=discover_into)

__all__ = ["DATASETS", "SPLITS", "Domain", "Split"]
