"""Layer-wise learning-rate decay: the head at the base rate, each block below at ``decay`` times the one above.

Howard & Ruder, ULMFiT (ACL 2018, "discriminative fine-tuning"); Clark et al., ELECTRA (ICLR 2020) and
Bao et al., BEiT (ICLR 2022) for vision. With ``backbone.blocks()`` = b_1 .. b_L (input -> output), block
b_l learns at ``lr * decay ** (L - l + 1)`` and the head at ``lr``: the lowest, most general layers move least.

Usage::

    algo = LayerwiseLRDecay(zoo.create_backbone("resnet18_28"), 2, {"decay": 0.5})
    [g["lr_mult"] for g in algo.param_groups()]   # [1.0 (head), 0.5 (layer4), 0.25 (layer3), ...]
"""

from __future__ import annotations

from typing import Any

from zoo.algorithms.base import HParam
from zoo.algorithms.freezing import block_depths
from zoo.algorithms.strategy import FinetuneStrategy


class LayerwiseLRDecay(FinetuneStrategy):
    """All layers train; learning rates decay geometrically from the head down."""

    PAPER = "Howard & Ruder, Universal Language Model Fine-tuning for Text Classification, ACL 2018"
    HPARAMS = {"decay": HParam(0.5, ("uniform", 0.1, 1.0), "lr ratio between a block and the one above it",
                               low=0, low_open=True, high=1)}

    def param_groups(self) -> list[dict[str, Any]]:
        depths = block_depths(self.backbone)  # id(param) -> 0 for the top block, 1 below, ...
        by_depth: dict[int, list] = {}
        for p in self.backbone.parameters():
            if p.requires_grad:
                by_depth.setdefault(depths[id(p)], []).append(p)
        decay = self.hparams["decay"]
        groups = [{"params": [p for p in self.classifier.parameters() if p.requires_grad], "lr_mult": 1.0,
                   "name": "head"}]
        for depth in sorted(by_depth):
            groups.append({"params": by_depth[depth], "lr_mult": decay ** (depth + 1),
                           "name": f"backbone-depth{depth}"})
        return groups
