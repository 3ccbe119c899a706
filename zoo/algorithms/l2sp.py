"""L2-SP: fine-tuning with an L2 penalty toward the starting (pretrained) weights, not toward zero.

Li, Grandvalet & Davoine, "Explicit Inductive Bias for Transfer Learning with Convolutional Networks",
ICML 2018. With w_S the backbone weights, w_S^0 their values when fine-tuning starts, and w_new the head:

    loss = CE + alpha / 2 * ||w_S - w_S^0||^2 + beta / 2 * ||w_new||^2

The anchor w_S^0 is copied when the first stage starts, i.e. after pretraining or ``init`` loaded their
weights, on the training device (the runner has placed the model by then; nothing is moved here).
Weight decay in the optimizer should be 0 with L2-SP (it would pull the backbone toward zero as well).

Usage::

    algo = L2SP(backbone, num_classes=2, hparams={"alpha": 0.01, "beta": 0.01})
    algo.set_stage(L2SP.stages(algo.hparams, 0.1)[0])    # snapshots w_S^0
    algo.l2sp_terms()                            # {"sp": 0 at the start, "head_l2": ...}
"""

from __future__ import annotations

from typing import Any

import torch

from zoo.algorithms.base import HParam, Stage
from zoo.algorithms.strategy import FinetuneStrategy


class L2SP(FinetuneStrategy):
    """Full fine-tuning regularised toward the starting point."""

    PAPER = "Li, Grandvalet & Davoine, Explicit Inductive Bias for Transfer Learning with CNNs, ICML 2018"
    HPARAMS = {
        "alpha": HParam(0.01, ("log", 1e-4, 1.0), "weight of ||w - w0||^2 / 2 on the backbone", low=0),
        "beta": HParam(0.01, ("log", 1e-4, 1.0), "weight of ||w||^2 / 2 on the new head", low=0),
    }

    def __init__(self, backbone, num_classes: int, hparams: dict[str, Any] | None = None) -> None:
        super().__init__(backbone, num_classes, hparams)
        self._anchor: list[tuple[torch.nn.Parameter, torch.Tensor]] | None = None  # not a buffer: never saved

    def set_stage(self, stage: Stage) -> None:
        super().set_stage(stage)
        if self._anchor is None:
            self._anchor = [(p, p.detach().clone()) for p in self.backbone.parameters()]

    def l2sp_terms(self) -> dict[str, torch.Tensor]:
        """``sp`` = ||w_S - w_S^0||^2 over the backbone and ``head_l2`` = ||w_new||^2 (weights, not biases)."""
        if self._anchor is None:
            raise RuntimeError("L2SP: set_stage() must run before the first training step (it takes the anchor)")
        sp = sum(((p - p0) ** 2).sum() for p, p0 in self._anchor)
        return {"sp": sp, "head_l2": (self.classifier.weight ** 2).sum()}

    def penalty(self) -> dict[str, torch.Tensor]:
        terms = self.l2sp_terms()
        loss = self.hparams["alpha"] / 2 * terms["sp"] + self.hparams["beta"] / 2 * terms["head_l2"]
        return {"loss": loss, "sp": terms["sp"].detach(), "head_l2": terms["head_l2"].detach()}
