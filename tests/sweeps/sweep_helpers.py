"""Shared pieces of the sweep tests: a tiny synthetic sweep suite and readers of results files.

Usage::

    from sweep_helpers import SWEEP_SUITE, planted_record, read_records, write_suite
    path = write_suite(tmp_path, SWEEP_SUITE)
"""

from __future__ import annotations

import json
from pathlib import Path

# One unsupervised task, one algorithm with four searchable hyperparameters (MCC), 3 trials x 2 seeds = 6
# runs of two optimizer steps each on synthetic domains: seconds, no data files.
SWEEP_SUITE = """\
suite: sweep-test
version: 1
defaults:
  backbone: {name: simple_cnn}
  train: {epochs: 1, batch_size: 16, eval_batch_size: 64, max_steps_per_epoch: 2, lr: 0.01}
  seeds: [0, 1]
domains:
  src: {dataset: synthetic, seed: 0, n_per_class: 20}
  tgt: {dataset: synthetic, seed: 1, n_per_class: 20, appearance: 1.0}
sweep:
  trials: 3
  seed: 7
  hparams_space:
    mcc: {bottleneck_dim: [int, 0, 32]}
tasks:
  - {name: unsup, source: src, target: tgt, target_budget: 0, algorithms: [mcc]}
"""
TRIALS, SEEDS = 3, (0, 1)


def write_suite(folder: Path, text: str, name: str = "suite.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def line_of(text: str, fragment: str) -> int:
    """1-based number of the first line holding ``fragment``."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if fragment in line]
    assert hits, f"{fragment!r} not in the suite text"
    return hits[0]


def result_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def read_records(out: Path) -> dict[str, dict]:
    """run_id -> record of ``out/results.jsonl``; a repeated run id fails the test."""
    records = [json.loads(line) for line in result_lines(out / "results.jsonl")]
    by_id = {r["run_id"]: r for r in records}
    assert len(by_id) == len(records), "a run id was written twice"
    return by_id


def assert_same_records(got: dict[str, dict], expected: dict[str, dict]) -> None:
    """Same run ids, and per run the same seed, trial, hyperparameters and metrics (every split, exactly)."""
    assert sorted(got) == sorted(expected)
    for run_id, record in expected.items():
        other = got[run_id]
        for key in ("seed", "sweep", "hparams", "metrics"):
            assert other[key] == record[key], f"run {run_id}: {key} differs"


def planted_record(trial: int | None, seed: int, val: float, test: float, rule: str = "source_val",
                   task: str = "unsup", hparams: dict | None = None) -> dict:
    """A valid record (``make_record``) of a finished run with this validation and test accuracy.

    ``val`` goes to the validation split ``rule`` reads; ``trial`` adds ``sweep: {trial, seed: 0}`` as the
    runner does (``None``: a run of no sweep).
    """
    from zoo.results.record import make_record

    split = rule  # each rule reads the split of its own name (record schema 3)
    metrics = {"source_val": {"accuracy": 0.5}, "target_val_oracle": {"accuracy": 0.5},
               "target_test": {"accuracy": test}, "source_test": {"accuracy": test}}
    metrics[split] = {"accuracy": val}
    if rule == "target_val":  # the oracle split exists too, and says the opposite: it must not be read
        metrics["target_val_oracle"] = {"accuracy": 1.0 - val}
    record = make_record(
        run_id=f"{task}-{rule}-{trial}-{seed}-{int(val * 100)}", suite={"name": "s", "version": 1},
        task={"name": task, "source": ["a"], "target": "b", "target_budget": 0.1 if rule != "source_val" else 0},
        algorithm="dann", backbone={"name": "simple_cnn", "options": {}},
        hparams=hparams if hparams is not None else {"weight": 0.1 * ((trial or 0) + 1)},
        train={"epochs": 1, "batch_size": 8, "lr": 0.001, "optimizer": "adam"}, seed=seed,
        selection={"rule": rule, "metric": "accuracy", "epoch": 1, "score": val}, metrics=metrics,
        timings={"train_s": 1.0, "eval_s": 1.0, "total_s": 2.0}, provenance={"medzoo_version": "0"},
    )
    if trial is not None:
        record["sweep"] = {"trial": trial, "seed": 0}  # as the runner adds it
    return record
