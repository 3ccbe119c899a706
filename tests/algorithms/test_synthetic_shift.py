"""A synthetic acquisition shift that feature alignment can fix, run through the real suite runner.

Source: the synthetic generator (zoo.datasets.synthetic) as is; target: other images (another seed) of the
same three classes seen through the generator's "other scanner" (``appearance: 1.0``: halved contrast, a
brightness offset, a left-right illumination ramp, a fixed high-frequency texture, more noise). A
``simple_cnn`` trained on the source alone learns intensity-dependent features: on the target they land
in the wrong place and its accuracy falls towards chance. The shift is in appearance only, so matching the
source and target feature distributions can undo it.

Protocol, identical for every method: 1 epoch of 56 steps (1,800 source images, batch 32), Adam 1e-3 with
a cosine schedule, seeds 0-2, default hyperparameters, model selection by source validation accuracy,
target-test accuracy reported. Controls: ``adabn`` (source-only training, target
BatchNorm statistics; ``simple_cnn`` has no BatchNorm, so here it is source_only exactly) and the weight-0
twin of each adaptation method (``controls: [weight_zero]``: its own architecture and mixed batches,
alignment off). CORAL and DAN align the backbone features (no bottleneck), so their twins are source_only
with target images in the batch; DANN's default has a Linear-BatchNorm-ReLU bottleneck (zoo.algorithms.uda).

Each adaptation method must beat its own twin, not just source_only: that is what shows the alignment
works. DANN does not, on this task, by the margin: its bottleneck alone (the twin, mixed batches through
its BatchNorm) already fixes most of the shift. The test states that as measured (DANN is not better than
its twin by the margin, the twin is better than source_only) instead of loosening the requirement for the
others; if DANN ever beats its twin here by the margin, move it to ALIGNING. The numbers are printed (run
with ``-s``); measured here (2-core CPU, one thread), target-test accuracy, mean ± std over 3 seeds
(source-test 100.0 for all): source_only 39.4 ± 5.4, adabn 39.4 ± 5.4 (identical: no BatchNorm), coral
100.0 ± 0.0 vs coral@w0 51.5 ± 25.9, dan 100.0 ± 0.0 vs dan@w0 51.5 ± 25.9 (the two twins are the same
network: weight 0, no bottleneck), dann 99.8 ± 0.4 vs dann@w0 97.2 ± 4.7 (per seed +7.5, +0.2, 0.0; with
DANN's former default weight 1: 89.2 ± 14.6, below its twin).
"""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
import torch

SEEDS = [0, 1, 2]
SUITE = """\
suite: synthetic-appearance-shift
version: 1
defaults:
  backbone: {name: simple_cnn}
  train: {epochs: 1, batch_size: 32, lr: 0.001, optimizer: adam, scheduler: cosine}
  seeds: [0, 1, 2]
  selection: {rule: source_val, metric: accuracy}
domains:
  scanner_a: {dataset: synthetic, num_classes: 3, n_per_class: 1000, seed: 0}
  scanner_b: {dataset: synthetic, num_classes: 3, n_per_class: 1000, seed: 1, appearance: 1.0}
controls: [weight_zero]
tasks:
  - {name: a-to-b, source: scanner_a, target: scanner_b, target_budget: 0,
     algorithms: [source_only, adabn, coral, dan, dann]}
"""
MARGIN = 0.05  # 5 points of target-test accuracy
ALIGNING = ["coral", "dan"]  # beat their own weight-0 twin
NOT_BEYOND_TWIN = ["dann"]  # measured: no better than its twin on this task (see the module docstring)
METHODS = ["source_only", "adabn", *(m for a in ALIGNING + NOT_BEYOND_TWIN for m in (a, f"{a}@w0"))]


@pytest.mark.slow
def test_alignment_beats_source_only_on_a_synthetic_appearance_shift(tmp_path: Path):
    from zoo.bench.suite import load_suite
    from zoo.runner.suite_runner import run_suite

    (tmp_path / "shift.yaml").write_text(SUITE)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the recorded numbers were measured with one thread; results depend on it
    try:
        records = run_suite(load_suite(str(tmp_path / "shift.yaml")), output_dir=tmp_path / "runs", cpu=True,
                            show_progress=False)
    finally:
        torch.set_num_threads(threads)

    target, source = {}, {}
    for record in records:
        assert record["train"]["epochs"] == 1 and record["train"]["scheduler"] == "cosine"
        name = record["algorithm"]
        target.setdefault(name, {})[record["seed"]] = record["metrics"]["target_test"]["accuracy"]
        source.setdefault(name, {})[record["seed"]] = record["metrics"]["source_test"]["accuracy"]
    assert {a: sorted(s) for a, s in target.items()} == {a: SEEDS for a in METHODS}

    mean = {a: statistics.mean(s.values()) for a, s in target.items()}
    for name, per_seed in target.items():
        values = [100 * per_seed[s] for s in SEEDS]
        print(f"{name:12s} target-test accuracy {statistics.mean(values):5.1f} ± {statistics.stdev(values):4.1f} "
              f"(seeds {', '.join(f'{v:.1f}' for v in values)}); source-test "
              f"{100 * statistics.mean(source[name].values()):.1f}")

    assert mean["source_only"] < 0.6, "the shift no longer hurts source_only: the task tests nothing"
    assert target["adabn"] == target["source_only"]  # no BatchNorm in simple_cnn: AdaBN changes nothing
    for algorithm in ALIGNING:  # the alignment itself, not the architecture or the batches, fixes the shift
        assert mean[algorithm] >= mean[f"{algorithm}@w0"] + MARGIN, (algorithm, mean)
        assert mean[algorithm] >= mean["source_only"] + MARGIN, (algorithm, mean)
    for algorithm in NOT_BEYOND_TWIN:  # as measured; its gain over source_only is its bottleneck's
        assert mean[algorithm] < mean[f"{algorithm}@w0"] + MARGIN, (algorithm, mean)
        assert mean[f"{algorithm}@w0"] >= mean["source_only"] + MARGIN, (algorithm, mean)
    # Every method still learns the source task (the alignment term does not destroy it).
    for name, per_seed in source.items():
        assert min(per_seed.values()) >= 0.95, (name, per_seed)
