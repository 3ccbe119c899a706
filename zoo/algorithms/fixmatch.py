"""FixMatch for semi-supervised domain adaptation: confident weak-view pseudo-labels teach a strong view.

Sohn et al., "FixMatch: Simplifying Semi-Supervised Learning with Consistency and Confidence", NeurIPS 2020
(reference code: github.com/google-research/fixmatch, github.com/kekmodel/FixMatch-pytorch), used as a
semi-supervised domain adaptation method as in the SSDA literature: the labeled set is the labeled source
plus the target's label budget, the unlabeled set is the rest of the target. One ``source+target_semi`` stage
whose ``strong_augment`` is ``randaugment``; the target batch is ``(x_l, y_l, x_u, x_u_strong)``:

    loss = CE(f([x_s; x_l]), [y_s; y_l])                                  # labeled source and target
         + lambda_u * (1 / N_u) sum_i mask_i CE(f(x_u_strong)_i, yhat_i)  # zoo.losses.fixmatch
    yhat_i = argmax softmax(f(x_u)_i),  mask_i = [max softmax(f(x_u)_i) >= threshold]   (no gradient)

The weak view is the unlabeled batch as the runner gives it (the suite's ``train.augment``, as for every
training batch), the strong view is the same images under RandAugment (``zoo.augment``, applied by the
runner before normalisation). All four parts go through the network in one forward pass, as in the
reference implementations, so BatchNorm layers (if any) see labeled, weak and strong images together.
Logged, detached: ``ce``, ``consistency`` (the unweighted term), ``mask_rate`` (share of confident
unlabeled samples). It needs labeled target images: a task with ``target_budget`` 0 is refused in one line.

Differences from the paper: its strong augmentation is RandAugment with a random magnitude per sample
followed by Cutout; here it is the zoo's ``randaugment`` policy (2 ops at magnitude 9 of 31, one op draw per
chunk of the batch) without Cutout. The paper's weak view is flip-and-translate; here whatever the suite's
``train.augment`` is. The ratio of unlabeled to labeled batch size (``mu`` = 7), SGD with Nesterov momentum,
the cosine lr decay, weight decay and the EMA of the weights used for evaluation belong to the runner (no
EMA here). No sharpening temperature (the paper's hard labels, kekmodel's ``T`` = 1).

Usage::

    algo = FixMatch(zoo.create_backbone("simple_cnn", in_chans=1), num_classes=3, hparams={"threshold": 0.9})
    FixMatch.stages(algo.hparams, 0.1)      # [Stage('adapt', 'source+target_semi', strong_augment='randaugment')]
    out = algo.training_step((x_s, y_s), (x_l, y_l, x_u, x_u_strong))   # {"loss", "ce", "consistency", ...}
"""

from __future__ import annotations

from typing import Any

import torch

from zoo.algorithms.base import Algorithm, Batch, HParam, Stage
from zoo.algorithms.mme import labeled_batch
from zoo.errors import ConfigError
from zoo.losses.fixmatch import fixmatch_consistency

STRONG_AUGMENT = "randaugment"


class FixMatch(Algorithm):
    """Labeled CE + confidence-masked pseudo-label consistency between a weak and a strong target view."""

    PAPER = "Sohn et al., FixMatch: Simplifying Semi-Supervised Learning with Consistency and Confidence, NeurIPS 2020"
    SETTINGS = ("semi_supervised", "transfer")
    ALIGNMENT_WEIGHT = "lambda_u"  # the twin trains on the same labeled batches, no consistency term
    HPARAMS = {
        "threshold": HParam(0.95, ("uniform", 0.7, 0.99), "confidence a weak-view prediction needs to become a "
                            "pseudo-label, in [0, 1] (1: none)", low=0, high=1),
        "lambda_u": HParam(1.0, ("log", 0.1, 10.0), "weight of the unlabeled consistency term", low=0),
    }

    @classmethod
    def stages(cls, hparams: dict[str, Any], target_budget: float) -> list[Stage]:
        if target_budget <= 0:
            raise ConfigError("fixmatch needs labeled target images (semi-supervised adaptation): give the task a "
                              "target_budget > 0, or use an unsupervised method such as dann")
        return [Stage("adapt", "source+target_semi", strong_augment=STRONG_AUGMENT)]

    def training_step(self, source_batch: Batch | None, target_batch: Batch | None) -> dict[str, torch.Tensor]:
        x_l, y_l, x_u, x_u_strong = target_batch  # labeled budget, unlabeled weak view, its strong view
        x, y = labeled_batch(source_batch, x_l, y_l)  # (N_lab, C, H, W), (N_lab,) with N_lab = N_s + N_l
        logits = self.predict(torch.cat([x, x_u, x_u_strong]))  # (N_lab + 2 N_u, K): one forward pass
        logits_lab = logits[: len(x)]  # (N_lab, K)
        logits_weak, logits_strong = logits[len(x):].chunk(2)  # (N_u, K) each
        ce = self.cross_entropy(logits_lab, y)
        consistency, mask_rate = fixmatch_consistency(logits_weak, logits_strong, self.hparams["threshold"])
        return {
            "loss": ce + self.hparams["lambda_u"] * consistency,
            "ce": ce.detach(),
            "consistency": consistency.detach(),
            "mask_rate": mask_rate,
            "acc": (logits_lab.argmax(1) == y).float().mean().detach(),
        }
