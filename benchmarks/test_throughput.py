"""Performance goals of the runner, as ratios against baselines measured in the same run.

1. Training throughput: the runner's epoch loop (``zoo.runner.loop.train_epoch`` on Accelerate) against a
   minimal hand-written PyTorch loop: same model (SimpleCNN + linear head), same batch (128), same data
   (PneumoniaMNIST train, 28 px, uint8 in memory), same optimizer, for source_only (the plain loop is
   ``cross_entropy(model.predict(x), y)``) and DANN (the plain loop calls the algorithm's own
   ``set_progress`` and ``training_step`` on hand-indexed source and target batches). The runner side is
   what ``train_run`` builds (the conv net in channels_last); the plain side is written as researchers
   write it (default layout). Goal (issue 16): runner >= 0.97x the plain loop.
2. Data path: images per second the data path delivers (loader + normalisation) against images per second
   the model consumes in training. Goal: >= 10x.

The two sides of each ratio are measured interleaved, round by round (pytest-benchmark times the runner
side; the baseline runs in ``setup``), so machine noise hits both alike. Medians are compared.

Usage::

    MEDZOO_DATA=../shared/data pytest benchmarks/ --benchmark-only
"""

from __future__ import annotations

import statistics
import time

import pytest
import torch
import torch.nn.functional as F

from zoo.algorithms.base import Stage, stages_of
from zoo.algorithms.dann import DANN
from zoo.algorithms.source_only import SourceOnly
from zoo.backbones.normalize import Normalizer
from zoo.backbones.simple_cnn import SimpleCNN
from zoo.bench.task_data import TaskData
from zoo.runner.batches import make_loader
from zoo.runner.loop import BatchFeeder, train_epoch
from zoo.runner.optim import build_optimizer, build_scheduler, prepare_optimizer
from zoo.runner.streams import TrainStreams

BATCH = 128
STEPS = 12  # per round: ~1,500 images
ROUNDS = 7
TRAIN = {"lr": 1e-3, "optimizer": "adam", "weight_decay": 0.0, "momentum": 0.9, "scheduler": "none",
         "milestones": [], "gamma": 0.1}


@pytest.fixture(scope="module")
def pneumonia(data_dir):
    from zoo.datasets.medmnist import load_medmnist

    return load_medmnist("pneumoniamnist", size=28, data_dir=data_dir)


def _model(seed: int, algorithm: str = "source_only"):
    torch.manual_seed(seed)
    if algorithm == "dann":
        return DANN(SimpleCNN(in_chans=1), num_classes=2)
    return SourceOnly(SimpleCNN(in_chans=1), num_classes=2)


def _plain_loop(model, images: torch.Tensor, labels: torch.Tensor, optimizer, steps: int, generator) -> None:
    """The baseline: what a researcher writes by hand, with no framework at all."""
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(labels), (BATCH,), generator=generator)
        x = (images[idx].float() / 255.0 - 0.5) / 0.5  # (B, 1, 28, 28)
        loss = F.cross_entropy(model.predict(x), labels[idx])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)


def _plain_dann_loop(model, images: torch.Tensor, labels: torch.Tensor, optimizer, steps: int, generator) -> None:
    """The DANN baseline: the algorithm's own step, driven by hand (source and target from one split)."""
    model.train()
    for i in range(steps):
        model.set_progress(i, steps)
        src, tgt = (torch.randint(0, len(labels), (BATCH,), generator=generator) for _ in range(2))
        x_s = (images[src].float() / 255.0 - 0.5) / 0.5  # (B, 1, 28, 28)
        x_t = (images[tgt].float() / 255.0 - 0.5) / 0.5
        loss = model.training_step((x_s, labels[src]), (x_t, None))["loss"]
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)


def _runner_parts(pneumonia, algorithm_name: str = "source_only"):
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=True)
    algorithm = _model(0, algorithm_name).to(memory_format=torch.channels_last)  # as train_run holds a conv net
    model = accelerator.prepare_model(algorithm)
    data = TaskData(source=pneumonia, target=pneumonia, target_labeled=None, target_val_labeled=None)
    streams = TrainStreams(accelerator, data, BATCH, seed=0)
    optimizer = prepare_optimizer(accelerator, build_optimizer(algorithm.param_groups(), TRAIN))
    scheduler = build_scheduler(optimizer, TRAIN, STEPS, 1)
    normalizer = Normalizer((0.5,), (0.5,), in_chans=1)
    dann = algorithm_name == "dann"
    stage = stages_of(type(algorithm), algorithm.hparams, 0)[0] if dann else Stage("train", "source")
    algorithm.set_stage(stage)
    feeder = BatchFeeder(streams, stage, normalizer, channels_last=True)
    return lambda: train_epoch(accelerator, model, feeder, optimizer, scheduler, STEPS)


@pytest.mark.parametrize("algorithm", ["source_only", "dann"])
def test_runner_training_throughput_vs_plain_loop(benchmark, pneumonia, algorithm):
    torch.set_num_threads(torch.get_num_threads())
    train = pneumonia.splits["train"]
    plain_model = _model(0, algorithm)
    plain_opt = torch.optim.Adam(plain_model.parameters(), lr=1e-3)
    plain_loop = _plain_dann_loop if algorithm == "dann" else _plain_loop
    generator = torch.Generator().manual_seed(0)
    plain_times: list[float] = []

    def measure_plain() -> None:
        started = time.perf_counter()
        plain_loop(plain_model, train.images, train.labels, plain_opt, STEPS, generator)
        plain_times.append(time.perf_counter() - started)

    runner_epoch = _runner_parts(pneumonia, algorithm)
    measure_plain()  # warm-up both sides once
    runner_epoch()
    plain_times.clear()
    benchmark.pedantic(runner_epoch, setup=measure_plain, rounds=ROUNDS, iterations=1)
    runner_median = benchmark.stats.stats.median
    ratio = statistics.median(plain_times) / runner_median
    benchmark.extra_info.update({
        "plain_median_s": statistics.median(plain_times),
        "runner_median_s": runner_median,
        "runner_vs_plain_throughput": round(ratio, 3),
        "runner_images_per_s": round(STEPS * BATCH / runner_median, 1),
    })
    print(f"\n{algorithm} runner/plain training throughput: {ratio:.3f}x ({STEPS * BATCH / runner_median:.0f} img/s)")
    assert ratio >= 0.97, f"runner reaches only {ratio:.3f}x the plain loop's throughput (goal >= 0.97x)"


def test_data_path_outpaces_model(benchmark, pneumonia):
    train = pneumonia.splits["train"]
    loader = make_loader(train, BATCH, shuffle=True, seed=0, drop_last=True)
    normalizer = Normalizer((0.5,), (0.5,), in_chans=1)
    model = _model(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    model_rates: list[float] = []

    def measure_model() -> None:
        started = time.perf_counter()
        _plain_loop(model, train.images, train.labels, optimizer, 4, generator)
        model_rates.append(4 * BATCH / (time.perf_counter() - started))

    def one_pass() -> int:
        seen = 0
        for images, _labels in loader:
            seen += len(normalizer(images))  # (B, 1, 28, 28) float, as the runner feeds the model
        return seen

    images_per_pass = one_pass()
    benchmark.pedantic(one_pass, setup=measure_model, rounds=ROUNDS, iterations=1)
    data_rate = images_per_pass / benchmark.stats.stats.median
    ratio = data_rate / statistics.median(model_rates)
    benchmark.extra_info.update({
        "data_images_per_s": round(data_rate, 1),
        "model_images_per_s": round(statistics.median(model_rates), 1),
        "data_vs_model": round(ratio, 1),
    })
    print(f"\ndata path delivers {data_rate:.0f} img/s, "
          f"model consumes {statistics.median(model_rates):.0f} img/s: {ratio:.1f}x")
    assert ratio >= 10, f"data path delivers only {ratio:.1f}x what the model consumes (goal >= 10x)"
