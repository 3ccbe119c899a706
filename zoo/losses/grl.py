"""Gradient reversal: identity forward, gradient multiplied by ``-coeff`` backward.

Ganin & Lempitsky, "Unsupervised Domain Adaptation by Backpropagation", ICML 2015 (and Ganin et al.,
"Domain-Adversarial Training of Neural Networks", JMLR 2016). Placing the layer between the features and a
domain discriminator turns the min-max game into one loss minimised by one optimizer: the discriminator
descends the domain loss while the feature extractor, receiving ``-coeff * grad``, ascends it.

Warm start (the paper's schedule, Sec. 5.2.2), with training progress ``p`` in [0, 1]:

    lambda_p = lo + (hi - lo) * (2 / (1 + exp(-gamma * p)) - 1)        # gamma = 10; = tanh(gamma p / 2)

so the reversed gradient starts at ``lo`` (0: the discriminator first learns, features are not yet pushed by
noisy domain gradients) and saturates near ``hi``. Progress is either given (``set_progress(p)``, what the
runner's ``Algorithm.set_progress(step, total_steps)`` hook feeds) or counted (``step()`` per training step
with ``max_iters``, for loops without that hook).

Shapes: any tensor ``x``; the output has the shape of ``x``.

Usage::

    grl = WarmStartGradientReverseLayer(gamma=10.0, lo=0.0, hi=1.0)
    grl.set_progress(0.5)                     # lambda = tanh(2.5) = 0.987
    logits = discriminator(grl(features))     # (N, D) -> (N, D) -> (N,)
"""

from __future__ import annotations

import math

import torch
from torch import nn


class _ReverseGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, coeff: float) -> torch.Tensor:
        ctx.coeff = coeff
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad.neg() * ctx.coeff, None


def reverse_gradient(x: torch.Tensor, coeff: float = 1.0) -> torch.Tensor:
    """``x`` unchanged; its gradient is multiplied by ``-coeff``."""
    return _ReverseGrad.apply(x, float(coeff))


def warm_start_coeff(progress: float, gamma: float = 10.0, lo: float = 0.0, hi: float = 1.0) -> float:
    """DANN's ``lo + (hi - lo) * (2 / (1 + exp(-gamma * p)) - 1)``, ``p`` clamped to [0, 1]."""
    p = min(max(float(progress), 0.0), 1.0)
    return lo + (hi - lo) * (2.0 / (1.0 + math.exp(-gamma * p)) - 1.0)


class GradientReverseLayer(nn.Module):
    """Gradient reversal with a fixed coefficient ``coeff``."""

    def __init__(self, coeff: float = 1.0) -> None:
        super().__init__()
        self.coeff = float(coeff)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return reverse_gradient(x, self.coeff)


class WarmStartGradientReverseLayer(nn.Module):
    """Gradient reversal whose coefficient follows DANN's warm-start schedule of the training progress."""

    def __init__(self, gamma: float = 10.0, lo: float = 0.0, hi: float = 1.0, max_iters: int = 1000,
                 auto_step: bool = False) -> None:
        super().__init__()
        self.gamma, self.lo, self.hi = float(gamma), float(lo), float(hi)
        self.max_iters, self.auto_step = int(max_iters), auto_step
        self.iters = 0
        self.progress = 0.0  # plain attribute, not state: whoever drives training sets it before each step

    @property
    def coeff(self) -> float:
        return warm_start_coeff(self.progress, self.gamma, self.lo, self.hi)

    def set_progress(self, progress: float) -> None:
        """Set the training progress ``p`` in [0, 1] (clamped)."""
        self.progress = min(max(float(progress), 0.0), 1.0)

    def step(self) -> None:
        """Count one training step: progress = steps / ``max_iters``."""
        self.iters += 1
        self.set_progress(self.iters / max(1, self.max_iters))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = reverse_gradient(x, self.coeff)
        if self.auto_step and self.training:
            self.step()
        return out

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}, lo={self.lo}, hi={self.hi}, progress={self.progress:.3f}"
