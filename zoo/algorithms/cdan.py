"""CDAN(+E): conditional adversarial adaptation, the discriminator sees features x class predictions.

Long, Cao, Wang & Jordan, "Conditional Adversarial Domain Adaptation", NeurIPS 2018. Loss:
``CE(source) + weight * L_adv(T(f, g))`` with the multilinear map ``T = f ⊗ g`` (or its randomized variant),
gradient reversal with DANN's warm-start schedule, and (``entropy=True``, CDAN+E) entropy-conditioning
sample weights ``1 + exp(-H(g))``. See ``zoo.losses.cdan``.
Unsupervised: target labels are never used, whatever the task's budget (see ``zoo.algorithms.uda``).

Usage::

    algo = CDAN(backbone, num_classes=3, hparams={"entropy": True, "randomized": False})
    out = algo.training_step((x_s, y_s), (x_t, None))      # loss, ce, align, domain_acc, grl_coeff
"""

from __future__ import annotations

from typing import Any

import torch

from zoo.algorithms.base import HParam
from zoo.algorithms.uda import UDA_HPARAMS, AdaptationAlgorithm, check_number
from zoo.losses import ConditionalDomainAdversarialLoss, WarmStartGradientReverseLayer


class CDAN(AdaptationAlgorithm):
    """Source cross-entropy + conditional domain-adversarial loss (CDAN+E by default)."""

    PAPER = "Long et al., Conditional Adversarial Domain Adaptation, NeurIPS 2018"
    HPARAMS = {
        **UDA_HPARAMS,
        "entropy": HParam(True, [True, False], "entropy conditioning (CDAN+E): weights 1 + exp(-H(g))"),
        "randomized": HParam(False, [False, True], "randomized multilinear map (for large features x classes)"),
        "randomized_dim": HParam(1024, ("int", 64, 4096), "output size of the randomized multilinear map"),
        "disc_hidden": HParam(1024, ("int", 64, 4096), "hidden width of the domain discriminator MLP"),
        "grl_gamma": HParam(10.0, ("uniform", 1.0, 20.0), "gamma of the warm-start schedule of the GRL"),
    }

    def __init__(self, backbone, num_classes: int, hparams: dict[str, Any] | None = None) -> None:
        super().__init__(backbone, num_classes, hparams)
        hp = self.hparams
        self.domain_loss = ConditionalDomainAdversarialLoss(
            backbone.num_features, num_classes, WarmStartGradientReverseLayer(gamma=hp["grl_gamma"]),
            hidden=hp["disc_hidden"], entropy_conditioning=hp["entropy"], randomized=hp["randomized"],
            randomized_dim=hp["randomized_dim"],
        )

    @classmethod
    def validate_hparams(cls, hparams: dict[str, Any]) -> None:
        super().validate_hparams(hparams)
        for name in ("randomized_dim", "disc_hidden"):
            check_number(hparams, name, cls.__name__, low=1)
        check_number(hparams, "grl_gamma", cls.__name__, strict=True)

    def set_progress(self, step: int, total_steps: int) -> None:
        self.domain_loss.adversarial.grl.set_progress(step / max(1, total_steps))

    def extra_modules(self) -> dict[str, torch.nn.Module]:
        return {"discriminator": self.domain_loss.adversarial.discriminator}

    def alignment(self, f_s, logits_s, f_t, logits_t, source_batch) -> dict[str, torch.Tensor]:
        out = self.domain_loss(f_s, logits_s, f_t, logits_t)
        return {**out, "grl_coeff": f_s.new_tensor(self.domain_loss.adversarial.grl.coeff)}
