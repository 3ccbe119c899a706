"""Optimizers and schedules built by the runner from an algorithm's parameter groups.

Each group's learning rate is ``train.lr * group["lr_mult"] * stage.lr_mult``. Schedules step once per
optimizer step; ``multistep`` milestones are given in epochs (the MedMNIST v2 recipe: 50 and 75 of 100).

The update runs as few kernels as the device allows: fused Adam/AdamW on CUDA, the multi-tensor
(``foreach``) implementation elsewhere for models of several parameter tensors, which on CPU gives
bit-for-bit the parameters of torch's default per-parameter loop (``tests/runner/test_step_overhead.py``) in less
time. ``prepare_optimizer``
wraps the optimizer in Accelerate's only where the wrapper does something (a gradient scaler, gradient
accumulation, XLA, DeepSpeed/FSDP): otherwise its ``step`` only adds a per-step filesystem search
(``is_lomo_available``, uncached in Accelerate 1.x). ``backward`` and ``autocast`` likewise go through
Accelerate only where it does something (a scaler or accumulation; mixed precision), and a constant
schedule is no scheduler at all: each of these costs a near-zero-compute step 20-50 us on a CPU.

Usage::

    optimizer = prepare_optimizer(accelerator, build_optimizer(algo.param_groups(), train_cfg, stage_lr_mult=1.0))
    scheduler = build_scheduler(optimizer, train_cfg, steps_per_epoch=37, epochs=5)
"""

from __future__ import annotations

from typing import Any

import torch

FOREACH_MIN_TENSORS = 8  # parameter tensors from which the multi-tensor update is the faster one on a CPU


def build_optimizer(param_groups: list[dict[str, Any]], train: dict[str, Any],
                    stage_lr_mult: float = 1.0) -> torch.optim.Optimizer:
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
    # foreach (multi-tensor) == the per-parameter loop bit for bit on CPU, and pays off from a handful of
    # tensors on (a 784 -> 2 linear model's two are 30 us a step slower with it); fused is another kernel on
    # CUDA (and differs in the last bits on CPU, so it is not used there).
    impl = {"fused": True} if on_cuda and name != "sgd" else {"foreach": len(params) >= FOREACH_MIN_TENSORS}
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
    return accelerator.prepare_optimizer(optimizer) if _accelerate_has_step_work(accelerator) else optimizer


class ConstantSchedule:
    """The ``none`` schedule: the learning rates stay as built, so ``step`` has nothing to do (a LambdaLR of
    factor 1.0 would set the same values every step, and wrap ``optimizer.step`` in a step counter)."""

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer = optimizer

    def step(self) -> None:
        pass

    def get_last_lr(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]


def build_scheduler(optimizer: torch.optim.Optimizer, train: dict[str, Any], steps_per_epoch: int, epochs: int):
    """A per-step schedule: constant (:class:`ConstantSchedule`), or a LambdaLR for cosine to zero or
    x``gamma`` at each milestone epoch."""
    total = max(1, steps_per_epoch * epochs)
    kind = train["scheduler"]
    if kind == "none":
        return ConstantSchedule(optimizer)
    if kind == "cosine":
        import math

        factor = lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total) / total))  # noqa: E731
    elif kind == "multistep":
        milestones = [m * steps_per_epoch for m in train["milestones"]]
        factor = lambda step: train["gamma"] ** sum(step >= m for m in milestones)  # noqa: E731
    else:
        raise ValueError(f"unknown scheduler {kind!r}: choose none, cosine or multistep")
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _accelerate_has_step_work(accelerator) -> bool:
    """Whether Accelerate's optimizer wrapper and ``backward`` do anything beyond torch's own calls: a
    gradient scaler, gradient accumulation, or a backend other than one process / DDP."""
    from accelerate.utils import DistributedType

    plain = {DistributedType.NO, DistributedType.MULTI_CPU, DistributedType.MULTI_GPU}
    return not (accelerator.scaler is None and accelerator.gradient_accumulation_steps == 1
                and accelerator.distributed_type in plain)


def step_functions(accelerator):
    """``(autocast, backward)`` for the training step: ``accelerator.autocast`` / ``accelerator.backward``
    where they do something (mixed precision; a scaler, accumulation, a sharded backend), else a null
    context and ``loss.backward()`` (what Accelerate's would call, after its per-step checks; DDP's
    gradient averaging runs inside ``loss.backward()`` either way).

    Usage::

        autocast, backward = step_functions(accelerator)
        with autocast():
            loss = model(x).mean()
        backward(loss)
    """
    import contextlib

    autocast = accelerator.autocast if accelerator.mixed_precision != "no" else contextlib.nullcontext
    backward = accelerator.backward if _accelerate_has_step_work(accelerator) else torch.Tensor.backward
    return autocast, backward
