"""Intensity augmentation for CT / X-ray / MRI / ultrasound: random gamma and random window/level.

Per sample: a gamma ``gamma = exp(U(-log g, log g))`` (so ``g = 1.5`` gives gammas in [1/1.5, 1.5], as
likely below 1 as above), applied as ``x ** gamma`` on [0, 1] intensities (gamma > 1 darkens mid-greys,
gamma < 1 brightens them; 0 and 1 stay put), then a random contrast window: a lower level ``lo ~ U(0, w)``
and an upper level ``hi ~ U(1 - w, 1)`` are stretched to 0 and 1 and values outside are clipped, as a
radiologist's window/level setting does on a CT or X-ray. Each sample is changed with probability ``p``.
All channels of a sample get the same change.

Usage::

    aug = build_augment("intensity", gamma=1.5, window=0.1)
    out = aug(images, generator)                  # (B, C, H, W) uint8 -> same
"""

from __future__ import annotations

import math

import torch

from zoo.augment.base import (
    AUGMENTATIONS,
    BatchAugment,
    bernoulli,
    check_probability,
    check_range,
    from_unit,
    to_unit,
    uniform,
)


def adjust_gamma(x: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """``x ** gamma`` per sample: x (B, C, H, W) float in [0, 1], gamma (B,) -> (B, C, H, W).

    Usage::

        adjust_gamma(x, torch.full((len(x),), 2.0))     # darker mid-greys: 0.5 -> 0.25
    """
    return x.clamp(0.0, 1.0).pow(gamma.to(x.dtype)[:, None, None, None])


def window_level(x: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """Stretch [low, high] to [0, 1] per sample and clip: x (B, C, H, W), low/high (B,) -> (B, C, H, W).

    Usage::

        window_level(x, torch.full((B,), 0.1), torch.full((B,), 0.9))
    """
    low = low.to(x.dtype)[:, None, None, None]
    high = high.to(x.dtype)[:, None, None, None]
    return ((x - low) / (high - low).clamp(min=1e-6)).clamp(0.0, 1.0)


@AUGMENTATIONS.register("intensity")
class IntensityAugment(BatchAugment):
    """Random gamma and window/level per sample.

    Options: ``gamma`` (g >= 1, 1.5: gamma drawn log-uniformly in [1/g, g]; 1 turns gamma off), ``window``
    (w in [0, 0.45], 0.1: the largest fraction of the intensity range clipped at each end; 0 turns it off),
    ``p`` (probability that a sample is changed, 0.8).

    Usage::

        IntensityAugment(gamma=2.0, window=0.0)(images, generator)   # gamma only
    """

    name = "intensity"

    def __init__(self, gamma: float = 1.5, window: float = 0.1, p: float = 0.8) -> None:
        super().__init__(gamma=gamma, window=window, p=p)
        self.gamma = check_range(self.name, "gamma", gamma, 1.0, 10.0)
        self.window = check_range(self.name, "window", window, 0.0, 0.45)
        self.p = check_probability(self.name, "p", p)

    def apply(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        b, dev = images.shape[0], images.device
        log_g = math.log(self.gamma)
        gamma = torch.exp(uniform(-log_g, log_g, (b,), generator, dev))  # (B,) log-uniform in [1/g, g]
        low = uniform(0.0, self.window, (b,), generator, dev)  # (B,) window lower level
        high = uniform(1.0 - self.window, 1.0, (b,), generator, dev)  # (B,) window upper level
        keep = ~bernoulli(self.p, (b,), generator, dev)  # (B,) samples left as they are
        gamma = torch.where(keep, torch.ones_like(gamma), gamma)
        low = torch.where(keep, torch.zeros_like(low), low)
        high = torch.where(keep, torch.ones_like(high), high)
        x = window_level(adjust_gamma(to_unit(images), gamma), low, high)  # (B, C, H, W) float in [0, 1]
        return from_unit(x)
