"""Statistics read the predictions real runs keep: intervals over the shared test images and image-paired tests.

A real suite (PneumoniaMNIST halves, gamma shift, source_only and adabn, 2 seeds, a few steps) is trained
once; then `medzoo results` must use the stored predictions (interval over seeds and the shared test
images, paired test images+seeds), agree with the library on the same arrays, and fall back, labelled,
when a predictions file no longer matches its record.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys

import numpy as np
import pytest

SUITE = """\
suite: shared-e2e
version: 1
defaults:
  backbone: {name: simple_cnn, norm: batch}
  train: {epochs: 1, batch_size: 64, max_steps_per_epoch: 4}
  seeds: [0, 1]
  selection: {rule: source_val, metric: accuracy, rules: [source_val, last]}
domains:
  xray: {dataset: pneumoniamnist, partition: {part: 0, of: 2, seed: 0}}
  xray_gamma: {dataset: pneumoniamnist, partition: {part: 1, of: 2, seed: 0}, shift: {name: gamma, severity: 4}}
tasks:
  - {name: gamma, source: xray, target: xray_gamma, algorithms: [source_only, adabn]}
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory, data_dir):
    from zoo.bench.suite import load_suite
    from zoo.runner.suite_runner import run_suite

    root = tmp_path_factory.mktemp("shared")
    (root / "suite.yaml").write_text(SUITE)
    run_suite(load_suite(str(root / "suite.yaml")), root / "runs", data_dir=data_dir, cpu=True, show_progress=False)
    return root / "runs"


def _results(path, *args):
    out = subprocess.run([sys.executable, "-m", "zoo.cli.main", "results", str(path), "--format", "csv",
                          "--metrics", "accuracy", *args], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return {(r["task"], r["algorithm"]): r for r in csv.DictReader(io.StringIO(out.stdout))}, out.stderr


def test_results_use_the_stored_predictions(runs):
    from zoo.results.per_sample import cell_predictions
    from zoo.results.reader import load_records
    from zoo.results.shared_test import shared_test_interval

    rows, _ = _results(runs, "--compare", "source_only")
    adabn = rows["gamma", "adabn"]
    assert adabn["accuracy_ci_levels"] == "seeds+shared images" and adabn["accuracy_test"] == "images+seeds"
    # the same interval from the library on the arrays read back (sha256-checked), and the same accuracies
    records = [r for r in load_records(runs) if r["algorithm"] == "adabn"]
    cell = cell_predictions(records, "target_test")
    assert cell is not None and cell.probs.shape[0] == 2
    per_seed = (cell.probs.argmax(-1) == cell.labels[None]).mean(axis=1)
    assert sorted(per_seed) == pytest.approx(sorted(r["metrics"]["target_test"]["accuracy"] for r in records))
    found = shared_test_interval(cell.labels, cell.probs, "accuracy")
    assert float(adabn["accuracy_ci_low"]) == pytest.approx(found["ci_low"])
    assert float(adabn["accuracy_ci_high"]) == pytest.approx(found["ci_high"])
    assert float(adabn["accuracy_p"]) == pytest.approx(float(adabn["accuracy_p_adj"]))  # one test in the column


def test_a_predictions_file_that_no_longer_matches_falls_back_labelled(runs, tmp_path):
    copy = tmp_path / "runs"
    shutil.copytree(runs, copy)
    victim = sorted(copy.glob("runs/*/predictions-*.npz"))[0]
    with np.load(victim) as data:
        arrays = {k: data[k] for k in data.files}
    np.savez_compressed(victim, **{k: (v[::-1] if k.endswith(".probs") else v) for k, v in arrays.items()})
    rows, stderr = _results(copy, "--compare", "source_only")
    levels = {key: row["accuracy_ci_levels"] for key, row in rows.items()}
    assert "seeds (t: no predictions)" in levels.values() and "sha256 differs" in " ".join(stderr.split())


def test_the_leaderboard_reads_the_same_predictions_as_results(runs, tmp_path):
    """One reader (zoo.results.reader): a leaderboard built in a fresh process shows the interval over seeds and
    shared test images that `medzoo results` shows, not the seeds-only fallback."""
    import json

    from zoo.results.reader import load_records
    from zoo.results.stats import summarize

    out = subprocess.run([sys.executable, "-m", "zoo.cli.main", "leaderboard", "build", str(runs), "--site",
                          str(tmp_path / "site"), "--metric", "accuracy"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    board = json.loads((tmp_path / "site" / "data" / "leaderboard.json").read_text())
    cells = {(c["algorithm"], c["selection"]): c for s in board["suites"] for t in s["tasks"] for c in t["cells"]}
    rows, _ = _results(runs)
    records = [r for r in load_records(runs) if r["algorithm"] == "adabn"]
    seeds_only = summarize(records, "accuracy", "target_test", ci="t")[0]
    shown = cells["adabn", "source_val"]
    assert rows["gamma", "adabn"]["accuracy_ci_levels"] == "seeds+shared images"
    assert (shown["ci_low"], shown["ci_high"]) == pytest.approx((float(rows["gamma", "adabn"]["accuracy_ci_low"]),
                                                                 float(rows["gamma", "adabn"]["accuracy_ci_high"])))
    assert (shown["ci_low"], shown["ci_high"]) != pytest.approx((seeds_only["ci_low"], seeds_only["ci_high"]))
