"""Co-training pieces: agreement-and-confidence pseudo-labels, cross-teaching, and head orthogonality.

Co-training (Blum & Mitchell, "Combining Labeled and Unlabeled Data with Co-Training", COLT 1998) lets two
classifiers label unlabeled data for each other. For deep domain adaptation we follow Asymmetric
Tri-training (Saito, Ushiku & Harada, ICML 2017): two classifier heads on one shared feature extractor,
a target sample is pseudo-labeled only where the two heads agree and are confident, and a weight
constraint keeps the heads from collapsing into one.

For target logits ``l1, l2`` (N, K) of the two heads, ``p_h = softmax(l_h)``, ``c_h = max_k p_h``,
``yhat_h = argmax_k p_h``:

    mask       = (yhat_1 == yhat_2) & (c_1 >= tau) & (c_2 >= tau)                        # (N,) bool
    cross      = sum_{n in mask} [CE(l1_n, yhat_2,n) + CE(l2_n, yhat_1,n)] / N               # scalar
    diversity  = mean_{i,j} |cos(W1_i, W2_j)|  over the K x K class-weight vectors of the heads

Pseudo-labels are computed without gradient (a head never learns from a target it produced itself and
that still moves with it). Each head is taught by the *other* head's label (cross-teaching); under the
agreement mask these hard labels coincide, so what co-training adds over self-training is the mask:
a sample is used only when an independently trained second head is confident about the same class.
``cross`` divides by the whole target batch N, not by the masked count: the term grows with the share
of confident agreement instead of weighing one lucky sample as much as a full batch.

``diversity`` is ATDA's ``|W1^T W2|`` with each weight vector normalised to unit length: the raw
product can be driven to zero by shrinking both heads' weights, the cosine form only by making the
heads look at orthogonal directions of the feature space. It is 0 for orthogonal heads and in (0, 1]
otherwise.

Usage::

    pl = agreement_pseudo_labels(logits1, logits2, tau=0.9)      # pl.mask (N,), pl.target_for_1 (N,)
    loss = cross_teaching_loss(logits1, logits2, pl) + 0.1 * head_diversity(head1.weight, head2.weight)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from zoo.errors import ConfigError


def check_tau(tau: float) -> float:
    """Return ``tau`` as a float, or raise a one-line ``ConfigError`` unless 0 < tau < 1."""
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not math.isfinite(tau) or not 0 < tau < 1:
        raise ConfigError(f"confidence threshold tau must be in (0, 1), got {tau!r}; e.g. tau=0.9")
    return float(tau)


@dataclass
class PseudoLabels:
    """Which target samples are pseudo-labeled and the label each head is taught (all (N,), no grad)."""

    mask: torch.Tensor  # bool: both heads agree and both are confident
    target_for_1: torch.Tensor  # long: head 2's argmax, taught to head 1
    target_for_2: torch.Tensor  # long: head 1's argmax, taught to head 2
    agree: torch.Tensor  # bool: the heads' argmax agree (whatever the confidence)


@torch.no_grad()
def agreement_pseudo_labels(logits1: torch.Tensor, logits2: torch.Tensor, tau: float) -> PseudoLabels:
    """Pseudo-labels from two heads' target logits (N, K): where both agree and both confidences >= tau.

    Usage::

        pl = agreement_pseudo_labels(torch.tensor([[4.0, 0.0]]), torch.tensor([[3.0, 0.0]]), tau=0.9)
        pl.mask     # tensor([True]): both say class 0 with p = 0.98 and 0.95
    """
    conf1, pred1 = logits1.float().softmax(dim=1).max(dim=1)  # (N,), (N,)
    conf2, pred2 = logits2.float().softmax(dim=1).max(dim=1)
    agree = pred1 == pred2
    mask = agree & (conf1 >= tau) & (conf2 >= tau)
    return PseudoLabels(mask=mask, target_for_1=pred2, target_for_2=pred1, agree=agree)


def cross_teaching_loss(logits1: torch.Tensor, logits2: torch.Tensor, labels: PseudoLabels) -> torch.Tensor:
    """Each head's cross-entropy on the other head's pseudo-labels, over the masked samples, divided by N.

    Usage::

        loss = cross_teaching_loss(l1, l2, agreement_pseudo_labels(l1, l2, 0.9))   # scalar, 0 if none masked
    """
    weight = labels.mask.float()  # (N,) 1 where pseudo-labeled: no boolean indexing, no host sync
    ce1 = F.cross_entropy(logits1, labels.target_for_1, reduction="none")  # (N,)
    ce2 = F.cross_entropy(logits2, labels.target_for_2, reduction="none")
    return ((ce1 + ce2) * weight).sum() / max(len(weight), 1)


def head_diversity(w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    """Mean |cosine| between every class-weight vector of head 1 and of head 2: (K1, D), (K2, D) -> scalar.

    Usage::

        head_diversity(torch.eye(4)[:2], torch.eye(4)[2:])      # tensor(0.): orthogonal heads
    """
    return (F.normalize(w1, dim=1) @ F.normalize(w2, dim=1).T).abs().mean()  # (K1, K2) -> scalar
