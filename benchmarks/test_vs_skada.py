"""End to end against a peer library: the same CORAL task through ``medzoo run`` and through skada's DeepCoral.

Task: acquisition-shift's ``xray-gaussian-noise-4`` (PneumoniaMNIST, one half as source, the other half under
Gaussian noise of severity 4 as target, 28 px), exported once to two npz files so both sides read the very
same arrays. Both train medzoo's SimpleCNN with BatchNorm and a linear head, Adam at lr 1e-3, batch 64,
2 epochs, seed 0, CORAL at weight 100 (medzoo's default; skada's ``reg``). Each side is one whole process
(imports, data, training, evaluation), timed from outside; pairs are interleaved so machine noise hits both.
medzoo also evaluates every epoch and writes checkpoints and predictions: the price of what it records.
Both step on 64 source + 64 target images in one BatchNorm batch, 36 steps an epoch (skada's
``DomainBalancedDataLoader`` interleaves the two domains in batches of 128; medzoo concatenates them),
with the same CORAL term (unbiased covariances, squared Frobenius distance / 4 d^2); only the random draws
(initial weights, order, dropout) come from each library's own streams. The accuracy comparison is of
the two implementations as users run them, over seeds. Measured with 20 seeds (0-19): medzoo 0.836 +- 0.022,
skada 0.840 +- 0.027, difference -0.004, Welch 95% CI [-0.020, +0.012], p = 0.61 (at 10 seeds the gap
looked larger: -0.019, p = 0.063).
It records the two rules this comparison reads (``source_val``, label-free like skada's fit, and ``last``,
what skada returns); DEV, which skada does not compute, is left out with ``selection.rules``.

Goal (issue 16): medzoo >= 1.5x faster (ratio skada / medzoo of the median wall times), with target
accuracies within seed noise of each other: ``test_target_accuracy_within_seed_noise`` trains both sides over
5 seeds and asks Welch's 95% interval for the difference of mean accuracies to contain 0.

Usage::

    pip install skada skorch      # benchmark-only dependencies
    MEDZOO_DATA=../shared/data pytest benchmarks/test_vs_skada.py --benchmark-only -s
    MEDZOO_BENCH_PAIRS=2 MEDZOO_BENCH_THREADS=1 ...     # fewer pairs, one thread a side
    MEDZOO_BENCH_SEEDS=10 ...                            # more seeds for the accuracy comparison
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

PAIRS = int(os.environ.get("MEDZOO_BENCH_PAIRS", "3"))
THREADS = os.environ.get("MEDZOO_BENCH_THREADS", "2")  # CPU threads of each side (torch intra-op)
TASK, ALGORITHM = "xray-gaussian-noise-4", "coral"
HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def arrays(tmp_path_factory, data_dir):
    """The task's source and target domains as MedMNIST-layout npz files (uint8, 28 px, shift applied)."""
    from zoo.bench.suite import load_suite
    from zoo.bench.task_data import build_task_data

    run = next(r for r in load_suite("acquisition-shift", preset="cpu").runs(tasks=[TASK], algorithms=[ALGORITHM])
               if r.seed == 0)
    data = build_task_data(run.config, data_dir)
    folder = tmp_path_factory.mktemp("vs-skada")
    paths = {}
    for side, domain in (("source", data.source), ("target", data.target)):
        arrays = {f"{split}_{key}": getattr(domain.splits[split], key).numpy()
                  for split in ("train", "val", "test") for key in ("images", "labels")}
        paths[side] = folder / f"{side}.npz"
        np.savez(paths[side], label_names=np.array(domain.label_names), **arrays)
    return paths, _suite(folder / "vs-skada.yaml", paths, seeds=[0]), folder


def _suite(path: Path, paths: dict[str, Path], seeds: list[int]) -> Path:
    path.write_text(textwrap.dedent(f"""\
        suite: vs-skada
        version: 1
        defaults:
          backbone: {{name: simple_cnn, norm: batch}}
          train: {{epochs: 2, batch_size: 64, lr: 0.001, optimizer: adam}}
          seeds: {seeds}
          selection: {{rule: source_val, rules: [source_val, last], metric: accuracy}}
        domains:
          src: {{dataset: npz, path: {paths['source']}, license: CC BY 4.0}}
          tgt: {{dataset: npz, path: {paths['target']}, license: CC BY 4.0}}
        tasks:
          - {{name: xray-noise-4, source: src, target: tgt, target_budget: 0, algorithms: [coral]}}
        """))
    return path


def _timed(argv: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - started
    assert proc.returncode == 0, proc.stderr[-3000:]
    return elapsed, proc


def _skada(paths: dict[str, Path], folder: Path, seed: int) -> tuple[float, float]:
    """(wall seconds, target-test accuracy of the last epoch) of one skada DeepCoral process."""
    elapsed, proc = _timed([sys.executable, str(HERE / "skada_deepcoral.py"), str(paths["source"]),
                            str(paths["target"]), "--epochs", "2", "--reg", "100", "--seed", str(seed),
                            "--threads", THREADS], folder)
    return elapsed, json.loads(proc.stdout.strip().splitlines()[-1])["target_test_accuracy"]


def test_medzoo_run_against_skada_deepcoral(benchmark, arrays):
    paths, suite, folder = arrays
    medzoo = str(Path(sys.executable).with_name("medzoo"))
    times = {"medzoo": [], "skada": []}
    accuracy = {}

    def pair() -> None:
        out = folder / f"out-{len(times['medzoo'])}"
        elapsed, _ = _timed([medzoo, "run", str(suite), "-o", str(out), "--no-progress", "--threads", THREADS], folder)
        times["medzoo"].append(elapsed)
        record = json.loads((out / "results.jsonl").read_text().splitlines()[0])
        accuracy["medzoo (last epoch)"] = record["selections"]["last"]["metrics"]["target_test"]["accuracy"]
        accuracy["medzoo (source_val)"] = record["metrics"]["target_test"]["accuracy"]
        elapsed, accuracy["skada (last epoch)"] = _skada(paths, folder, seed=0)
        times["skada"].append(elapsed)

    benchmark.pedantic(pair, rounds=PAIRS, iterations=1)
    ratio = statistics.median(times["skada"]) / statistics.median(times["medzoo"])
    benchmark.extra_info.update({"wall_s": times, "speedup_vs_skada": round(ratio, 3), "accuracy": accuracy})
    print(f"\nwall s: medzoo {times['medzoo']}, skada {times['skada']}; skada/medzoo = {ratio:.2f}x; "
          f"target-test accuracy: {accuracy}")
    assert ratio >= 1.5, f"medzoo is {ratio:.2f}x as fast as skada's DeepCoral; the goal is >= 1.5x"


def test_target_accuracy_within_seed_noise(benchmark, arrays):
    """Both sides over ``MEDZOO_BENCH_SEEDS`` seeds (default 5): the last epoch's target-test accuracy, each
    side's mean +- sd, and Welch's 95% interval for the difference of the means, which must contain 0
    (seeds are independent on each side; there is no pairing across libraries, whose batch orders differ)."""
    from scipy import stats

    paths, _, folder = arrays
    seeds = list(range(int(os.environ.get("MEDZOO_BENCH_SEEDS", "5"))))
    medzoo = str(Path(sys.executable).with_name("medzoo"))
    accuracy: dict[str, list[float]] = {}

    def both() -> None:
        out = folder / "seeds"
        _timed([medzoo, "run", str(_suite(folder / "seeds.yaml", paths, seeds)), "-o", str(out), "--no-progress",
                "--threads", THREADS], folder)
        records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
        by_seed = {r["seed"]: r["selections"]["last"]["metrics"]["target_test"]["accuracy"] for r in records}
        accuracy["medzoo"] = [by_seed[seed] for seed in seeds]
        accuracy["skada"] = [_skada(paths, folder, seed)[1] for seed in seeds]

    benchmark.pedantic(both, rounds=1, iterations=1)
    test = stats.ttest_ind(accuracy["medzoo"], accuracy["skada"], equal_var=False)
    low, high = test.confidence_interval(0.95)
    summary = {side: f"{statistics.mean(a):.4f} +- {statistics.stdev(a):.4f}" for side, a in accuracy.items()}
    benchmark.extra_info.update({"accuracy": accuracy, "welch_ci95": [low, high], "p": test.pvalue})
    print(f"\ntarget-test accuracy, last epoch, seeds {seeds}: {summary}; medzoo - skada: "
          f"{statistics.mean(accuracy['medzoo']) - statistics.mean(accuracy['skada']):+.4f}, "
          f"Welch 95% CI [{low:+.4f}, {high:+.4f}], p = {test.pvalue:.3f}")
    assert low <= 0 <= high, f"the target accuracies differ beyond seed noise: Welch 95% CI [{low:.4f}, {high:.4f}]"
