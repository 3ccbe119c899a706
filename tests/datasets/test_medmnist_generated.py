"""MedMNIST loader on generated files that have the official format (all 12 flags, sizes 28 and 64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zoo.datasets import medmnist as mm
from zoo.datasets.base import SPLITS, Domain
from zoo.errors import ConfigError, DataError

TWELVE = ["pathmnist", "chestmnist", "dermamnist", "octmnist", "pneumoniamnist", "retinamnist", "breastmnist",
          "bloodmnist", "tissuemnist", "organamnist", "organcmnist", "organsmnist"]
RGB = {"pathmnist", "dermamnist", "retinamnist", "bloodmnist"}
NUM_CLASSES = {"pathmnist": 9, "chestmnist": 14, "dermamnist": 7, "octmnist": 4, "pneumoniamnist": 2,
               "retinamnist": 5, "breastmnist": 2, "bloodmnist": 8, "tissuemnist": 8, "organamnist": 11,
               "organcmnist": 11, "organsmnist": 11}


def test_table_covers_the_twelve_2d_datasets_at_four_sizes():
    assert list(mm.FLAGS) == TWELVE
    assert mm.SIZES == (28, 64, 128, 224)
    assert len(mm.medmnist_table()) == 48
    for (flag, size), meta in mm.medmnist_table().items():
        assert meta.file == (f"{flag}.npz" if size == 28 else f"{flag}_{size}.npz")
        assert len(meta.md5) == 32 and meta.url.startswith("https://zenodo.org/")
        assert meta.modality and meta.source_citation and meta.license.startswith("CC BY")
        assert len(meta.label_names) == NUM_CLASSES[flag]
        assert meta.channels == (3 if flag in RGB else 1)


def test_table_matches_the_shared_official_list(real_file):
    """The package table is derived from official-files.tsv: every shared fact must agree."""
    import csv
    import json

    rows = list(csv.DictReader(real_file("medmnist/official-files.tsv").open(), delimiter="\t"))
    official = {(r["flag"], int(r["size"])): r for r in rows}
    for key, meta in mm.medmnist_table().items():
        row = official[key]
        assert (meta.file, meta.md5, meta.url, meta.task, meta.license) == (row["file"], row["md5"], row["url"],
                                                                            row["task"], row["license"])
        assert (meta.n["train"], meta.n["val"], meta.n["test"]) == (int(row["n_train"]), int(row["n_val"]),
                                                                    int(row["n_test"]))
        assert meta.channels == int(row["n_channels"])
        names = json.loads(row["labels_json"])
        assert list(meta.label_names) == [names[str(i)] for i in range(len(names))]


def test_modalities_are_the_documented_ones():
    expected = {"pathmnist": "histopathology", "chestmnist": "chest X-ray", "dermamnist": "dermatoscopy",
                "octmnist": "OCT", "pneumoniamnist": "chest X-ray", "retinamnist": "fundus",
                "breastmnist": "ultrasound",
                "bloodmnist": "blood cell microscopy", "tissuemnist": "kidney cortex microscopy",
                "organamnist": "abdominal CT", "organcmnist": "abdominal CT", "organsmnist": "abdominal CT"}
    assert {f: mm.medmnist_file(f).modality for f in TWELVE} == expected


@pytest.mark.parametrize("size", [28, 64])
@pytest.mark.parametrize("flag", TWELVE)
def test_generated_file_loads_through_the_factory(flag, size, tmp_path):
    path = mm.write_example_file(flag, size, tmp_path)
    assert path == tmp_path / "medmnist" / mm.medmnist_file(flag, size).file
    with np.load(path) as npz:  # the generated file has the official keys and dtypes
        assert npz.files == ["train_images", "val_images", "test_images", "train_labels", "val_labels", "test_labels"]
        assert npz["train_images"].dtype == np.uint8 and npz["train_labels"].dtype == np.uint8
    kwargs = {"label": "effusion"} if flag == "chestmnist" else {}
    domain = getattr(mm, flag)(size=size, data_dir=tmp_path, verify=False, **kwargs)
    assert isinstance(domain, Domain)
    channels = 3 if flag in RGB else 1
    k = NUM_CLASSES[flag]
    assert domain.name.startswith(flag if size == 28 else f"{flag}_{size}")
    assert domain.channels == channels and domain.image_size == size
    for split, n in zip(SPLITS, (4 * k, 2 * k, 2 * k)):
        images, labels = domain.splits[split].images, domain.splits[split].labels
        assert images.shape == (n, channels, size, size) and images.dtype == torch.uint8
        assert labels.shape == (n,) and labels.dtype == torch.int64
        assert int(labels.max()) < domain.num_classes
    if flag == "chestmnist":
        assert domain.label_names == ["effusion absent", "effusion present"]
        assert domain.name == ("chestmnist_effusion" if size == 28 else "chestmnist_64_effusion")
    else:
        assert domain.num_classes == k
        assert domain.splits["train"].class_counts(k) == [4] * k
    assert domain.modality == mm.medmnist_file(flag).modality
    assert "MedMNIST v2" in domain.citation and mm.medmnist_file(flag).source_citation in domain.citation
    assert domain.info["file"] == path.name and domain.info["verified"] is False
    assert domain.info["size"] == size and domain.info["task"]


@pytest.mark.parametrize("flag", TWELVE)
def test_generated_file_fails_md5_verification(flag, tmp_path):
    mm.write_example_file(flag, 28, tmp_path)
    kwargs = {"label": "mass"} if flag == "chestmnist" else {}
    with pytest.raises(DataError) as err:
        getattr(mm, flag)(data_dir=tmp_path, verify=True, **kwargs)
    message = str(err.value)
    assert "\n" not in message
    assert mm.medmnist_file(flag).file in message and mm.medmnist_file(flag).md5 in message
    assert "download it again" in message


def test_factories_are_documented_and_named():
    for flag in TWELVE:
        factory = getattr(mm, flag)
        assert factory.__name__ == flag and "Usage::" in factory.__doc__
        assert callable(factory.conformance_kwargs)


def test_class_names_with_commas_read_as_one_class():
    """BreastMNIST's second class is 'normal, benign': its description must not read as three classes."""
    assert "2 classes ('malignant', 'normal, benign')" in mm.breastmnist.__doc__


def test_split_sizes_are_checked_when_verifying(tmp_path, monkeypatch):
    """A file whose md5 matches the table but whose split sizes do not is rejected (table patched)."""
    path = mm.write_example_file("breastmnist", 28, tmp_path)
    meta = mm.medmnist_file("breastmnist", 28)
    from dataclasses import replace

    from zoo.datasets.download import file_md5

    patched = dict(mm.medmnist_table())
    patched[("breastmnist", 28)] = replace(meta, md5=file_md5(path))
    monkeypatch.setattr(mm, "medmnist_table", lambda: patched)
    with pytest.raises(DataError, match="train has 8 images, the official breastmnist.npz has 546"):
        mm.breastmnist(data_dir=tmp_path)


def test_chestmnist_needs_a_finding(tmp_path):
    mm.write_example_file("chestmnist", 28, tmp_path)
    with pytest.raises(ConfigError, match="multi-label.*label: <name>.*findings: atelectasis"):
        mm.chestmnist(data_dir=tmp_path, verify=False)
    with pytest.raises(ConfigError, match="did you mean 'pneumonia'"):
        mm.chestmnist(data_dir=tmp_path, verify=False, label="pneumonai")
    with np.load(tmp_path / "medmnist" / "chestmnist.npz") as npz:
        column = npz["test_labels"][:, 6]  # 6 = pneumonia
    domain = mm.chestmnist(data_dir=tmp_path, verify=False, label="Pneumonia")
    assert domain.splits["test"].labels.tolist() == column.tolist()
    assert domain.info["label"] == "pneumonia" and domain.num_classes == 2


def test_label_on_a_single_label_dataset_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="single-label"):
        mm.pneumoniamnist(data_dir=tmp_path, label="pneumonia")


def test_unknown_flag_and_size_are_config_errors():
    with pytest.raises(ConfigError, match="did you mean 'pneumoniamnist'"):
        mm.load_medmnist("pneumoniamnis")
    with pytest.raises(ConfigError, match="sizes are 28, 64, 128, 224"):
        mm.load_medmnist("pneumoniamnist", size=32)
    assert mm.medmnist_file("pneumoniamnist", "64").file == "pneumoniamnist_64.npz"  # YAML may give a string


def test_missing_file_says_where_and_how(tmp_path):
    with pytest.raises(DataError) as err:
        mm.pneumoniamnist(size=64, data_dir=tmp_path)
    expected = (f"pneumoniamnist_64.npz not found in {tmp_path / 'medmnist'}; download it from "
                "https://zenodo.org/records/10519652/files/pneumoniamnist_64.npz?download=1 into that folder, "
                "or pass --download")
    assert str(err.value).startswith(expected)


@pytest.mark.parametrize("env", ["MEDZOO_OFFLINE", "HF_HUB_OFFLINE"])
def test_offline_mode_never_downloads(env, tmp_path, monkeypatch):
    monkeypatch.setenv(env, "1")
    monkeypatch.setattr(mm, "download_file", lambda *a, **k: pytest.fail("must not download offline"))
    with pytest.raises(DataError, match="offline mode is on"):
        mm.breastmnist(data_dir=tmp_path, download=True)


def test_data_dir_defaults_to_env(tmp_path, monkeypatch):
    mm.write_example_file("octmnist", 28, tmp_path)
    monkeypatch.setenv("MEDZOO_DATA", str(tmp_path))
    assert len(mm.octmnist(verify=False).splits["val"]) == 8


@pytest.mark.parametrize("bad", ["keys", "shape", "labels"])
def test_malformed_files_are_data_errors(bad, tmp_path):
    path = mm.write_example_file("pneumoniamnist", 28, tmp_path)
    with np.load(path) as npz:
        arrays = dict(npz)
    if bad == "keys":
        del arrays["val_labels"]
    elif bad == "shape":
        arrays["train_images"] = arrays["train_images"][:, :20, :20]
    else:
        arrays["test_labels"][0] = 7
    np.savez_compressed(path, **arrays)
    with pytest.raises(DataError, match={"keys": "no key 'val_labels'", "shape": "expected \\(1, 28, 28\\)",
                                         "labels": "labels in 0..7 but 2 classes"}[bad]):
        mm.pneumoniamnist(data_dir=tmp_path, verify=False)
