"""Optimizers and schedules built by the runner from an algorithm's parameter groups.

Each group's learning rate is ``train.lr * group["lr_mult"] * stage.lr_mult``. Schedules step once per
optimizer step; ``multistep`` milestones are given in epochs (the MedMNIST v2 recipe: 50 and 75 of 100).

The update runs as few kernels as the device allows: fused Adam/AdamW on CUDA, the multi-tensor
(``foreach``) implementation elsewhere, which on CPU gives bit-for-bit the parameters of torch's default
per-parameter loop there (``tests/test_step_overhead.py``) at a fraction of its time. ``prepare_optimizer``
wraps the optimizer in Accelerate's only where the wrapper does something (a gradient scaler, gradient
accumulation, XLA, DeepSpeed/FSDP): otherwise its ``step`` only adds a per-step filesystem search
(``is_lomo_available``, uncached in Accelerate 1.x).

Usage::

    optimizer = prepare_optimizer(accelerator, build_optimizer(algo.param_groups(), train_cfg, stage_lr_mult=1.0))
    scheduler = build_scheduler(optimizer, train_cfg, steps_per_epoch=37, epochs=5)
"""

from __future__ import annotations

from typing import Any

import torch


def build_optimizer(param_groups: list[dict[str, Any]], train: dict[str, Any], stage_lr_mult: float = 1.0) -> torch.optim.Optimizer:
    """Adam, AdamW or SGD over the non-empty groups with their learning-rate multipliers."""
    groups = [
        {"params": g["params"], "lr": train["lr"] * g.get("lr_mult", 1.0) * stage_lr_mult, "name": g.get("name", "")}
        for g in param_groups
        if len(g["params"]) > 0
    ]
    if not groups:
        raise ValueError("the algorithm declared no trainable parameters for this stage")
    name = train["optimizer"]
    params = [p for g in groups for p in g["params"]]
    on_cuda = all(p.is_cuda and p.is_floating_point() for p in params)
    # foreach (multi-tensor) == the per-parameter loop bit for bit on CPU; fused is another kernel on CUDA
    # (and differs in the last bits on CPU, so it is not used there).
    impl = {"fused": True} if on_cuda and name != "sgd" else {"foreach": True}
    if name == "sgd":
        return torch.optim.SGD(groups, lr=train["lr"], momentum=train["momentum"], weight_decay=train["weight_decay"],
                               **impl)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=train["lr"], weight_decay=train["weight_decay"], **impl)
    return torch.optim.Adam(groups, lr=train["lr"], weight_decay=train["weight_decay"], **impl)


def prepare_optimizer(accelerator, optimizer: torch.optim.Optimizer):
    """``optimizer`` as the training step should call it: Accelerate's wrapper only where it has work to do.

    Without a gradient scaler (fp16), gradient accumulation or a sharded/XLA backend, the wrapper's
    ``step`` and ``zero_grad`` call the optimizer's own (DDP has already averaged the gradients in
    ``backward``), plus an uncached ``importlib`` search per step.
    """
    from accelerate.utils import DistributedType

    plain = {DistributedType.NO, DistributedType.MULTI_CPU, DistributedType.MULTI_GPU}
    if (accelerator.scaler is None and accelerator.gradient_accumulation_steps == 1
            and accelerator.distributed_type in plain):
        return optimizer
    return accelerator.prepare_optimizer(optimizer)


def build_scheduler(optimizer: torch.optim.Optimizer, train: dict[str, Any], steps_per_epoch: int, epochs: int):
    """A per-step LambdaLR: constant, cosine to zero, or x``gamma`` at each milestone epoch."""
    total = max(1, steps_per_epoch * epochs)
    kind = train["scheduler"]
    if kind == "cosine":
        import math

        factor = lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total) / total))  # noqa: E731
    elif kind == "multistep":
        milestones = [m * steps_per_epoch for m in train["milestones"]]
        factor = lambda step: train["gamma"] ** sum(step >= m for m in milestones)  # noqa: E731
    else:
        factor = lambda step: 1.0  # noqa: E731
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
