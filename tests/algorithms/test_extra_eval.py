"""zoo.runner.extra_eval on a trained CCSA: pair verification on held-out source x target test pairs."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

SUITE = """\
suite: ccsa-pairs
version: 1
defaults:
  backbone: {name: simple_cnn}
  train: {epochs: 3, batch_size: 32, lr: 0.001}
  seeds: [0]
domains:
  src: {dataset: synthetic, num_classes: 3, n_per_class: 80, seed: 0}
  tgt: {dataset: synthetic, num_classes: 3, n_per_class: 80, seed: 1, appearance: 0.5}
tasks:
  - {name: fewshot, source: src, target: tgt, target_budget: 0.25, algorithms: [ccsa, source_only]}
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(trained CCSA with its selected weights, the same CCSA untrained, source_only, data, normalizer)."""
    from zoo.bench.suite import load_suite
    from zoo.bench.task_data import build_task_data
    from zoo.runner.loop import build_model, train_run
    from zoo.runner.train_record import make_accelerator

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        path = Path(tmp_path_factory.mktemp("pairs")) / "s.yaml"
        path.write_text(SUITE)
        runs = {r.algorithm: r for r in load_suite(str(path)).runs()}
        data = build_task_data(runs["ccsa"].config)
        outcome = train_run(runs["ccsa"], data, make_accelerator(cpu=True), show_progress=False)
        torch.manual_seed(0)
        ccsa, normalizer = build_model(runs["ccsa"].config, data)
        untrained, _ = build_model(runs["ccsa"].config, data)
        ccsa.load_state_dict(outcome.best_state)
        baseline, _ = build_model(runs["source_only"].config, data)
        yield ccsa, untrained, baseline, data, normalizer
    finally:
        torch.set_num_threads(threads)


def test_trained_ccsa_verifies_held_out_cross_domain_pairs(trained):
    from zoo.runner.extra_eval import extra_metrics

    ccsa, untrained, _, data, normalizer = trained
    extras = extra_metrics(ccsa, data, normalizer, seed=0)
    assert set(extras) == {"pair_verification"}
    m = extras["pair_verification"]
    assert m["n_pairs"] == 2000
    assert m["threshold"] == ccsa.verification_threshold == 0.5  # half CCSA's margin
    assert 0.0 <= m["best_threshold"] <= 2.0  # L2-normalised embeddings: distances in [0, 2]
    assert m["auroc"] > 0.9 and m["accuracy_at_best_threshold"] > 0.85, m
    assert m["mean_distance_same"] < m["mean_distance_different"]
    before = extra_metrics(untrained, data, normalizer, seed=0)["pair_verification"]
    assert m["auroc"] > before["auroc"] + 0.1, (m["auroc"], before["auroc"])  # training made the difference
    assert all(isinstance(v, float) for v in m.values())  # numbers only: valid record "metrics"


def test_same_seed_same_pairs_and_another_seed_other_pairs(trained):
    from zoo.runner.extra_eval import extra_metrics

    ccsa, _, _, data, normalizer = trained
    a = extra_metrics(ccsa, data, normalizer, seed=0)["pair_verification"]
    assert extra_metrics(ccsa, data, normalizer, seed=0)["pair_verification"] == a
    assert extra_metrics(ccsa, data, normalizer, seed=1)["pair_verification"] != a


def test_an_algorithm_without_embed_gets_nothing(trained):
    from zoo.runner.extra_eval import extra_metrics

    _, _, baseline, data, normalizer = trained
    assert not hasattr(baseline, "embed")
    assert extra_metrics(baseline, data, normalizer, seed=0) == {}


def test_an_embedding_without_a_declared_threshold_reports_the_validation_threshold_only(trained):
    from zoo.runner.extra_eval import extra_metrics

    _, _, baseline, data, normalizer = trained
    model = copy.deepcopy(baseline)
    model.embed = model.features  # any model with an embedding qualifies; this one declares no threshold
    m = extra_metrics(model, data, normalizer, seed=0)["pair_verification"]
    assert "accuracy" not in m and "threshold" not in m
    assert {"auroc", "best_threshold", "accuracy_at_best_threshold"} <= set(m)
