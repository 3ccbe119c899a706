"""The two-level bootstrap: metrics from confusion matrices, the resampling itself, and its use in summarize."""

from __future__ import annotations

import math

import numpy as np
import pytest

from zoo.errors import ConfigError, DataError
from zoo.metrics import classification_metrics
from zoo.results import bootstrap_interval, hierarchical_bootstrap, summarize
from zoo.results.bootstrap import confusion_input, metric_from_confusion, supports, two_level_bootstrap

SPLIT = "target_test"


@pytest.mark.parametrize("k", [2, 3, 4])
def test_metrics_from_the_confusion_matrix_equal_classification_metrics(k):
    """The confusion matrix is a sufficient statistic: every supported metric is recomputed exactly."""
    rng = np.random.default_rng(k)
    for trial in range(15):
        labels = rng.integers(0, k, 40)
        if trial % 3 == 0:
            labels[labels == k - 1] = 0  # a class absent from the labels (macro averages change their set)
        logits = rng.normal(size=(40, k)) + 2 * np.eye(k)[labels] * (trial % 2)
        m = classification_metrics(logits, labels, k)
        cm = m["confusion_matrix"]
        for name in ("accuracy", "balanced_accuracy", "precision", "recall", "f1"):
            assert float(metric_from_confusion(cm, name)) == pytest.approx(m[name], abs=1e-12), (name, cm)
        for c in range(k):
            for name in ("precision", "recall", "f1"):
                assert float(metric_from_confusion(cm, name, c)) == pytest.approx(m["per_class"][str(c)][name])


def test_metric_from_confusion_by_hand_and_batched():
    cm = [[1, 1], [1, 2]]  # tests/test_metrics.py's binary example
    assert float(metric_from_confusion(cm, "balanced_accuracy")) == pytest.approx(7 / 12)
    assert float(metric_from_confusion(cm, "precision", 1)) == pytest.approx(2 / 3)
    batch = np.array([cm, [[3, 0], [0, 2]]])  # (2, 2, 2): one value per matrix
    np.testing.assert_allclose(metric_from_confusion(batch, "accuracy"), [3 / 5, 1.0])
    with pytest.raises(ConfigError, match="not a function of the confusion matrix"):
        metric_from_confusion(cm, "auroc")
    assert supports("recall:malignant") and supports("f1") and not supports("auroc") and not supports("ece")


def _record(record_factory, seed, confusion, run_id=None, names=("benign", "malignant")):
    per_class = {name: {"recall": 0.0} for name in names}
    acc = float(metric_from_confusion(confusion, "accuracy"))
    return record_factory(run_id or f"r{seed}", seed=seed, metrics={SPLIT: {
        "accuracy": acc, "balanced_accuracy": float(metric_from_confusion(confusion, "balanced_accuracy")),
        "auroc": 0.9, "confusion_matrix": confusion, "per_class": per_class}})


def test_identical_seeds_give_the_binomial_test_set_interval(record_factory):
    """No seed spread: only test samples vary; the mean of n independent resamples has sd sqrt(p(1-p)/(nN))."""
    confusion = [[300, 100], [60, 540]]  # N = 1000, accuracy 0.84
    records = [_record(record_factory, s, confusion) for s in range(4)]
    found = hierarchical_bootstrap(records, "accuracy", SPLIT, n_boot=20_000, seed=0)
    expected_half = 1.959964 * math.sqrt(0.84 * 0.16 / (4 * 1000))
    assert found["mean"] == pytest.approx(0.84) and found["n"] == 4
    assert (found["ci_high"] - found["ci_low"]) / 2 == pytest.approx(expected_half, rel=0.05)
    assert found["ci_low"] < 0.84 < found["ci_high"]


def test_huge_test_sets_reduce_to_the_seed_bootstrap(record_factory):
    """With 10^7 test samples level 2 adds ~nothing: the interval is the seed-level percentile bootstrap's."""
    accuracies = [0.80, 0.83, 0.86, 0.88, 0.91]
    big = 10_000_000
    records = [_record(record_factory, s, [[int(a * big / 2), int((1 - a) * big / 2)],
                                           [int((1 - a) * big / 2), int(a * big / 2)]])
               for s, a in enumerate(accuracies)]
    found = hierarchical_bootstrap(records, "accuracy", SPLIT, n_boot=20_000, seed=1)
    low, high = bootstrap_interval(accuracies, n_boot=20_000, seed=2)
    assert found["ci_low"] == pytest.approx(low, abs=0.003) and found["ci_high"] == pytest.approx(high, abs=0.003)


def test_seeded_order_free_and_errors(record_factory):
    rng = np.random.default_rng(0)
    records = [_record(record_factory, s, rng.integers(5, 50, (2, 2)).tolist()) for s in range(5)]
    first = hierarchical_bootstrap(records, "balanced_accuracy", SPLIT, n_boot=3000, seed=7)
    assert first == hierarchical_bootstrap(list(reversed(records)), "balanced_accuracy", SPLIT, n_boot=3000, seed=7)
    assert first != hierarchical_bootstrap(records, "balanced_accuracy", SPLIT, n_boot=3000, seed=8)
    assert 0 <= first["ci_low"] <= first["mean"] <= first["ci_high"] <= 1
    one = hierarchical_bootstrap(records[:1], "accuracy", SPLIT, n_boot=100)
    assert math.isnan(one["ci_low"]) and math.isnan(one["ci_high"])  # one seed: no seed-level spread
    with pytest.raises(ConfigError, match="needs a metric of the confusion matrix"):
        hierarchical_bootstrap(records, "auroc", SPLIT)
    no_matrix = record_factory("x", seed=9, metrics={SPLIT: {"accuracy": 0.5}})
    with pytest.raises(DataError, match="no usable metrics.target_test.confusion_matrix"):
        hierarchical_bootstrap([*records, no_matrix], "accuracy", SPLIT)
    with pytest.raises(DataError, match="different shapes"):
        two_level_bootstrap([[[1, 2], [3, 4]], np.eye(3, dtype=int) + 1], "accuracy", n_boot=10)


def test_per_class_metric_finds_its_row_by_class_name(record_factory):
    # malignant is class 1: recall 45/50 in every seed; benign (class 0) recall 10/50
    records = [_record(record_factory, s, [[10, 40], [5, 45]]) for s in range(3)]
    assert confusion_input(records[0], "recall:malignant", SPLIT) == ([[10, 40], [5, 45]], 1)
    assert confusion_input(records[0], "recall:nosuch", SPLIT) is None
    malignant = hierarchical_bootstrap(records, "recall:malignant", SPLIT, n_boot=2000)
    benign = hierarchical_bootstrap(records, "recall:benign", SPLIT, n_boot=2000)
    assert malignant["mean"] == pytest.approx(0.9) and benign["mean"] == pytest.approx(0.2)
    assert malignant["ci_low"] < 0.9 < malignant["ci_high"] and benign["ci_low"] < 0.2 < benign["ci_high"]


def test_summarize_uses_two_levels_where_it_can(record_factory):
    rng = np.random.default_rng(3)
    records = [_record(record_factory, s, rng.integers(20, 80, (2, 2)).tolist()) for s in range(4)]
    rows = summarize(records, "balanced_accuracy", ci="bootstrap", n_boot=2000, seed=4)
    direct = hierarchical_bootstrap(records, "balanced_accuracy", SPLIT, n_boot=2000, seed=4)
    assert rows[0]["ci_levels"] == "seeds+samples"
    assert (rows[0]["ci_low"], rows[0]["ci_high"]) == (direct["ci_low"], direct["ci_high"])
    assert rows[0]["mean"] == pytest.approx(direct["mean"])  # stored values = values from the matrices
    auroc = summarize(records, "auroc", ci="bootstrap", n_boot=2000)[0]
    assert auroc["ci_levels"] == "seeds" and auroc["ci_low"] == auroc["ci_high"] == 0.9  # seed level, no spread
    mixed = summarize([*records, record_factory("old", seed=9, metrics={SPLIT: {"balanced_accuracy": 0.5}})],
                      "balanced_accuracy", ci="bootstrap", n_boot=500)[0]
    assert mixed["ci_levels"] == "seeds" and mixed["n"] == 5  # one run without a matrix: seeds only, all runs
    assert summarize(records, "balanced_accuracy", ci="t")[0]["ci_levels"] == "seeds"
