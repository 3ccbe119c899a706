"""The input normalisation a backbone declares: uint8 images -> the floats its ``config`` (mean, std,
channels) asks for. The runner, the Hub's ``PretrainedModel`` and the pair metrics all feed networks with it.

Usage::

    normalizer = Normalizer(backbone.config.mean, backbone.config.std, backbone.config.in_chans)
    logits = model(normalizer(uint8_images))          # (N, C_in, H, W) uint8 -> (N, C_model, H, W) float
"""

from __future__ import annotations

from typing import Sequence

import torch


class Normalizer(torch.nn.Module):
    """uint8 (N, C_in, H, W) -> float (N, C_model, H, W): scale to [0, 1], repeat gray to RGB, standardise."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], in_chans: int) -> None:
        super().__init__()
        self.in_chans = in_chans
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(1, -1, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float().div_(255.0)  # (N, C_in, H, W) in [0, 1]
        if x.shape[1] == self.in_chans:  # in place: the same floats without two temporaries
            return x.sub_(self.mean.to(x.device)).div_(self.std.to(x.device))
        if x.shape[1] != 1:
            raise ValueError(f"images have {x.shape[1]} channels but the backbone expects {self.in_chans}")
        x = x.expand(-1, self.in_chans, -1, -1)  # grayscale fed to an RGB network: a view, so not in place
        return (x - self.mean.to(x.device)) / self.std.to(x.device)
