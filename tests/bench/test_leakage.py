"""Leakage is checked on the images, not on configuration names (zoo.bench.leakage, zoo.datasets.copies).

Each way a training image can reach the target's test split without the specs showing it is tried on the
real PneumoniaMNIST file: the same images at another size, a pool carved with another seed, the dataset
repackaged under another name, and an ``init:`` checkpoint whose run trained on the test images. Each is
refused before any training, in one line with the count and the domains. Disjoint parts of one partition
pass, and BreastMNIST, whose official splits hold near-identical copies, passes only when its partition
keeps copies together (``group_copies``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from zoo.errors import ConfigError

SUITE = """\
suite: leak
version: 1
defaults:
  backbone: {{name: simple_cnn}}
  train: {{epochs: 1, batch_size: 32, max_steps_per_epoch: 2}}
  image_size: 28
  seeds: [0]
domains:
  target: {{dataset: pneumoniamnist}}
  source: {source}
tasks:
  - {{name: t, source: source, target: target, target_budget: 0, algorithms: [source_only]}}
"""


@pytest.fixture(scope="module")
def pneumonia(data_dir):
    return dict(np.load(data_dir / "medmnist" / "pneumoniamnist.npz"))


@pytest.fixture
def folder(tmp_path, data_dir):
    """A data folder holding the real PneumoniaMNIST file (linked) beside generated ones."""
    (tmp_path / "data" / "medmnist").mkdir(parents=True)
    (tmp_path / "data" / "medmnist" / "pneumoniamnist.npz").symlink_to(data_dir / "medmnist" / "pneumoniamnist.npz")
    return tmp_path / "data"


def _refusal(tmp_path, folder, source: str) -> str:
    from zoo.bench.suite import load_suite
    from zoo.runner.suite_runner import run_suite

    path = tmp_path / "leak.yaml"
    path.write_text(SUITE.format(source=source))
    with pytest.raises(ConfigError) as info:
        run_suite(load_suite(str(path)), tmp_path / "runs", data_dir=folder, cpu=True, show_progress=False)
    assert not (tmp_path / "runs" / "results.jsonl").exists() or not (tmp_path / "runs" / "results.jsonl").read_text()
    message = str(info.value)
    assert "\n" not in message
    print(message)  # the refusal, as a user sees it (pytest -s)
    return message


def test_the_same_images_at_another_size_are_refused(tmp_path, folder, pneumonia):
    # a 64 px file (the format of pneumoniamnist_64.npz) whose training split holds the test images, upsampled
    up = lambda x: F.interpolate(torch.as_tensor(x)[:, None].float(), size=(64, 64), mode="bicubic").clamp(0, 255)  # noqa: E731
    arrays = {f"{s}_{k}": pneumonia[f"{s}_{k}"] for s in ("train", "val", "test") for k in ("images", "labels")}
    arrays["train_images"] = up(pneumonia["test_images"]).round().to(torch.uint8)[:, 0].numpy()
    arrays["train_labels"] = pneumonia["test_labels"]
    arrays["val_images"], arrays["test_images"] = (up(pneumonia[f"{s}_images"]).round().to(torch.uint8)[:, 0].numpy()
                                                   for s in ("val", "test"))
    np.savez(folder / "medmnist" / "pneumoniamnist_64.npz", **arrays)
    message = _refusal(tmp_path, folder, "{dataset: pneumoniamnist, size: 64, verify: false}")
    assert "624 of 624 test images of target 'target'" in message and "source 'source'" in message


def test_a_pool_carved_with_another_seed_is_refused(tmp_path, folder, pneumonia):
    images = np.concatenate([pneumonia[f"{s}_images"] for s in ("train", "val", "test")])
    labels = np.concatenate([pneumonia[f"{s}_labels"] for s in ("train", "val", "test")])
    np.savez(folder / "pool.npz", images=images, labels=labels, label_names=np.array(["normal", "pneumonia"]))
    from zoo.bench.suite import load_suite
    from zoo.runner.suite_runner import run_suite

    suite = SUITE.replace("target: {{dataset: pneumoniamnist}}", "target: {{dataset: npz, path: pool.npz, seed: 0}}")
    path = tmp_path / "leak.yaml"
    path.write_text(suite.format(source="{dataset: npz, path: pool.npz, seed: 1}"))
    with pytest.raises(ConfigError) as info:
        run_suite(load_suite(str(path)), tmp_path / "runs", data_dir=folder, cpu=True, show_progress=False)
    message = str(info.value)
    print(message)
    assert "\n" not in message and "test images of target 'target' are copies of training images of source" in message
    count, total = (int(x) for x in message.split("leakage: ")[1].split(" test images")[0].split(" of "))
    assert total == 1172 and 700 < count < 900  # about 70% of the test images are in the other carve's train split


def test_the_dataset_repackaged_under_another_name_is_refused(tmp_path, folder, pneumonia):
    images = np.concatenate([pneumonia[f"{s}_images"] for s in ("train", "val", "test")])
    labels = np.concatenate([pneumonia[f"{s}_labels"] for s in ("train", "val", "test")])
    np.savez(folder / "chest-xray-children.npz", images=images, labels=labels,
             label_names=np.array(["normal", "pneumonia"]))
    message = _refusal(tmp_path, folder, "{dataset: npz, path: chest-xray-children.npz, name: site-b}")
    count = int(message.split("leakage: ")[1].split(" of 624")[0])
    assert 400 < count < 500 and "source 'source'" in message  # ~70% of the 624 test images


def test_an_init_checkpoint_trained_on_the_test_images_is_refused(tmp_path, folder, pneumonia):
    from zoo.bench.suite import load_suite
    from zoo.runner.suite_runner import run_suite

    names = np.array(["normal", "pneumonia"])
    np.savez(folder / "leaky.npz", images=pneumonia["test_images"], labels=pneumonia["test_labels"], label_names=names)
    np.savez(folder / "train-only.npz", images=pneumonia["train_images"], labels=pneumonia["train_labels"],
             label_names=names)
    first = tmp_path / "first.yaml"  # a run that trains on the official test images (its own target is elsewhere)
    first.write_text(SUITE.format(source="{dataset: npz, path: leaky.npz}").replace(
        "target: {dataset: pneumoniamnist}", "target: {dataset: npz, path: train-only.npz}"))
    record, = run_suite(load_suite(str(first)), tmp_path / "first", data_dir=folder, cpu=True, show_progress=False)
    run_dir = tmp_path / "first" / Path(record["checkpoint"]).parent
    second = tmp_path / "second.yaml"  # clean source, but initialised from that run
    second.write_text(SUITE.format(source="{dataset: npz, path: train-only.npz}").replace(
        "algorithms: [source_only]}", f"algorithms: [source_only], init: {run_dir}}}"))
    with pytest.raises(ConfigError) as info:
        run_suite(load_suite(str(second)), tmp_path / "second", data_dir=folder, cpu=True, show_progress=False)
    message = str(info.value)
    print(message)
    assert "\n" not in message
    # leaky.npz is carved 70/10/20 by its loader: its run trained on ~70% of the 624 test images
    assert "438 of 624 test images of target 'target' are copies of training images of init checkpoint" in message
    assert str(run_dir.resolve()) in message and "(source) 'source'" in message


def test_disjoint_parts_pass_and_carry_the_patient_caveat(data_dir):
    from zoo.bench.leakage import check_leakage
    from zoo.bench.suite import load_suite

    run = load_suite("quick").runs()[0]
    caveats = check_leakage(run.config, data_dir)
    assert caveats == ["patient_level: false: pneumoniamnist has no patient ids and medzoo cut the source/target "
                       "parts image by image, so one patient's images can be on both sides"]


def test_breastmnist_parts_share_copies_unless_grouped(data_dir):
    from zoo.bench.leakage import LeakageError, check_leakage

    def config(group: bool):
        part = lambda p: {"part": p, "of": 2, "seed": 0, **({"group_copies": True} if group else {})}  # noqa: E731
        return {"task": {"sources": {"us": {"dataset": "breastmnist", "partition": part(0)}},
                         "target": {"us_shifted": {"dataset": "breastmnist", "partition": part(1),
                                                   "shift": {"name": "contrast", "severity": 2}}}}}

    with pytest.raises(LeakageError, match=r"leakage: 8 of 78 test images of target 'us_shifted' .* source 'us'"):
        check_leakage(config(False), data_dir)
    caveats = check_leakage(config(True), data_dir)
    assert any("have a near-identical copy in its own training split" in c for c in caveats)


def test_fingerprints_find_resized_copies_and_only_those(pneumonia):
    from zoo.datasets.copies import COPY_THRESHOLD, fingerprints, has_copy

    test = torch.as_tensor(pneumonia["test_images"])[:, None]  # (624, 1, 28, 28) uint8
    train = torch.as_tensor(pneumonia["train_images"])[:, None]
    resized = F.interpolate(test.float(), size=(64, 64), mode="bicubic").clamp(0, 255).round().to(torch.uint8)
    assert has_copy(fingerprints(resized), fingerprints(test)).all()
    sim = (fingerprints(test) @ fingerprints(train).T).max(1).values
    assert sim.max() < COPY_THRESHOLD - 0.02  # distinct X-rays stay well below the threshold
