"""Several labeled source domains: a task with ``source: [a, b]`` trains M3SDA and DANN through the runner.

zoo.bench.task_data concatenates the sources (each row keeps its source index); an algorithm that sets
``SOURCE_DOMAINS = True`` (M3SDA) gets ``(x, y, d)`` source batches from the runner, every other one (DANN)
gets ``(x, y)`` and treats the sources as one.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

SUITE = """\
suite: two-sources
version: 1
defaults:
  backbone: {name: simple_cnn}
  train: {epochs: 1, batch_size: 16, lr: 0.001}
  seeds: [0]
domains:
  site_a: {dataset: synthetic, num_classes: 2, n_per_class: 40, seed: 0}
  site_b: {dataset: synthetic, num_classes: 2, n_per_class: 40, seed: 2, appearance: 0.5}
  site_c: {dataset: synthetic, num_classes: 2, n_per_class: 40, seed: 1, appearance: 1.0}
tasks:
  - {name: ab-to-c, source: [site_a, site_b], target: site_c, target_budget: 0, algorithms: [m3sda, dann]}
"""


@pytest.fixture()
def suite_path(tmp_path: Path) -> Path:
    path = tmp_path / "two.yaml"
    path.write_text(SUITE)
    return path


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_m3sda_and_dann_train_on_two_sources_through_the_suite_runner(suite_path, tmp_path):
    from zoo.bench.suite import load_suite
    from zoo.runner.suite_runner import run_suite

    records = run_suite(load_suite(str(suite_path)), output_dir=tmp_path / "runs", cpu=True, show_progress=False)
    assert sorted(r["algorithm"] for r in records) == ["dann", "m3sda"]
    for record in records:
        assert record["task"]["source"] == ["site_a", "site_b"] and record["task"]["target"] == "site_c"
        # the source splits are the two sites' splits together: 2 x 8 test images (2 classes x 40 x 20%)
        assert record["metrics"]["source_test"]["n"] == 2 * 16
        assert record["metrics"]["target_test"]["n"] == 16
        assert all(math.isfinite(loss) for loss in record["curves"]["train_loss"])
        assert (tmp_path / "runs" / record["checkpoint"]).is_file()


def test_the_runner_gives_m3sda_the_source_of_every_sample(suite_path):
    from zoo.bench.suite import load_suite
    from zoo.bench.task_data import build_task_data
    from zoo.runner.loop import train_run
    from zoo.runner.train_record import make_accelerator

    run = next(r for r in load_suite(str(suite_path)).runs() if r.algorithm == "m3sda")
    data = build_task_data(run.config)
    assert sorted(data.source.splits["train"].domains.unique().tolist()) == [0, 1]
    outcome = train_run(run, data, make_accelerator(cpu=True), show_progress=False)
    # M3SDA logs how many source domains each batch held, averaged over the epoch: every batch of 16 drawn
    # from the two shuffled sources holds both (all-one-source has probability 2 / 2^16 per batch).
    assert outcome.history[0]["train"]["sources_in_batch"] == pytest.approx(2.0)


def test_m3sda_matches_moments_between_the_sources_it_is_told_about():
    # The same features, once labelled as one source and once as two: only the second has a source-source term.
    import zoo
    from zoo.algorithms.m3sda import M3SDA

    torch.manual_seed(0)
    algo = M3SDA(zoo.create_backbone("simple_cnn", in_chans=1), 2)
    f_s = torch.cat([torch.zeros(4, 3), torch.ones(4, 3)])  # two sources with different means
    f_t = torch.full((6, 3), 0.5)
    one = algo.alignment(f_s, None, f_t, None, (None, None, torch.zeros(8, dtype=torch.long)))
    two = algo.alignment(f_s, None, f_t, None, (None, None, torch.tensor([0] * 4 + [1] * 4)))
    assert float(one["sources_in_batch"]) == 1.0 and float(two["sources_in_batch"]) == 2.0
    # one pooled source: means match (0.5), variances 0.25 vs 0 in each of 3 dims -> 0.25 * sqrt(3)
    assert float(one["loss"]) == pytest.approx(0.25 * math.sqrt(3), rel=1e-5)
    # two sources: each mean is 0.5 * sqrt(3) from the target's, the two are sqrt(3) apart; no variance
    assert float(two["loss"]) == pytest.approx(0.5 * math.sqrt(3) + math.sqrt(3), rel=1e-5)
