"""What evaluation costs beside training, and what the cheap per-epoch report saves (issue 16, item 4).

1. Per-epoch metrics: the full report of every split as each epoch computed it before issue 16 (through
   scikit-learn: ``_sklearn_report`` below makes the same calls) against the cheap report
   (``epoch_metrics``), on the real logits of the quick suite's 10% task (five splits). Goal: the cheap
   report costs <= 0.25x. The full report of selected epochs (``full_report``, now numpy from the
   confusion matrix, the same numbers) is timed and printed beside them.
2. One epoch's evaluation (``EpochEvaluator``: forward passes of every split and the metrics), full
   report against cheap report, without DEV and with DEV (label-free selection, the same in both).
3. The quick suite's runs (``train_run``, default preset, seed 0) with every split's full report every
   epoch (``FULL_EVERY_EPOCH``) and as the runner now evaluates (validation splits per epoch, test splits
   for the selected epochs): ``(eval_s - dev_s) / train_s``, goal <= 0.10; DEV's share reported apart.

Old and new run interleaved, round by round (pytest-benchmark times the new side, the old side runs in
``setup``), so machine noise hits both alike; medians are compared.

Usage::

    MEDZOO_DATA=../shared/data pytest benchmarks/test_eval_cost.py --benchmark-only -s
"""

from __future__ import annotations

import statistics
import time

import pytest
import torch
from interleave import interleaved

ROUNDS = 5


@pytest.fixture(scope="module")
def quick_run(data_dir):
    """The quick suite's 10% task (source_only, seed 0, 2 epochs), its data, and an evaluator for it."""
    from accelerate import Accelerator

    from zoo.bench.suite import load_suite
    from zoo.bench.task_data import build_task_data
    from zoo.runner.loop import build_model

    suite = load_suite("quick", overrides=["train.epochs=2", "seeds=[0]"])
    run, = suite.runs(tasks=["pneumonia-shift-10pct"], algorithms=["source_only"])
    data = build_task_data(run.config, data_dir)
    accelerator = Accelerator(cpu=True)
    torch.manual_seed(0)
    algorithm, normalizer = build_model(run.config, data)
    return run, data, accelerator, accelerator.prepare_model(algorithm), normalizer


def _sklearn_report(logits: torch.Tensor, labels: torch.Tensor, names) -> dict:
    """The per-split report as it was computed through scikit-learn until issue 16 (the baseline)."""
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        confusion_matrix,
        precision_recall_fscore_support,
        roc_auc_score,
    )

    from zoo.metrics import expected_calibration_error, negative_log_likelihood, softmax

    probs = softmax(logits.numpy())
    y, preds = labels.numpy(), probs.argmax(1)
    every = list(range(len(names)))
    return {"accuracy": accuracy_score(y, preds), "balanced_accuracy": balanced_accuracy_score(y, preds),
            "macro": precision_recall_fscore_support(y, preds, average="macro", zero_division=0),
            "per_class": precision_recall_fscore_support(y, preds, labels=every, average=None, zero_division=0),
            "auroc": roc_auc_score(y == len(names) - 1, probs[:, -1]), "ece": expected_calibration_error(probs, y),
            "nll": negative_log_likelihood(logits.numpy(), y), "confusion": confusion_matrix(y, preds, labels=every)}


def test_per_epoch_metrics_cost(benchmark, quick_run):
    from zoo.runner.epoch_eval import EpochEvaluator
    from zoo.runner.epoch_metrics import epoch_metrics, full_report

    run, data, accelerator, model, normalizer = quick_run
    evaluate = EpochEvaluator(accelerator, data, normalizer, 512, run.seed, metric="accuracy", test_curves=True)
    outputs = evaluate(model)[3]  # {split: ((N, K) logits, (N,) labels)}, five splits
    names = data.label_names
    new, old = interleaved(benchmark, lambda: [epoch_metrics(*o, names, "accuracy") for o in outputs.values()],
                            lambda: [_sklearn_report(*o, names) for o in outputs.values()], rounds=ROUNDS)
    started = time.perf_counter()
    for _ in range(ROUNDS):
        [full_report(*o, names) for o in outputs.values()]
    numpy_full = (time.perf_counter() - started) / ROUNDS
    ratio = new / old
    benchmark.extra_info.update({"splits": len(outputs), "sklearn_full_ms": round(old * 1e3, 2),
                                 "numpy_full_ms": round(numpy_full * 1e3, 2), "cheap_ms": round(new * 1e3, 2),
                                 "cheap_vs_sklearn_full": round(ratio, 3)})
    print(f"\nmetrics of {len(outputs)} splits per epoch: full through scikit-learn {old * 1e3:.1f} ms, cheap "
          f"{new * 1e3:.1f} ms ({ratio:.3f}x); the full report now (numpy) {numpy_full * 1e3:.1f} ms")
    assert ratio <= 0.25, f"the cheap per-epoch report costs {ratio:.3f}x the full one (goal <= 0.25x)"


@pytest.mark.parametrize("with_dev", [False, True])
def test_epoch_evaluation_cost(benchmark, quick_run, with_dev):
    from zoo.runner.epoch_eval import EpochEvaluator

    run, data, accelerator, model, normalizer = quick_run
    cheap = EpochEvaluator(accelerator, data, normalizer, 512, run.seed, metric="accuracy")
    full = EpochEvaluator(accelerator, data, normalizer, 512, run.seed)  # metric None: the full report
    new, old = interleaved(benchmark, lambda: cheap(model, with_dev=with_dev), lambda: full(model, with_dev=with_dev),
                           rounds=ROUNDS)
    benchmark.extra_info.update({"with_dev": with_dev, "full_s": round(old, 3), "cheap_s": round(new, 3),
                                 "cheap_vs_full": round(new / old, 3)})
    print(f"\none epoch's evaluation{' with DEV' if with_dev else ''}: full {old:.3f} s, cheap {new:.3f} s "
          f"({new / old:.3f}x)")
    assert new <= old * 1.05, "the cheap per-epoch evaluation is not cheaper than the full one"


def test_eval_vs_train_time_of_the_quick_suites_runs(benchmark, data_dir):
    """Goal (issue 16): evaluation / training time <= 0.10 on the quick suite's runs (its default preset:
    4 epochs, the three runs of seed 0), against the full report of every split at every epoch
    (``FULL_EVERY_EPOCH``, the reference records are compared with). DEV, label-free selection, is timed
    apart (``timings.dev_s``): it is a selection method's own cost (features of 4,000 training images and
    a logistic regression per epoch), the same in both modes, and a suite that records no ``dev`` rule does
    not pay it."""
    from accelerate import Accelerator

    from zoo.bench.suite import load_suite
    from zoo.bench.task_data import build_task_data
    from zoo.runner import epoch_eval
    from zoo.runner.loop import train_run

    accelerator = Accelerator(cpu=True)
    runs = load_suite("quick", overrides=["seeds=[0]"]).runs()
    data = {run.run_id: build_task_data(run.config, data_dir) for run in runs}
    ratios: dict[str, list[float]] = {"full": [], "cheap": []}
    dev_ratios: list[float] = []

    def one(mode: str) -> None:
        epoch_eval.FULL_EVERY_EPOCH = mode == "full"
        try:
            for run in runs:
                timings = train_run(run, data[run.run_id], accelerator, show_progress=False).timings
                ratios[mode].append((timings["eval_s"] - timings["dev_s"]) / timings["train_s"])
                if mode == "cheap" and timings["dev_s"]:
                    dev_ratios.append(timings["dev_s"] / timings["train_s"])
        finally:
            epoch_eval.FULL_EVERY_EPOCH = False

    benchmark.pedantic(lambda: one("cheap"), setup=lambda: one("full"), rounds=1, iterations=1)
    full, cheap = statistics.median(ratios["full"]), statistics.median(ratios["cheap"])
    benchmark.extra_info.update({"eval_over_train_full": ratios["full"], "eval_over_train_cheap": ratios["cheap"],
                                 "dev_over_train": dev_ratios})
    print(f"\neval_s / train_s of the quick suite's runs (without DEV): full report every epoch "
          f"{[round(r, 3) for r in ratios['full']]} (median {full:.3f}), now {[round(r, 3) for r in ratios['cheap']]} "
          f"(median {cheap:.3f}); DEV / train_s where recorded: {[round(r, 3) for r in dev_ratios]}")
    assert cheap <= 0.10, f"evaluation costs {cheap:.3f}x training on the quick suite's runs (goal <= 0.10)"
