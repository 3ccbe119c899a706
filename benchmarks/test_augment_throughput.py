"""Performance goal of ``zoo.augment``: the batched ``standard`` policy against a per-sample Python loop.

The baseline is what one writes without the batched policy: a loop over the 128 images of a batch, each
through torchvision's ``transforms.v2`` (random horizontal flip + random affine: the same flip, zoom,
translation and rotation ranges), then ``torch.stack``. The batched side is ``build_augment("standard")``:
one ``affine_grid`` + ``grid_sample`` for the whole batch. Same images (PneumoniaMNIST train, 28 px,
uint8), same process, measured interleaved round by round (pytest-benchmark times the batched side; the
loop runs in ``setup``), so machine noise hits both alike; medians are compared. Goal: ratio > 1.

Usage::

    MEDZOO_DATA=../shared/data pytest benchmarks/test_augment_throughput.py --benchmark-only -s
"""

from __future__ import annotations

import statistics
import time

import pytest
import torch
from torchvision.transforms import v2

from zoo.augment import build_augment

BATCH = 128
ROUNDS = 15
OPTIONS = {"flip_p": 0.5, "scale": 0.15, "translate": 0.1, "degrees": 10.0}


@pytest.fixture(scope="module")
def batch(data_dir) -> torch.Tensor:
    from zoo.datasets.medmnist import load_medmnist

    return load_medmnist("pneumoniamnist", size=28, data_dir=data_dir).splits["train"].images[:BATCH].clone()


def _per_sample_transform() -> v2.Compose:
    """torchvision's per-image equivalent of ``standard`` with ``OPTIONS``."""
    return v2.Compose([
        v2.RandomHorizontalFlip(p=OPTIONS["flip_p"]),
        v2.RandomAffine(degrees=OPTIONS["degrees"], translate=(OPTIONS["translate"],) * 2,
                        scale=(1 - OPTIONS["scale"], 1 + OPTIONS["scale"]),
                        interpolation=v2.InterpolationMode.BILINEAR),
    ])


def test_batched_standard_vs_per_sample_loop(benchmark, batch):
    transform = _per_sample_transform()
    aug = build_augment("standard", **OPTIONS)
    generator = torch.Generator().manual_seed(0)
    loop_times: list[float] = []

    def per_sample_loop() -> None:
        started = time.perf_counter()
        out = torch.stack([transform(image) for image in batch])  # (128, 1, 28, 28) uint8, one image at a time
        loop_times.append(time.perf_counter() - started)
        assert out.shape == batch.shape

    def batched() -> torch.Tensor:
        return aug(batch, generator)  # (128, 1, 28, 28) uint8, the whole batch at once

    per_sample_loop()  # warm-up both sides once
    batched()
    loop_times.clear()
    benchmark.pedantic(batched, setup=per_sample_loop, rounds=ROUNDS, iterations=1)
    batched_median = benchmark.stats.stats.median
    ratio = statistics.median(loop_times) / batched_median
    benchmark.extra_info.update({
        "loop_median_s": statistics.median(loop_times),
        "batched_median_s": batched_median,
        "batched_vs_loop_speed": round(ratio, 2),
        "batched_images_per_s": round(BATCH / batched_median, 1),
    })
    print(f"\nbatched 'standard' vs per-sample torchvision loop: {ratio:.1f}x faster "
          f"({BATCH / batched_median:.0f} vs {BATCH / statistics.median(loop_times):.0f} img/s)")
    assert ratio > 1, f"the batched policy is only {ratio:.2f}x the per-sample loop's speed (goal > 1x)"
