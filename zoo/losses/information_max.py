"""SHOT's information maximisation loss and self-supervised (centroid) pseudo-labels.

Liang, Hu & Feng, "Do We Really Need to Access the Source Data? Source Hypothesis Transfer for Unsupervised
Domain Adaptation", ICML 2020 (reference code: github.com/tim-learn/SHOT, ``object/image_target.py``).

Information maximisation (Eq. 2 of the paper, with SHOT's ``eps = 1e-5`` inside the logs): for target logits
(N, K) and ``p_i = softmax(logits_i)``,

    ent  = mean_i H(p_i),          H(p) = -sum_k p_k log(p_k + eps)         # each prediction confident
    div  = H(mean_i p_i)                                                    # predictions diverse over classes
    loss = ent - div                                                        # minimised: in [-log K, log K]

Self-supervised pseudo-labels (Eq. 4-6, SHOT's ``obtain_label`` with cosine distance): for features (N, D)
and probabilities (N, K),

    f_i  = [feat_i, 1] / ||[feat_i, 1]||                                    # (N, D+1), a column of ones appended
    c_k  = sum_i p_ik f_i / (1e-8 + sum_i p_ik)                             # soft-weighted centroids (K, D+1)
    y_i  = argmin_{k in L} 1 - cos(f_i, c_k),  L = {k : #{i : argmax p_i = k} > threshold}
    c_k  = mean of the f_i with y_i = k ;  y_i = argmin_{k in L'} 1 - cos(f_i, c_k)    # one refinement round

where ``L'`` holds the classes the first round assigned more than ``threshold`` samples to (SHOT's
``labelset``; threshold 0 keeps every class that has a sample, so no centroid is empty). Ties go to the
lowest class index, as numpy's ``argmin``.

Usage::

    terms = information_maximization(logits_t)                  # terms.loss, terms.ent, terms.div: scalars
    with torch.no_grad():
        labels = shot_pseudo_labels(features_t, logits_t.softmax(1))  # (N,) long
    loss = 1.0 * terms.loss + 0.3 * F.cross_entropy(logits_t, labels)
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from zoo.errors import ConfigError

EPS = 1e-5  # SHOT's epsilon inside every log (``args.epsilon``, ``loss.Entropy``)


class InformationMaximization(NamedTuple):
    """The IM loss and its two terms (scalars, differentiable)."""

    loss: torch.Tensor  # ent - div
    ent: torch.Tensor  # mean_i H(p_i): the mean prediction entropy
    div: torch.Tensor  # H(mean_i p_i): the entropy of the mean prediction


def _float(t: torch.Tensor) -> torch.Tensor:
    """Half-precision inputs (mixed precision) in float32; float32/float64 as given."""
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def information_maximization(logits: torch.Tensor, eps: float = EPS) -> InformationMaximization:
    """SHOT's IM loss ``mean_i H(p_i) - H(mean_i p_i)`` on logits (N, K); see the module docstring."""
    if logits.dim() != 2 or len(logits) == 0:
        raise ConfigError(f"information_maximization needs logits of shape (N, K) with N >= 1, got "
                          f"{tuple(logits.shape)}")
    probs = _float(logits).softmax(1)  # (N, K)
    ent = -(probs * torch.log(probs + eps)).sum(1).mean()  # (N, K) -> (N,) -> scalar
    mean_probs = probs.mean(0)  # (K,)
    div = -(mean_probs * torch.log(mean_probs + eps)).sum()  # scalar
    return InformationMaximization(ent - div, ent, div)


def _cosine_nearest(features: torch.Tensor, centroids: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """Index into ``classes`` of the centroid nearest to each feature by cosine distance: (N, E), (K, E) -> (N,)."""
    chosen = centroids[classes]  # (L, E)
    cosine = features @ F.normalize(chosen, dim=1, eps=1e-12).T  # features are unit rows: (N, E) @ (E, L) -> (N, L)
    return classes[(1.0 - cosine).argmin(1)]  # first minimum on ties, as numpy's argmin -> (N,) class ids


def shot_pseudo_labels(features: torch.Tensor, probs: torch.Tensor, threshold: int = 0) -> torch.Tensor:
    """SHOT's self-supervised pseudo-labels: features (N, D), probabilities (N, K) -> labels (N,) long.

    Weighted-centroid clustering in the cosine geometry, then one round with hard-label centroids (SHOT's
    ``obtain_label``; see the module docstring). No gradient flows (call it under ``torch.no_grad()``).

    Usage::

        labels = shot_pseudo_labels(model.features(x), model.predict(x).softmax(1))   # (N,)
    """
    if features.dim() != 2 or probs.dim() != 2 or len(features) != len(probs) or len(features) == 0:
        raise ConfigError(f"shot_pseudo_labels needs features (N, D) and probabilities (N, K) with the same N >= 1, "
                          f"got {tuple(features.shape)} and {tuple(probs.shape)}")
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
        raise ConfigError(f"shot_pseudo_labels: threshold must be an integer >= 0, got {threshold!r}; e.g. threshold=0")
    features, probs = _float(features.detach()), _float(probs.detach()).to(features.dtype)
    num_classes = probs.shape[1]
    ones = torch.ones(len(features), 1, dtype=features.dtype, device=features.device)
    unit = F.normalize(torch.cat([features, ones], 1), dim=1)  # (N, D+1), rows of norm 1
    labels = probs.argmax(1)  # (N,) the network's own predictions: which classes may have a centroid
    weights = probs  # (N, K) soft assignments in the first round, one-hot in the second
    for _ in range(2):
        centroids = weights.T @ unit / (1e-8 + weights.sum(0)[:, None])  # (K, N) @ (N, D+1) -> (K, D+1)
        counts = torch.bincount(labels, minlength=num_classes)  # (K,)
        classes = torch.nonzero(counts > threshold).flatten()  # (L,) SHOT's labelset
        if len(classes) == 0:  # only with threshold >= N: no class qualifies, keep the labels as they are
            break
        labels = _cosine_nearest(unit, centroids, classes)  # (N,)
        weights = F.one_hot(labels, num_classes).to(unit.dtype)  # (N, K)
    return labels
