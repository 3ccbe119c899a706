"""The two official MedMNIST files shipped in the shared data folder (never skipped: set MEDZOO_DATA)."""

from __future__ import annotations

import pytest
import torch

from zoo.datasets import download
from zoo.datasets import medmnist as mm
from zoo.errors import DataError

# from medmnist/PROVENANCE.md
EXPECTED = {
    "pneumoniamnist": {"md5": "28209eda62fecd6e6a2d98b1501bb15f", "sizes": (4708, 524, 624),
                       "counts": {"train": [1214, 3494], "val": [135, 389], "test": [234, 390]},
                       "names": ["normal", "pneumonia"], "modality": "chest X-ray"},
    "breastmnist": {"md5": "750601b1f35ba3300ea97c75c52ff8f6", "sizes": (546, 78, 156),
                    "counts": {"train": [147, 399], "val": [21, 57], "test": [42, 114]},
                    "names": ["malignant", "normal, benign"], "modality": "ultrasound"},
}


@pytest.mark.parametrize("flag", sorted(EXPECTED))
def test_official_file_loads_verified(flag, real_data, real_file):
    real_file(f"medmnist/{flag}.npz")
    expected = EXPECTED[flag]
    domain = getattr(mm, flag)(size=28, data_dir=real_data)  # verify=True by default
    assert domain.name == flag
    assert tuple(len(domain.splits[s]) for s in ("train", "val", "test")) == expected["sizes"]
    for split, counts in expected["counts"].items():
        assert domain.splits[split].class_counts(2) == counts
        assert domain.splits[split].images.shape[1:] == (1, 28, 28)
        assert domain.splits[split].images.dtype == torch.uint8
    assert domain.label_names == expected["names"]
    assert domain.modality == expected["modality"]
    assert domain.license == "CC BY 4.0"
    assert domain.info["md5"] == expected["md5"] and domain.info["verified"] is True
    assert "Scientific Data 10, 41 (2023)" in domain.citation


def test_images_match_the_file_exactly(real_data, real_file):
    import numpy as np

    with np.load(real_file("medmnist/breastmnist.npz")) as npz:
        raw_images, raw_labels = npz["test_images"], npz["test_labels"]
    domain = mm.breastmnist(data_dir=real_data)
    assert torch.equal(domain.splits["test"].images[:, 0], torch.from_numpy(raw_images))
    assert domain.splits["test"].labels.tolist() == raw_labels[:, 0].tolist()


def test_md5_is_computed_once_per_file_version(real_data, real_file, monkeypatch):
    real_file("medmnist/pneumoniamnist.npz")
    mm.pneumoniamnist(data_dir=real_data)  # warms the cache
    calls = []
    real_md5 = download.hashlib.md5
    monkeypatch.setattr(download.hashlib, "md5", lambda *a: calls.append(1) or real_md5(*a))
    mm.pneumoniamnist(data_dir=real_data)
    assert calls == []  # the cached verification was used


def test_md5_sidecar_survives_a_new_process(tmp_path, real_file, monkeypatch):
    """The sidecar written next to a (writable) copy is reused after the in-process cache is gone."""
    import shutil

    copy = tmp_path / "medmnist" / "breastmnist.npz"
    copy.parent.mkdir()
    shutil.copy2(real_file("medmnist/breastmnist.npz"), copy)
    mm.breastmnist(data_dir=tmp_path)
    assert (copy.parent / ".breastmnist.npz.md5.json").is_file()
    monkeypatch.setattr(download, "_MD5_CACHE", {})
    monkeypatch.setattr(download.hashlib, "md5", lambda *a: pytest.fail("sidecar not used"))
    assert mm.breastmnist(data_dir=tmp_path).info["md5"] == EXPECTED["breastmnist"]["md5"]


def test_a_modified_copy_is_rejected(tmp_path, real_file):
    import shutil

    copy = tmp_path / "medmnist" / "breastmnist.npz"
    copy.parent.mkdir()
    shutil.copy2(real_file("medmnist/breastmnist.npz"), copy)
    mm.breastmnist(data_dir=tmp_path)  # verified, cached, sidecar written
    with open(copy, "r+b") as fh:  # flip one byte: size unchanged, mtime changes
        fh.seek(1000)
        byte = fh.read(1)
        fh.seek(1000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    import os

    os.utime(copy, ns=(copy.stat().st_atime_ns, copy.stat().st_mtime_ns + 10**9))
    with pytest.raises(DataError, match="has md5 .* but the official breastmnist.npz has 750601b1"):
        mm.breastmnist(data_dir=tmp_path)
