"""Last-k blocks: fine-tune only the top ``k`` blocks of the backbone (and the head); the rest stays frozen.

Yosinski et al., "How transferable are features in deep neural networks?", NeurIPS 2014: lower layers are
general, upper layers specific, so with few target labels retraining only the top transfers best. Blocks
are ``backbone.blocks()`` (a ResNet: stem, layer1..layer4; simple_cnn: three conv blocks, dense).
``k`` larger than the number of blocks is a one-line error when the model is built, before training.

Usage::

    algo = LastK(zoo.create_backbone("resnet18_28"), num_classes=2, hparams={"k": 2})   # layer3, layer4
"""

from __future__ import annotations

from typing import Any

from zoo.algorithms.base import HParam, Stage
from zoo.algorithms.strategy import FinetuneStrategy


class LastK(FinetuneStrategy):
    """The top ``k`` backbone blocks and the head train; the blocks below are frozen."""

    PAPER = "Yosinski et al., How transferable are features in deep neural networks?, NeurIPS 2014"
    HPARAMS = {"k": HParam(1, ("int", 1, 5), "number of top backbone blocks that train (blocks())", low=1)}

    def trainable(self, stage: Stage) -> Any:
        return f"last:{self.hparams['k']}"
