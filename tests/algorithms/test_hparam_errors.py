"""Bad hyperparameters of the adaptation family are one-line errors from ``medzoo run``, before any training.

Each algorithm's ``validate_hparams`` is called by the suite resolver (zoo.bench.resolve) while the suite's
runs are expanded, so the command fails before data is read, a model is built or a results folder is made.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.cli import assert_one_line_error, run_medzoo, run_medzoo_many

FAST = ["train.epochs=1", "seeds=[0]", "train.max_steps_per_epoch=1", "--no-progress"]

SUITE = """\
suite: uda-hparams
version: 1
defaults:
  backbone: {name: simple_cnn}
  train: {epochs: 1, batch_size: 16}
domains:
  src: {dataset: synthetic, num_classes: 2, n_per_class: 10, seed: 0}
  tgt: {dataset: synthetic, num_classes: 2, n_per_class: 10, seed: 1, appearance: 1.0}
tasks:
  - {name: fewshot, source: src, target: tgt, target_budget: 0.5, algorithms: [ccsa]}
  - {name: unsup, source: src, target: tgt, target_budget: 0,
     algorithms: [cotraining, dann, coral, dan, cdan, mcc, m3sda]}
"""

# (override, fragments the one error line must hold)
CASES = [
    ("hparams.ccsa.margin=-0.5", ["ccsa", "'margin'", ">= 0", "-0.5"]),
    ("hparams.cotraining.tau=1.0", ["cotraining", "'tau'", "(0, 1)", "1.0"]),
    ("hparams.cotraining.tau=0", ["cotraining", "'tau'", "(0, 1)", "0.0"]),
    ("hparams.cotraining.tau=1.7", ["cotraining", "'tau'", "(0, 1)", "1.7"]),
    ("hparams.dann.weight=-1", ["'weight'", "DANN", ">= 0", "-1.0"]),
    ("hparams.coral.weight=-0.1", ["'weight'", "DeepCORAL", ">= 0", "-0.1"]),
    ("hparams.dan.weight=-2.5", ["'weight'", "DAN", ">= 0", "-2.5"]),
    ("hparams.cdan.weight=-1", ["'weight'", "CDAN", ">= 0"]),
    ("hparams.mcc.weight=-1", ["'weight'", "MCC", ">= 0"]),
    ("hparams.m3sda.weight=-1", ["'weight'", "M3SDA", ">= 0"]),
    ("hparams.cdan.map=diagonal", ["'map'", "CDAN", "auto, full, randomized", "'diagonal'"]),
]


def _suite(tmp_path: Path) -> str:
    (tmp_path / "uda.yaml").write_text(SUITE)
    return "uda.yaml"


def test_negative_ccsa_margin_through_the_console_script(tmp_path):
    proc = run_medzoo(["run", _suite(tmp_path), "hparams.ccsa.margin=-1", *FAST], cwd=tmp_path)
    assert_one_line_error(proc, "ccsa", "'margin'", "-1.0", "e.g. margin=1.0")
    assert not (tmp_path / "medzoo-runs").exists()  # refused before any training or output


def test_bad_values_are_one_line_errors_before_training(tmp_path):
    suite = _suite(tmp_path)
    procs = run_medzoo_many([["run", suite, override, *FAST] for override, _ in CASES], cwd=tmp_path)
    for (override, fragments), proc in zip(CASES, procs):
        assert_one_line_error(proc, *fragments)
    assert not (tmp_path / "medzoo-runs").exists()


def test_the_suite_itself_is_valid(tmp_path):
    # The errors above come from the overrides, not from a broken suite: without them it resolves.
    from zoo.bench.suite import load_suite

    runs = load_suite(str(tmp_path / _suite(tmp_path))).runs()
    assert {r.algorithm for r in runs} == {"ccsa", "cotraining", "dann", "coral", "dan", "cdan", "mcc", "m3sda"}


@pytest.mark.parametrize("override", [
    "hparams.ccsa.margin=0.0",  # margin 0 is allowed (separation off)
    "hparams.cotraining.tau=0.5",
    "hparams.dann.weight=0",  # weight 0 = source only, allowed
])
def test_boundary_values_are_accepted(tmp_path, override):
    from zoo.bench.suite import load_suite

    assert load_suite(str(tmp_path / _suite(tmp_path)), overrides=[override]).runs()
