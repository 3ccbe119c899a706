"""``train.compile: true`` against eager: what torch.compile buys the runner's training step, and what it costs.

The runner's epoch loop (``train_epoch``, as ``train_run`` builds it: SimpleCNN + linear head in
channels_last, batch 128, PneumoniaMNIST train, Adam) with the backbone eager and with it under
``torch.compile`` (``zoo.runner.compiled.compile_networks``, what ``train.compile: true`` does), interleaved
round by round after warm-up. Reported: steady-state time per step of each and their ratio, and the
one-time compilation cost. The losses' agreement is a test (``tests/runner/test_step_overhead.py``), not a speed
question; no speed goal is asserted (issue 16 asks for the ratio to be reported; on a CPU inductor's
gains are small and on a GPU they are where the GPU check script measures them).

Usage::

    MEDZOO_DATA=../shared/data pytest benchmarks/test_compile_speed.py --benchmark-only -s
"""

from __future__ import annotations

import time

import torch
from interleave import interleaved

from zoo.algorithms.base import Stage
from zoo.algorithms.source_only import SourceOnly
from zoo.backbones.normalize import Normalizer
from zoo.backbones.simple_cnn import SimpleCNN
from zoo.bench.task_data import TaskData
from zoo.runner.compiled import compile_networks
from zoo.runner.loop import BatchFeeder, train_epoch
from zoo.runner.optim import build_optimizer, build_scheduler, prepare_optimizer
from zoo.runner.streams import TrainStreams

BATCH, STEPS, ROUNDS = 128, 12, 5
TRAIN = {"lr": 1e-3, "optimizer": "adam", "weight_decay": 0.0, "momentum": 0.9, "scheduler": "none",
         "milestones": [], "gamma": 0.1}


def _epoch(accelerator, pneumonia, compiled: bool):
    torch.manual_seed(0)
    algorithm = SourceOnly(SimpleCNN(in_chans=1), num_classes=2).to(memory_format=torch.channels_last)
    if compiled:
        compile_networks(algorithm, "default")
    model = accelerator.prepare_model(algorithm)
    data = TaskData(source=pneumonia, target=pneumonia, target_labeled=None, target_val_labeled=None)
    streams = TrainStreams(accelerator, data, BATCH, seed=0)
    optimizer = prepare_optimizer(accelerator, build_optimizer(algorithm.param_groups(), TRAIN))
    scheduler = build_scheduler(optimizer, TRAIN, STEPS, 1)
    stage = Stage("train", "source")
    algorithm.set_stage(stage)
    feeder = BatchFeeder(streams, stage, Normalizer((0.5,), (0.5,), in_chans=1), channels_last=True)
    return lambda: train_epoch(accelerator, model, feeder, optimizer, scheduler, STEPS)


def test_compiled_step_against_eager(benchmark, data_dir):
    from accelerate import Accelerator

    from zoo.datasets.medmnist import load_medmnist

    pneumonia = load_medmnist("pneumoniamnist", size=28, data_dir=data_dir)
    accelerator = Accelerator(cpu=True)
    eager, compiled = _epoch(accelerator, pneumonia, False), _epoch(accelerator, pneumonia, True)
    started = time.perf_counter()
    compiled()  # first call: tracing and code generation
    first = time.perf_counter() - started
    eager()
    compiled_s, eager_s = interleaved(benchmark, compiled, eager, rounds=ROUNDS, warm_up=False)  # warmed above
    speedup = eager_s / compiled_s
    benchmark.extra_info.update({"eager_ms_per_step": round(eager_s / STEPS * 1e3, 2),
                                 "compiled_ms_per_step": round(compiled_s / STEPS * 1e3, 2),
                                 "speedup": round(speedup, 3), "first_epoch_s": round(first, 2)})
    print(f"\ntrain.compile on CPU: eager {eager_s / STEPS * 1e3:.2f} ms/step, compiled {compiled_s / STEPS * 1e3:.2f} "
          f"ms/step ({speedup:.2f}x); first compiled epoch {first:.1f} s (compilation included)")
    assert compiled_s > 0 and eager_s > 0
