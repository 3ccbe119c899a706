"""Conditional adversarial domain adaptation (CDAN, CDAN+E): the discriminator sees features x predictions.

Long, Cao, Wang & Jordan, "Conditional Adversarial Domain Adaptation", NeurIPS 2018.

- Multilinear map (Eq. 4): ``T(f, g) = f ⊗ g``, the outer product of features ``f`` (N, D) and class
  probabilities ``g`` (N, K), flattened: ``T[n, d*K + k] = f[n, d] * g[n, k]`` -> (N, D*K).
- Randomized multilinear map (Eq. 5), for large D*K: ``T(f, g) = 1/sqrt(d_out) * (R_f f) ⊙ (R_g g)`` with
  fixed Gaussian ``R_f`` (d_out, D), ``R_g`` (d_out, K) drawn once (buffers, never trained) -> (N, d_out).
  It preserves inner products in expectation: ``E_R <T(f, g), T(f', g')> = <f, f'> <g, g'> = <f ⊗ g, f' ⊗ g'>``.
  Which map (Eq. 6): the full one if ``D*K <= 4096``, else the randomized one (``randomized=None``, the
  default); ``True``/``False`` force a choice.
- Entropy conditioning (CDAN+E, Eq. 8): sample weights ``w = 1 + exp(-H(g))``, ``H(g) = -sum_k g_k log g_k``,
  so confident (easy-to-transfer) samples count more; normalised to mean 1 within each domain (as the
  authors' code and TLlib do) so the loss keeps its scale.

``g`` is detached (as in the authors' code and TLlib): the adversarial gradient reaches the network through
the features only. The entropy weights are computed from the detached ``g`` too (TLlib; the authors' code
lets a reversed gradient flow into the entropy). The loss is the domain-adversarial loss of
``zoo.losses.discriminator`` on ``T(f, g)``, behind the gradient reversal layer ``grl`` (DANN's warm start).

Shapes: ``f_s`` (N_s, D), ``logits_s`` (N_s, K), ``f_t`` (N_t, D), ``logits_t`` (N_t, K) -> dict of scalars.

Usage::

    cdan = ConditionalDomainAdversarialLoss(512, num_classes=3, grl=WarmStartGradientReverseLayer())
    out = cdan(f_s, logits_s, f_t, logits_t)        # {"loss": ..., "domain_acc": ...}
"""

from __future__ import annotations

import math

import torch
from torch import nn

from zoo.losses.discriminator import DomainAdversarialLoss, DomainDiscriminator


def multilinear_map(f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``f ⊗ g`` flattened: (N, D), (N, K) -> (N, D*K), entry ``d*K + k`` = ``f[:, d] * g[:, k]``."""
    return (f.unsqueeze(2) * g.unsqueeze(1)).flatten(1)  # (N, D, 1) * (N, 1, K) -> (N, D, K) -> (N, D*K)


def entropy(probs: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Shannon entropy (nats) of each row: (N, K) probabilities -> (N,)."""
    return -(probs * (probs + eps).log()).sum(1)


def entropy_weights(probs: torch.Tensor) -> torch.Tensor:
    """CDAN+E weights ``1 + exp(-H(g))`` in [1 + 1/K, 2]: (N, K) probabilities -> (N,)."""
    return 1.0 + torch.exp(-entropy(probs))


class RandomizedMultilinearMap(nn.Module):
    """``1/sqrt(d_out) (R_f f) ⊙ (R_g g)``: (N, D), (N, K) -> (N, d_out); R_f, R_g fixed N(0, 1) buffers."""

    def __init__(self, features_dim: int, num_classes: int, output_dim: int = 1024) -> None:
        super().__init__()
        self.output_dim = output_dim
        self.register_buffer("r_f", torch.randn(features_dim, output_dim))
        self.register_buffer("r_g", torch.randn(num_classes, output_dim))

    def forward(self, f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        # (N, D) @ (D, d_out) -> (N, d_out), (N, K) @ (K, d_out) -> (N, d_out); element-wise product
        return (f @ self.r_f) * (g @ self.r_g) / math.sqrt(self.output_dim)


MAX_FULL_DIM = 4096  # Eq. 6: the full multilinear map up to this many dimensions, the randomized one above


def use_randomized_map(features_dim: int, num_classes: int, randomized: bool | None = None) -> bool:
    """Eq. 6's choice: ``randomized`` if given, else True iff ``features_dim * num_classes > 4096``.

    Usage::

        use_randomized_map(2048, 3)     # True: 6144 > 4096 (ResNet-50 features, 3 classes)
    """
    return features_dim * num_classes > MAX_FULL_DIM if randomized is None else bool(randomized)


class ConditionalDomainAdversarialLoss(nn.Module):
    """CDAN(+E): domain-adversarial loss on the (randomized) multilinear map of features and predictions.

    ``randomized``: None (Eq. 6: randomized iff D*K > 4096), True or False.
    """

    def __init__(self, features_dim: int, num_classes: int, grl: nn.Module, hidden: int = 1024,
                 entropy_conditioning: bool = True, randomized: bool | None = None, randomized_dim: int = 1024,
                 batch_norm: bool = True) -> None:
        super().__init__()
        randomized = use_randomized_map(features_dim, num_classes, randomized)
        self.map = RandomizedMultilinearMap(features_dim, num_classes, randomized_dim) if randomized else None
        in_features = randomized_dim if randomized else features_dim * num_classes
        self.adversarial = DomainAdversarialLoss(DomainDiscriminator(in_features, hidden, batch_norm), grl)
        self.entropy_conditioning = entropy_conditioning

    def forward(self, f_s: torch.Tensor, logits_s: torch.Tensor, f_t: torch.Tensor,
                logits_t: torch.Tensor) -> dict[str, torch.Tensor]:
        g_s, g_t = logits_s.detach().softmax(1), logits_t.detach().softmax(1)  # (N, K), no gradient through g
        mapping = self.map if self.map is not None else multilinear_map
        h_s, h_t = mapping(f_s, g_s), mapping(f_t, g_t)  # (N, D*K) or (N, d_out)
        w_s = w_t = None
        if self.entropy_conditioning:
            w_s, w_t = entropy_weights(g_s), entropy_weights(g_t)
            w_s, w_t = w_s / w_s.mean(), w_t / w_t.mean()  # mean 1 per domain
        return self.adversarial(h_s, h_t, w_s, w_t)
