"""The Hugging Face adapter on local parquet files and image folders made from real PneumoniaMNIST images.

Offline throughout: HF_DATASETS_OFFLINE=1 (and the already-imported ``datasets`` config agrees), and a
private cache in tmp_path.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from zoo.datasets.hf import load_hf_domain
from zoo.errors import ConfigError, DataError

NAMES = ["normal", "pneumonia"]


@pytest.fixture(autouse=True)
def hf_offline(monkeypatch):
    import datasets
    import huggingface_hub.constants

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


def _parquet(path, images, labels, label_feature="classlabel", rgb=False):
    import datasets

    label = (datasets.ClassLabel(names=NAMES) if label_feature == "classlabel"
             else datasets.Value("string") if label_feature == "string" else datasets.Value("int64"))
    values = [NAMES[int(v)] for v in labels] if label_feature == "string" else [int(v) for v in labels]
    pil = [Image.fromarray(x).convert("RGB") if rgb else Image.fromarray(x) for x in images]
    table = datasets.Dataset.from_dict({"img": pil, "diagnosis": values},
                                       features=datasets.Features({"img": datasets.Image(), "diagnosis": label}))
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(str(path))
    return path


def test_parquet_with_classlabel_and_split_mapping(tmp_path, pneumonia_arrays):
    files = {}
    for split, hf_name in (("train", "train"), ("val", "validation"), ("test", "test")):
        files[hf_name] = str(_parquet(tmp_path / "pq" / f"{hf_name}.parquet", *pneumonia_arrays[split]))
    dom = load_hf_domain("parquet", data_files=files, image_column="img", label_column="diagnosis",
                         cache_dir=str(tmp_path / "cache"), modality="chest X-ray")
    assert dom.label_names == NAMES
    assert [len(dom.splits[s]) for s in ("train", "val", "test")] == [20, 8, 8]
    for split in ("train", "val", "test"):
        images, labels = pneumonia_arrays[split]
        assert dom.splits[split].images.shape == (len(images), 1, 28, 28)
        assert torch.equal(dom.splits[split].images[:, 0], torch.from_numpy(images))  # PNG round trip is exact
        assert dom.splits[split].labels.tolist() == labels.tolist()
    assert dom.info["split"]["map"] == {"train": "train", "validation": "val", "test": "test"}
    assert dom.name == "train"  # default name: the first data file's stem


def test_parquet_train_only_string_labels_rgb_resized(tmp_path, pneumonia_arrays):
    images = np.concatenate([pneumonia_arrays[s][0] for s in ("train", "val", "test")])
    labels = np.concatenate([pneumonia_arrays[s][1] for s in ("train", "val", "test")])
    path = _parquet(tmp_path / "all.parquet", images, labels, label_feature="string", rgb=True)
    dom = load_hf_domain("parquet", data_files=str(path), image_column="img", label_column="diagnosis",
                         image_size=32, channels=1, val=0.2, test=0.2, seed=1, cache_dir=str(tmp_path / "c"),
                         name="pneu")
    assert dom.name == "pneu" and dom.label_names == NAMES  # sorted class names
    assert dom.channels == 1 and dom.image_size == 32
    assert {k: v.class_counts(2) for k, v in dom.splits.items()} == {"train": [11, 11], "val": [4, 4], "test": [3, 3]}
    assert dom.info["split"]["method"] == "hf+stratified"


def test_relative_data_files_resolve_against_data_dir(tmp_path, pneumonia_arrays):
    _parquet(tmp_path / "data" / "pq" / "train.parquet", *pneumonia_arrays["train"], label_feature="int")
    dom = load_hf_domain("parquet", data_files={"train": "pq/*.parquet"}, data_dir=tmp_path / "data",
                         image_column="img", label_column="diagnosis", val=0.2, test=0.2,
                         cache_dir=str(tmp_path / "c"))
    assert dom.label_names == ["0", "1"] and sum(len(s) for s in dom.splits.values()) == 20


def test_imagefolder_builder(tmp_path, pneumonia_arrays, write_png_tree):
    write_png_tree(tmp_path / "imf" / "train", *pneumonia_arrays["train"], NAMES)
    write_png_tree(tmp_path / "imf" / "test", *pneumonia_arrays["test"], NAMES)
    dom = load_hf_domain("imagefolder", hf_data_dir=str(tmp_path / "imf"), cache_dir=str(tmp_path / "cache"),
                         val=0.2, name="pneu_folder")
    assert dom.label_names == NAMES  # ClassLabel inferred from the folder names
    assert [len(dom.splits[s]) for s in ("train", "val", "test")] == [16, 4, 8]
    assert dom.channels == 1 and dom.image_size == 28
    assert sorted(dom.splits["test"].labels.tolist()) == sorted(pneumonia_arrays["test"][1].tolist())


def test_save_to_disk_folder(tmp_path, pneumonia_arrays):
    import datasets

    path = _parquet(tmp_path / "t.parquet", *pneumonia_arrays["train"])
    datasets.Dataset.from_parquet(str(path), cache_dir=str(tmp_path / "c")).save_to_disk(str(tmp_path / "saved"))
    dom = load_hf_domain(str(tmp_path / "saved"), image_column="img", label_column="diagnosis", val=0.2, test=0.2)
    assert dom.name == "saved" and dom.label_names == NAMES and sum(len(s) for s in dom.splits.values()) == 20


def test_errors(tmp_path, pneumonia_arrays):
    path = str(_parquet(tmp_path / "t.parquet", *pneumonia_arrays["train"]))
    cache = str(tmp_path / "c")
    with pytest.raises(ConfigError, match="column 'image' is not in parquet \\(columns: img, diagnosis\\)"):
        load_hf_domain("parquet", data_files=path, cache_dir=cache)
    with pytest.raises(ConfigError, match="'dev' is not a split"):
        load_hf_domain("parquet", data_files=path, splits={"dev": "val"}, image_column="img",
                       label_column="diagnosis", cache_dir=cache)
    with pytest.raises(DataError, match="cannot load Hugging Face dataset 'nobody/no-such-dataset' \\(offline"):
        load_hf_domain("nobody/no-such-dataset", cache_dir=cache)
