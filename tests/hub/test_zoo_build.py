"""``medzoo zoo build``: catalogue recipes train through the suite runner, reproducibly, with honest cards."""

from __future__ import annotations

import json
import re
from pathlib import Path

from helpers.cli import run_medzoo_many

TINY = ["train.epochs=1", "train.max_steps_per_epoch=3"]


def _sha(stdout: str) -> str:
    match = re.search(r"sha256\s*│\s*([0-9a-f]{64})", stdout)
    assert match, stdout
    return match.group(1)


def test_same_recipe_and_seed_give_the_same_weights_hash_and_the_mri_entry_builds(tiny_build, tmp_path, data_dir):
    again, mri = run_medzoo_many([
        ["zoo", "build", "simple_cnn-pneumoniamnist", *TINY, "-o", "a", "--no-progress"],
        ["zoo", "build", "resnet18_28-brain-mri", "train.epochs=1", "train.max_steps_per_epoch=2",
         "train.batch_size=32", "-o", "b", "--no-progress"],
    ], cwd=tmp_path, env={"MEDZOO_DATA": str(data_dir)}, timeout=300)
    assert again.returncode == 0, again.stderr
    # another process, another output folder, the same recipe and seed: the very same bytes
    assert _sha(again.stdout) == tiny_build["sha256"]
    assert "recipe changed by overrides: not comparable" in again.stdout
    assert mri.returncode == 0, mri.stderr

    folder = tmp_path / "b" / "checkpoints" / "resnet18_28-brain-mri"
    config = json.loads((folder / "config.json").read_text())
    assert config["label_names"] == ["glioma", "meningioma", "pituitary"] or len(config["label_names"]) == 3
    assert config["architecture"] == "resnet18" and config["medzoo"]["backbone"] == {"name": "resnet18_28"}
    assert config["pretrained_cfg"]["input_size"] == [1, 28, 28]
    assert config["medzoo"]["recipe"]["train"]["max_steps_per_epoch"] == 2  # the recipe actually trained
    records = [json.loads(line) for line in (tmp_path / "b" / "results.jsonl").read_text().splitlines()]
    (record,) = records
    assert record["suite"]["name"] == "zoo-build-resnet18_28-brain-mri"
    card = (folder / "README.md").read_text()
    test = record["metrics"]["target_test"]
    assert f"| target_test | {test['accuracy']:.4f} | {test['balanced_accuracy']:.4f} |" in card
    assert f"medzoo run `{record['run_id']}`" in card
    assert _sha(mri.stdout) == config["medzoo"]["weights_sha256"]


def test_tiny_build_is_a_real_run_with_a_checkpoint_that_loads(tiny_build):
    from zoo.hub import load_pretrained

    record = tiny_build["record"]
    assert record["task"]["target_budget"] == 1.0 and record["algorithm"] == "full_ft"
    assert record["selection"]["rule"] == "target_val"  # the test split never selects
    model = load_pretrained(str(tiny_build["folder"]))
    assert model.label_names == ["normal", "pneumonia"] and model.input_size == (1, 28, 28)
    assert Path(tiny_build["folder"], "model.safetensors").is_file()


def test_zoo_list_says_which_entries_are_not_published(tmp_path):
    """The shipped catalogue's medzoo entries are unpublished: the listing says so, and how to get one."""
    from zoo.hub.catalogue import load_catalogue

    unpublished = [e.name for e in load_catalogue().entries.values() if e.info.get("published") is False]
    listed, = run_medzoo_many([["zoo", "list"]], cwd=tmp_path, env={"COLUMNS": "250"})
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if any(f" {name} " in line for name in unpublished)]
    assert len(rows) == len(unpublished) and all("not yet" in row for row in rows), listed.stdout
    assert f"{len(unpublished)} of " in listed.stdout and "medzoo zoo build NAME" in listed.stdout
