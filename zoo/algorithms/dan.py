"""DAN: deep adaptation network, multi-kernel MMD between source and target features.

Long, Cao, Wang & Jordan, "Learning Transferable Features with Deep Adaptation Networks", ICML 2015.
Loss: ``CE(source) + weight * MK-MMD^2(f_s, f_t)`` with a mixture of Gaussian kernels whose bandwidths are
``kernels`` x the batch's mean squared distance (equal kernel weights, see ``zoo.losses.mmd``). The paper
adapts several fully connected layers; here the backbone features (every backbone has that layer), or a
bottleneck layer with ``bottleneck_dim`` > 0 (see ``zoo.algorithms.uda``).
Unsupervised: target labels are never used, whatever the task's budget (see ``zoo.algorithms.uda``).

Usage::

    algo = DAN(backbone, num_classes=2, hparams={"kernels": [0.5, 1.0, 2.0], "estimator": "linear"})
    out = algo.training_step((x_s, y_s), (x_t, None))      # loss, ce, align (the MMD^2), acc
"""

from __future__ import annotations

from typing import Any

import torch

from zoo.algorithms.base import HParam
from zoo.algorithms.uda import UDA_HPARAMS, AdaptationAlgorithm
from zoo.losses import MultipleKernelMMD

KERNELS = [0.125, 0.25, 0.5, 1.0, 2.0]


class DAN(AdaptationAlgorithm):
    """Source cross-entropy + multi-kernel MMD of the features."""

    PAPER = "Long et al., Learning Transferable Features with Deep Adaptation Networks, ICML 2015"
    HPARAMS = {
        **UDA_HPARAMS,
        "kernels": HParam(KERNELS, [KERNELS, [0.5, 1.0, 2.0], [1.0]], "Gaussian bandwidths, x mean squared distance",
                          low=0, low_open=True),
        "estimator": HParam("quadratic", help="unbiased MMD estimator: quadratic or linear-time",
                            choices=["quadratic", "linear"]),
    }

    def __init__(self, backbone, num_classes: int, hparams: dict[str, Any] | None = None) -> None:
        super().__init__(backbone, num_classes, hparams)
        self.mmd = MultipleKernelMMD(self.hparams["kernels"], linear=self.hparams["estimator"] == "linear")

    def alignment(self, f_s, logits_s, f_t, logits_t, source_batch) -> dict[str, torch.Tensor]:
        return {"loss": self.mmd(f_s, f_t)}
