"""DANN: domain-adversarial training with a gradient reversal layer and its warm-start schedule.

Ganin, Ustinova, Ajakan, Germain, Larochelle, Laviolette, Marchand & Lempitsky, "Domain-Adversarial Training
of Neural Networks", JMLR 17(59), 2016. Loss: ``CE(source) + weight * L_adv``, where ``L_adv`` is the binary
domain loss of a discriminator that sees the features through a gradient reversal layer whose coefficient
grows as ``2 / (1 + exp(-gamma p)) - 1`` with the stage's progress ``p`` (the runner's ``set_progress``).
The discriminator sees a 256-wide Linear-BatchNorm-ReLU bottleneck that the head also reads (the paper's Office
setup; ``bottleneck_dim``, see ``zoo.algorithms.uda`` for why raw features unbalance the game).
Unsupervised: target labels are never used, whatever the task's budget (see ``zoo.algorithms.uda``).

Usage::

    algo = DANN(zoo.create_backbone("simple_cnn", in_chans=1), num_classes=2, hparams={"weight": 1.0})
    algo.set_progress(50, 100)
    out = algo.training_step((x_s, y_s), (x_t, None))      # loss, ce, align, domain_acc, grl_coeff
"""

from __future__ import annotations

from typing import Any

import torch

from zoo.algorithms.uda import (ADVERSARIAL_HPARAMS, UDA_HPARAMS, AdaptationAlgorithm, check_adversarial,
                                ramp_progress)
from zoo.losses import DomainAdversarialLoss, DomainDiscriminator, WarmStartGradientReverseLayer


class DANN(AdaptationAlgorithm):
    """Source cross-entropy + gradient-reversed domain-discriminator loss."""

    PAPER = "Ganin et al., Domain-Adversarial Training of Neural Networks, JMLR 2016"
    HPARAMS = {**UDA_HPARAMS, **ADVERSARIAL_HPARAMS}

    def __init__(self, backbone, num_classes: int, hparams: dict[str, Any] | None = None) -> None:
        super().__init__(backbone, num_classes, hparams)
        grl = WarmStartGradientReverseLayer(gamma=self.hparams["grl_gamma"], lo=0.0, hi=1.0)
        discriminator = DomainDiscriminator(self.features_dim, self.hparams["disc_hidden"],  # (N, F) -> (N,)
                                            batch_norm=self.hparams["disc_norm"] == "batch")
        self.domain_loss = DomainAdversarialLoss(discriminator, grl)

    @classmethod
    def validate_hparams(cls, hparams: dict[str, Any]) -> None:
        super().validate_hparams(hparams)
        check_adversarial(hparams, cls.__name__)

    def set_progress(self, step: int, total_steps: int) -> None:
        self.domain_loss.grl.set_progress(ramp_progress(step, total_steps, self.hparams["grl_ramp_steps"]))

    def extra_modules(self) -> dict[str, torch.nn.Module]:
        return {"discriminator": self.domain_loss.discriminator}

    def alignment(self, f_s, logits_s, f_t, logits_t, source_batch) -> dict[str, torch.Tensor]:
        out = self.domain_loss(f_s, f_t)
        return {**out, "grl_coeff": f_s.new_tensor(self.domain_loss.grl.coeff)}
