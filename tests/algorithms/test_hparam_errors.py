"""Bad hyperparameters of the adaptation family and the strategies are one-line errors from ``medzoo run``.

The suite resolver (zoo.bench.resolve) checks each value against its ``HParam`` (type, bounds, choices) and
then the algorithm's ``validate_hparams`` while the suite's runs are expanded, so the command fails before
data is read, a model is built or a results folder is made.
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
  - {name: fewshot, source: src, target: tgt, target_budget: 0.5,
     algorithms: [ccsa, source_then_target, llrd, lp_ft, last_k, l2sp, gradual_unfreeze]}
  - {name: unsup, source: src, target: tgt, target_budget: 0,
     algorithms: [cotraining, dann, coral, dan, cdan, mcc, m3sda]}
"""

# (override, fragments the one error line must hold). The rules are declared on each HParam and checked by
# HParam.check (zoo/algorithms/hparams.py); every line names the algorithm, the rule and an example value.
CASES = [
    ("hparams.ccsa.margin=-0.5", ["ccsa", "'margin'", ">= 0", "-0.5", "e.g. margin=1.0"]),
    ("hparams.ccsa.alpha=-1", ["ccsa", "'alpha'", "finite number >= 0", "-1.0"]),
    ("hparams.ccsa.max_pairs=-3", ["ccsa", "'max_pairs'", "integer >= 0", "-3"]),
    ("hparams.cotraining.tau=1.0", ["cotraining", "'tau'", "(0, 1)", "1.0", "e.g. tau=0.9"]),
    ("hparams.cotraining.tau=0", ["cotraining", "'tau'", "(0, 1)", "0.0"]),
    ("hparams.cotraining.tau=1.7", ["cotraining", "'tau'", "(0, 1)", "1.7"]),
    ("hparams.cotraining.diversity_weight=.nan", ["cotraining", "'diversity_weight'", "finite number >= 0", "nan"]),
    ("hparams.cotraining.warmup_epochs=-1", ["cotraining", "'warmup_epochs'", ">= 0", "-1"]),
    ("hparams.dann.weight=-1", ["'weight'", "DANN", ">= 0", "-1.0", "e.g. weight=0.1"]),
    ("hparams.dann.backbone_lr_mult=0", ["'backbone_lr_mult'", "DANN", "> 0", "0.0"]),
    ("hparams.dann.disc_hidden=0", ["'disc_hidden'", "DANN", ">= 1", "e.g. disc_hidden=1024"]),
    ("hparams.dann.disc_norm=layer", ["'disc_norm'", "DANN", "one of batch, none", "'layer'"]),
    ("hparams.dann.grl_gamma=0", ["'grl_gamma'", "DANN", "> 0"]),
    ("hparams.dann.grl_ramp_steps=-5", ["'grl_ramp_steps'", "DANN", ">= 0", "-5"]),
    ("hparams.coral.weight=-0.1", ["'weight'", "DeepCORAL", ">= 0", "-0.1", "e.g. weight=100.0"]),
    ("hparams.dan.weight=-2.5", ["'weight'", "DAN", ">= 0", "-2.5"]),
    ("hparams.dan.kernels=[1.0,-2.0]", ["'kernels'", "DAN", "non-empty list of finite numbers > 0", "[1.0, -2.0]"]),
    ("hparams.dan.kernels=[]", ["'kernels'", "DAN", "non-empty list", "got []"]),
    ("hparams.dan.estimator=cubic", ["'estimator'", "DAN", "one of quadratic, linear", "'cubic'"]),
    ("hparams.cdan.weight=-1", ["'weight'", "CDAN", ">= 0"]),
    ("hparams.cdan.randomized_dim=0", ["'randomized_dim'", "CDAN", ">= 1"]),
    ("hparams.cdan.disc_norm=layer", ["'disc_norm'", "CDAN", "one of batch, none"]),
    ("hparams.mcc.weight=-1", ["'weight'", "MCC", ">= 0"]),
    ("hparams.mcc.temperature=0", ["'temperature'", "MCC", "> 0", "e.g. temperature=2.5"]),
    ("hparams.m3sda.weight=-1", ["'weight'", "M3SDA", ">= 0"]),
    ("hparams.m3sda.moments=0", ["'moments'", "M3SDA", "integer >= 1"]),
    ("hparams.cdan.map=diagonal", ["'map'", "CDAN", "auto, full, randomized", "'diagonal'", "e.g. map='auto'"]),
    ("hparams.source_then_target.target_epochs=-1", ["'target_epochs'", "source_then_target", ">= 0"]),
    ("hparams.llrd.decay=1.5", ["'decay'", "llrd", "in (0, 1]", "1.5"]),
    ("hparams.llrd.decay=0", ["'decay'", "llrd", "in (0, 1]", "0.0"]),
    ("hparams.lp_ft.probe_epochs=-1", ["'probe_epochs'", "lp_ft", ">= 0", "-1"]),
    ("hparams.lp_ft.ft_lr_mult=0", ["'ft_lr_mult'", "lp_ft", "> 0", "0.0"]),
    ("hparams.last_k.k=0", ["'k'", "last_k", ">= 1", "e.g. k=1"]),
    ("hparams.l2sp.beta=-0.5", ["'beta'", "l2sp", ">= 0", "-0.5"]),
    ("hparams.gradual_unfreeze.num_stages=1", ["'num_stages'", "gradual_unfreeze", ">= 2", "got 1"]),
    ("hparams.gradual_unfreeze.epochs_per_stage=-2", ["'epochs_per_stage'", "gradual_unfreeze", ">= 0"]),
    ("hparams.gradual_unfreeze.schedule=';'", ["gradual_unfreeze: schedule has no stages", "e.g. schedule="]),
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
    assert {r.algorithm for r in runs} == {"ccsa", "cotraining", "dann", "coral", "dan", "cdan", "mcc", "m3sda",
                                           "source_then_target", "llrd", "lp_ft", "last_k", "l2sp", "gradual_unfreeze"}


@pytest.mark.parametrize("override", [
    "hparams.ccsa.margin=0.0",  # margin 0 is allowed (separation off)
    "hparams.cotraining.tau=0.5",
    "hparams.dann.weight=0",  # weight 0 = source only, allowed
    "hparams.llrd.decay=1",  # (0, 1]: 1 is the upper end, included
    "hparams.dan.kernels=[1]",  # an int item of a float list is a positive number
])
def test_boundary_values_are_accepted(tmp_path, override):
    from zoo.bench.suite import load_suite

    assert load_suite(str(tmp_path / _suite(tmp_path)), overrides=[override]).runs()
