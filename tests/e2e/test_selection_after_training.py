"""One training serves every selection rule; records written before that change still load everywhere.

A real suite on real PneumoniaMNIST halves (an unsupervised task and a 10% budget task) trains each run
once. Its record then holds, for every rule that applies (source_val, target_val with the budget,
target_val_oracle, dev, last), the selected epoch, the score and every split's metrics at that epoch; the
epoch agrees with the per-epoch curves; each distinct selected epoch has its checkpoint and a predictions
file whose sha256 and content match the record. The rule is not part of the run id: rerunning under
another reported rule trains nothing.

The fixture ``tests/fixtures/results-schema1.jsonl`` was written by medzoo before this change (6 runs of
``medzoo run quick train.epochs=2 seeds=[0,1] train.max_steps_per_epoch=3``); it must load in
``medzoo results`` and in the leaderboard, and ``legacy_run_id`` must map today's runs to its ids.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

FIXTURE = Path(__file__).parents[1] / "fixtures" / "results-schema1.jsonl"
SUITE = """\
suite: selection-e2e
version: 1
defaults:
  backbone: {name: simple_cnn}
  train: {epochs: 3, batch_size: 64, max_steps_per_epoch: 4}
  seeds: [0]
  selection: {rule: auto, metric: accuracy}
domains:
  xray: {dataset: pneumoniamnist, partition: {part: 0, of: 2, seed: 0}}
  xray_gamma: {dataset: pneumoniamnist, partition: {part: 1, of: 2, seed: 0}, shift: {name: gamma, severity: 4}}
tasks:
  - {name: unsup, source: xray, target: xray_gamma, target_budget: 0, algorithms: [source_only]}
  - {name: budget, source: xray, target: xray_gamma, target_budget: 0.1, algorithms: [source_only, full_ft]}
"""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_dir):
    from zoo.bench.suite import load_suite
    from zoo.runner.suite_runner import run_suite

    root = tmp_path_factory.mktemp("selection")
    (root / "suite.yaml").write_text(SUITE)
    records = run_suite(load_suite(str(root / "suite.yaml")), root / "runs", data_dir=data_dir, cpu=True,
                        show_progress=False)
    return root, {(r["task"]["name"], r["algorithm"]): r for r in records}


def test_one_training_records_every_applicable_rule(trained):
    _, records = trained
    expected = {
        ("unsup", "source_only"): {"source_val", "target_val_oracle", "deep_embedded_validation", "last"},
        ("budget", "source_only"): {"source_val", "target_val", "target_val_oracle", "deep_embedded_validation",
                                     "last"},
        ("budget", "full_ft"): {"target_val", "target_val_oracle", "last"},  # target-only: no source rule
    }
    assert set(records) == set(expected)
    for key, rules in expected.items():
        record = records[key]
        assert set(record["selections"]) == rules, key
        curves = record["curves"]
        assert len(curves["epoch"]) == 3 and curves["epoch"] == [1, 2, 3]
        for rule, chosen in record["selections"].items():
            index = chosen["epoch"] - 1  # one stage: the epoch is the curve index
            assert chosen["metrics"]["target_test"]["accuracy"] == pytest.approx(curves["target_test_accuracy"][index])
            if rule in ("source_val", "target_val", "target_val_oracle"):  # the first best of its own split's curve
                curve = curves[f"{rule}_accuracy"]
                assert chosen["score"] == pytest.approx(max(curve)) and index == curve.index(max(curve)), rule
            if rule == "deep_embedded_validation":
                scores = curves["dev_score"]
                assert index == scores.index(max(scores))
            if rule == "last":
                assert chosen["epoch"] == 3 and chosen["score"] is None
        primary = record["selection"]["rule"]
        assert record["metrics"]["target_test"] == record["selections"][primary]["metrics"]["target_test"]


def test_each_selected_epoch_keeps_its_checkpoint_and_predictions(trained):
    root, records = trained
    store = root / "runs"
    for record in records.values():
        files = {}
        for rule, chosen in record["selections"].items():
            weights, predictions = store / chosen["checkpoint"], store / chosen["predictions"]["file"]
            assert weights.is_file() and predictions.is_file(), rule
            assert _sha256(predictions) == chosen["predictions"]["sha256"]
            files.setdefault(chosen["epoch"], set()).add(chosen["checkpoint"])
            arrays = np.load(predictions)
            probs, index = arrays["target_test.probs"], arrays["target_test.index"]
            assert probs.shape == (chosen["predictions"]["splits"]["target_test"]["n"], 2)
            assert np.array_equal(index, np.arange(len(index)))
            accuracy = float((probs.argmax(1) == arrays["target_test.labels"]).mean())
            assert accuracy == pytest.approx(chosen["metrics"]["target_test"]["accuracy"])
        assert all(len(paths) == 1 for paths in files.values()), "rules picking one epoch share its files"
        assert len(list(Path(store / record["checkpoint"]).parent.glob("*.safetensors"))) == len(files)
    # every seed-mate and algorithm of a task is scored on the very same test images
    digests = {r["selections"]["last"]["predictions"]["splits"]["target_test"]["data_sha256"] for r in records.values()}
    assert len(digests) == 1


def test_the_reported_rule_is_not_part_of_the_run_id(trained, data_dir):
    from zoo.bench.suite import load_suite
    from zoo.runner.suite_runner import run_suite

    root, records = trained
    (root / "suite-dev.yaml").write_text(SUITE.replace("rule: auto", "rule: target_val_oracle"))
    suite = load_suite(str(root / "suite-dev.yaml"))
    assert {r.run_id for r in suite.runs()} == {r["run_id"] for r in records.values()}
    before = (root / "runs" / "results.jsonl").read_bytes()
    run_suite(suite, root / "runs", data_dir=data_dir, cpu=True, show_progress=False)  # nothing to train
    assert (root / "runs" / "results.jsonl").read_bytes() == before


def test_results_shows_every_rule_from_the_same_runs(trained):
    root, records = trained
    out = subprocess.run([sys.executable, "-m", "zoo.cli.main", "results", str(root / "runs"), "--selection", "all",
                          "--format", "csv", "--metrics", "accuracy"], capture_output=True, text=True, check=True)
    rows = [line.split(",") for line in out.stdout.strip().splitlines()[1:]]
    header = out.stdout.splitlines()[0].split(",")
    seen = {(row[header.index("task")], row[header.index("algorithm")], row[header.index("selection")]) for row in rows}
    assert ("budget", "full_ft", "source_val") not in seen  # refused for a target-only strategy, not shown
    assert {("unsup", "source_only", r) for r in ("source_val", "deep_embedded_validation", "last",
                                                                         "target_val_oracle")} <= seen


def test_every_record_carries_the_licence_and_citation_of_its_data(trained):
    from zoo.results.reader import load_records

    root, records = trained
    for record in [*records.values(), *load_records(root / "runs" / "results.jsonl")]:  # as returned and as read
        terms = record["datasets"]
        assert set(terms) == {"xray", "xray_gamma"}, terms  # every domain the run read, source and target
        for domain in terms.values():
            assert domain["dataset"] == "pneumoniamnist" and domain["licence"] == "CC BY 4.0"
            # MedMNIST v2 (Yang et al., Scientific Data 2023) and the source data (Kermany et al., Cell 2018)
            assert "MedMNIST v2" in domain["citation"] and "Scientific Data 10, 41 (2023)" in domain["citation"]
            assert "Kermany" in domain["citation"]


# -- records made before selection after training ------------------------------------------------------
def test_schema1_records_load_in_results_and_the_leaderboard(tmp_path):
    from zoo.leaderboard import build_site, read_records
    from zoo.results.reader import load_records

    (tmp_path / "old").mkdir()
    shutil.copy(FIXTURE, tmp_path / "old" / "results.jsonl")
    records = load_records([tmp_path / "old"])
    assert {json.loads(line)["schema_version"] for line in FIXTURE.read_text().splitlines()} == {1}
    # read as schema 3 (splits under their rules' names: zoo.results.names), still with one rule each
    assert len(records) == 6 and all(r["schema_version"] == 3 and "selections" not in r for r in records)
    assert all("target_val_oracle" in r["metrics"] and "target_val_budget" not in r["metrics"] for r in records)
    out = subprocess.run([sys.executable, "-m", "zoo.cli.main", "results", str(tmp_path / "old"), "--format", "csv"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.count("\n") == 4  # header + 3 cells (2 seeds each)
    same = subprocess.run([sys.executable, "-m", "zoo.cli.main", "results", str(tmp_path / "old"), "--format", "csv",
                           "--selection", "all"], capture_output=True, text=True, check=True)
    assert same.stdout == out.stdout  # a schema-1 record has one rule: its own
    site = tmp_path / "site"
    old, problems = read_records([tmp_path / "old"])
    assert problems == [] and len(old) == 6
    build_site(old, site)
    assert (site / "index.html").is_file()
    page = (site / "suite-quick-1.html").read_text()
    assert "pneumonia-shift-10pct" in page and "source_then_target" in page


def test_legacy_run_id_maps_todays_runs_to_the_old_ids():
    from zoo.bench.run_config import legacy_run_id
    from zoo.bench.suite import load_suite

    old = {json.loads(line)["run_id"] for line in FIXTURE.read_text().splitlines()}
    suite = load_suite("quick", overrides=["train.epochs=2", "seeds=[0,1]", "train.max_steps_per_epoch=3"])
    runs = suite.runs()
    assert {legacy_run_id(r.config) for r in runs} == old
    assert not {r.run_id for r in runs} & old  # policy 2 names runs anew
