"""Co-training for unsupervised domain adaptation: two heads pseudo-label the target for each other.

Blum & Mitchell, "Combining Labeled and Unlabeled Data with Co-Training", COLT 1998, adapted to deep
adaptation as in Saito, Ushiku & Harada, "Asymmetric Tri-training for Unsupervised Domain Adaptation"
(ATDA), ICML 2017: two classifier heads ``h1, h2`` (linear) on one shared backbone ``g`` -- the two
"views" are the two heads, kept apart by a weight-orthogonality term, not two input views. Unlike ATDA
there is no third, target-only head: the two heads teach each other (co-training), so predict() needs
nothing else. Stage data ``source+target_unlabeled``; target labels are never read.

    loss = CE(h1(g(x_s)), y_s) + CE(h2(g(x_s)), y_s)                           # both heads learn the source
         + pseudo_weight * cross_teaching(h1(g(x_t)), h2(g(x_t)); tau)           # zoo.losses.pseudo_label
         + diversity_weight * mean |cos(W1_i, W2_j)|                             # heads stay different

A target sample is pseudo-labeled only where both heads predict the same class and both softmax
confidences are >= tau; head 1 is trained on head 2's label and vice versa. Early in training no head is
confident, so the mask is empty and the step is plain source training: an implicit warm-up
(``warmup_epochs`` > 0 adds an explicit source-only stage before). ``predict`` returns the log of the
mean of the two heads' softmax probabilities, a valid logit vector whose softmax is that mean.

Logged: ``pl_fraction`` (share of the target batch pseudo-labeled) and ``agreement`` (share where the
heads' argmax agree). Pseudo-label *accuracy* is not logged: it would need the target labels, which an
unsupervised method never sees.

Usage::

    algo = CoTraining(zoo.create_backbone("simple_cnn"), num_classes=2, hparams={"tau": 0.9})
    out = algo.training_step((x_s, y_s), (x_t, None))   # {"loss", "pl_fraction", "agreement", ...}
    logits = algo.predict(x)                            # (N, K) log mean probability of the two heads
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from zoo.algorithms.base import Algorithm, Batch, HParam, Stage
from zoo.losses.pseudo_label import agreement_pseudo_labels, cross_teaching_loss, head_diversity


class CoTraining(Algorithm):
    """Two heads on one backbone, trained on source, cross-teaching on confident agreed target labels."""

    PAPER = ("Blum & Mitchell, Combining Labeled and Unlabeled Data with Co-Training, COLT 1998; "
             "Saito et al., Asymmetric Tri-training for Unsupervised Domain Adaptation, ICML 2017")
    ALIGNMENT_WEIGHT = "pseudo_weight"  # the twin keeps two heads and their diversity term, no cross-teaching
    HPARAMS = {
        "tau": HParam(0.9, ("uniform", 0.5, 0.99), "confidence both heads need to pseudo-label, in (0, 1)",
                      low=0, low_open=True, high=1, high_open=True),
        "pseudo_weight": HParam(1.0, ("log", 0.1, 10.0), "weight of the cross-teaching loss on target", low=0),
        "diversity_weight": HParam(0.1, ("log", 0.001, 10.0), "weight of the head-orthogonality term", low=0),
        "warmup_epochs": HParam(0, ("int", 0, 50), "source-only epochs before co-training (0: none)", low=0),
    }

    def __init__(self, backbone, num_classes: int, hparams: dict[str, Any] | None = None) -> None:
        super().__init__(backbone, num_classes, hparams)  # validates the hyperparameters
        self.classifier2 = nn.Linear(backbone.num_features, num_classes)  # head 2; head 1 is self.classifier

    @classmethod
    def stages(cls, hparams: dict[str, Any], target_budget: float) -> list[Stage]:
        # target labels, if the task has any, are not used
        warmup = hparams["warmup_epochs"]
        cotrain = [Stage("cotrain", "source+target_unlabeled")]
        return ([Stage("warmup", "source", epochs=warmup)] if warmup else []) + cotrain

    def param_groups(self) -> list[dict[str, Any]]:
        heads = [*self.classifier.parameters(), *self.classifier2.parameters()]
        return [
            {"params": [p for p in self.backbone.parameters() if p.requires_grad], "lr_mult": 1.0, "name": "backbone"},
            {"params": [p for p in heads if p.requires_grad], "lr_mult": 1.0, "name": "heads"},
        ]

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.features(x)  # (N, D)
        log_p = torch.stack([F.log_softmax(self.classifier(feats), 1), F.log_softmax(self.classifier2(feats), 1)])
        return torch.logsumexp(log_p, dim=0) - math.log(2.0)  # (N, K) log((p1 + p2) / 2)

    def training_step(self, source_batch: Batch | None, target_batch: Batch | None) -> dict[str, torch.Tensor]:
        x_s, y_s = source_batch  # (N_s, C, H, W), (N_s,)
        n_s = len(x_s)
        x = x_s if target_batch is None else torch.cat([x_s, target_batch[0]])  # target labels never read
        feats = self.features(x)  # (N_s [+ N_t], D)
        logits1, logits2 = self.classifier(feats), self.classifier2(feats)  # (N, K) each
        ce1, ce2 = self.cross_entropy(logits1[:n_s], y_s), self.cross_entropy(logits2[:n_s], y_s)
        diversity = head_diversity(self.classifier.weight, self.classifier2.weight)
        hp = self.hparams
        loss = ce1 + ce2 + hp["diversity_weight"] * diversity
        mean_prob = (logits1[:n_s].softmax(1) + logits2[:n_s].softmax(1)) / 2
        out = {
            "ce_head1": ce1.detach(),
            "ce_head2": ce2.detach(),
            "diversity": diversity.detach(),
            "acc_source": (mean_prob.argmax(1) == y_s).float().mean().detach(),
        }
        if target_batch is not None:
            t1, t2 = logits1[n_s:], logits2[n_s:]  # (N_t, K)
            labels = agreement_pseudo_labels(t1, t2, hp["tau"])
            cross = cross_teaching_loss(t1, t2, labels)
            loss = loss + hp["pseudo_weight"] * cross
            out.update(cross_teaching=cross.detach(), pl_fraction=labels.mask.float().mean(),
                       agreement=labels.agree.float().mean())
        return {"loss": loss, **out}
