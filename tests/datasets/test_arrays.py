"""A user's own npz arrays as domains: the real MRI and BUSI files, layouts, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zoo.datasets.arrays import convert_channels, load_npz_domain, to_nchw
from zoo.errors import ConfigError, DataError


def test_brain_mri_file(real_data, real_file):
    real_file("brain_tumor_mri/figshare.npz")
    dom = load_npz_domain("brain_tumor_mri/figshare.npz", data_dir=real_data, modality="MRI", license="CC BY 4.0")
    assert dom.name == "figshare" and dom.label_names == ["glioma", "meningioma", "pituitary"]
    sizes = {k: len(v) for k, v in dom.splits.items()}
    assert sum(sizes.values()) == 3064
    assert sizes == {"train": 2144, "val": 307, "test": 613}
    total = [sum(dom.splits[s].class_counts(3)[c] for s in dom.splits) for c in range(3)]
    assert total == [1426, 708, 930]  # counts from PROVENANCE.md
    for split, frac in (("val", 0.1), ("test", 0.2)):  # stratified: each class within one image of its share
        for c, n in enumerate(total):
            assert abs(dom.splits[split].class_counts(3)[c] - n * frac) <= 1
    assert dom.splits["train"].images.shape[1:] == (1, 64, 64)
    assert dom.info["file"] == "brain_tumor_mri/figshare.npz" and len(dom.info["md5"]) == 32
    assert dom.info["split"] == {"method": "stratified", "val": 0.1, "test": 0.2, "seed": 0}


def test_busi_file_seeded_and_disjoint(real_data, real_file):
    path = real_file("busi/busi.npz")
    a = load_npz_domain(path, modality="ultrasound", seed=0)
    b = load_npz_domain(path, modality="ultrasound", seed=0)
    c = load_npz_domain(path, modality="ultrasound", seed=1)
    assert a.label_names == ["normal", "benign", "malignant"]
    assert sum(len(s) for s in a.splits.values()) == 778
    assert torch.equal(a.splits["test"].images, b.splits["test"].images)
    assert not torch.equal(a.splits["test"].images, c.splits["test"].images)
    # no image in two splits (PROVENANCE: no two images are identical after resizing)
    keys = {s: {bytes(x.numpy().tobytes()) for x in a.splits[s].images} for s in a.splits}
    assert not (keys["train"] & keys["val"]) and not (keys["train"] & keys["test"]) and not (keys["val"] & keys["test"])


def test_medmnist_layout_keeps_official_splits(real_file):
    dom = load_npz_domain(real_file("medmnist/pneumoniamnist.npz"), label_names=["normal", "pneumonia"])
    assert [len(dom.splits[s]) for s in ("train", "val", "test")] == [4708, 524, 624]
    assert dom.info["split"]["method"] == "file"


def _save(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_layouts_and_channels(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(2), 10)
    nhwc = rng.integers(0, 256, (20, 12, 12, 3), dtype=np.uint8)
    dom = load_npz_domain(_save(tmp_path / "rgb.npz", images=nhwc, labels=labels))
    assert dom.channels == 3 and dom.label_names == ["0", "1"]
    nchw = load_npz_domain(_save(tmp_path / "chw.npz", images=nhwc.transpose(0, 3, 1, 2), labels=labels[:, None]))
    assert torch.equal(nchw.splits["train"].images, dom.splits["train"].images)
    gray = load_npz_domain(tmp_path / "rgb.npz", channels=1)
    from PIL import Image

    expected = np.array(Image.fromarray(nhwc[0]).convert("L"))  # PIL's luma, bit for bit
    assert torch.equal(convert_channels(to_nchw(nhwc[:1], "x"), 1)[0, 0], torch.from_numpy(expected))
    assert gray.channels == 1
    assert convert_channels(gray.splits["val"].images, 3).shape[1] == 3


def test_train_and_test_only_carves_val(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"train_images": rng.integers(0, 256, (40, 8, 8), dtype=np.uint8), "train_labels": np.arange(40) % 2,
              "test_images": rng.integers(0, 256, (6, 8, 8), dtype=np.uint8), "test_labels": np.arange(6) % 2}
    dom = load_npz_domain(_save(tmp_path / "tt.npz", **arrays), val=0.25)
    assert [len(dom.splits[s]) for s in ("train", "val", "test")] == [30, 10, 6]
    assert dom.info["split"]["method"] == "file+stratified"


@pytest.mark.parametrize("case, match", [
    ("missing_key", "has no key 'labels'"),
    ("float", "images has dtype float32, expected uint8"),
    ("range", "labels in 1..5 but 3 classes"),
    ("count", "10 images but 9 labels"),
    ("shape", "expected \\(N, H, W\\)"),
    ("float_labels", "labels has dtype float64"),
])
def test_bad_files_name_file_and_key(case, match, tmp_path):
    images = np.zeros((10, 8, 8), np.uint8)
    labels = np.arange(10) % 3
    arrays = {"images": images, "labels": labels, "label_names": np.array(["a", "b", "c"])}
    if case == "missing_key":
        del arrays["labels"]
    elif case == "float":
        arrays["images"] = images.astype(np.float32)
    elif case == "range":
        arrays["labels"] = labels * 2 + 1
    elif case == "count":
        arrays["labels"] = labels[:9]
    elif case == "shape":
        arrays["images"] = np.zeros((10, 8, 8, 5), np.uint8)
    elif case == "float_labels":
        arrays["labels"] = labels.astype(np.float64)
    with pytest.raises(DataError, match=match) as err:
        load_npz_domain(_save(tmp_path / "bad.npz", **arrays))
    assert "bad.npz" in str(err.value) and "\n" not in str(err.value)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(DataError, match="relative paths resolve against the data dir"):
        load_npz_domain("nope.npz", data_dir=tmp_path)
    (tmp_path / "junk.npz").write_bytes(b"garbage")
    with pytest.raises(DataError, match="is not an .npz archive .it starts with b.garbag"):
        load_npz_domain(tmp_path / "junk.npz")
    np.savez(tmp_path / "obj.npz", images=np.zeros((4, 8, 8), np.uint8), labels=np.arange(4) % 2,
             label_names=np.array(["a", None], dtype=object))
    with pytest.raises(DataError, match="object arrays"):
        load_npz_domain(tmp_path / "obj.npz")


def test_bad_fractions_are_config_errors(tmp_path):
    path = _save(tmp_path / "ok.npz", images=np.zeros((20, 8, 8), np.uint8), labels=np.arange(20) % 2)
    with pytest.raises(ConfigError, match="val \\+ test < 1"):
        load_npz_domain(path, val=0.5, test=0.5)
    with pytest.raises(DataError, match="too few images"):
        load_npz_domain(_save(tmp_path / "tiny.npz", images=np.zeros((4, 8, 8), np.uint8), labels=np.arange(4) % 2))
