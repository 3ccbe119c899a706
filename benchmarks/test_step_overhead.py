"""Host overhead per training step: the runner against a hand-written loop, with a near-zero-compute model.

On a GPU a 28 px model computes for a few microseconds per step, so what a step costs is what the host
does around it: fetching the batch, moving it, the optimizer wrapper. A linear layer on a flattened 28 px
image (784 -> 2) puts a CPU in the same regime: the step is almost all overhead. Both sides train the same
model on the same batches (PneumoniaMNIST train, batch 128, the runner's own stream order), with the same
Adam; the plain side indexes the uint8 tensor in memory and calls ``loss.backward(); opt.step()``.
Goal (issue 16): runner / plain time per step <= 1.15x.

The two sides are measured interleaved, round by round (pytest-benchmark times the runner side; the
baseline runs in ``setup``), so machine noise hits both alike. Medians are compared.

Usage::

    MEDZOO_DATA=../shared/data pytest benchmarks/test_step_overhead.py --benchmark-only -s
"""

from __future__ import annotations

import statistics
import time

import pytest
import torch
import torch.nn.functional as F

from zoo.algorithms.base import Stage
from zoo.algorithms.source_only import SourceOnly
from zoo.backbones.base import Backbone, BackboneConfig
from zoo.backbones.normalize import Normalizer
from zoo.bench.task_data import TaskData
from zoo.runner.loop import BatchFeeder, train_epoch
from zoo.runner.optim import build_optimizer, build_scheduler, prepare_optimizer
from zoo.runner.streams import TrainStreams

BATCH = 128
STEPS = 36  # one pass of PneumoniaMNIST train (4,708 images) at batch 128 is 36 full batches
ROUNDS = 15
TRAIN = {"lr": 1e-3, "optimizer": "adam", "weight_decay": 0.0, "momentum": 0.9, "scheduler": "none",
         "milestones": [], "gamma": 0.1}


class Flat(Backbone):
    """The near-zero-compute backbone: (N, 1, 28, 28) -> (N, 784), no parameters; the head is the model."""

    def __init__(self) -> None:
        super().__init__()
        self.num_features = 28 * 28
        self.config = BackboneConfig(name="flat", input_size=(1, 28, 28), in_chans=1, mean=(0.5,), std=(0.5,))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)  # (N, 1, 28, 28) -> (N, 784)


@pytest.fixture(scope="module")
def pneumonia(data_dir):
    from zoo.datasets.medmnist import load_medmnist

    return load_medmnist("pneumoniamnist", size=28, data_dir=data_dir)


def _model() -> SourceOnly:
    torch.manual_seed(0)
    return SourceOnly(Flat(), num_classes=2)


@pytest.fixture
def one_thread():
    """One intra-op thread: host overhead is single-threaded work, and on a shared 2-core machine a second
    spinning OpenMP thread turns other processes' load into noise larger than the effect measured."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_step_overhead_vs_plain_loop(benchmark, pneumonia, one_thread):
    from accelerate import Accelerator

    train = pneumonia.splits["train"]
    data = TaskData(source=pneumonia, target=pneumonia, target_labeled=None, target_val_labeled=None)
    accelerator = Accelerator(cpu=True)

    # Runner side: what train_run builds for one image stage.
    algorithm = _model()
    model = accelerator.prepare_model(algorithm)
    streams = TrainStreams(accelerator, data, BATCH, seed=0)
    optimizer = prepare_optimizer(accelerator, build_optimizer(algorithm.param_groups(), TRAIN))
    scheduler = build_scheduler(optimizer, TRAIN, STEPS, 1)
    stage = Stage("train", "source")
    algorithm.set_stage(stage)
    feeder = BatchFeeder(streams, stage, Normalizer((0.5,), (0.5,), in_chans=1).to(accelerator.device))

    # Plain side: the same kind of batches (a seeded shuffle, full batches of 128), by hand.
    generator = torch.Generator().manual_seed(0)
    plain = _model()
    plain_opt = torch.optim.Adam(plain.parameters(), lr=1e-3)
    images, labels = train.images, train.labels
    plain_times: list[float] = []

    def plain_epoch() -> None:
        started = time.perf_counter()
        perm = torch.randperm(len(labels), generator=generator)
        plain.train()
        for i in range(STEPS):
            idx = perm[i * BATCH:(i + 1) * BATCH]
            x = (images[idx].float() / 255.0 - 0.5) / 0.5  # (B, 1, 28, 28)
            loss = F.cross_entropy(plain.predict(x), labels[idx])
            loss.backward()
            plain_opt.step()
            plain_opt.zero_grad(set_to_none=True)
        plain_times.append(time.perf_counter() - started)

    def runner_epoch() -> None:
        sums, _ = train_epoch(accelerator, model, feeder, optimizer, scheduler, STEPS)
        float(sums["loss"])  # the runner reads its sums once per epoch

    for _ in range(3):  # warm-up both sides
        plain_epoch()
        runner_epoch()
    plain_times.clear()
    benchmark.pedantic(runner_epoch, setup=plain_epoch, rounds=ROUNDS, iterations=1)
    runner_median = benchmark.stats.stats.median
    plain_median = statistics.median(plain_times)
    ratio = runner_median / plain_median
    benchmark.extra_info.update({
        "plain_us_per_step": round(plain_median / STEPS * 1e6, 1),
        "runner_us_per_step": round(runner_median / STEPS * 1e6, 1),
        "runner_over_plain": round(ratio, 3),
    })
    print(f"\nstep overhead: runner {runner_median / STEPS * 1e6:.0f} us/step, plain {plain_median / STEPS * 1e6:.0f}"
          f" us/step: {ratio:.3f}x")
    assert ratio <= 1.15, f"a runner step costs {ratio:.3f}x a plain step (goal <= 1.15x)"
