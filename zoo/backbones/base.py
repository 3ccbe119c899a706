"""The backbone contract: ``forward_features(x) -> (N, D)``, ``num_features``, and a ``BackboneConfig``.

A backbone factory registered in ``BACKBONES`` is a callable ``factory(in_chans=..., pretrained=..., **kw)``
returning a ``Backbone``. The algorithm puts its own head on top (``nn.Linear(num_features, classes)``).

Usage::

    backbone = zoo.create_backbone("timm/resnet18", in_chans=1, small_input=True)
    feats = backbone.forward_features(torch.zeros(8, 1, 28, 28))   # (8, 512)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn


@dataclass
class BackboneConfig:
    """What a user must know to feed a backbone correctly, and where its weights came from."""

    name: str
    input_size: tuple[int, int, int]  # (C, H, W) the network was designed or pretrained for
    in_chans: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    license: str = "unknown"
    weights: str = "random init"  # e.g. "timm:resnet18.a1_in1k", "medzoo:resnet18_28-pneumonia"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Backbone(nn.Module):
    """Base class: subclasses set ``self.num_features`` and ``self.config`` and implement ``forward_features``."""

    num_features: int
    config: BackboneConfig

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W) float -> (N, D)
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)

    def blocks(self) -> list[nn.Module]:
        """The backbone's stages from input to output, for last-k / gradual unfreezing strategies."""
        return [self]
