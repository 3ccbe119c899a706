"""Minimum Class Confusion (MCC) on unlabeled target predictions.

Jin, Wang, Long & Wang, "Minimum Class Confusion for Versatile Domain Adaptation", ECCV 2020, Eq. 1-6.
With target logits ``Z`` (N, K) and temperature ``T``:

    Y = softmax(Z / T)                                        # (N, K), temperature rescaling (Eq. 1)
    H_i = -sum_k Y_ik log Y_ik;  W_i = N (1 + exp(-H_i)) / sum_j (1 + exp(-H_j))   # entropy weights (Eq. 3)
    C = Y^T diag(W) Y                                         # (K, K) class correlation (Eq. 4)
    C~_jk = C_jk / sum_j' C_j'k                               # category normalisation (Eq. 5)
    L_MCC = 1/K * sum_{j != k} C~_jk                          # between-class confusion (Eq. 6)

Low when predictions are confident and different samples pick different classes; high when samples spread
their mass over the same classes. The weights ``W`` are detached (as in the authors' code and TLlib).

Shapes: ``logits`` (N, K) -> scalar in [0, (K-1)/K].

Usage::

    mcc = MinimumClassConfusionLoss(temperature=2.5)
    loss = ce_source + weight * mcc(logits_target)      # logits_target (N, K)
"""

from __future__ import annotations

import torch
from torch import nn

from zoo.losses.cdan import entropy


class MinimumClassConfusionLoss(nn.Module):
    """``L_MCC`` of a batch of target logits (see the module docstring)."""

    def __init__(self, temperature: float = 2.5) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        self.temperature = float(temperature)

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        n, k = logits.shape
        probs = (logits.float() / self.temperature).softmax(1)  # (N, K)
        weights = 1.0 + torch.exp(-entropy(probs.detach()))  # (N,)
        weights = n * weights / weights.sum()
        confusion = (probs * weights[:, None]).T @ probs  # (K, K) = Y^T diag(W) Y
        confusion = confusion / confusion.sum(0, keepdim=True)  # column sums 1
        return (confusion.sum() - confusion.trace()) / k
