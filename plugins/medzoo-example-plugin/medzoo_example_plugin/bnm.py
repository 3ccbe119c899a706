"""BNM: batch nuclear-norm maximisation on the unlabeled target predictions.

Cui, Wang, Zhuo, Li, Huang & Tian, "Towards Discriminability and Diversity: Batch Nuclear-norm
Maximization under Label Insufficient Situations", CVPR 2020. With ``A`` the (B, K) softmax predictions
of a target batch, maximising the nuclear norm ``||A||_*`` (the sum of its singular values) raises both
the confidence of each prediction (discriminability) and the rank of ``A``, i.e. how many classes the
batch is spread over (diversity), so minority classes are not absorbed by the majority ones as plain
entropy minimisation tends to do. Loss: ``CE(source) - weight * ||A||_* / B`` (the paper's Eq. 8).

medzoo's contract only: no ``.to(device)``, no ``backward()``, no optimizer; the runner does those.

Usage::

    algo = BNM(zoo.create_backbone("tiny_cnn", in_chans=3), num_classes=2, hparams={"weight": 1.0})
    out = algo.training_step((x_s, y_s), (x_t, None))      # loss, ce, bnm (the batch nuclear norm / B), acc
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from zoo.algorithms import Algorithm, HParam, Stage


def batch_nuclear_norm(logits: torch.Tensor) -> torch.Tensor:
    """``||softmax(logits)||_* / B`` of (B, K) logits: a scalar in (0, sqrt(min(B, K)) / sqrt(B)]."""
    probs = F.softmax(logits, dim=1)  # (B, K)
    return torch.linalg.svdvals(probs).sum() / len(probs)  # min(B, K) singular values -> scalar


class BNM(Algorithm):
    """Source cross-entropy + maximisation of the batch nuclear norm of target predictions (Cui et al. 2020)."""

    PAPER = ("Cui et al., Towards Discriminability and Diversity: Batch Nuclear-norm Maximization under Label "
             "Insufficient Situations, CVPR 2020")
    HPARAMS = {
        # valid values next to the default and search space: medzoo refuses a negative or nan weight itself
        "weight": HParam(1.0, ("log", 0.05, 5.0), "trade-off weight (lambda) of the nuclear-norm term; 0: source only",
                         low=0),
    }

    @classmethod
    def stages(cls, hparams: dict[str, Any], target_budget: float) -> list[Stage]:
        # Unsupervised adaptation: target labels are never read, whatever the task's budget.
        return [Stage("adapt", "source+target_unlabeled")]

    def training_step(self, source_batch, target_batch) -> dict[str, torch.Tensor]:
        x_s, y_s, x_t = source_batch[0], source_batch[1], target_batch[0]
        features = self.features(torch.cat([x_s, x_t]))  # (N_s + N_t, D): BatchNorm sees both domains
        logits = self.classifier(features)  # (N_s + N_t, K)
        logits_s, logits_t = logits[: len(x_s)], logits[len(x_s):]
        ce = self.cross_entropy(logits_s, y_s)
        bnm = batch_nuclear_norm(logits_t)
        return {
            "loss": ce - self.hparams["weight"] * bnm,
            "ce": ce.detach(),
            "bnm": bnm.detach(),
            "acc": (logits_s.argmax(1) == y_s).float().mean().detach(),
        }
