"""DANN: domain-adversarial training with a gradient reversal layer and its warm-start schedule.

Ganin, Ustinova, Ajakan, Germain, Larochelle, Laviolette, Marchand & Lempitsky, "Domain-Adversarial Training
of Neural Networks", JMLR 17(59), 2016. Loss: ``CE(source) + weight * L_adv``, where ``L_adv`` is the binary
domain loss of a discriminator that sees the features through a gradient reversal layer whose coefficient
grows as ``2 / (1 + exp(-gamma p)) - 1`` with the stage's progress ``p`` (the runner's ``set_progress``).
The discriminator sees a 256-wide Linear-BatchNorm-ReLU bottleneck that the head also reads (the paper's Office
setup; ``bottleneck_dim``, see ``zoo.algorithms.uda`` for why raw features unbalance the game). The schedule,
the discriminator and the hyperparameters are shared with CDAN (``zoo.algorithms.adversarial``).
Unsupervised: target labels are never used, whatever the task's budget (see ``zoo.algorithms.uda``).

Usage::

    algo = DANN(zoo.create_backbone("simple_cnn", in_chans=1), num_classes=2, hparams={"weight": 1.0})
    algo.set_progress(50, 100)
    out = algo.training_step((x_s, y_s), (x_t, None))      # loss, ce, align, domain_acc, grl_coeff
"""

from __future__ import annotations

import torch
from torch import nn

from zoo.algorithms.adversarial import AdversarialAlgorithm
from zoo.losses import DomainAdversarialLoss


class DANN(AdversarialAlgorithm):
    """Source cross-entropy + gradient-reversed domain-discriminator loss on the features."""

    PAPER = "Ganin et al., Domain-Adversarial Training of Neural Networks, JMLR 2016"

    def build_domain_loss(self, grl: nn.Module) -> DomainAdversarialLoss:
        return DomainAdversarialLoss(self.make_discriminator(self.features_dim), grl)  # (N, F) -> (N,)

    def adversarial(self) -> DomainAdversarialLoss:
        return self.domain_loss

    def domain_terms(self, f_s, logits_s, f_t, logits_t) -> dict[str, torch.Tensor]:
        return self.domain_loss(f_s, f_t)
