"""Bad data input through the real CLI: one line, exit 2, and results already written stay intact.

Covers the data side of the issue's list: md5 mismatch, a data file missing offline, a label mismatch
between source and target, a label map naming a label that does not exist.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from helpers.cli import assert_one_line_error, run_medzoo


def _previous_record() -> bytes:
    """A valid record of an earlier run, as one results line."""
    import json

    from zoo.results.record import make_record

    record = make_record(
        run_id="earlier-run", suite={"name": "data-errors", "version": 1},
        task={"name": "t", "source": ["src"], "target": "tgt", "target_budget": 0},
        algorithm="source_only", backbone={"name": "simple_cnn", "options": {}}, hparams={},
        train={"epochs": 1, "batch_size": 128, "lr": 0.001, "optimizer": "adam"}, seed=0,
        selection={"rule": "source_val"}, metrics={"target_test": {"accuracy": 0.5}},
        timings={"train_s": 1.0, "eval_s": 1.0, "total_s": 2.0},
    )
    return (json.dumps(record) + "\n").encode()


PREVIOUS = _previous_record()


def _suite(tmp_path: Path, source: str, target: str, label_map: str = "") -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(textwrap.dedent(f"""\
        suite: data-errors
        version: 1
        defaults: {{train: {{epochs: 1}}, seeds: [0]}}
        domains:
          src: {source}
          tgt: {target}
        tasks:
          - name: t
            source: src
            target: tgt
            target_budget: 0
            algorithms: [source_only]
        {label_map}"""))
    return path


@pytest.fixture
def output_with_history(tmp_path: Path) -> Path:
    """An output folder that already holds results: no failing command may touch them."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.jsonl").write_bytes(PREVIOUS)
    return out


def _assert_untouched(out: Path) -> None:
    assert (out / "results.jsonl").read_bytes() == PREVIOUS
    assert not (out / "runs").exists() or not any((out / "runs").iterdir())


def test_md5_mismatch_is_one_line_and_loses_nothing(tmp_path, data_dir, output_with_history):
    corrupt = tmp_path / "data" / "medmnist"
    corrupt.mkdir(parents=True)
    blob = bytearray((data_dir / "medmnist" / "pneumoniamnist.npz").read_bytes())
    blob[-100] ^= 0xFF  # one flipped byte inside the zip's central directory region
    (corrupt / "pneumoniamnist.npz").write_bytes(bytes(blob))
    suite = _suite(tmp_path, "{dataset: pneumoniamnist, partition: {part: 0}}",
                   "{dataset: pneumoniamnist, partition: {part: 1}}")
    proc = run_medzoo(["run", str(suite), "--data-dir", str(tmp_path / "data"), "-o", str(output_with_history)],
                      cwd=tmp_path)
    assert_one_line_error(proc, "pneumoniamnist.npz", "md5", "28209eda62fecd6e6a2d98b1501bb15f")
    _assert_untouched(output_with_history)


def test_missing_file_offline_names_the_file_and_where_to_put_it(tmp_path, output_with_history):
    empty = tmp_path / "empty-data"
    empty.mkdir()
    suite = _suite(tmp_path, "{dataset: breastmnist, partition: {part: 0}}",
                   "{dataset: breastmnist, partition: {part: 1}}")
    proc = run_medzoo(["run", str(suite), "-o", str(output_with_history)], cwd=tmp_path,
                      env={"MEDZOO_DATA": str(empty), "MEDZOO_OFFLINE": "1"})
    assert_one_line_error(proc, "breastmnist.npz", str(empty / "medmnist"))
    _assert_untouched(output_with_history)


def test_label_mismatch_between_source_and_target(tmp_path, data_dir, output_with_history):
    # PneumoniaMNIST (normal/pneumonia) -> BreastMNIST (malignant/normal, benign): two classes each, other names.
    suite = _suite(tmp_path, "{dataset: pneumoniamnist}", "{dataset: breastmnist}")
    proc = run_medzoo(["run", str(suite), "--data-dir", str(data_dir), "-o", str(output_with_history)], cwd=tmp_path)
    assert_one_line_error(proc, "label mismatch", "pneumonia", "add a label_map")
    _assert_untouched(output_with_history)


def test_label_map_naming_a_missing_label(tmp_path, data_dir, output_with_history):
    suite = _suite(tmp_path, "{dataset: pneumoniamnist}", "{dataset: breastmnist}",
                   label_map="    label_map: {normal: 'normal, benign', pneumonia: cancer}\n")
    text = suite.read_text().replace("            algorithms: [source_only]\n    label_map",
                                     "            algorithms: [source_only]\n            label_map")
    suite.write_text(text)
    proc = run_medzoo(["run", str(suite), "--data-dir", str(data_dir), "-o", str(output_with_history)], cwd=tmp_path)
    assert_one_line_error(proc, "suite.yaml: task 't'", "label_map", "cancer")
    _assert_untouched(output_with_history)


def test_images_the_network_cannot_take_fail_before_any_training(tmp_path, data_dir, output_with_history):
    # simple_cnn built for 32 px, fed the 64 px brain MRI: caught by one forward pass before the first run.
    mri = "{dataset: npz, path: brain_tumor_mri/figshare.npz, partition: {part: %d}}"
    suite = _suite(tmp_path, mri % 0, mri % 1)
    suite.write_text(suite.read_text().replace("defaults: {",
                                               "defaults: {backbone: {name: simple_cnn, image_size: 32}, "))
    proc = run_medzoo(["run", str(suite), "--data-dir", str(data_dir), "-o", str(output_with_history)], cwd=tmp_path)
    assert_one_line_error(proc, "simple_cnn was built for 32x32", "64x64")
    _assert_untouched(output_with_history)


def test_simple_cnn_takes_the_task_image_size_by_itself(tmp_path, data_dir):
    mri = "{dataset: npz, path: brain_tumor_mri/figshare.npz, partition: {part: %d}}"
    suite = _suite(tmp_path, mri % 0, mri % 1)
    proc = run_medzoo(["run", str(suite), "--data-dir", str(data_dir), "-o", str(tmp_path / "out"),
                       "train.max_steps_per_epoch=2", "--no-progress"], cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "out" / "results.jsonl").read_text().count("\n") == 1
