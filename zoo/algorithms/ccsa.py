"""CCSA: supervised few-shot adaptation by contrastive semantic alignment (a Siamese network).

Motiian, Piccirilli, Adjeroh & Doretto, "Unified Deep Supervised Domain Adaptation and Generalization",
ICCV 2017. Source and the few labeled target images share one network; every source x target pair in
a step pulls same-class embeddings together and pushes different-class ones past a margin
(``zoo.losses.contrastive``). One stage, data ``source+target_labeled`` (a task with target_budget > 0):

    loss = CE(h(g(x_s)), y_s) + target_weight * CE(h(g(x_t)), y_t) + alpha * (alignment + separation)

The embedding ``g`` is the backbone's feature vector (N, D), the very input of the classifier ``h``, as in
the paper (the alignment acts on the layer the classifier reads), L2-normalised when ``normalize`` (the
default). A separate projection head was rejected: it can absorb the invariance (as in SimCLR) and leave
the features the classifier uses unaligned. Verification uses the same ``embed``: a pair is predicted
"same class" when its distance is below a threshold (``verify_pairs``; held-out metrics in
``zoo.metrics_pairs``). Defaults margin 1 and alpha 0.25 are the values common with the authors' released
code, which weighs ``(1 - alpha) * CE + alpha * CSA``; here the cross-entropies keep weight 1.

Usage::

    algo = CCSA(zoo.create_backbone("simple_cnn"), num_classes=2, hparams={"alpha": 0.25, "margin": 1.0})
    out = algo.training_step((x_s, y_s), (x_t, y_t))   # {"loss", "ce_source", "ce_target", "alignment", ...}
    same = verify_pairs(algo.embed(x_a), algo.embed(x_b), threshold=0.8)   # (P,) bool
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from zoo.algorithms.base import Algorithm, Batch, HParam, Stage
from zoo.errors import ConfigError
from zoo.losses.contrastive import contrastive_terms, pair_distances


def _check_budget(target_budget: float) -> None:
    """One-line ``ConfigError`` for a task CCSA cannot train on (no labeled target images to pair with)."""
    if target_budget <= 0:
        raise ConfigError(
            "ccsa needs labeled target data (it pairs source with labeled target images) but the task's "
            "target_budget is 0; set target_budget > 0, or use an unsupervised method such as cotraining"
        )


def verify_pairs(embeddings_a: torch.Tensor, embeddings_b: torch.Tensor, threshold: float) -> torch.Tensor:
    """Pair verification: row ``i`` of ``a`` and of ``b`` (both (P, D)) are "same class" iff distance < threshold.

    Usage::

        verify_pairs(torch.zeros(2, 3), torch.tensor([[0.1, 0, 0], [2.0, 0, 0]]), 0.5)   # tensor([True, False])
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
        raise ConfigError(f"pair verification threshold must be a finite number, got {threshold!r}")
    if embeddings_a.shape != embeddings_b.shape:
        raise ValueError(f"pairs need equal shapes, got {tuple(embeddings_a.shape)} and {tuple(embeddings_b.shape)}")
    return pair_distances(embeddings_a, embeddings_b) < threshold  # (P,) bool


class CCSA(Algorithm):
    """Cross-entropy on source and labeled target plus contrastive semantic alignment of their features."""

    PAPER = "Motiian et al., Unified Deep Supervised Domain Adaptation and Generalization, ICCV 2017"
    ALIGNMENT_WEIGHT = "alpha"  # the twin keeps both cross-entropies, no semantic alignment/separation
    HPARAMS = {
        "alpha": HParam(0.25, ("log", 0.01, 10.0), "weight of the alignment + separation terms", low=0),
        "target_weight": HParam(1.0, ("log", 0.1, 10.0), "weight of the labeled-target cross-entropy", low=0),
        "margin": HParam(1.0, ("uniform", 0.1, 2.0), "separation margin on the embedding distance (>= 0)", low=0),
        "normalize": HParam(True, [True, False], "L2-normalise embeddings (distances in [0, 2])"),
        "max_pairs": HParam(0, ("int", 0, 65536), "pairs per step, sampled; 0 = all source x target pairs", low=0),
    }

    @classmethod
    def stages(cls, hparams: dict[str, Any], target_budget: float) -> list[Stage]:
        _check_budget(target_budget)
        return [Stage("train", "source+target_labeled")]

    @property
    def verification_threshold(self) -> float:
        """Distance below which a pair is "same class": half the margin (same-class pairs are pulled to 0,
        different-class ones pushed past the margin). Read by ``zoo.runner.extra_eval``."""
        return self.hparams["margin"] / 2

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The embedding the alignment acts on and verification measures: (N, C, H, W) -> (N, D)."""
        z = self.features(x)
        return F.normalize(z, dim=1) if self.hparams["normalize"] else z

    def training_step(self, source_batch: Batch | None, target_batch: Batch | None) -> dict[str, torch.Tensor]:
        (x_s, y_s), (x_t, y_t) = source_batch, target_batch  # (N_s, C, H, W), (N_s,); (N_t, ...), (N_t,)
        n_s = len(x_s)
        feats = self.features(torch.cat([x_s, x_t]))  # one pass (N_s + N_t, D): shared weights, one BN batch
        logits = self.classifier(feats)  # (N_s + N_t, K)
        ce_source = self.cross_entropy(logits[:n_s], y_s)
        ce_target = self.cross_entropy(logits[n_s:], y_t)
        hp = self.hparams
        terms = contrastive_terms(feats[:n_s], y_s, feats[n_s:], y_t, margin=hp["margin"],
                                  normalize=hp["normalize"], max_pairs=hp["max_pairs"] or None)
        csa = terms["alignment"] + terms["separation"]
        loss = ce_source + hp["target_weight"] * ce_target + hp["alpha"] * csa
        return {
            "loss": loss,
            "ce_source": ce_source.detach(),
            "ce_target": ce_target.detach(),
            "alignment": terms["alignment"].detach(),
            "separation": terms["separation"].detach(),
            "same_pair_fraction": terms["same_pair_fraction"],
            "acc_source": (logits[:n_s].argmax(1) == y_s).float().mean().detach(),
            "acc_target": (logits[n_s:].argmax(1) == y_t).float().mean().detach(),
        }
