"""The shared shape of unsupervised domain adaptation: source cross-entropy + weight x an alignment loss.

One stage on labeled source + unlabeled target batches, one loss, one optimizer (adversarial methods use
gradient reversal, never alternating optimizers). Target labels are never used: on a task with a target
label budget the method still trains on the target images only (the budget's labels are only used for
model selection if the suite asks for ``target_val``). Several source domains are concatenated and treated
as one source by every method here except M3SDA, which matches moments across them.

A subclass writes ``alignment(f_s, logits_s, f_t, logits_t, source_batch) -> dict`` whose ``"loss"`` is the
unweighted alignment term; other entries are logged. Source and target go through the backbone in one batch
(as in TLlib), so BatchNorm backbones see both domains in training.

Learning rates: backbone, head and any extra module (discriminator) at the base rate by default
(``backbone_lr_mult=1``); with a pretrained backbone the usual choice (DANN, TLlib) is ``backbone_lr_mult=0.1``.

Usage::

    class MyAlign(AdaptationAlgorithm):
        def alignment(self, f_s, logits_s, f_t, logits_t, source_batch):
            return {"loss": (f_s.mean(0) - f_t.mean(0)).pow(2).sum()}
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from zoo.algorithms.base import Algorithm, Batch, HParam, Stage
from zoo.errors import ConfigError

UDA_HPARAMS = {
    "weight": HParam(1.0, ("log", 0.01, 10.0), "trade-off weight (lambda) of the alignment loss; 0 = source only"),
    "backbone_lr_mult": HParam(1.0, ("log", 0.01, 1.0), "backbone lr multiplier (0.1 is usual when pretrained)"),
}


def check_number(hparams: dict[str, Any], name: str, owner: str, low: float = 0.0, strict: bool = False) -> None:
    """Raise a one-line ``ConfigError`` unless ``hparams[name]`` is a finite number >= ``low`` (> if strict)."""
    value = hparams[name]
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < low or (strict and value == low):
        bound = f"> {low:g}" if strict else f">= {low:g}"
        raise ConfigError(f"hyperparameter '{name}' of {owner} must be a finite number {bound}, got {value!r}")


class AdaptationAlgorithm(Algorithm):
    """Base of the UDA methods: one ``source+target_unlabeled`` stage, ``ce + weight * alignment``."""

    HPARAMS = UDA_HPARAMS

    @classmethod
    def validate_hparams(cls, hparams: dict[str, Any]) -> None:
        check_number(hparams, "weight", cls.__name__)
        check_number(hparams, "backbone_lr_mult", cls.__name__, strict=True)

    def stages(self, target_budget: float) -> list[Stage]:
        return [Stage("adapt", "source+target_unlabeled")]

    def alignment(self, f_s, logits_s, f_t, logits_t, source_batch: Batch) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def training_step(self, source_batch: Batch | None, target_batch: Batch | None) -> dict[str, torch.Tensor]:
        x_s, y_s, x_t = source_batch[0], source_batch[1], target_batch[0]  # target labels never read
        f = self.features(torch.cat([x_s, x_t]))  # (N_s + N_t, D)
        f_s, f_t = f[: len(x_s)], f[len(x_s):]
        logits_s, logits_t = self.classifier(f_s), self.classifier(f_t)  # (N_s, K), (N_t, K)
        ce = F.cross_entropy(logits_s, y_s)
        terms = self.alignment(f_s, logits_s, f_t, logits_t, source_batch)
        align = terms.pop("loss")
        return {
            "loss": ce + self.hparams["weight"] * align,
            "ce": ce.detach(),
            "align": align.detach(),
            "acc": (logits_s.argmax(1) == y_s).float().mean().detach(),
            **{k: v.detach() for k, v in terms.items()},
        }

    def extra_modules(self) -> dict[str, torch.nn.Module]:
        """Trainable modules besides backbone and head (e.g. ``{"discriminator": ...}``), a group each at lr x1."""
        return {}

    def param_groups(self) -> list[dict[str, Any]]:
        groups = super().param_groups()
        groups[0]["lr_mult"] = self.hparams["backbone_lr_mult"]  # groups[0] is the backbone
        for name, module in self.extra_modules().items():
            groups.append({"params": [p for p in module.parameters() if p.requires_grad], "lr_mult": 1.0, "name": name})
        return groups
