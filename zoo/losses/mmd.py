"""Multi-kernel maximum mean discrepancy (MK-MMD) with Gaussian kernels, as DAN uses it.

Long, Cao, Wang & Jordan, "Learning Transferable Features with Deep Adaptation Networks", ICML 2015;
Gretton et al., "A Kernel Two-Sample Test", JMLR 2012 (the estimators).

The kernel is a mixture of Gaussians ``k(a, b) = 1/U * sum_u exp(-||a - b||^2 / (2 s_u))`` whose bandwidths
are multiples of the batch's mean squared distance: ``s_u = m_u * mean_{a,b} ||a - b||^2`` (detached), with
multipliers ``m_u`` (default 2^-3 .. 2^1, as TLlib). DAN learns the kernel weights beta by a QP; we use equal
weights 1/U (TLlib's choice), stated because it differs from the paper.

Estimators (``linear=False`` is the default):

- quadratic, unbiased (U-statistic, Gretton et al. Lemma 6), with source ``x`` (m, D) and target ``y`` (n, D):
  ``MMD_u^2 = 1/(m(m-1)) sum_{i!=j} k(x_i,x_j) + 1/(n(n-1)) sum_{i!=j} k(y_i,y_j) - 2/(mn) sum_{i,j} k(x_i,y_j)``;
  its expectation is exactly 0 when both samples come from one distribution (so one batch may be < 0).
- linear-time (DAN's Eq. 4, Gretton et al. Lemma 14), for m = n, pairing consecutive samples:
  ``1/(m/2) sum_i h(z_i)``, ``h = k(x_{2i-1},x_{2i}) + k(y_{2i-1},y_{2i}) - k(x_{2i-1},y_{2i}) - k(x_{2i},y_{2i-1})``;
  also unbiased, with a higher variance; O(m) kernel evaluations (here still computed from the full
  distance matrix for the bandwidth, which costs nothing at batch sizes).

Shapes: ``x`` (m, D), ``y`` (n, D) -> scalar.

Usage::

    mmd = MultipleKernelMMD(kernel_mults=(0.125, 0.25, 0.5, 1.0, 2.0))
    loss = ce + weight * mmd(f_s, f_t)        # f_s (m, 512), f_t (n, 512)
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


def gaussian_kernels(d2: torch.Tensor, kernel_mults: Sequence[float]) -> torch.Tensor:
    """Mean of Gaussian kernels on squared distances ``d2`` (any shape), bandwidths relative to mean(d2)."""
    scale = d2.detach().mean().clamp_min(1e-12)
    return torch.stack([torch.exp(-d2 / (2.0 * m * scale)) for m in kernel_mults]).mean(0)


class MultipleKernelMMD(nn.Module):
    """MK-MMD^2 between two samples (unbiased quadratic estimator, or the linear-time one)."""

    def __init__(self, kernel_mults: Sequence[float] = (0.125, 0.25, 0.5, 1.0, 2.0), linear: bool = False) -> None:
        super().__init__()
        if not kernel_mults or any(m <= 0 for m in kernel_mults):
            raise ValueError(f"kernel_mults must be a non-empty list of positive numbers, got {kernel_mults!r}")
        self.kernel_mults = tuple(float(m) for m in kernel_mults)
        self.linear = linear

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        m, n = len(x), len(y)
        if m < 2 or n < 2:
            raise ValueError(f"MMD needs at least 2 samples per domain, got {m} and {n}")
        z = torch.cat([x, y]).float()  # (m + n, D); float32 also under autocast (exp of distances)
        sq = z.pow(2).sum(1)  # (m + n,)
        d2 = (sq[:, None] + sq[None, :] - 2.0 * z @ z.T).clamp_min(0)  # (m + n, m + n), smooth at 0 unlike cdist
        k = gaussian_kernels(d2, self.kernel_mults)  # (m + n, m + n)
        if self.linear:
            h = min(m, n) // 2 * 2  # an even number of pairs from each side
            i, j = torch.arange(0, h, 2, device=z.device), torch.arange(1, h, 2, device=z.device)
            kxx, kyy = k[i, j], k[m + i, m + j]
            kxy, kyx = k[i, m + j], k[j, m + i]
            return (kxx + kyy - kxy - kyx).mean()
        kxx, kyy, kxy = k[:m, :m], k[m:, m:], k[:m, m:]
        # off-diagonal sums: the diagonal k(a, a) = 1 would bias the estimate upwards
        return ((kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
                + (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
                - 2.0 * kxy.mean())
