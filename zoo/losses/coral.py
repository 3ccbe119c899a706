"""Deep CORAL: align the second-order statistics (covariances) of source and target features.

Sun & Saenko, "Deep CORAL: Correlation Alignment for Deep Domain Adaptation", ECCV 2016 Workshops, Eq. 1-3.
With source features ``X_s`` (n_s, d) and target features ``X_t`` (n_t, d):

    C = 1/(n-1) * (X^T X - 1/n (1^T X)^T (1^T X))          # (d, d), the unbiased covariance
    L_CORAL = 1/(4 d^2) * || C_s - C_t ||_F^2

exactly the paper's formula (no mean term; TLlib's variant adds one). Computed in float32 also under
autocast: products of many small features lose too much in half precision.

Shapes: ``f_s`` (n_s, d), ``f_t`` (n_t, d), n >= 2 -> scalar.

Usage::

    coral = CorrelationAlignmentLoss()
    loss = ce + weight * coral(f_s, f_t)          # f_s (N, 512), f_t (N, 512)
"""

from __future__ import annotations

import torch
from torch import nn


def covariance(x: torch.Tensor) -> torch.Tensor:
    """Unbiased covariance of the rows of ``x``: (n, d) -> (d, d), the paper's Eq. 2-3."""
    n = len(x)
    if n < 2:
        raise ValueError(f"a covariance needs at least 2 samples, got {n}")
    ones_x = x.sum(0, keepdim=True)  # (1, d) = 1^T X
    return (x.T @ x - ones_x.T @ ones_x / n) / (n - 1)


class CorrelationAlignmentLoss(nn.Module):
    """``||C_s - C_t||_F^2 / (4 d^2)`` between the feature covariances of two batches."""

    def forward(self, f_s: torch.Tensor, f_t: torch.Tensor) -> torch.Tensor:
        d = f_s.shape[1]
        diff = covariance(f_s.float()) - covariance(f_t.float())  # (d, d)
        return diff.pow(2).sum() / (4.0 * d * d)
