"""CDAN(+E): conditional adversarial adaptation, the discriminator sees features x class predictions.

Long, Cao, Wang & Jordan, "Conditional Adversarial Domain Adaptation", NeurIPS 2018. Loss:
``CE(source) + weight * L_adv(T(f, g))`` with the multilinear map ``T = f ⊗ g`` (or its randomized variant,
chosen as the paper's Eq. 6 does with ``map: auto``: full iff features x classes <= 4096),
gradient reversal with DANN's warm-start schedule, and (``entropy=True``, CDAN+E) entropy-conditioning
sample weights ``1 + exp(-H(g))``. See ``zoo.losses.cdan``. As in DANN, ``f`` is a 256-wide Linear-BatchNorm-ReLU
bottleneck that the head also reads (``bottleneck_dim``; see ``zoo.algorithms.uda``); the schedule, the
discriminator's hyperparameters and the rest of the adversarial game are DANN's (``zoo.algorithms.adversarial``).
Unsupervised: target labels are never used, whatever the task's budget (see ``zoo.algorithms.uda``).

Usage::

    algo = CDAN(backbone, num_classes=3, hparams={"entropy": True, "map": "auto"})
    out = algo.training_step((x_s, y_s), (x_t, None))      # loss, ce, align, domain_acc, grl_coeff
"""

from __future__ import annotations

import torch
from torch import nn

from zoo.algorithms.adversarial import AdversarialAlgorithm
from zoo.algorithms.base import HParam
from zoo.losses import ConditionalDomainAdversarialLoss, DomainAdversarialLoss

MAPS = {"auto": None, "full": False, "randomized": True}  # hparam value -> the loss's ``randomized``


class CDAN(AdversarialAlgorithm):
    """Source cross-entropy + conditional domain-adversarial loss (CDAN+E by default)."""

    PAPER = "Long et al., Conditional Adversarial Domain Adaptation, NeurIPS 2018"
    HPARAMS = {
        **AdversarialAlgorithm.HPARAMS,
        "entropy": HParam(True, [True, False], "entropy conditioning (CDAN+E): weights 1 + exp(-H(g))"),
        "map": HParam("auto", help="multilinear map: full, randomized, or auto (full iff D*K <= 4096)",
                      choices=list(MAPS)),
        "randomized_dim": HParam(1024, ("int", 64, 4096), "output size of the randomized multilinear map", low=1),
    }

    def build_domain_loss(self, grl: nn.Module) -> ConditionalDomainAdversarialLoss:
        hp = self.hparams  # the loss builds its discriminator on the map's output: (N, D*K or d) -> (N,)
        return ConditionalDomainAdversarialLoss(
            self.features_dim, self.num_classes, grl, hidden=hp["disc_hidden"], entropy_conditioning=hp["entropy"],
            randomized=MAPS[hp["map"]], randomized_dim=hp["randomized_dim"], batch_norm=hp["disc_norm"] == "batch",
        )

    def adversarial(self) -> DomainAdversarialLoss:
        return self.domain_loss.adversarial

    def domain_terms(self, f_s, logits_s, f_t, logits_t) -> dict[str, torch.Tensor]:
        return self.domain_loss(f_s, logits_s, f_t, logits_t)
