"""Statistics: checked against hand computations."""

from __future__ import annotations

import logging
import math

import pytest

from zoo.errors import ConfigError
from zoo.results import average_ranks, bootstrap_interval, mean_std, rank, summarize, t_interval
from zoo.results.stats import backbone_label, group_value

T_975_2 = 4.302652729749464  # Student t quantile, 0.975, 2 degrees of freedom (tables)


def _acc(value):
    return {"target_test": {"accuracy": value}}


def test_mean_std_and_t_interval_by_hand():
    mean, std = mean_std([0.8, 0.9, 1.0])
    assert mean == pytest.approx(0.9) and std == pytest.approx(0.1)
    low, high = t_interval([0.8, 0.9, 1.0])
    half = 0.1 * T_975_2 / math.sqrt(3)
    assert half == pytest.approx(0.2484137712, abs=1e-9)
    assert (low, high) == (pytest.approx(0.9 - half, abs=1e-9), pytest.approx(0.9 + half, abs=1e-9))
    # 90%: t_{0.95, 3} = 2.353363434801823; values 1,2,3,4 -> mean 2.5, std sqrt(5/3)
    low, high = t_interval([1, 2, 3, 4], confidence=0.90)
    assert high - 2.5 == pytest.approx(2.353363434801823 * math.sqrt(5 / 3) / 2, abs=1e-9)


def test_single_seed_has_nan_spread():
    mean, std = mean_std([0.7])
    assert mean == 0.7 and math.isnan(std)
    assert all(math.isnan(x) for x in t_interval([0.7]) + bootstrap_interval([0.7]))
    assert all(math.isnan(x) for x in mean_std([]))


def test_bootstrap_is_seeded_and_bounded():
    values = [0.8, 0.9, 1.0, 0.85]
    first = bootstrap_interval(values, n_boot=2000, seed=1)
    assert first == bootstrap_interval(values, n_boot=2000, seed=1)
    assert 0.8 <= first[0] < sum(values) / 4 < first[1] <= 1.0
    assert bootstrap_interval([0.5, 0.5, 0.5]) == (0.5, 0.5)


def test_summarize_groups_seeds(record_factory):
    records = [record_factory(f"a{s}", seed=s, algorithm="finetune", metrics=_acc(v))
               for s, v in enumerate([0.8, 0.9, 1.0])]
    records += [record_factory("b0", seed=0, algorithm="dann", metrics=_acc(0.75)),
                record_factory("b1", seed=1, algorithm="dann", metrics={"target_test": {"accuracy": None}}),
                record_factory("b2", seed=2, algorithm="dann", metrics={"target_val": {"accuracy": 0.5}}),
                record_factory("c0", seed=0, algorithm="dann", task_name="other", metrics=_acc(0.6))]
    rows = summarize(records)
    assert [(r["task"], r["algorithm"], r["n"]) for r in rows] == [
        ("other", "dann", 1), ("pneu->pneu_blur", "dann", 1), ("pneu->pneu_blur", "finetune", 3)]
    row = rows[2]
    assert row["suite"] == "quick@1" and row["backbone"] == "simple_cnn" and row["selection"] == "source_val"
    assert row["mean"] == pytest.approx(0.9) and row["std"] == pytest.approx(0.1)
    assert row["ci_high"] - row["mean"] == pytest.approx(0.1 * T_975_2 / math.sqrt(3), abs=1e-9)
    assert row["seeds"] == [0, 1, 2] and row["run_ids"] == ["a0", "a1", "a2"] and row["ci_method"] == "t"
    assert math.isnan(rows[1]["std"]) and math.isnan(rows[1]["ci_low"])

    boot = summarize(records, ci="bootstrap", n_boot=500, seed=3)[2]
    assert boot["ci_method"] == "bootstrap" and 0.8 <= boot["ci_low"] <= boot["ci_high"] <= 1.0
    assert summarize(records, ci="bootstrap", n_boot=500, seed=3)[2] == boot
    assert summarize(records, split="target_val")[0]["mean"] == 0.5
    assert [r["n"] for r in summarize(records, by=("algorithm",))] == [2, 3]


def test_order_of_records_does_not_matter(record_factory):
    records = [record_factory(f"a{s}", seed=s, metrics=_acc(0.7 + s / 10)) for s in range(4)]
    forward = summarize(records, ci="bootstrap", n_boot=300)
    backward = summarize(list(reversed(records)), ci="bootstrap", n_boot=300)
    assert forward == backward


def test_mixed_configurations_are_warned_and_separable(record_factory, caplog):
    records = [record_factory("h1", seed=0, hparams={"lam": 0.1}, metrics=_acc(0.8)),
               record_factory("h2", seed=0, hparams={"lam": 1.0}, metrics=_acc(0.6))]
    with caplog.at_level(logging.WARNING, logger="zoo.results.stats"):
        assert summarize(records)[0]["n"] == 2
    assert "several runs share a seed" in caplog.text
    split = summarize(records, by=("algorithm", "hparams.lam"))
    assert [(r["hparams.lam"], r["mean"]) for r in split] == [("0.1", 0.8), ("1.0", 0.6)]


def test_group_values_and_labels(record_factory):
    record = record_factory(backbone={"name": "timm/resnet18", "options": {"pretrained": True, "in_chans": 1}})
    assert group_value(record, "backbone") == "timm/resnet18[in_chans=1,pretrained=true]"
    assert group_value(record, "task.target_budget") == "0"
    assert group_value(record, "hparams.missing") == "-"
    assert backbone_label("simple_cnn") == "simple_cnn"


def test_bad_arguments():
    with pytest.raises(ConfigError, match="unknown confidence interval"):
        summarize([], ci="wald")
    with pytest.raises(ConfigError, match="confidence must be between 0 and 1"):
        summarize([], confidence=95)


def test_average_ranks_with_ties():
    assert average_ranks({"x": 0.9, "y": 0.8, "z": 0.8}) == {"x": 1.0, "y": 2.5, "z": 2.5}
    assert average_ranks({"a": 1.0, "b": 1.0, "c": 1.0, "d": 0.0}) == {"a": 2.0, "b": 2.0, "c": 2.0, "d": 4.0}
    assert average_ranks({"x": 0.1, "y": 0.2}, higher_is_better=False) == {"x": 1.0, "y": 2.0}


def test_rank_across_tasks(record_factory):
    # task A: x 0.9, y 0.8, z 0.8 -> 1, 2.5, 2.5 ; task B: x 0.7, y 0.9, z 0.8 -> 3, 1, 2
    # mean ranks: y 1.75, x 2.0, z 2.25 (x's task-B score is the mean of two seeds: (0.6 + 0.8) / 2)
    table = {("A", "x"): [0.9], ("A", "y"): [0.8], ("A", "z"): [0.8],
             ("B", "x"): [0.6, 0.8], ("B", "y"): [0.9], ("B", "z"): [0.8]}
    records = [record_factory(f"{task}-{alg}-{seed}", task_name=task, algorithm=alg, seed=seed, metrics=_acc(v))
               for (task, alg), values in table.items() for seed, v in enumerate(values)]
    rows = rank(records)
    assert [(r["algorithm"], r["mean_rank"], r["n_tasks"]) for r in rows] == [
        ("y", 1.75, 2), ("x", 2.0, 2), ("z", 2.25, 2)]
    assert rows[0]["ranks"] == {"A": 2.5, "B": 1.0} and rows[0]["suite"] == "quick@1"
    worst_first = rank(records, higher_is_better=False)
    assert [r["algorithm"] for r in worst_first] == ["z", "x", "y"]
