"""Moment matching across several source domains and the target (M3SDA's moment distance).

Peng, Bai, Xia, Huang, Saenko & Wang, "Moment Matching for Multi-Source Domain Adaptation", ICCV 2019,
Eq. 1. With N source domains ``S_1..S_N``, target ``T`` and features ``X``:

    MD^2 = sum_{k=1..K} ( 1/N sum_i ||E[X_{S_i}^k] - E[X_T^k]||_2
                          + 1/C(N,2) sum_{i<j} ||E[X_{S_i}^k] - E[X_{S_j}^k]||_2 )

``X^k`` is element-wise. As in the authors' code, the first moment is the mean and the moments k >= 2 are
central (``E[(X - E X)^k]``), which keeps higher moments from re-counting the mean. With one source the
second sum is empty and this is moment matching between source and target. ``K = 2`` is the paper's choice.

Shapes: ``sources``: a list of (n_i, D) tensors (every n_i >= 1), ``target`` (n_t, D) -> scalar.

Usage::

    md = MomentDistance(k=2)
    loss = md([f_s1, f_s2], f_t)                          # two sources
    loss = md(split_by_domain(f_s, domains), f_t)         # f_s (N, D), domains (N,) long
"""

from __future__ import annotations

import itertools

import torch
from torch import nn


def moments(x: torch.Tensor, k: int) -> list[torch.Tensor]:
    """[mean, E[(x-mean)^2], ..., E[(x-mean)^k]]: (n, D) -> k tensors of (D,)."""
    mean = x.mean(0)
    centred = x - mean
    return [mean] + [centred.pow(order).mean(0) for order in range(2, k + 1)]


def split_by_domain(features: torch.Tensor, domains: torch.Tensor) -> list[torch.Tensor]:
    """The rows of ``features`` (N, D) grouped by ``domains`` (N,), in increasing domain order (present ones)."""
    return [features[domains == d] for d in torch.unique(domains).tolist()]


class MomentDistance(nn.Module):
    """M3SDA's moment distance over the first ``k`` moments (see the module docstring)."""

    def __init__(self, k: int = 2) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f"the number of moments must be >= 1, got {k!r}")
        self.k = int(k)

    def forward(self, sources: list[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        if not sources:
            raise ValueError("moment distance needs at least one source domain")
        src = [moments(s.float(), self.k) for s in sources]  # N lists of k (D,) tensors
        tgt = moments(target.float(), self.k)
        pairs = list(itertools.combinations(range(len(src)), 2))
        total = target.new_zeros((), dtype=torch.float32)
        for order in range(self.k):
            total = total + torch.stack([(s[order] - tgt[order]).norm() for s in src]).mean()
            if pairs:
                total = total + torch.stack([(src[i][order] - src[j][order]).norm() for i, j in pairs]).mean()
        return total
