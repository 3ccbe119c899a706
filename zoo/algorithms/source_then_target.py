"""Source then target: train on the labeled source, then fine-tune all weights on the labeled target budget.

Called ``finetune`` before issue 18 (the old name still works, zoo/registry.py:ALIASES; run ids hash the old
name, zoo/bench/run_config.py:ID_LEGACY_NAMES). Unlike ``full_ft``, which trains on the target labels only,
it sees the labeled source first. The class was ``Finetune`` in ``zoo.algorithms.finetune``, which still
imports.

Stage 1 is source-only training; stage 2 continues from its weights on the target labels the task allows
(Yosinski et al., "How transferable are features in deep neural networks?", NeurIPS 2014). The second
stage runs at ``target_lr_mult`` times the base learning rate, the usual choice when fine-tuning.

Usage::

    algo = SourceThenTarget(backbone, num_classes=2, hparams={"target_lr_mult": 0.1})
    [s.name for s in SourceThenTarget.stages(algo.hparams, 0.1)]    # ['source', 'target']
"""

from __future__ import annotations

from typing import Any

import torch

from zoo.algorithms.base import Algorithm, Batch, HParam, Stage
from zoo.errors import ConfigError


class SourceThenTarget(Algorithm):
    """Source pretraining followed by full fine-tuning on labeled target data."""

    PAPER = "Yosinski et al., How transferable are features in deep neural networks?, NeurIPS 2014"
    HPARAMS = {
        "target_lr_mult": HParam(0.1, ("log", 0.01, 1.0), "lr multiplier of the target fine-tuning stage",
                                 low=0, low_open=True),
        "target_epochs": HParam(0, ("int", 0, 100), "epochs of the target stage (0: same as train.epochs)", low=0),
    }

    @classmethod
    def stages(cls, hparams: dict[str, Any], target_budget: float) -> list[Stage]:
        if target_budget <= 0:
            raise ConfigError(
                "source_then_target needs labeled target data but the task's target_budget is 0; "
                "use source_only (or an adaptation method) for unsupervised tasks, or set target_budget > 0"
            )
        target_epochs = hparams["target_epochs"] or None
        return [
            Stage("source", "source"),
            Stage("target", "target_labeled", epochs=target_epochs, lr_mult=hparams["target_lr_mult"]),
        ]

    def training_step(self, source_batch: Batch | None, target_batch: Batch | None) -> dict[str, torch.Tensor]:
        # Stage "source" feeds source batches; stage "target" feeds labeled target batches.
        x, y = source_batch if self.stage is None or self.stage.data == "source" else target_batch
        logits = self.predict(x)  # (N, K)
        loss = self.cross_entropy(logits, y)
        return {"loss": loss, "acc": (logits.argmax(1) == y).float().mean().detach()}
