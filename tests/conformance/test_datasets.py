"""Conformance of every registered dataset, generated from the registry (docs/architecture.md, principle 10).

Each name in ``DATASETS`` (built-ins and any installed plugin) goes through the kit's full
``check_dataset``: built from its ``conformance_kwargs`` (tiny example files in a tmp folder, no network),
twice, into a consistent ``Domain``. Plugin authors run the very same checks (``medzoo_kit``).
"""

from __future__ import annotations

import pytest

from zoo.datasets import DATASETS
from zoo.testing import check_dataset

NAMES = sorted(DATASETS.names())


def test_registry_has_the_builtins():
    assert {"pneumoniamnist", "breastmnist", "npz", "image_folder", "hf", "synthetic"} <= set(NAMES)
    assert len(NAMES) >= 16  # 12 MedMNIST flags + npz, image_folder, hf, synthetic


@pytest.mark.parametrize("name", NAMES)
def test_every_dataset_passes_the_kit(name, tmp_path):
    domain = check_dataset(name, tmp_dir=tmp_path)
    assert domain.num_classes >= 2 and len(domain.splits["train"]) > 0
