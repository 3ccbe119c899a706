"""Paired comparison against a baseline, and average ranks with ties and missing cells: by hand."""

from __future__ import annotations

import itertools
import logging
import math

import numpy as np
import pytest
from scipy.stats import ttest_rel

from zoo.errors import ConfigError
from zoo.results import compare, paired_t_test, rank, sign_flip_test
from zoo.results.compare import format_gain, format_p, parse_baseline


def _acc(value):
    return {"target_test": {"accuracy": value, "ece": None if value is None else 1 - value}}


def test_sign_flip_test_by_hand():
    # d = 1, 2, 3: the 8 sign patterns give sums 6, 4, 2, 0, 0, -2, -4, -6; |sum| >= 6 in 2 of 8
    assert sign_flip_test([1.0, 2.0, 3.0]) == pytest.approx(2 / 8)
    # d = 1, 1, 1, 1, 1: only all-plus and all-minus reach 5 -> 2/32, the floor for 5 pairs
    assert sign_flip_test([0.01] * 5) == pytest.approx(2 / 32)
    # d = 3, -1, -1: |sum| = 1; patterns: |±3 ±1 ±1| in {5, 3, 3, 1, 1, 3, 3, 5} -> all 8 reach 1
    assert sign_flip_test([3.0, -1.0, -1.0]) == 1.0
    assert sign_flip_test([0.0, 0.0]) == 1.0 and math.isnan(sign_flip_test([]))


def test_sign_flip_random_path_agrees_with_full_enumeration():
    rng = np.random.default_rng(0)
    d = rng.normal(0.5, 1.0, 17)  # exact p = 0.32: away from 0 and 1, where agreement would be trivial
    exact = sign_flip_test(d, exact_up_to=17)  # all 2^17 patterns
    sampled = sign_flip_test(d, n_flips=20_000, seed=1)  # n = 17 > 16: random patterns
    assert 0.1 < exact < 0.9
    assert sampled == pytest.approx(exact, abs=4 * math.sqrt(exact * (1 - exact) / 20_000) + 1e-4)
    assert sampled == sign_flip_test(d, n_flips=20_000, seed=1)  # seeded
    # by brute force over itertools, for a small case with ties in |sum|
    small = [0.5, -0.2, 0.9, 0.1]
    sums = [abs(sum(s * x for s, x in zip(signs, small))) for signs in itertools.product((1, -1), repeat=4)]
    assert sign_flip_test(small) == pytest.approx(np.mean([s >= abs(sum(small)) - 1e-12 for s in sums]))


def test_paired_t_test_matches_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.8, 0.02, 6), rng.normal(0.79, 0.02, 6)
    assert paired_t_test(a - b) == pytest.approx(ttest_rel(a, b).pvalue, rel=1e-10)
    assert paired_t_test([0.02, 0.03, 0.01]) == pytest.approx(ttest_rel([0.02, 0.03, 0.01], [0, 0, 0]).pvalue)
    assert math.isnan(paired_t_test([0.1])) and paired_t_test([0, 0, 0]) == 1.0 and paired_t_test([0.1] * 3) == 0.0


def _records(record_factory, table):
    """{(task, algorithm, seed): accuracy} -> records; backbone/selection overridable via a 4th/5th key part."""
    out = []
    for key, value in table.items():
        task, algorithm, seed, *rest = key
        extra = {"backbone": {"name": rest[0], "options": {}}} if rest else {}
        out.append(record_factory(f"{task}-{algorithm}-{seed}-{''.join(rest)}", task_name=task, algorithm=algorithm,
                                  seed=seed, metrics=_acc(value), **extra))
    return out


def test_pairs_are_matched_on_task_and_seed_and_backbone(record_factory):
    table = {("A", "base", 0): 0.70, ("A", "base", 1): 0.72, ("A", "base", 2): 0.74,
             ("A", "new", 0): 0.75, ("A", "new", 1): 0.73, ("A", "new", 3): 0.99,  # seed 3 has no partner
             ("B", "base", 0): 0.50, ("B", "new", 0): 0.60, ("B", "new", 1): 0.70,
             ("A", "new", 0, "bigger_net"): 0.10}  # another backbone: no baseline run of its own
    rows = compare(_records(record_factory, table), "base")
    assert [(r["task"], r["algorithm"], r["backbone"], r["n_pairs"]) for r in rows] == [
        ("A", "new", "simple_cnn", 2), ("B", "new", "simple_cnn", 1)]
    a, b = rows
    assert a["pairs"] == [("A", "0", pytest.approx(0.05)), ("A", "1", pytest.approx(0.01))]
    assert a["gain"] == pytest.approx(0.03) and a["gain_std"] == pytest.approx(math.sqrt(0.0008))
    assert a["p_signflip"] == pytest.approx(0.5) and a["p_t"] == pytest.approx(ttest_rel([.75, .73], [.7, .72]).pvalue)
    half = 12.706204736 * math.sqrt(0.0008) / math.sqrt(2)  # t_{0.975, 1}
    assert a["gain_ci_high"] == pytest.approx(0.03 + half)
    assert b["gain"] == pytest.approx(0.10) and math.isnan(b["p_t"]) and b["p_signflip"] == 1.0

    pooled = compare(_records(record_factory, table), "base", over="task")
    assert len(pooled) == 1 and "task" not in pooled[0] and pooled[0]["n_pairs"] == 3
    # a task-level claim: the mean over tasks of each task's mean difference (A: 0.03, B: 0.10)
    assert pooled[0]["gain"] == pytest.approx((0.03 + 0.10) / 2) and pooled[0]["n_tasks"] == 2


def test_selection_rules_are_not_mixed(record_factory):
    records = [record_factory("b0", algorithm="base", seed=0, rule="source_val", metrics=_acc(0.7)),
               record_factory("n0", algorithm="new", seed=0, rule="target_val", metrics=_acc(0.9))]
    assert compare(records, "base") == []
    records.append(record_factory("b0t", algorithm="base", seed=0, rule="target_val", metrics=_acc(0.8)))
    (row,) = compare(records, "base")
    assert row["selection"] == "target_val" and row["gain"] == pytest.approx(0.1)


def test_compare_other_axes_and_errors(record_factory, caplog):
    table = {("scratch", "ft", 0): 0.6, ("scratch", "ft", 1): 0.62, ("chain", "ft", 0): 0.7, ("chain", "ft", 1): 0.75}
    records = _records(record_factory, table)
    (row,) = compare(records, "task=scratch")
    assert row["task"] == "chain" and row["gain"] == pytest.approx(0.115) and row["axis"] == "task"
    with pytest.raises(ConfigError, match="no runs with algorithm 'source_only'.*algorithms there: ft"):
        compare(records, "source_only")
    with pytest.raises(ConfigError, match="FIELD=VALUE"):
        compare(records, "seed=1")
    with pytest.raises(ConfigError, match="pools over 'task' only"):
        compare(records, "task=scratch", over="task")
    assert parse_baseline(" backbone = timm/resnet18 ") == ("backbone", "timm/resnet18")
    # a repeated seed (two sweep points) is averaged, and said so
    records.append(record_factory("dup", task_name="chain", algorithm="ft", seed=0, metrics=_acc(0.8)))
    with caplog.at_level(logging.WARNING, logger="zoo.results.compare"):
        (row,) = compare(records, "task=scratch")
    assert "several runs share a seed" in caplog.text
    assert row["pairs"][0][2] == pytest.approx((0.7 + 0.8) / 2 - 0.6)


def test_format_gain_and_p():
    assert format_gain({"gain": 0.023, "n_pairs": 5}) == "+2.3"
    assert format_gain({"gain": -0.0049, "n_pairs": 2}, 3) == "-0.5 (n=2)"
    assert format_gain(None) == "–" and format_p(float("nan")) == "–"
    assert (format_p(0.0625), format_p(0.25), format_p(0.0004), format_p(1.0)) == ("0.0625", "0.25", "<0.001", "1")


def test_rank_uses_complete_blocks_ties_and_lone_tasks(record_factory):
    # A: x 0.9, y 0.8, z 0.8 (tie -> 2.5 each); B: x 0.7, y 0.9 (z missing: another block, {x, y});
    # C: only z ran -> no comparison, left out (it would hand z a free rank 1)
    table = {("A", "x", 0): 0.9, ("A", "y", 0): 0.8, ("A", "z", 0): 0.8,
             ("B", "x", 0): 0.7, ("B", "y", 0): 0.9, ("C", "z", 0): 0.99}
    rows = {(r["block"], r["algorithm"]): r for r in rank(_records(record_factory, table))}
    assert set(rows) == {("3 algorithms x 1 tasks", n) for n in "xyz"} | {("2 algorithms x 1 tasks", n) for n in "xy"}
    three, two = "3 algorithms x 1 tasks", "2 algorithms x 1 tasks"
    assert (rows[three, "x"]["ranks"] == {"A": 1.0}
            and rows[three, "y"]["mean_rank"] == rows[three, "z"]["mean_rank"] == 2.5)
    assert rows[two, "x"]["ranks"] == {"B": 2.0} and rows[two, "y"]["ranks"] == {"B": 1.0}
    assert rows[three, "z"]["n_tasks"] == 1 and rows[three, "z"]["n_tasks_total"] == 2
    # an undefined value (NaN/None) is a missing cell too: B stays a {x, y} block
    table[("B", "z", 0)] = None
    assert {r["block"] for r in rank(_records(record_factory, table))} == {three, two}


def test_rank_lower_is_better_for_calibration(record_factory):
    table = {("A", "x", 0): 0.9, ("A", "y", 0): 0.8}  # ece = 1 - accuracy: x is better calibrated too
    records = _records(record_factory, table)
    by_ece = {r["algorithm"]: r["mean_rank"] for r in rank(records, metric="ece")}
    assert by_ece == {"x": 1.0, "y": 2.0}
    assert {r["algorithm"]: r["mean_rank"] for r in rank(records, metric="ece", higher_is_better=True)} == {
        "x": 2.0, "y": 1.0}


def test_per_class_metrics_pass_through_compare_and_rank(record_factory):
    def rec(task, algorithm, seed, recall):
        return record_factory(f"{task}{algorithm}{seed}", task_name=task, algorithm=algorithm, seed=seed, metrics={
            "target_test": {"accuracy": 0.8,
                            "per_class": {"benign": {"recall": 0.9}, "malignant": {"recall": recall}}}})
    records = [rec("A", "base", 0, 0.40), rec("A", "base", 1, 0.50), rec("A", "new", 0, 0.60), rec("A", "new", 1, 0.65)]
    (row,) = compare(records, "base", metric="recall:malignant")
    assert row["gain"] == pytest.approx(0.175) and row["metric"] == "recall:malignant"
    assert [(r["algorithm"], r["mean_rank"]) for r in rank(records, metric="recall:malignant")] == [
        ("new", 1.0), ("base", 2.0)]
    assert [r["mean_rank"] for r in rank(records, metric="recall:benign")] == [1.5, 1.5]  # a tie
