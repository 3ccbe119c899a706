"""Domain discriminator and the domain-adversarial loss built on gradient reversal.

Ganin et al., "Domain-Adversarial Training of Neural Networks", JMLR 2016. A small MLP ``D`` predicts
whether a feature comes from the source (label 1) or the target (label 0). Through a gradient reversal layer
``R`` the one loss

    L_adv = 1/2 * [ mean_i w_i^s BCE(D(R(f_i^s)), 1) + mean_j w_j^t BCE(D(R(f_j^t)), 0) ]

trains ``D`` to separate the domains while the features below ``R`` learn to confuse it (sample weights
``w`` default to 1; CDAN+E passes entropy weights). ``D`` outputs logits and the loss uses
``binary_cross_entropy_with_logits`` (stable, and safe under mixed precision).

Architecture (DANN's, as in TLlib): Linear(D_in, h) -> [BatchNorm] -> ReLU -> Linear(h, h) -> [BatchNorm] ->
ReLU -> Linear(h, 1). Shapes: features (N, D_in) -> logits (N,).

The BatchNorm layers always normalise with the statistics of the batch they see (``track_running_stats=
False``), in eval mode too. The discriminator only ever scores one mixed source+target training batch to
produce a loss, so those are the right statistics; running averages would lag behind features that change
quickly early in training, and an eval-mode loss would then measure a different function from the one
trained (it did: in the contract test, DANN's and CDAN's eval-mode domain loss rose from 0.69 to 5.8-9.0
after 15 Adam steps that lowered the train-mode loss to 0.26-0.37, with domain accuracy 0.5).

Usage::

    adv = DomainAdversarialLoss(DomainDiscriminator(512, hidden=1024), WarmStartGradientReverseLayer())
    out = adv(f_s, f_t)               # f_s (N_s, 512), f_t (N_t, 512)
    loss = ce + weight * out["loss"]; out["domain_acc"]
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DomainDiscriminator(nn.Module):
    """A 3-layer MLP: (N, in_features) -> (N,) domain logits (source = 1)."""

    def __init__(self, in_features: int, hidden: int = 1024, batch_norm: bool = True) -> None:
        super().__init__()

        def block(n_in: int) -> list[nn.Module]:
            layers: list[nn.Module] = [nn.Linear(n_in, hidden)]
            if batch_norm:
                # Batch statistics in train *and* eval mode (no running averages): see the module docstring.
                layers.append(nn.BatchNorm1d(hidden, track_running_stats=False))
            return layers + [nn.ReLU(inplace=True)]

        self.net = nn.Sequential(*block(in_features), *block(hidden), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)  # (N, in) -> (N, 1) -> (N,)


class DomainAdversarialLoss(nn.Module):
    """Binary domain loss of ``discriminator(grl(features))``; returns ``{"loss", "domain_acc"}``."""

    def __init__(self, discriminator: nn.Module, grl: nn.Module) -> None:
        super().__init__()
        self.discriminator = discriminator
        self.grl = grl

    def forward(self, f_s: torch.Tensor, f_t: torch.Tensor, w_s: torch.Tensor | None = None,
                w_t: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        # One discriminator pass over both domains: BatchNorm sees the mixed batch, as in DANN.
        logits = self.discriminator(self.grl(torch.cat([f_s, f_t])))  # (N_s + N_t,)
        logits_s, logits_t = logits[: len(f_s)], logits[len(f_s):]
        loss_s = F.binary_cross_entropy_with_logits(logits_s, torch.ones_like(logits_s), weight=w_s)
        loss_t = F.binary_cross_entropy_with_logits(logits_t, torch.zeros_like(logits_t), weight=w_t)
        correct = torch.cat([logits_s > 0, logits_t <= 0]).float()
        return {"loss": 0.5 * (loss_s + loss_t), "domain_acc": correct.mean().detach()}
