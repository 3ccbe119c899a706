"""Stratified splits, disjoint partitions, label budgets: exact, seeded, stratified."""

from __future__ import annotations

import pytest
import torch

from zoo.datasets.partition import label_budget, label_budget_and_rows, partition_domain, stratified_split
from zoo.datasets.synthetic import synthetic_domain
from zoo.errors import ConfigError

LABELS = torch.tensor([0] * 50 + [1] * 30 + [2] * 7)


def test_stratified_split_fractions_per_class_and_cover():
    parts = stratified_split(LABELS, {"train": 0.7, "val": 0.1, "test": 0.2}, seed=0)
    everything = torch.cat(list(parts.values()))
    assert sorted(everything.tolist()) == list(range(len(LABELS)))  # disjoint and complete
    for name, frac in (("train", 0.7), ("val", 0.1), ("test", 0.2)):
        counts = torch.bincount(LABELS[parts[name]], minlength=3)
        for c, n in enumerate((50, 30, 7)):
            assert abs(int(counts[c]) - n * frac) < 1
        assert torch.equal(parts[name], parts[name].sort().values) and parts[name].dtype == torch.long


def test_stratified_split_is_seeded():
    a = stratified_split(LABELS, {"a": 0.5, "b": 0.5}, seed=0)
    b = stratified_split(LABELS, {"a": 0.5, "b": 0.5}, seed=0)
    c = stratified_split(LABELS, {"a": 0.5, "b": 0.5}, seed=1)
    assert torch.equal(a["a"], b["a"]) and not torch.equal(a["a"], c["a"])


def test_fractions_below_one_leave_the_rest_out_and_bad_ones_fail():
    parts = stratified_split(LABELS, {"x": 0.2}, seed=0)
    assert torch.bincount(LABELS[parts["x"]], minlength=3).tolist() == [10, 6, 1]
    for bad in ({"a": 0.8, "b": 0.3}, {"a": -0.1}, {}):
        with pytest.raises(ConfigError, match="fractions"):
            stratified_split(LABELS, bad, seed=0)


@pytest.mark.parametrize("of", [2, 3])
def test_partitions_are_disjoint_stratified_and_cover(of):
    dom = synthetic_domain(num_classes=3, n_per_class=40, seed=0)
    parts = [partition_domain(dom, p, of=of, seed=5) for p in range(of)]
    for split in dom.splits:
        keys = [{x.numpy().tobytes() for x in part.splits[split].images} for part in parts]
        for i in range(of):
            for j in range(i + 1, of):
                assert not keys[i] & keys[j]
        assert sum(len(part.splits[split]) for part in parts) == len(dom.splits[split])
        for part in parts:
            counts = part.splits[split].class_counts(3)
            full = dom.splits[split].class_counts(3)
            assert all(abs(c - f / of) < 1 for c, f in zip(counts, full))
    assert parts[1].name == f"synthetic_part1of{of}"
    assert parts[1].info["partition"] == {"part": 1, "of": of, "seed": 5}
    assert parts[1].info["generator"] == dom.info["generator"]  # info merged, not replaced


def test_partition_arguments_are_checked():
    dom = synthetic_domain()
    with pytest.raises(ConfigError, match="'part' must be an integer in 0..1"):
        partition_domain(dom, 2, of=2)
    with pytest.raises(ConfigError, match="'of' must be an integer >= 2"):
        partition_domain(dom, 0, of=1)


def test_label_budget():
    dom = synthetic_domain(num_classes=3, n_per_class=60, seed=0)
    train = dom.splits["train"]
    assert label_budget(train, 1.0) is train
    ten = label_budget(train, 0.1, seed=0)
    twenty = label_budget(train, 0.2, seed=0)
    full = train.class_counts(3)
    assert ten.class_counts(3) == [max(1, round(n * 0.1)) for n in full]
    keys10 = {x.numpy().tobytes() for x in ten.images}
    assert keys10 <= {x.numpy().tobytes() for x in twenty.images}  # nested budgets
    tiny = label_budget(train, 0.001, seed=0)
    assert tiny.class_counts(3) == [1, 1, 1]  # at least one per class present
    assert not torch.equal(label_budget(train, 0.1, seed=1).images, ten.images)  # another seed, another subset
    rows = label_budget_and_rows(train, 0.1, seed=0)[1]  # (M,) sorted rows: what evaluation slices logits by
    assert torch.equal(rows, rows.sort().values) and torch.equal(train.subset(rows).images, ten.images)
    assert torch.equal(label_budget_and_rows(train, 1.0)[1], torch.arange(len(train)))
    for bad in (0, 0.0, -0.5, 1.5):
        with pytest.raises(ConfigError, match="label budget fraction must be in \\(0, 1\\]"):
            label_budget(train, bad)
