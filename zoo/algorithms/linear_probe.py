"""Linear probe: a new linear head on the frozen network's features, which are computed once and cached.

Kornblith, Shlens & Le, "Do Better ImageNet Models Transfer Better?", CVPR 2019 (logistic regression on
fixed features); the probe of Kumar et al. 2022. One ``features`` stage: the runner runs the backbone
once over the labeled target images (eval mode, no augmentation) and trains only the head on the cached
(N, D) features, so every epoch after the first costs a matrix product.

Usage::

    algo = LinearProbe(backbone, num_classes=2)
    LinearProbe.stages(algo.hparams, 0.1)    # [Stage('probe', 'target_labeled', features=True)]
"""

from __future__ import annotations

from typing import Any

from zoo.algorithms.base import Stage
from zoo.algorithms.strategy import FinetuneStrategy


class LinearProbe(FinetuneStrategy):
    """Head only, on cached features."""

    PAPER = "Kornblith, Shlens & Le, Do Better ImageNet Models Transfer Better?, CVPR 2019"

    @classmethod
    def target_stages(cls, hparams: dict[str, Any]) -> list[Stage]:
        return [Stage("probe", "target_labeled", features=True)]
