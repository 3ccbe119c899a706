"""SHOT: source hypothesis transfer, source-free adaptation by information maximisation and self-supervision.

Liang, Hu & Feng, "Do We Really Need to Access the Source Data? Source Hypothesis Transfer for Unsupervised
Domain Adaptation", ICML 2020 (reference code: github.com/tim-learn/SHOT).

Two stages:

- ``source`` (labeled source): the source model, cross-entropy with label smoothing ``label_smoothing``
  (0.1, as SHOT's source training). In a ``source_free`` task the runner leaves this stage out: the shipped
  source model is its result.
- ``adapt`` (``target_unlabeled``: target images only, never a source image nor a target label): the
  hypothesis (the classifier head) is frozen and the feature extractor learns

      loss = ent_weight * IM(logits_t) + cls_weight * CE(logits_t, pseudo_labels)

  with ``IM = mean_i H(p_i) - H(mean_i p_i)`` (``zoo.losses.information_max``) and SHOT's self-supervised
  pseudo-labels (weighted cosine centroids, one hard-label refinement round). Defaults ``cls_weight`` 0.3
  and ``ent_weight`` 1.0 are SHOT's ``cls_par`` and ``ent_par`` for digits and Office/Office-Home.

Deviations from the paper and its code:

- Pseudo-labels per batch. SHOT labels the whole target set once per epoch (``obtain_label`` over the
  test loader, networks in eval mode). An algorithm here sees batches, never a dataset, so the labels are
  computed for each batch (64 images in the suites) under ``torch.no_grad()`` from the current network in
  eval mode but with BatchNorm on the batch's statistics (see ``pseudo_labels``), just before the gradient
  step: the centroids are those of one batch, noisier than the
  dataset's, and a class absent from the batch gets no centroid.
- No bottleneck and no weight-normalised head: SHOT's source model is backbone -> Linear(D, 256) ->
  BatchNorm1d -> (dropout) -> weight-normed Linear(256, K), adapting backbone and bottleneck. Here the head
  is the base ``nn.Linear(D, K)`` on the backbone features, and the whole backbone adapts at the stage's
  learning rate (SHOT trains its backbone at 0.1x and its bottleneck at 1x, with SGD and a decaying lr).
- Plain cross-entropy on the pseudo-labels (unweighted, as SHOT); the source stage's cross-entropy uses
  the runner's class weights (``train.imbalance: class_weight``) like every built-in.

Shapes: ``x`` (N, C, H, W) -> features (N, D) -> logits (N, K); pseudo-labels (N,) long.

Usage::

    algo = SHOT(zoo.create_backbone("simple_cnn", in_chans=1, norm="batch"), num_classes=2)
    source, adapt = SHOT.stages(algo.hparams, 0.0)
    algo.set_stage(adapt)                                # freezes algo.classifier
    out = algo.training_step(None, (x_target, None))    # {"loss", "im", "ent", "div", "pseudo_ce", ...}
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from zoo.algorithms.base import Algorithm, Batch, HParam, Stage
from zoo.losses.information_max import information_maximization, shot_pseudo_labels


class SHOT(Algorithm):
    """Source training with label smoothing; source-free adaptation of the backbone against a frozen head."""

    PAPER = ("Liang, Hu & Feng, Do We Really Need to Access the Source Data? Source Hypothesis Transfer for "
             "Unsupervised Domain Adaptation, ICML 2020")
    SETTINGS = ("transfer", "source_free")
    HPARAMS = {
        "label_smoothing": HParam(0.1, ("uniform", 0.0, 0.3), "label smoothing of the source cross-entropy (SHOT: 0.1)",
                                  low=0, high=1, high_open=True),
        "cls_weight": HParam(0.3, ("uniform", 0.0, 1.0), "weight of the pseudo-label cross-entropy (SHOT's cls_par)",
                             low=0),
        "ent_weight": HParam(1.0, ("log", 0.1, 10.0), "weight of the information maximisation loss (SHOT's ent_par)",
                             low=0),
    }

    @classmethod
    def stages(cls, hparams: dict[str, Any], target_budget: float) -> list[Stage]:
        # a target label budget is never read: SHOT adapts on the target images alone
        return [Stage("source", "source"), Stage("adapt", "target_unlabeled")]

    def set_stage(self, stage: Stage) -> None:
        super().set_stage(stage)
        # the source hypothesis is frozen while adapting, trainable again for a source stage
        self.classifier.requires_grad_(stage.data != "target_unlabeled")

    def training_step(self, source_batch: Batch | None, target_batch: Batch | None) -> dict[str, torch.Tensor]:
        if self.stage is not None and self.stage.data == "target_unlabeled":
            return self._adapt_step(target_batch[0])  # target labels, if any, are never read
        x, y = source_batch[0], source_batch[1]  # (N, C, H, W), (N,)
        logits = self.predict(x)  # (N, K)
        loss = F.cross_entropy(logits, y, weight=self.class_weights, label_smoothing=self.hparams["label_smoothing"])
        return {"loss": loss, "acc": (logits.argmax(1) == y).float().mean().detach()}

    @torch.no_grad()
    def pseudo_labels(self, x: torch.Tensor) -> torch.Tensor:
        """SHOT's self-supervised labels of the batch ``x`` (N, C, H, W) -> (N,), from the network in eval mode
        (as SHOT's ``obtain_label``: no dropout) except BatchNorm, which normalises with the batch's statistics
        without updating its running ones; every module's mode and every BatchNorm buffer is restored after.

        Why batch statistics: the gradient step that follows normalises this batch with its own statistics,
        so the labels describe the network being trained. With the running (source) statistics, a source model
        that a strong shift turns into a constant predictor (X-ray, noise severity 4: every image 'pneumonia')
        gives one pseudo-label to every image, and the cross-entropy on them pulls towards that collapse.
        """
        modes = [(m, m.training) for m in self.modules()]
        norms = [m for m in self.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        saved = [(m.momentum, None if m.num_batches_tracked is None else m.num_batches_tracked.clone()) for m in norms]
        self.eval()
        for m in norms:
            m.train()
            m.momentum = 0.0  # running = (1 - 0) * running + 0 * batch: the running statistics stay as they are
        try:
            features = self.features(x)  # (N, D)
            probs = self.classifier(features).softmax(1)  # (N, K)
            return shot_pseudo_labels(features, probs)  # (N,)
        finally:
            for module, mode in modes:
                module.training = mode
            for m, (momentum, count) in zip(norms, saved):
                m.momentum = momentum
                if count is not None:
                    m.num_batches_tracked.copy_(count)

    def _adapt_step(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        cls_weight, ent_weight = self.hparams["cls_weight"], self.hparams["ent_weight"]
        labels = self.pseudo_labels(x) if cls_weight > 0 else None  # (N,), before the gradient forward
        logits = self.predict(x)  # (N, C, H, W) -> (N, D) -> (N, K); the head is frozen, the backbone learns
        im = information_maximization(logits)
        out = {"im": im.loss.detach(), "ent": im.ent.detach(), "div": im.div.detach()}
        loss = ent_weight * im.loss
        if labels is not None:
            pseudo_ce = F.cross_entropy(logits, labels)
            loss = loss + cls_weight * pseudo_ce
            out["pseudo_ce"] = pseudo_ce.detach()
            # share of the batch whose pseudo-label is the network's own prediction (label-free, loggable)
            out["pseudo_agree"] = (logits.argmax(1) == labels).float().mean().detach()
        return {"loss": loss, **out}
