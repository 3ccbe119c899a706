"""What evaluation costs beside training, and what the cheap per-epoch report saves (issue 16, item 4).

1. Per-epoch metrics: the full ``classification_metrics`` report of every split (the old per-epoch path,
   ``zoo.runner.epoch_metrics.full_report``) against the cheap report (``epoch_metrics``), on the real
   logits of the quick suite's 10% task (five splits). Goal: the cheap report costs <= 0.25x.
2. One epoch's evaluation (``EpochEvaluator``: forward passes of every split and the metrics), full
   report against cheap report, without DEV and with DEV (label-free selection, the same in both).
3. A whole run (``train_run``: the quick suite's 10% task, source_only, 2 epochs, every rule, DEV
   included) with the full report every epoch (``FULL_EVERY_EPOCH``) and with the cheap one:
   ``eval_s / train_s`` of each. Reported, not asserted: the forward passes and DEV, not metrics, set it
   (measured on a loaded 2-core CPU: full 1.60, cheap 1.74, i.e. noise; DEV is ~55% of an evaluated epoch).

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


def _interleaved(benchmark, new, old) -> tuple[float, float]:
    """(median new, median old) seconds, old timed in pedantic's setup before each new round."""
    old_times: list[float] = []

    def measure_old() -> None:
        started = time.perf_counter()
        old()
        old_times.append(time.perf_counter() - started)

    new(), old()  # warm-up both sides
    benchmark.pedantic(new, setup=measure_old, rounds=ROUNDS, iterations=1)
    return benchmark.stats.stats.median, statistics.median(old_times)


def test_per_epoch_metrics_cost(benchmark, quick_run):
    from zoo.runner.epoch_eval import EpochEvaluator
    from zoo.runner.epoch_metrics import epoch_metrics, full_report

    run, data, accelerator, model, normalizer = quick_run
    evaluate = EpochEvaluator(accelerator, data, normalizer, 512, run.seed, metric="accuracy")
    outputs = evaluate(model)[3]  # {split: ((N, K) logits, (N,) labels)}, five splits
    names = data.label_names
    new, old = _interleaved(benchmark, lambda: [epoch_metrics(*o, names, "accuracy") for o in outputs.values()],
                            lambda: [full_report(*o, names) for o in outputs.values()])
    ratio = new / old
    benchmark.extra_info.update({"splits": len(outputs), "full_ms": round(old * 1e3, 2),
                                 "cheap_ms": round(new * 1e3, 2), "cheap_vs_full": round(ratio, 3)})
    print(f"\nmetrics of {len(outputs)} splits per epoch: full {old * 1e3:.1f} ms, cheap {new * 1e3:.1f} ms ({ratio:.3f}x)")
    assert ratio <= 0.25, f"the cheap per-epoch report costs {ratio:.3f}x the full one (goal <= 0.25x)"


@pytest.mark.parametrize("with_dev", [False, True])
def test_epoch_evaluation_cost(benchmark, quick_run, with_dev):
    from zoo.runner.epoch_eval import EpochEvaluator

    run, data, accelerator, model, normalizer = quick_run
    cheap = EpochEvaluator(accelerator, data, normalizer, 512, run.seed, metric="accuracy")
    full = EpochEvaluator(accelerator, data, normalizer, 512, run.seed)  # metric None: the full report
    new, old = _interleaved(benchmark, lambda: cheap(model, with_dev=with_dev), lambda: full(model, with_dev=with_dev))
    benchmark.extra_info.update({"with_dev": with_dev, "full_s": round(old, 3), "cheap_s": round(new, 3),
                                 "cheap_vs_full": round(new / old, 3)})
    print(f"\none epoch's evaluation{' with DEV' if with_dev else ''}: full {old:.3f} s, cheap {new:.3f} s "
          f"({new / old:.3f}x)")
    assert new <= old * 1.05, "the cheap per-epoch evaluation is not cheaper than the full one"


def test_eval_vs_train_time_of_a_run(benchmark, quick_run, data_dir):
    from zoo.runner import epoch_eval
    from zoo.runner.loop import train_run

    run, data, accelerator, _, _ = quick_run
    ratios: dict[str, list[float]] = {"full": [], "cheap": []}

    def one(mode: str) -> None:
        epoch_eval.FULL_EVERY_EPOCH = mode == "full"
        try:
            timings = train_run(run, data, accelerator, show_progress=False).timings
        finally:
            epoch_eval.FULL_EVERY_EPOCH = False
        ratios[mode].append(timings["eval_s"] / timings["train_s"])

    benchmark.pedantic(lambda: one("cheap"), setup=lambda: one("full"), rounds=2, iterations=1)
    full, cheap = statistics.median(ratios["full"]), statistics.median(ratios["cheap"])
    benchmark.extra_info.update({"eval_over_train_full": round(full, 3), "eval_over_train_cheap": round(cheap, 3)})
    print(f"\neval_s / train_s of a quick-suite run (DEV included): full report {full:.3f}, cheap {cheap:.3f}")
    # Not a goal assertion: the metrics saved are ~5% of a run's evaluation (forward passes and DEV are the
    # rest), below the run-to-run noise of a shared 2-core machine (train_s varied 2x between identical runs).
    assert full > 0 and cheap > 0
