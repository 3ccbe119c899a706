"""Contrastive semantic alignment (CCSA): cross-domain pairs, same class pulled together, others pushed apart.

Motiian, Piccirilli, Adjeroh & Doretto, "Unified Deep Supervised Domain Adaptation and Generalization",
ICCV 2017. With an embedding ``g`` (N, D), a source sample ``i`` and a target sample ``j`` form a pair;
``d_ij = ||g(x_i^s) - g(x_j^t)||_2``. The paper's two terms, written per pair as there:

    alignment  (y_i^s == y_j^t):  1/2 * d_ij^2                       # same class: pulled together
    separation (y_i^s != y_j^t):  1/2 * max(0, margin - d_ij)^2      # different classes: pushed past margin

Reduction (our choice, stated because the paper writes plain sums): each term is the *mean over its own
pairs*, 0 when a batch has no pair of that kind. Averaging per kind keeps the two terms on one scale
whatever the class count (with K classes only ~1/K of the pairs are same-class) and the batch size.

Pairs are built inside a batch: all ``N_s x N_t`` source x target pairs (the paper pairs every source
sample with every few-shot target sample), or, when ``max_pairs`` is smaller than that, ``max_pairs``
pairs drawn uniformly without replacement from them (``torch.randperm`` on the global RNG, which the
runner seeds). Embeddings are L2-normalised by default (``normalize=True``): distances then lie in
[0, 2], so one margin (default 1) fits every backbone, and the separation term cannot be met by simply
scaling features up.

Usage::

    csa = ContrastiveSemanticAlignment(margin=1.0)
    terms = csa(z_src, y_src, z_tgt, y_tgt)     # z (N_s, D), (N_t, D); y (N_s,), (N_t,)
    loss = terms["alignment"] + terms["separation"]
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import ConfigError

EPS = 1e-12  # inside the sqrt: d is differentiable where two embeddings coincide


def check_margin(margin: float) -> float:
    """Return ``margin`` as a float, or raise a one-line ``ConfigError`` if it is negative or not finite."""
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not math.isfinite(margin) or margin < 0:
        raise ConfigError(f"contrastive margin must be a finite number >= 0, got {margin!r}; e.g. margin=1.0")
    return float(margin)


def cross_domain_pairs(
    y_a: torch.Tensor, y_b: torch.Tensor, max_pairs: int | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Index pairs ``(i, j)`` across two batches and whether they share a class.

    All ``N_a * N_b`` pairs in row-major order (i slow, j fast), or ``max_pairs`` of them sampled uniformly
    without replacement when ``max_pairs`` is set and smaller.

    Usage::

        i, j, same = cross_domain_pairs(torch.tensor([0, 1]), torch.tensor([1]))   # i=[0,1], j=[0,0], same=[F,T]
    """
    n_a, n_b = len(y_a), len(y_b)
    i = torch.arange(n_a, device=y_a.device).repeat_interleave(n_b)  # (N_a*N_b,)
    j = torch.arange(n_b, device=y_a.device).repeat(n_a)  # (N_a*N_b,)
    if max_pairs is not None and 0 < max_pairs < n_a * n_b:
        keep = torch.randperm(n_a * n_b, device=y_a.device)[:max_pairs]
        i, j = i[keep], j[keep]
    return i, j, y_a[i] == y_b[j]


def pair_distances(z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
    """Row-wise Euclidean distance of two (P, D) embeddings -> (P,).

    Usage::

        pair_distances(torch.zeros(1, 2), torch.tensor([[3.0, 4.0]]))   # tensor([5.])
    """
    return ((z_a - z_b).pow(2).sum(dim=1) + EPS).sqrt()


def contrastive_terms(
    z_a: torch.Tensor, y_a: torch.Tensor, z_b: torch.Tensor, y_b: torch.Tensor,
    margin: float = 1.0, normalize: bool = True, max_pairs: int | None = None,
) -> dict[str, torch.Tensor]:
    """CCSA alignment and separation terms over the cross-domain pairs of two batches.

    ``z_a`` (N_a, D), ``y_a`` (N_a,) long; ``z_b`` (N_b, D), ``y_b`` (N_b,). Returns scalars ``alignment``,
    ``separation`` and ``same_pair_fraction`` (detached; the share of same-class pairs).

    Usage::

        t = contrastive_terms(z_s, y_s, z_t, y_t, margin=1.0)
    """
    if normalize:
        z_a, z_b = F.normalize(z_a, dim=1), F.normalize(z_b, dim=1)
    i, j, same = cross_domain_pairs(y_a, y_b, max_pairs)
    # Squared distances of all N_a x N_b pairs from ||a||^2 + ||b||^2 - 2 a.b: an (N_a, N_b) matrix instead
    # of materialising (P, D) differences (P = 16384 pairs of 2048-d ResNet-50 features would be 128 MB).
    sq_all = (z_a.pow(2).sum(1, keepdim=True) + z_b.pow(2).sum(1)[None, :] - 2.0 * z_a @ z_b.T).clamp(min=0)
    sq = sq_all[i, j]  # (P,)
    dist = (sq + EPS).sqrt()  # (P,)
    # Masks as float weights, not boolean indexing: no host sync, and a kind with no pair gives 0 (graph-connected).
    same_w = same.float()  # (P,)
    diff_w = 1.0 - same_w
    alignment = 0.5 * (sq * same_w).sum() / same_w.sum().clamp(min=1.0)
    hinge = (margin - dist).clamp(min=0)  # (P,) 0 once a pair is farther apart than the margin
    separation = 0.5 * (hinge.pow(2) * diff_w).sum() / diff_w.sum().clamp(min=1.0)
    return {
        "alignment": alignment,
        "separation": separation,
        "same_pair_fraction": same_w.mean().detach() if len(same_w) else same_w.sum().detach(),
    }


class ContrastiveSemanticAlignment(nn.Module):
    """``contrastive_terms`` as a module holding its margin, normalisation and pair sampling.

    Usage::

        csa = ContrastiveSemanticAlignment(margin=1.0, normalize=True, max_pairs=None)
        terms = csa(z_s, y_s, z_t, y_t)     # {"alignment", "separation", "same_pair_fraction"}
    """

    def __init__(self, margin: float = 1.0, normalize: bool = True, max_pairs: int | None = None) -> None:
        super().__init__()
        self.margin = check_margin(margin)
        self.normalize = normalize
        self.max_pairs = max_pairs

    def forward(self, z_a, y_a, z_b, y_b) -> dict[str, torch.Tensor]:
        return contrastive_terms(z_a, y_a, z_b, y_b, self.margin, self.normalize, self.max_pairs)
