"""A pretraining step in channels_last (NHWC) against the same step in NCHW, as pretraining ran before.

``zoo.runner.pretrain._train_step`` (one stage of ``zoo.runner.stage_loop``: the batches, optimizer and
per-epoch validation of a run's stage) pretrains ``simple_cnn`` on real PneumoniaMNIST (batch 128, one epoch
of ``STEPS`` steps, then its validation pass), once with the conv net and its batches in channels_last, as a
run's model is (``zoo.runner.stage_loop.to_channels_last``), and once in NCHW (``to_channels_last`` off),
interleaved round by round after a warm-up of each. Reported: the median seconds of each and their ratio;
goal: channels_last at least ``GOAL`` x as fast. That both give the same result to float rounding is a test
(``tests/runner/test_stage_loop.py``), not a speed question.

Usage::

    MEDZOO_DATA=../shared/data pytest benchmarks/test_pretrain_layout.py --benchmark-only -s
"""

from __future__ import annotations

import pytest
import torch
from interleave import interleaved

from zoo.backbones import create_backbone
from zoo.bench.suite import TRAIN_DEFAULTS
from zoo.runner import pretrain

STEPS, ROUNDS, GOAL = 20, 5, 1.05
TRAIN = {**TRAIN_DEFAULTS, "epochs": 1, "batch_size": 128, "max_steps_per_epoch": STEPS}


def _step(accelerator, domain, channels_last: bool):
    def run() -> None:
        torch.manual_seed(0)
        backbone = create_backbone("simple_cnn", in_chans=1, image_size=28)
        step = {"epochs": 1, "lr_mult": 1.0, "train": "all"}
        with pytest.MonkeyPatch.context() as patch:
            if not channels_last:
                patch.setattr(pretrain, "to_channels_last", lambda module: False)
            pretrain._train_step(step, domain, backbone, {"train": TRAIN, "seed": 0}, accelerator,
                                 show_progress=False)
    return run


def test_pretraining_in_channels_last_against_nchw(benchmark, data_dir):
    from accelerate import Accelerator

    from zoo.datasets.medmnist import load_medmnist

    domain = load_medmnist("pneumoniamnist", size=28, data_dir=data_dir)
    accelerator = Accelerator(cpu=True)
    nhwc, nchw = _step(accelerator, domain, True), _step(accelerator, domain, False)
    nhwc_s, nchw_s = interleaved(benchmark, nhwc, nchw, rounds=ROUNDS)
    speedup = nchw_s / nhwc_s
    benchmark.extra_info.update({"nhwc_s": round(nhwc_s, 3), "nchw_s": round(nchw_s, 3), "speedup": round(speedup, 3)})
    print(f"\npretraining step ({STEPS} steps of 128 + validation, simple_cnn, CPU, {torch.get_num_threads()} "
          f"threads): channels_last {nhwc_s:.3f} s, NCHW {nchw_s:.3f} s ({speedup:.2f}x)")
    assert speedup >= GOAL, f"channels_last pretraining is {speedup:.2f}x NCHW's speed; goal >= {GOAL}"
