"""V-REx: variance risk extrapolation, a penalty on how much the source domains' losses differ.

Krueger, Caballero, Jacobsen, Zhang, Binas, Zhang, Le Priol & Courville, "Out-of-Distribution Generalization
via Risk Extrapolation (REx)", ICML 2021, Eq. 8 (V-REx), in DomainBed's form (Gulrajani & Lopez-Paz, ICLR
2021, ``algorithms.VREx``). With ``loss_d`` the mean cross-entropy of source domain ``d`` in the batch:

    loss = mean_d(loss_d) + w * var_d(loss_d)          # var: biased, ((loss_d - mean)^2).mean(), as DomainBed
    w = 1 for the first ``anneal_steps`` optimizer steps, then ``lambda``

The step is the runner's ``set_progress`` step index (the optimizer steps done in this stage, so a resumed
run switches at the same step); called without the runner (no ``set_progress``), the algorithm counts its
own training-mode steps. DomainBed also re-creates its Adam optimizer at the switch (its gradients jump by a
factor ``lambda``); an algorithm here cannot, because the runner owns the optimizer, so Adam's moment
estimates carry over the switch: a large ``lambda`` may want a smaller learning rate. With one domain in the
batch the variance is 0 and the loss is ERM's. The target is never read.

Differences from DomainBed: no Adam reset (above); a batch may hold any subset of the sources, and the mean
and variance are over the domains present (DomainBed's batches hold all of them). As DomainBed, one forward
pass over the concatenated sources.

Usage::

    algo = VREx(zoo.create_backbone("simple_cnn", in_chans=1), num_classes=2, hparams={"lambda": 10.0})
    algo.set_progress(step, total_steps)                  # the runner does this before every step
    out = algo.training_step((x, y, d), None)             # {"loss", "nll", "penalty", "penalty_weight", ...}
"""

from __future__ import annotations

from typing import Any

import torch

from zoo.algorithms.base import Algorithm, Batch, HParam
from zoo.losses.domain_groups import per_domain_cross_entropy, unpack_domains, variance_penalty


class VREx(Algorithm):
    """Mean of the per-domain losses + penalty weight x their variance."""

    PAPER = "Krueger et al., Out-of-Distribution Generalization via Risk Extrapolation (REx), ICML 2021 (V-REx)"
    SOURCE_DOMAINS = True
    SETTINGS = ("generalization", "transfer")
    HPARAMS = {
        "lambda": HParam(10.0, ("log", 1e-1, 1e5), "weight of the variance of the domains' losses after the anneal",
                         low=0),
        "anneal_steps": HParam(500, ("int", 1, 10000), "optimizer steps with penalty weight 1 before lambda applies",
                               low=0),
    }

    def __init__(self, backbone, num_classes: int, hparams: dict[str, Any] | None = None) -> None:
        super().__init__(backbone, num_classes, hparams)
        self._progress_step: int | None = None  # from set_progress: optimizer steps done in this stage
        self._own_steps = 0  # training-mode steps counted when nobody calls set_progress

    def set_progress(self, step: int, total_steps: int) -> None:
        self._progress_step = int(step)

    @property
    def step_count(self) -> int:
        """Optimizer steps done before the current one (DomainBed's ``update_count``)."""
        return self._progress_step if self._progress_step is not None else self._own_steps

    def penalty_weight(self) -> float:
        """1 before ``anneal_steps`` steps, ``lambda`` from then on (DomainBed: ``update_count >= anneal``)."""
        return self.hparams["lambda"] if self.step_count >= self.hparams["anneal_steps"] else 1.0

    def training_step(self, source_batch: Batch | None, target_batch: Batch | None) -> dict[str, torch.Tensor]:
        x, y, d = unpack_domains(source_batch)  # (N, C, H, W), (N,), (N,)
        logits = self.predict(x)  # (N, K)
        _, losses = per_domain_cross_entropy(logits, y, d, self.class_weights)  # (G,) one mean CE per domain
        weight = self.penalty_weight()
        nll = losses.mean()  # scalar, mean over the domains present
        penalty = variance_penalty(losses)  # scalar, biased variance over the domains present
        if self.training and self._progress_step is None:
            self._own_steps += 1
        return {
            "loss": nll + weight * penalty,
            "nll": nll.detach(),
            "penalty": penalty.detach(),
            "penalty_weight": nll.new_tensor(weight),
            "acc": (logits.argmax(1) == y).float().mean().detach(),
        }
