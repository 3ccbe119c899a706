"""The shared shape of unsupervised domain adaptation: source cross-entropy + weight x an alignment loss.

Common ground of the methods in this family (DANN, Ganin et al. JMLR 2016; DAN, Long et al. ICML 2015;
CDAN, Long et al. NeurIPS 2018; MCC, Jin et al. ECCV 2020; as implemented together in TLlib, Jiang et al.,
"Transferability in Deep Learning: A Survey", 2022). One stage on labeled source + unlabeled target
batches, one loss, one optimizer (adversarial methods use gradient reversal, never alternating optimizers).
Target labels are never used: on a task with a target label budget the method still trains on the target
images only (the budget's labels are only used for model selection if the suite asks for ``target_val``).
Several source domains are concatenated and treated as one source by every method here except M3SDA, which
matches moments across them (``SOURCE_DOMAINS = True``: its source batches are ``(x, y, d)``).

Bottleneck (``bottleneck_dim``): with ``b > 0`` the head reads ``backbone -> Linear(D, b) -> BatchNorm1d(b)
-> ReLU`` and the alignment acts on that layer, as in DANN's Office experiments and TLlib's
``ImageClassifier`` (``b = 256``); with 0 the alignment acts on the backbone features (the layer every
backbone has, as in DomainBed). Default 0 for the moment-matching methods (CORAL, DAN, MCC, M3SDA), which
then differ from ``source_only`` by their alignment loss alone; 256 for the adversarial ones (DANN, CDAN),
which need it. Why: the domain discriminator's BatchNorm divides the gradient it sends back by the spread
of its input. On raw features of a from-scratch CNN (norm ~1 at init) the reversed gradient on the backbone
was 3-4x the cross-entropy gradient (0.6-0.8x with the bottleneck; simple_cnn, synthetic shift), Adam
followed it and DANN collapsed the source classifier (with ``bottleneck_dim: 0`` on the task of
tests/algorithms/test_synthetic_shift.py: source accuracy 33% in 2 of 3 seeds, target 35%); later, with
feature norms ~100, the discriminator saturates instead. The bottleneck's BatchNorm keeps the aligned
features at unit scale. It is not neutral: on that synthetic shift the bottleneck alone (alignment weight
0) lifts target accuracy from ~40% to ~97%, so compare an adversarial method with its own ``weight: 0``
run, not only with ``source_only``. ``features(x)`` returns the layer the head reads, so ``predict`` and
feature tools see the adapted representation.

A subclass writes ``alignment(f_s, logits_s, f_t, logits_t, source_batch) -> dict`` whose ``"loss"`` is the
unweighted alignment term; other entries are logged. Source and target go through the network in one batch
(as in TLlib), so BatchNorm layers see both domains in training. Shapes: ``f_s`` (N_s, F), ``f_t`` (N_t, F)
with ``F = self.features_dim``; ``logits_*`` (N, K).

Learning rates: backbone at ``backbone_lr_mult`` x the base rate (1 by default; 0.1 is the usual choice
with a pretrained backbone, as DANN and TLlib do); bottleneck, head and any extra module (discriminator) x1.

Usage::

    class MyAlign(AdaptationAlgorithm):
        def alignment(self, f_s, logits_s, f_t, logits_t, source_batch):
            return {"loss": (f_s.mean(0) - f_t.mean(0)).pow(2).sum()}
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from zoo.algorithms.base import Algorithm, Batch, HParam, Stage

UDA_HPARAMS = {
    "weight": HParam(1.0, ("log", 0.01, 10.0), "trade-off weight (lambda) of the alignment loss; 0 = source only",
                     low=0),
    "backbone_lr_mult": HParam(1.0, ("log", 0.01, 1.0), "backbone lr multiplier (0.1 is usual when pretrained)",
                               low=0, low_open=True),
    "bottleneck_dim": HParam(0, ("int", 0, 1024), "width of a Linear-BatchNorm-ReLU layer to align (0: none)", low=0),
}


class AdaptationAlgorithm(Algorithm):
    """Base of the UDA methods: one ``source+target_unlabeled`` stage, ``ce + weight * alignment``."""

    HPARAMS = UDA_HPARAMS
    ALIGNMENT_WEIGHT = "weight"  # its weight-0 twin (dann@w0) keeps the architecture and mixed batches

    def __init__(self, backbone, num_classes: int, hparams: dict[str, Any] | None = None) -> None:
        super().__init__(backbone, num_classes, hparams)
        width = self.hparams["bottleneck_dim"]
        self.features_dim = width or backbone.num_features  # F: what alignment losses and the head see
        self.bottleneck: nn.Module = nn.Identity()
        if width:
            self.bottleneck = nn.Sequential(nn.Linear(backbone.num_features, width), nn.BatchNorm1d(width), nn.ReLU())
            self.classifier = nn.Linear(width, num_classes)  # the head reads the bottleneck

    @classmethod
    def stages(cls, hparams: dict[str, Any], target_budget: float) -> list[Stage]:
        return [Stage("adapt", "source+target_unlabeled")]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.bottleneck(self.backbone.forward_features(x))  # (N, C, H, W) -> (N, D) -> (N, F)

    def alignment(self, f_s, logits_s, f_t, logits_t, source_batch: Batch) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def training_step(self, source_batch: Batch | None, target_batch: Batch | None) -> dict[str, torch.Tensor]:
        x_s, y_s, x_t = source_batch[0], source_batch[1], target_batch[0]  # target labels never read
        f = self.features(torch.cat([x_s, x_t]))  # (N_s + N_t, F): one batch, BatchNorm sees both domains
        f_s, f_t = f[: len(x_s)], f[len(x_s):]
        logits_s, logits_t = self.classifier(f_s), self.classifier(f_t)  # (N_s, K), (N_t, K)
        ce = self.cross_entropy(logits_s, y_s)
        terms = self.alignment(f_s, logits_s, f_t, logits_t, source_batch)
        align = terms.pop("loss")
        return {
            "loss": ce + self.hparams["weight"] * align,
            "ce": ce.detach(),
            "align": align.detach(),
            "acc": (logits_s.argmax(1) == y_s).float().mean().detach(),
            **{k: v.detach() for k, v in terms.items()},
        }

    def extra_modules(self) -> dict[str, nn.Module]:
        """Trainable modules besides backbone, bottleneck and head (e.g. ``{"discriminator": ...}``), lr x1 each."""
        return {}

    def param_groups(self) -> list[dict[str, Any]]:
        groups = super().param_groups()
        groups[0]["lr_mult"] = self.hparams["backbone_lr_mult"]  # groups[0] is the backbone
        modules = {"bottleneck": self.bottleneck, **self.extra_modules()}
        for name, module in modules.items():
            params = [p for p in module.parameters() if p.requires_grad]
            if params:
                groups.append({"params": params, "lr_mult": 1.0, "name": name})
        return groups
