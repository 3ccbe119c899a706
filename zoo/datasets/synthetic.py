"""A tiny, fast, learnable synthetic domain with a controllable appearance shift, for unit tests.

Each image is a class-dependent pattern (a bright blob at an angle ``2*pi*k/K`` around the centre plus a
grating oriented at ``pi*k/K``) with random jitter and phase. Both cues are easy for a small CNN; the blob
alone is enough for a nearest-centroid classifier on raw pixels. ``appearance`` changes only appearance:
lower contrast, a brightness offset, uneven illumination (a left-right ramp), a fixed high-frequency
texture, more noise and (RGB) a colour tint.
So ``synthetic_domain(appearance=0)`` and ``synthetic_domain(appearance=1)`` share the label space and the content,
but differ the way two scanners do: a source-only model loses accuracy on the shifted one.

Usage::

    from zoo.datasets.synthetic import synthetic_domain
    source = synthetic_domain(seed=0)                   # train/val/test of (N, 1, 28, 28) uint8
    target = synthetic_domain(seed=1, appearance=1.0)       # same classes, different appearance
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from zoo.datasets.base import Domain
from zoo.datasets.partition import split_pool
from zoo.errors import ConfigError

_TEXTURE_SEED = 12345  # the texture is a property of the "scanner", identical for every seed


def _patterns(labels: torch.Tensor, num_classes: int, size: int, g: torch.Generator) -> torch.Tensor:
    """Clean patterns in [0, 1]: (N,) labels -> (N, size, size) float."""
    n = len(labels)
    axis = torch.linspace(-1.0, 1.0, size)
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")  # (H, W) each
    k = labels.float()  # (N,)
    # blob centre on a circle, one angle per class, jittered so images differ
    angle = 2 * math.pi * k / num_classes + 0.25 * (torch.rand(n, generator=g) - 0.5)  # (N,)
    cy = 0.45 * torch.sin(angle) + 0.1 * (torch.rand(n, generator=g) - 0.5)
    cx = 0.45 * torch.cos(angle) + 0.1 * (torch.rand(n, generator=g) - 0.5)
    d2 = (yy[None] - cy[:, None, None]) ** 2 + (xx[None] - cx[:, None, None]) ** 2  # (N, H, W)
    blob = torch.exp(-d2 / (2 * 0.18**2))
    # grating: orientation by class, random phase
    theta = (math.pi * k / num_classes)[:, None, None]  # (N, 1, 1)
    phase = 2 * math.pi * torch.rand(n, 1, 1, generator=g)
    grating = torch.sin(2 * math.pi * 2.0 * (xx[None] * torch.cos(theta) + yy[None] * torch.sin(theta)) + phase)
    return (0.3 + 0.45 * blob + 0.12 * grating).clamp(0, 1)  # (N, H, W)


def _appearance(x: torch.Tensor, channels: int, shift: float, g: torch.Generator) -> torch.Tensor:
    """Scanner appearance: (N, H, W) in [0, 1] -> (N, C, H, W) uint8, stronger change as ``shift`` grows."""
    t = math.tanh(shift)  # 0 for no shift, saturating towards 1
    size = x.shape[-1]
    texture = torch.rand(size, size, generator=torch.Generator().manual_seed(_TEXTURE_SEED)) - 0.5  # (H, W)
    ramp = torch.linspace(-0.5, 0.5, size).view(1, size)  # (1, W): uneven illumination, left dark, right bright
    x = 0.5 + (x - 0.5) / (1.0 + shift) + 0.15 * t + 0.5 * t * ramp + 0.3 * t * texture  # (N, H, W)
    tint = torch.tensor([1.0, 1.0 - 0.3 * t, 1.0 - 0.6 * t] if channels == 3 else [1.0]).view(1, channels, 1, 1)
    x = x[:, None] * tint  # (N, C, H, W)
    x = x + (0.04 + 0.06 * t) * torch.randn(x.shape, generator=g)
    return (x.clamp(0, 1) * 255).round().to(torch.uint8)


def synthetic_domain(
    num_classes: int = 2,
    n_per_class: int = 64,
    image_size: int = 28,
    channels: int = 1,
    appearance: float = 0.0,
    seed: int = 0,
    name: str | None = None,
) -> Domain:
    """A synthetic domain: ``n_per_class`` images per class, split 60/20/20 (stratified, seeded).

    ``appearance`` >= 0 sets the scanner change (0: none, 1: strong; in a suite, ``shift:`` is medzoo's
    acquisition shift, applied on top); ``seed`` draws the content, the
    noise and the split. Takes milliseconds, so tests and ``medzoo doctor`` can use it freely.

    Usage::

        dom = synthetic_domain(num_classes=3, n_per_class=20, image_size=32, channels=3, appearance=0.5)
        dom.splits["train"].images.shape     # (36, 3, 32, 32)
    """
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ConfigError(f"synthetic num_classes must be an integer >= 2, got {num_classes!r}")
    if not isinstance(n_per_class, int) or n_per_class < 5:
        raise ConfigError(f"synthetic n_per_class must be an integer >= 5 (one image per class per split), "
                          f"got {n_per_class!r}")
    if not isinstance(image_size, int) or image_size < 8:
        raise ConfigError(f"synthetic image_size must be an integer >= 8, got {image_size!r}")
    if channels not in (1, 3):
        raise ConfigError(f"synthetic channels must be 1 or 3, got {channels!r}")
    if isinstance(appearance, bool) or not isinstance(appearance, (int, float)) or not math.isfinite(appearance) \
            or appearance < 0:
        raise ConfigError(f"synthetic appearance must be a number >= 0, got {appearance!r}")
    g = torch.Generator().manual_seed(int(seed))
    labels = torch.arange(num_classes).repeat_interleave(n_per_class)  # (N,)
    images = _appearance(_patterns(labels, num_classes, image_size, g), channels, float(appearance), g)  # (N, C, H, W)
    label_names = [f"class_{k}" for k in range(num_classes)]
    params = {"num_classes": num_classes, "n_per_class": n_per_class, "image_size": image_size,
              "channels": channels, "appearance": float(appearance), "seed": seed}
    return Domain(
        name=name or (f"synthetic_appearance{appearance:g}" if appearance else "synthetic"),
        splits=split_pool(images, labels, val=0.2, test=0.2, seed=seed, where="synthetic domain"),
        label_names=label_names,
        modality="synthetic",
        license="CC0-1.0",
        citation="synthetic images generated by medzoo (zoo.datasets.synthetic): no external data to cite",
        info={"generator": params, "split": {"method": "stratified", "val": 0.2, "test": 0.2, "seed": seed}},
    )


def _conformance_kwargs(tmp_dir: Path) -> dict[str, Any]:
    """Kwargs building a small domain offline: the defaults need no files."""
    return {}


synthetic_domain.conformance_kwargs = _conformance_kwargs
