"""LP-FT: linear probe first, then full fine-tuning from the probed head.

Kumar, Raghunathan, Jones, Ma & Liang, "Fine-Tuning can Distort Pretrained Features and Underperform
Out-of-Distribution", ICLR 2022. Fine-tuning with a random head sends large gradients into the pretrained
features and distorts them; training the head first (on cached features: cheap) and only then every layer,
at a lower rate, keeps them. Stage 1 ``probe`` (features, head only), stage 2 ``finetune`` (all layers at
``ft_lr_mult`` x the base rate).

Usage::

    algo = LPFT(backbone, num_classes=2, hparams={"probe_epochs": 5, "ft_lr_mult": 0.1})
    [s.name for s in LPFT.stages(algo.hparams, 0.1)]    # ['probe', 'finetune']
"""

from __future__ import annotations

from typing import Any

from zoo.algorithms.base import HParam, Stage
from zoo.algorithms.strategy import FinetuneStrategy


class LPFT(FinetuneStrategy):
    """Linear probe, then full fine-tuning at a lower learning rate."""

    PAPER = "Kumar et al., Fine-Tuning can Distort Pretrained Features and Underperform Out-of-Distribution, ICLR 2022"
    HPARAMS = {
        "probe_epochs": HParam(0, ("int", 0, 100), "epochs of the linear probe (0: train.epochs)", low=0),
        "ft_lr_mult": HParam(0.1, ("log", 0.001, 1.0), "lr multiplier of the fine-tuning stage", low=0, low_open=True),
    }

    @classmethod
    def target_stages(cls, hparams: dict[str, Any]) -> list[Stage]:
        return [Stage("probe", "target_labeled", epochs=hparams["probe_epochs"] or None, features=True),
                Stage("finetune", "target_labeled", lr_mult=hparams["ft_lr_mult"])]
