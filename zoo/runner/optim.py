"""Optimizers and schedules built by the runner from an algorithm's parameter groups.

Each group's learning rate is ``train.lr * group["lr_mult"] * stage.lr_mult``. Schedules step once per
optimizer step; ``multistep`` milestones are given in epochs (the MedMNIST v2 recipe: 50 and 75 of 100).

Usage::

    optimizer = build_optimizer(algo.param_groups(), train_cfg, stage_lr_mult=1.0)
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
    if name == "sgd":
        return torch.optim.SGD(groups, lr=train["lr"], momentum=train["momentum"], weight_decay=train["weight_decay"])
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=train["lr"], weight_decay=train["weight_decay"])
    return torch.optim.Adam(groups, lr=train["lr"], weight_decay=train["weight_decay"])


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
