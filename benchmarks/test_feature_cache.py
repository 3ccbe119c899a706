"""Linear-probe epochs on cached features against the same epochs recomputing the frozen backbone's features.

Both sides train the same head of ``linear_probe`` on the same PneumoniaMNIST images (28 px, the small-input
ResNet-18 of MedMNIST v2) with the runner's own ``train_epoch``: the cached side draws ``(features, labels)``
batches from ``zoo.runner.features.feature_stream`` (computed once, before the timed epochs); the other side
runs the frozen backbone on every batch, which is what an epoch after the first would cost without the
cache. Goal: cached epochs >= 20x faster. The two sides are timed interleaved, round by round.

Usage::

    MEDZOO_DATA=../shared/data pytest benchmarks/test_feature_cache.py --benchmark-only -s
"""

from __future__ import annotations

import statistics
import time
from dataclasses import replace

import torch

import zoo
from zoo.algorithms import ALGORITHMS
from zoo.backbones.normalize import Normalizer
from zoo.bench.task_data import TaskData
from zoo.runner.features import feature_stream
from zoo.runner.loop import BatchFeeder, train_epoch
from zoo.runner.optim import build_optimizer, build_scheduler
from zoo.runner.streams import TrainStreams

BATCH = 128
STEPS = 8  # one "epoch" of each side, in steps of the same batch size
ROUNDS = 5
TRAIN = {"lr": 1e-3, "optimizer": "adam", "weight_decay": 0.0, "momentum": 0.9, "scheduler": "none",
         "milestones": [], "gamma": 0.1}


def test_cached_linear_probe_epochs_vs_recomputed_features(benchmark, data_dir):
    from accelerate import Accelerator

    from zoo.datasets.medmnist import load_medmnist

    domain = load_medmnist("pneumoniamnist", size=28, data_dir=data_dir)
    labeled = domain.splits["train"].subset(torch.arange(STEPS * BATCH))  # one epoch = STEPS batches
    data = TaskData(source=None, target=domain, target_labeled=labeled, target_val_labeled=None)
    accelerator = Accelerator(cpu=True)
    torch.manual_seed(0)
    algorithm = ALGORITHMS.get("linear_probe")(zoo.create_backbone("resnet18_28", in_chans=1), 2)
    model = accelerator.prepare_model(algorithm)
    normalizer = Normalizer(algorithm.backbone.config.mean, algorithm.backbone.config.std, 1)
    cached_stage = algorithm.stages(0.1)[0]  # Stage('probe', 'target_labeled', features=True)
    recompute_stage = replace(cached_stage, features=False)  # same frozen backbone, images every step
    algorithm.set_stage(cached_stage)
    optimizer = accelerator.prepare_optimizer(build_optimizer(algorithm.param_groups(), TRAIN))
    scheduler = build_scheduler(optimizer, TRAIN, STEPS, 1)

    streams = TrainStreams(accelerator, data, BATCH, seed=0)
    features = feature_stream(accelerator, model, labeled, normalizer, BATCH, seed=0, eval_batch_size=512)
    cached = BatchFeeder(streams, cached_stage, normalizer, features=features)
    recompute = BatchFeeder(streams, recompute_stage, normalizer)
    recompute_times: list[float] = []

    def recomputed_epoch() -> None:
        algorithm.stage = recompute_stage  # training_step reads images through the frozen backbone
        started = time.perf_counter()
        train_epoch(accelerator, model, recompute, optimizer, scheduler, STEPS)
        recompute_times.append(time.perf_counter() - started)
        algorithm.stage = cached_stage

    def cached_epoch() -> None:
        train_epoch(accelerator, model, cached, optimizer, scheduler, STEPS)

    backbone_before = {k: v.clone() for k, v in algorithm.backbone.state_dict().items()}
    recomputed_epoch()  # warm-up both sides once
    cached_epoch()
    recompute_times.clear()
    benchmark.pedantic(cached_epoch, setup=recomputed_epoch, rounds=ROUNDS, iterations=1)
    ratio = statistics.median(recompute_times) / benchmark.stats.stats.median
    benchmark.extra_info.update({"recompute_median_s": statistics.median(recompute_times),
                                 "cached_median_s": benchmark.stats.stats.median, "speedup": round(ratio, 1)})
    print(f"\nlinear probe epoch: cached features {ratio:.1f}x faster than recomputing them "
          f"({statistics.median(recompute_times):.3f}s vs {benchmark.stats.stats.median:.4f}s "
          f"for {STEPS * BATCH} images)")
    # The probe never changed the backbone (frozen weights and BatchNorm statistics).
    assert all(torch.equal(v, algorithm.backbone.state_dict()[k]) for k, v in backbone_before.items())
    assert ratio >= 20, f"cached linear-probe epochs are only {ratio:.1f}x faster (goal >= 20x)"
