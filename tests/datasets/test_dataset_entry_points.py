"""Every built-in dataset entry point loads and builds a valid Domain from its conformance_kwargs, offline."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest
import torch

from zoo.datasets import DATASETS, SPLITS, Domain

BUILTIN = sorted(ep.name for ep in entry_points(group="medzoo.datasets") if ep.value.startswith("zoo.datasets."))


def test_all_builtins_are_declared():
    assert len(BUILTIN) == 16  # 12 MedMNIST flags + npz, image_folder, hf, synthetic


@pytest.mark.parametrize("name", BUILTIN)
def test_conformance_kwargs_build_a_domain(name, tmp_path, monkeypatch):
    import datasets

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)  # read at import: patch the live value too
    factory = DATASETS.get(name)
    assert factory.__doc__ and "Usage::" in factory.__doc__
    domain = factory(**factory.conformance_kwargs(tmp_path))
    assert isinstance(domain, Domain) and domain.name
    assert set(domain.splits) == set(SPLITS)
    for split in domain.splits.values():
        assert len(split) > 0 and split.images.dtype == torch.uint8 and split.images.ndim == 4
        assert split.images.shape[1] in (1, 3)
        assert int(split.labels.min()) >= 0 and int(split.labels.max()) < domain.num_classes
    assert domain.num_classes >= 2 and domain.modality and domain.license
