"""The shared shape of the fine-tuning strategies: supervised training on the labeled target budget only.

A strategy adapts the network it is given (pretrained timm weights, a task's ``pretrain`` steps, or an
``init`` checkpoint) to the target's labels; strategies differ only in *which layers train when* and *how
fast*, so they are compared from identical starting weights (Kornblith et al. 2019; Kumar et al. 2022).
A subclass declares its stages (``target_stages``, a classmethod of the hyperparameters), the layers each
stage trains (``trainable``, in the vocabulary of ``zoo.algorithms.freezing``), and optionally a penalty
(L2-SP) or its own parameter groups (layer-wise lr decay). Head-only stages are ``features`` stages: the
runner caches the frozen backbone's features, so their epochs cost only the head.

Frozen BatchNorm layers stay in eval mode while the rest trains: their running statistics are part of the
pretrained network and must not drift towards the small target batches.

Usage::

    class TopHalf(FinetuneStrategy):
        @classmethod
        def target_stages(cls, hparams):
            return [Stage("probe", "target_labeled", features=True), Stage("finetune", "target_labeled")]
        def trainable(self, stage):
            return "last:2"
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from zoo.algorithms.base import Algorithm, Batch, Stage, call_with_hparams
from zoo.algorithms.freezing import set_trainable, trainable_backbone_modules
from zoo.errors import ConfigError


def require_budget(target_budget: float, name: str) -> None:
    """One-line ``ConfigError`` for a strategy on a task without target labels."""
    if target_budget <= 0:
        raise ConfigError(
            f"{name} fine-tunes on labeled target data but the task's target_budget is 0; set target_budget > 0, "
            "or use source_only / an adaptation method for unsupervised tasks"
        )


class FinetuneStrategy(Algorithm):
    """Base of the fine-tuning strategies; the default trains every layer in one stage."""

    def __init__(self, backbone, num_classes: int, hparams: dict[str, Any] | None = None) -> None:
        super().__init__(backbone, num_classes, hparams)
        for stage in self.planned_stages(self.hparams):  # a bad layer spec fails now, when the model is built
            trainable_backbone_modules(self.backbone, self.trainable(stage), owner=f"{type(self).__name__} stage "
                                                                                   f"'{stage.name}'")

    # -- what a strategy declares -------------------------------------------------------------------
    @classmethod
    def target_stages(cls, hparams: dict[str, Any]) -> list[Stage]:
        """The stages on the labeled target, from the resolved ``hparams`` alone (see ``stages``)."""
        return [Stage("finetune", "target_labeled")]

    def trainable(self, stage: Stage) -> Any:
        """Which backbone layers train in ``stage``: ``all``, ``head``, ``last:K`` or module names."""
        return "head" if stage.features else "all"

    def penalty(self) -> dict[str, torch.Tensor]:
        """Extra regularisation added to the loss (``{"loss": ..., other logged terms}``), none by default."""
        return {}

    # -- the contract -------------------------------------------------------------------------------
    @classmethod
    def planned_stages(cls, hparams: dict[str, Any]) -> list[Stage]:
        """``target_stages(hparams)``; an old ``target_stages(self)`` of a plugin's subclass still works."""
        return call_with_hparams(cls, "target_stages", hparams)

    @classmethod
    def stages(cls, hparams: dict[str, Any], target_budget: float) -> list[Stage]:
        require_budget(target_budget, cls.__name__)
        return cls.planned_stages(hparams)

    def set_stage(self, stage: Stage) -> None:
        super().set_stage(stage)
        set_trainable(self.backbone, self.trainable(stage), owner=f"{type(self).__name__} stage '{stage.name}'")
        self.train(self.training)  # re-apply the frozen-BatchNorm rule below

    def train(self, mode: bool = True) -> "FinetuneStrategy":
        super().train(mode)
        if mode:
            for module in self.backbone.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm) and not any(
                        p.requires_grad for p in module.parameters(recurse=False)):
                    module.eval()  # frozen: keep the pretrained running statistics
        return self

    def training_step(self, source_batch: Batch | None, target_batch: Batch | None) -> dict[str, torch.Tensor]:
        x, y = target_batch  # images (N, C, H, W), or cached features (N, D) in a features stage
        logits = self.classifier(x) if self.stage is not None and self.stage.features else self.predict(x)  # (N, K)
        ce = self.cross_entropy(logits, y)
        extra = self.penalty()
        reg = extra.pop("loss", None)
        out = {"loss": ce if reg is None else ce + reg, "ce": ce.detach(),
               "acc": (logits.argmax(1) == y).float().mean().detach()}
        if reg is not None:
            out["penalty"] = reg.detach()
        return {**out, **{k: v.detach() for k, v in extra.items()}}
