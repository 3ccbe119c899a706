"""Image folders built in tmp_path from real PneumoniaMNIST images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from zoo.datasets.folder import load_image_folder
from zoo.errors import DataError

NAMES = ["normal", "pneumonia"]


def _all(pneumonia_arrays):
    images = np.concatenate([pneumonia_arrays[s][0] for s in ("train", "val", "test")])
    labels = np.concatenate([pneumonia_arrays[s][1] for s in ("train", "val", "test")])
    return images, labels


def test_class_folders_are_split_stratified(tmp_path, pneumonia_arrays, write_png_tree):
    images, labels = _all(pneumonia_arrays)  # 36 images, 18 per class
    write_png_tree(tmp_path / "xr", images, labels, NAMES)
    dom = load_image_folder(tmp_path / "xr", modality="chest X-ray", val=0.2, test=0.2, seed=3)
    assert dom.name == "xr" and dom.label_names == NAMES and dom.channels == 1 and dom.image_size == 28
    assert {k: v.class_counts(2) for k, v in dom.splits.items()} == {"train": [11, 11], "val": [4, 4], "test": [3, 3]}
    # pixels survive the PNG round trip exactly
    every = torch.cat([s.images for s in dom.splits.values()])[:, 0]
    assert {x.numpy().tobytes() for x in every} == {x.tobytes() for x in images}
    assert dom.info["layout"] == "class-folders" and dom.info["files"] == 36


def test_split_folders_keep_their_splits(tmp_path, pneumonia_arrays, write_png_tree):
    for split, folder in (("train", "train"), ("val", "validation"), ("test", "test")):
        ext = ".jpg" if split == "test" else ".png"
        write_png_tree(tmp_path / "xr" / folder, *pneumonia_arrays[split], NAMES, ext=ext)
    dom = load_image_folder(tmp_path / "xr")
    assert [len(dom.splits[s]) for s in ("train", "val", "test")] == [20, 8, 8]
    assert torch.equal(dom.splits["train"].labels, torch.tensor([0] * 10 + [1] * 10))
    assert dom.info["split"] == {"method": "folders", "kept": ["test", "train", "val"]}


def test_missing_val_folder_is_carved_from_train(tmp_path, pneumonia_arrays, write_png_tree):
    write_png_tree(tmp_path / "xr" / "train", *pneumonia_arrays["train"], NAMES)
    write_png_tree(tmp_path / "xr" / "test", *pneumonia_arrays["test"], NAMES)
    dom = load_image_folder(tmp_path / "xr", val=0.2)
    assert [len(dom.splits[s]) for s in ("train", "val", "test")] == [16, 4, 8]


def test_resize_channels_and_label_order(tmp_path, pneumonia_arrays, write_png_tree):
    images, labels = _all(pneumonia_arrays)
    write_png_tree(tmp_path / "xr", images, labels, NAMES)
    big = Image.fromarray(images[0]).resize((40, 40))
    big.save(tmp_path / "xr" / "normal" / "zz_big.png")  # a different size
    with pytest.raises(DataError, match="differ in size .*pass image_size="):
        load_image_folder(tmp_path / "xr")
    dom = load_image_folder(tmp_path / "xr", image_size=32, channels=3, label_names=["pneumonia", "normal"])
    assert dom.channels == 3 and dom.image_size == 32 and dom.label_names == ["pneumonia", "normal"]
    assert sum(s.class_counts(2)[1] for s in dom.splits.values()) == 19  # 'normal' is now class 1


def test_mixed_gray_and_rgb_become_rgb_and_16bit_is_scaled(tmp_path):
    root = tmp_path / "mix"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i in range(5):
            Image.fromarray(np.full((8, 8), 100, np.uint8)).save(root / cls / f"g{i}.png")
        Image.fromarray(np.full((8, 8, 3), 50, np.uint8)).save(root / cls / "rgb.png")
        Image.fromarray(np.full((8, 8), 257 * 200, np.uint16)).save(root / cls / "deep.png")  # 16-bit gray
    dom = load_image_folder(root, val=0.15, test=0.15)
    assert dom.channels == 3
    values = set(torch.cat([s.images for s in dom.splits.values()]).unique().tolist())
    assert values == {50, 100, 200}


def test_errors_are_clear(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_image_folder(tmp_path / "nothing")
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(DataError, match="hold no images"):
        load_image_folder(tmp_path / "empty")
    bad = tmp_path / "bad" / "a"
    bad.mkdir(parents=True)
    (bad / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="cannot decode image .*broken.png"):
        load_image_folder(tmp_path / "bad")
    with pytest.raises(DataError, match="not in label_names"):
        load_image_folder(tmp_path / "bad", label_names=["b"])
