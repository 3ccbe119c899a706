"""The contract of a batch augmentation policy and the helpers every policy shares.

A ``BatchAugment`` takes a training batch of uint8 images (B, C, H, W), on any device, and a
``torch.Generator`` (on the CPU), and returns an augmented uint8 batch of the same shape, dtype and
device. Every random draw comes from that generator (drawn on the CPU, then moved to the images'
device), so a policy is deterministic for a given generator state on every device, and each sample
gets its own draws: the work is vectorised over the batch, never a Python loop over samples.

Usage::

    from zoo.augment.base import AUGMENTATIONS, BatchAugment

    @AUGMENTATIONS.register("my_policy")
    class MyPolicy(BatchAugment):
        def apply(self, images, generator):        # (B, C, H, W) uint8 -> same
            return images.flip(-1)
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from zoo.errors import ConfigError
from zoo.registry import Registry

# Policies register in code (``@AUGMENTATIONS.register``); no entry-point group, so nothing is discovered.
AUGMENTATIONS = Registry("augmentation")
_AUTOCAST_DEVICES = ("cpu", "cuda", "xpu", "mps")


class BatchAugment:
    """Base class of a policy: ``aug(images_uint8, generator) -> images_uint8`` (same shape/dtype/device).

    Subclasses implement ``apply``; ``__call__`` checks the input once. ``name`` is the registry name and
    ``options`` the resolved keyword options (for run configs and result provenance).

    Usage::

        aug = build_augment("standard")
        out = aug(images, torch.Generator().manual_seed(0))   # (B, C, H, W) uint8
    """

    name: str = "base"

    def __init__(self, **options: Any) -> None:
        self.options = dict(options)

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.dim() != 4:
            got = f"{images.dtype} {tuple(images.shape)}" if isinstance(images, torch.Tensor) else type(images).__name__
            raise ValueError(f"augmentation '{self.name}' expects a uint8 batch (B, C, H, W), got {got}")
        if images.shape[0] == 0:
            return images
        # Policies compute in float32: under the runner's bf16/fp16 autocast, matmuls (the stain einsum) would
        # silently drop to half precision; switch autocast off for this call.
        no_autocast = (torch.autocast(images.device.type, enabled=False) if images.device.type in _AUTOCAST_DEVICES
                       else contextlib.nullcontext())
        with no_autocast:
            out = self.apply(images, generator)
        if out.shape != images.shape or out.dtype != torch.uint8 or out.device != images.device:
            raise RuntimeError(f"augmentation '{self.name}' returned {out.dtype} {tuple(out.shape)} on {out.device} "
                               f"for {images.dtype} {tuple(images.shape)} on {images.device}: a bug in the policy")
        return out

    def apply(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}(name={self.name!r}{', ' if opts else ''}{opts})"


# -- random draws: always on the generator's device (CPU), then moved to the images' device -------------
def uniform(low: float, high: float, shape: tuple[int, ...], generator: torch.Generator,
            device: torch.device) -> torch.Tensor:
    """``shape`` float32 draws from U(low, high), drawn with ``generator`` and moved to ``device``.

    Usage::

        angles = uniform(-10.0, 10.0, (B,), generator, images.device)
    """
    u = torch.rand(shape, generator=generator, device=generator.device)
    return (low + (high - low) * u).to(device)


def bernoulli(p: float, shape: tuple[int, ...], generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """``shape`` bool draws, True with probability ``p``.

    Usage::

        flip = bernoulli(0.5, (B,), generator, images.device)
    """
    return (torch.rand(shape, generator=generator, device=generator.device) < p).to(device)


# -- uint8 <-> float ---------------------------------------------------------------------------------------
def to_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, C, H, W) -> float32 in [0, 1]."""
    return images.float().div_(255.0)


def from_unit(x: torch.Tensor) -> torch.Tensor:
    """float (B, C, H, W) in [0, 1] (values outside are clipped) -> uint8, rounded to nearest."""
    return x.mul(255.0).round_().clamp_(0, 255).to(torch.uint8)


# -- option checks: one-line ConfigErrors that name the policy and the option ------------------------------
def check_probability(policy: str, option: str, value: float) -> float:
    """``value`` as a float in [0, 1], or a ConfigError naming ``policy``/``option``."""
    value = _number(policy, option, value)
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"augmentation '{policy}': {option} must be a probability in [0, 1], got {value}")
    return value


def check_range(policy: str, option: str, value: float, low: float, high: float) -> float:
    """``value`` as a float in [low, high], or a ConfigError naming ``policy``/``option``."""
    value = _number(policy, option, value)
    if not low <= value <= high:
        raise ConfigError(f"augmentation '{policy}': {option} must be in [{low}, {high}], got {value}")
    return value


def check_int(policy: str, option: str, value: int, low: int, high: int) -> int:
    """``value`` as an int in [low, high], or a ConfigError naming ``policy``/``option``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"augmentation '{policy}': {option} must be an integer in [{low}, {high}], got {value!r}")
    return value


def _number(policy: str, option: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"augmentation '{policy}': {option} must be a number, got {value!r}")
    return float(value)
