"""Deep CORAL: align the covariances of source and target features.

Sun & Saenko, "Deep CORAL: Correlation Alignment for Deep Domain Adaptation", ECCV 2016 Workshops.
Loss: ``CE(source) + weight * ||C_s - C_t||_F^2 / (4 d^2)`` on the backbone features (d = num_features; the
paper aligns fc8, we align the layer every backbone has, as DomainBed and TLlib do; ``bottleneck_dim`` > 0
aligns a Linear-BatchNorm-ReLU bottleneck instead, see ``zoo.algorithms.uda``). The 1/(4 d^2) factor
makes the term small for wide features, hence a larger default weight than the other methods.
Unsupervised: target labels are never used, whatever the task's budget (see ``zoo.algorithms.uda``).

Usage::

    algo = DeepCORAL(zoo.create_backbone("simple_cnn", in_chans=1), num_classes=2)
    out = algo.training_step((x_s, y_s), (x_t, None))      # loss, ce, align (the CORAL term), acc
"""

from __future__ import annotations

import torch

from zoo.algorithms.base import HParam
from zoo.algorithms.uda import UDA_HPARAMS, AdaptationAlgorithm
from zoo.losses import CorrelationAlignmentLoss


class DeepCORAL(AdaptationAlgorithm):
    """Source cross-entropy + covariance alignment of source and target features."""

    PAPER = "Sun & Saenko, Deep CORAL: Correlation Alignment for Deep Domain Adaptation, ECCV-W 2016"
    HPARAMS = {
        **UDA_HPARAMS,
        "weight": HParam(100.0, ("log", 1.0, 10000.0), "trade-off weight (lambda) of the CORAL loss", low=0),
    }

    def __init__(self, backbone, num_classes: int, hparams=None) -> None:
        super().__init__(backbone, num_classes, hparams)
        self.coral = CorrelationAlignmentLoss()

    def alignment(self, f_s, logits_s, f_t, logits_t, source_batch) -> dict[str, torch.Tensor]:
        return {"loss": self.coral(f_s, f_t)}
