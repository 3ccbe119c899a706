"""Minimax entropy (MME): a cosine-similarity classifier and the adversarial entropy of unlabeled target data.

Saito, Kim, Sclaroff, Darrell & Saenko, "Semi-supervised Domain Adaptation via Minimax Entropy", ICCV 2019.

- Cosine classifier (the paper's Sec. 3.2, the authors' ``Predictor``): features ``f`` (N, D) are L2-normalised,
  multiplied by the class weight vectors ``W`` (K, D) -- a linear layer without bias, whose rows act as class
  prototypes -- and divided by a temperature ``T`` (0.05 in the paper):

      logits = (f / ||f||) W^T / T                                      # (N, D) -> (N, K)

  The weight vectors are not normalised (neither in the paper's code): their norm scales each class's logits.
- Adversarial entropy (the paper's Eq. 8-9, the authors' ``adentropy``): on unlabeled target features
  ``f_u`` (N_u, D), with ``p = softmax(C(GRL(f_u)))`` (N_u, K),

      term = lambda * mean_i sum_k p_ik log p_ik = -lambda * mean_i H(p_i)

  Minimising ``term`` makes the classifier ``C`` *maximise* the entropy of the unlabeled target predictions
  (its prototypes move towards the target features); the gradient reversal layer (``zoo.losses.grl``)
  between features and classifier negates the gradient reaching the feature extractor, which therefore
  *minimises* that entropy (target features cluster around the prototypes). One loss, one optimizer, both
  sides of the minimax game. ``p log p`` is computed from ``log_softmax`` (exact and stable; the authors'
  code uses ``log(p + 1e-5)``, a difference below 1e-4 nats per sample).

Shapes: ``features`` (N, D) -> logits (N, K); ``adentropy`` -> (scalar term, scalar detached mean entropy).

Usage::

    head = CosineClassifier(512, num_classes=3, temperature=0.05)
    logits = head(f_labeled)                                       # (N, 512) -> (N, 3)
    loss = F.cross_entropy(logits, y)
    term, ent = adentropy(head, f_unlabeled, lam=0.1)             # term = -0.1 * mean entropy
    (loss + term).backward()     # head: max entropy; features (reversed gradient): min entropy
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from zoo.losses.grl import reverse_gradient


class CosineClassifier(nn.Module):
    """``normalize(f) @ W^T / T``: (N, D) -> (N, K); ``W`` = ``fc.weight`` (K, D), no bias.

    Usage::

        head = CosineClassifier(512, 10)          # temperature 0.05: logits in [-||w_k|| / T, ||w_k|| / T]
        head(torch.randn(8, 512)).shape           # (8, 10)
    """

    def __init__(self, in_features: int, num_classes: int, temperature: float = 0.05) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"CosineClassifier: temperature must be > 0, got {temperature!r}")
        self.fc = nn.Linear(in_features, num_classes, bias=False)  # (K, D) prototypes
        self.temperature = float(temperature)
        self.in_features, self.num_classes = in_features, num_classes

    @property
    def weight(self) -> torch.Tensor:
        return self.fc.weight  # (K, D)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        unit = F.normalize(features, dim=1)  # (N, D), each row of norm 1 (eps 1e-12 guards a zero row)
        return self.fc(unit) / self.temperature  # (N, D) @ (D, K) -> (N, K)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, num_classes={self.num_classes}, temperature={self.temperature}"


def negative_entropy(logits: torch.Tensor) -> torch.Tensor:
    """``mean_i sum_k p_ik log p_ik`` with ``p = softmax(logits)``: (N, K) -> scalar, in [-log K, 0].

    Usage::

        negative_entropy(torch.zeros(4, 3))       # -log 3: uniform predictions
    """
    log_p = F.log_softmax(logits, dim=1)  # (N, K)
    return (log_p.exp() * log_p).sum(1).mean()  # (N, K) -> (N,) -> scalar


def adentropy(classifier: nn.Module, features: torch.Tensor, lam: float = 0.1,
              eta: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """MME's adversarial entropy term on unlabeled features and the mean entropy it acts on.

    ``term = lam * mean_i sum_k p_ik log p_ik`` with ``p = softmax(classifier(GRL_eta(features)))``: its
    gradient w.r.t. the classifier is that of ``-lam * H`` (descending it raises the entropy); the gradient
    reaching ``features`` is multiplied by ``-eta`` (descending it lowers the entropy). ``eta`` = 1 as in the
    authors' ``adentropy``.

    Shapes: ``features`` (N, D) -> ``(term, entropy)``, two scalars; ``entropy`` (nats, mean over the batch)
    is detached, for logging.

    Usage::

        term, ent = adentropy(head, f_u, lam=0.1)     # term == -0.1 * ent (up to rounding)
    """
    logits = classifier(reverse_gradient(features, eta))  # (N, D) -> (N, D) reversed backward -> (N, K)
    neg_ent = negative_entropy(logits)  # scalar, = -mean entropy
    return lam * neg_ent, -neg_ent.detach()
