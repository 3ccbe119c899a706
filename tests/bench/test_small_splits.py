"""Warnings for a target test split under 100 images and label budgets under 5 images of a class."""

from __future__ import annotations

from dataclasses import replace

from zoo.bench.suite import load_suite
from zoo.bench.task_data import build_task_data, small_split_warnings
from zoo.datasets.base import Split


def test_breastmnist_budget_warns_and_a_cut_test_split_warns(data_dir):
    run = next(r for r in load_suite("progressive", preset="quick").runs() if r.task.name == "scratch-breast")
    data = build_task_data(run.config, data_dir)
    counts = data.target_val_labeled.labels.bincount(minlength=data.num_classes).tolist()  # (K,) per class
    warnings = small_split_warnings(data)
    assert min(counts) < 5 and len(warnings) == 1  # the official test split has 156 images: no test warning
    assert "validation label budget has under 5 images" in warnings[0]
    for name, count in zip(data.label_names, counts):
        assert f"'{name}' {count}" in warnings[0]
    test = data.target.splits["test"]
    cut = replace(data, target=data.target.with_splits({**data.target.splits, "test": Split(test.images[:49],
                                                                                          test.labels[:49])}))
    first = small_split_warnings(cut)[0]  # a copy: the cached domain stays whole for other tests
    assert first.startswith("the target test split has 49 images (< 100): one image is 2.0 accuracy points")
