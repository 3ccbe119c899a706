"""The shared parts of the domain-adversarial methods (DANN, CDAN): hyperparameters, GRL schedule, discriminator.

Both train ``CE(source) + weight * L_adv``, where ``L_adv`` is the binary domain loss of a discriminator that
sees its input through a gradient reversal layer (GRL) whose coefficient grows as ``2 / (1 + exp(-gamma p))
- 1`` with the progress ``p`` the runner reports (``set_progress``; over the stage, or over
``grl_ramp_steps`` steps). What differs is what the discriminator sees: DANN the aligned features, CDAN
their multilinear map with the class predictions and entropy weights (``zoo.losses.cdan``). A subclass
builds its domain loss around the GRL it is given (``build_domain_loss``), says where its
``DomainAdversarialLoss`` (discriminator + GRL) sits (``adversarial``) and computes the loss
(``domain_terms``); the base drives the schedule, adds the discriminator's parameter group and logs the
GRL coefficient. Module names stay ``domain_loss...``, so checkpoints keep their keys.

Usage::

    class MyAdversarial(AdversarialAlgorithm):
        def build_domain_loss(self, grl):
            return DomainAdversarialLoss(self.make_discriminator(self.features_dim), grl)
        def adversarial(self):
            return self.domain_loss
        def domain_terms(self, f_s, logits_s, f_t, logits_t):
            return self.domain_loss(f_s, f_t)
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from zoo.algorithms.base import HParam
from zoo.algorithms.uda import UDA_HPARAMS, AdaptationAlgorithm
from zoo.losses import DomainAdversarialLoss, DomainDiscriminator, WarmStartGradientReverseLayer

# Shared by the adversarial methods (DANN, CDAN): the weight, the bottleneck they need, the discriminator and
# the GRL ramp. The weight's default, 0.1, was chosen by a measured comparison (benchmarks/suites/
# adversarial-defaults.yaml: X-ray noise, ultrasound speckle and MRI noise at severity 4, simple_cnn with
# BatchNorm, 6 epochs, 3 seeds). With weight 1 and the DANN paper's ramp over the stage, 14 of 18 DANN epochs
# on MRI and 18 of 18 on ultrasound predicted a single target class (CDAN: 11 and 18); with 0.1, none on MRI
# or X-ray beyond what the method's weight-0 twin does, and fewer than the twin on ultrasound, where even
# source_only predicts one class in 5 of 18 epochs. Removing the discriminator's BatchNorm alone did not
# stop the collapses (MRI DANN 6 of 18, ultrasound 12 of 18); TLlib's slow ramp (grl_ramp_steps 10000) did
# on X-ray and MRI, by keeping the reversed gradient under 0.11 at these budgets, without beating weight 0.1.
ADVERSARIAL_HPARAMS = {
    "weight": HParam(0.1, ("log", 0.01, 10.0), "trade-off weight (lambda) of the adversarial loss; 0 = its twin",
                     low=0),
    "bottleneck_dim": HParam(256, ("int", 0, 1024), "width of the Linear-BatchNorm-ReLU layer aligned (0: none)",
                             low=0),
    "disc_hidden": HParam(1024, ("int", 64, 4096), "hidden width of the domain discriminator MLP", low=1),
    "disc_norm": HParam("batch", help="BatchNorm in the discriminator's hidden layers, or none",
                        choices=["batch", "none"]),
    "grl_gamma": HParam(10.0, ("uniform", 1.0, 20.0), "gamma of the warm-start schedule of the GRL",
                        low=0, low_open=True),
    "grl_ramp_steps": HParam(0, ("int", 0, 20000), "steps over which the GRL ramps up (0: the stage's length, "
                                                   "as in the DANN paper; 10000 with gamma 10 is TLlib's ramp)",
                             low=0),
}


def ramp_progress(step: int, total_steps: int, ramp_steps: int) -> float:
    """Progress ``p`` of the GRL warm start: over the stage (``ramp_steps`` 0) or over ``ramp_steps`` steps.

    Usage::

        ramp_progress(50, 100, 0), ramp_progress(50, 100, 1000)     # (0.5, 0.05)
    """
    return min(1.0, step / max(1, ramp_steps or total_steps))


class AdversarialAlgorithm(AdaptationAlgorithm):
    """Base of DANN and CDAN: a domain loss behind a warm-started gradient reversal layer."""

    HPARAMS = {**UDA_HPARAMS, **ADVERSARIAL_HPARAMS}

    def __init__(self, backbone, num_classes: int, hparams: dict[str, Any] | None = None) -> None:
        super().__init__(backbone, num_classes, hparams)
        self.domain_loss = self.build_domain_loss(WarmStartGradientReverseLayer(gamma=self.hparams["grl_gamma"]))

    # -- what a subclass writes ---------------------------------------------------------------------
    def build_domain_loss(self, grl: nn.Module) -> nn.Module:
        """The domain loss module (stored as ``self.domain_loss``), built around ``grl``."""
        raise NotImplementedError

    def adversarial(self) -> DomainAdversarialLoss:
        """The ``DomainAdversarialLoss`` inside ``self.domain_loss``: its ``discriminator`` and ``grl``."""
        raise NotImplementedError

    def domain_terms(self, f_s, logits_s, f_t, logits_t) -> dict[str, torch.Tensor]:
        """The domain loss (``"loss"``, unweighted) and what else to log, e.g. ``domain_acc``."""
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------------------
    def make_discriminator(self, in_features: int) -> DomainDiscriminator:
        """The discriminator the hyperparameters describe, on ``in_features`` inputs: (N, in) -> (N,)."""
        return DomainDiscriminator(in_features, self.hparams["disc_hidden"],
                                   batch_norm=self.hparams["disc_norm"] == "batch")

    def set_progress(self, step: int, total_steps: int) -> None:
        self.adversarial().grl.set_progress(ramp_progress(step, total_steps, self.hparams["grl_ramp_steps"]))

    def extra_modules(self) -> dict[str, nn.Module]:
        return {"discriminator": self.adversarial().discriminator}

    def alignment(self, f_s, logits_s, f_t, logits_t, source_batch) -> dict[str, torch.Tensor]:
        out = self.domain_terms(f_s, logits_s, f_t, logits_t)
        return {**out, "grl_coeff": f_s.new_tensor(self.adversarial().grl.coeff)}
