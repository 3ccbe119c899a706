"""MCC: minimum class confusion on the unlabeled target predictions.

Jin, Wang, Long & Wang, "Minimum Class Confusion for Versatile Domain Adaptation", ECCV 2020. Loss:
``CE(source) + weight * L_MCC(target logits / T)``: temperature-scaled probabilities, entropy sample weights,
the normalised class-correlation matrix, loss = its off-diagonal sum / K (see ``zoo.losses.mcc``). Needs no
extra module and no feature alignment. Unsupervised: target labels are never used (see ``zoo.algorithms.uda``).

Usage::

    algo = MCC(backbone, num_classes=3, hparams={"temperature": 2.5})
    out = algo.training_step((x_s, y_s), (x_t, None))      # loss, ce, align (the MCC loss), acc
"""

from __future__ import annotations

from typing import Any

import torch

from zoo.algorithms.base import HParam
from zoo.algorithms.uda import UDA_HPARAMS, AdaptationAlgorithm
from zoo.losses import MinimumClassConfusionLoss


class MCC(AdaptationAlgorithm):
    """Source cross-entropy + minimum class confusion of target predictions."""

    PAPER = "Jin et al., Minimum Class Confusion for Versatile Domain Adaptation, ECCV 2020"
    HPARAMS = {
        **UDA_HPARAMS,
        "temperature": HParam(2.5, ("uniform", 1.0, 5.0), "softmax temperature T of the target predictions",
                              low=0, low_open=True),
    }

    def __init__(self, backbone, num_classes: int, hparams: dict[str, Any] | None = None) -> None:
        super().__init__(backbone, num_classes, hparams)
        self.mcc = MinimumClassConfusionLoss(self.hparams["temperature"])

    def alignment(self, f_s, logits_s, f_t, logits_t, source_batch) -> dict[str, torch.Tensor]:
        return {"loss": self.mcc(logits_t)}
