"""CDAN(+E): conditional adversarial adaptation, the discriminator sees features x class predictions.

Long, Cao, Wang & Jordan, "Conditional Adversarial Domain Adaptation", NeurIPS 2018. Loss:
``CE(source) + weight * L_adv(T(f, g))`` with the multilinear map ``T = f ⊗ g`` (or its randomized variant,
chosen as the paper's Eq. 6 does with ``map: auto``: full iff features x classes <= 4096),
gradient reversal with DANN's warm-start schedule, and (``entropy=True``, CDAN+E) entropy-conditioning
sample weights ``1 + exp(-H(g))``. See ``zoo.losses.cdan``. As in DANN, ``f`` is a 256-wide Linear-BatchNorm-ReLU
bottleneck that the head also reads (``bottleneck_dim``; see ``zoo.algorithms.uda``).
Unsupervised: target labels are never used, whatever the task's budget (see ``zoo.algorithms.uda``).

Usage::

    algo = CDAN(backbone, num_classes=3, hparams={"entropy": True, "map": "auto"})
    out = algo.training_step((x_s, y_s), (x_t, None))      # loss, ce, align, domain_acc, grl_coeff
"""

from __future__ import annotations

from typing import Any

import torch

from zoo.algorithms.base import HParam
from zoo.algorithms.uda import (ADVERSARIAL_HPARAMS, UDA_HPARAMS, AdaptationAlgorithm, check_adversarial,
                                check_number, ramp_progress)
from zoo.errors import ConfigError
from zoo.losses import ConditionalDomainAdversarialLoss, WarmStartGradientReverseLayer

MAPS = {"auto": None, "full": False, "randomized": True}  # hparam value -> the loss's ``randomized``


class CDAN(AdaptationAlgorithm):
    """Source cross-entropy + conditional domain-adversarial loss (CDAN+E by default)."""

    PAPER = "Long et al., Conditional Adversarial Domain Adaptation, NeurIPS 2018"
    HPARAMS = {
        **UDA_HPARAMS,
        **ADVERSARIAL_HPARAMS,
        "entropy": HParam(True, [True, False], "entropy conditioning (CDAN+E): weights 1 + exp(-H(g))"),
        "map": HParam("auto", list(MAPS), "multilinear map: full, randomized, or auto (full iff D*K <= 4096)"),
        "randomized_dim": HParam(1024, ("int", 64, 4096), "output size of the randomized multilinear map"),
    }

    def __init__(self, backbone, num_classes: int, hparams: dict[str, Any] | None = None) -> None:
        super().__init__(backbone, num_classes, hparams)
        hp = self.hparams
        self.domain_loss = ConditionalDomainAdversarialLoss(
            self.features_dim, num_classes, WarmStartGradientReverseLayer(gamma=hp["grl_gamma"]),
            hidden=hp["disc_hidden"], entropy_conditioning=hp["entropy"], randomized=MAPS[hp["map"]],
            randomized_dim=hp["randomized_dim"], batch_norm=hp["disc_norm"] == "batch",
        )

    @classmethod
    def validate_hparams(cls, hparams: dict[str, Any]) -> None:
        super().validate_hparams(hparams)
        check_number(hparams, "randomized_dim", cls.__name__, low=1)
        check_adversarial(hparams, cls.__name__)
        if hparams["map"] not in MAPS:
            raise ConfigError(f"hyperparameter 'map' of CDAN must be one of {', '.join(MAPS)}, got {hparams['map']!r}")

    def set_progress(self, step: int, total_steps: int) -> None:
        self.domain_loss.adversarial.grl.set_progress(ramp_progress(step, total_steps, self.hparams["grl_ramp_steps"]))

    def extra_modules(self) -> dict[str, torch.nn.Module]:
        return {"discriminator": self.domain_loss.adversarial.discriminator}

    def alignment(self, f_s, logits_s, f_t, logits_t, source_batch) -> dict[str, torch.Tensor]:
        out = self.domain_loss(f_s, logits_s, f_t, logits_t)
        return {**out, "grl_coeff": f_s.new_tensor(self.domain_loss.adversarial.grl.coeff)}
