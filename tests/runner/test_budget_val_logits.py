"""The budgeted target_val split is evaluated from target_val_oracle's logits, not by a second forward pass.

A budget task's ``target_val`` holds a labelled subset of the target validation split (``label_budget``),
the same images ``target_val_oracle`` evaluates in the same evaluation state. ``EpochEvaluator`` takes their
rows from the oracle's logits (``TaskData.target_val_rows``); each row must be its image's logits and label,
and the split's metrics those of its own forward pass up to float rounding (a chunk of another height may
sum in another order: ``tests/runner/test_eval_chunks.py``).
"""

from __future__ import annotations

import dataclasses

import pytest
import torch


def test_budgeted_target_val_reads_the_oracle_logits_of_its_rows(data_dir):
    from accelerate import Accelerator

    from zoo.bench.suite import load_suite
    from zoo.bench.task_data import build_task_data
    from zoo.runner.epoch_eval import EpochEvaluator
    from zoo.runner.epoch_metrics import epoch_metrics
    from zoo.runner.evaluate import predict
    from zoo.runner.loop import build_model

    run, = load_suite("quick", overrides=["seeds=[0]"]).runs(tasks=["pneumonia-shift-10pct"],
                                                             algorithms=["source_only"])
    data = build_task_data(run.config, data_dir)
    rows = data.target_val_rows  # (M,) rows of target val
    assert rows is not None and len(rows) == len(data.target_val_labeled) < len(data.target.splits["val"])
    assert torch.equal(data.target.splits["val"].images[rows], data.target_val_labeled.images)

    accelerator = Accelerator(cpu=True)
    torch.manual_seed(0)
    algorithm, normalizer = build_model(run.config, data)
    model = accelerator.prepare_model(algorithm)
    evaluate = EpochEvaluator(accelerator, data, normalizer, 512, run.seed, metric="accuracy")
    val, _, probs, outputs = evaluate(model)

    logits, labels = outputs["target_val"]  # (M, K), (M,)
    oracle_logits, oracle_labels = outputs["target_val_oracle"]
    assert torch.equal(logits, oracle_logits[rows]) and torch.equal(labels, oracle_labels[rows])
    assert torch.equal(labels, data.target_val_labeled.labels)
    assert list(outputs) == ["source_val", "target_val_oracle", "target_val"]  # domain order, as before

    own_logits, own_labels = predict(accelerator, model, evaluate.val_loaders["target_val"], normalizer)
    torch.testing.assert_close(logits, own_logits, rtol=1e-5, atol=1e-6)
    own = epoch_metrics(own_logits, own_labels, data.label_names, "accuracy")
    for metric in ("accuracy", "balanced_accuracy", "auroc", "nll"):
        assert val["target_val"][metric] == pytest.approx(own[metric], abs=1e-6), metric
    torch.testing.assert_close(probs["target_val"], torch.softmax(own_logits, dim=1), rtol=1e-5, atol=1e-6)


def test_an_unbudgeted_task_has_no_rows_and_rows_must_match_the_budget(data_dir):
    from zoo.bench.suite import load_suite
    from zoo.bench.task_data import build_task_data

    run, = load_suite("quick", overrides=["seeds=[0]"]).runs(tasks=["pneumonia-shift-unsup"])
    data = build_task_data(run.config, data_dir)
    assert data.target_val_rows is None and data.target_val_labeled is None

    budget, = load_suite("quick", overrides=["seeds=[0]"]).runs(tasks=["pneumonia-shift-10pct"],
                                                                algorithms=["source_only"])
    data = build_task_data(budget.config, data_dir)
    val_labels = data.target.splits["val"].labels
    other = torch.nonzero(val_labels != val_labels[data.target_val_rows[0]])[0]  # a row of another class
    with pytest.raises(ValueError, match="target_val_rows must be the rows of target val"):
        dataclasses.replace(data, target_val_rows=torch.cat([other, data.target_val_rows[1:]]))
