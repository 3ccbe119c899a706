"""TinyCNN: a small conv-BN-ReLU backbone with global average pooling, for any input size and channel count.

``depth`` blocks of 3x3 convolutions (the first at stride 1, the others at stride 2), widths ``width``,
``2 * width``, ...; global average pooling gives ``num_features = width * 2 ** (depth - 1)`` (64 by default).
Random init only: it exists to show how a backbone plugin looks, and trains in seconds on a CPU.

Usage::

    net = TinyCNN(in_chans=1, width=16)                        # or zoo.create_backbone("tiny_cnn", in_chans=1)
    net.forward_features(torch.zeros(8, 1, 28, 28)).shape      # (8, 64)
"""

from __future__ import annotations

import torch
from torch import nn

from zoo.backbones import Backbone, BackboneConfig
from zoo.errors import ConfigError


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"tiny_cnn: {name} must be a positive integer, got {value!r}")
    return value


class TinyCNN(Backbone):
    """Conv-BN-ReLU blocks and global average pooling; ``num_features = width * 2 ** (depth - 1)``."""

    def __init__(self, in_chans: int = 3, pretrained: bool = False, width: int = 16, depth: int = 3) -> None:
        super().__init__()
        if pretrained:
            raise ConfigError("tiny_cnn has no pretrained weights; use pretrained: false (it trains from scratch)")
        in_chans, width, depth = (_positive_int(in_chans, "in_chans"), _positive_int(width, "width"),
                                  _positive_int(depth, "depth"))
        chans = [in_chans] + [width * 2**i for i in range(depth)]
        self.stages = nn.ModuleList(
            nn.Sequential(  # (N, c_in, H, W) -> (N, c_out, H / stride, W / stride)
                nn.Conv2d(chans[i], chans[i + 1], kernel_size=3, stride=1 if i == 0 else 2, padding=1, bias=False),
                nn.BatchNorm2d(chans[i + 1]),
                nn.ReLU(inplace=True),
            )
            for i in range(depth)
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.num_features = chans[-1]
        self.config = BackboneConfig(
            name="tiny_cnn",
            input_size=(in_chans, 32, 32),  # what it was designed for; any size works (global pooling)
            in_chans=in_chans,
            mean=(0.5,) * in_chans,
            std=(0.25,) * in_chans,
            license="Apache-2.0",
            weights="random init",
            extra={"width": width, "depth": depth},
        )

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.stages:  # (N, C, 32, 32) -> (N, 16, 32, 32) -> (N, 32, 16, 16) -> (N, 64, 8, 8)
            x = stage(x)
        return self.pool(x).flatten(1)  # (N, 64, h, w) -> (N, 64)

    def blocks(self) -> list[nn.Module]:
        """The conv blocks from input to output (for last-k and gradual unfreezing strategies)."""
        return list(self.stages)
