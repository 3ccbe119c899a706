"""Acquisition shifts: a named, seeded "target scanner" applied once to every split of a domain.

The corruptions and their severity parameters follow MedMNIST-C (Di Salvo, Doerrich, Ledig 2024,
"MedMNIST-C: Comprehensive benchmark and improved classifier robustness by simulating realistic image
corruptions", arXiv:2406.17536; parameters from its ``corruptions/registry.py``, mostly the X-ray/CT rows),
re-implemented on uint8 batches ``(N, C, H, W)`` in torch, vectorised and deterministic given
``(name, severity, seed)``. Differences, on purpose: results are rounded to the nearest level (MedMNIST-C
truncates); ``gaussian_blur`` sigmas are MedMNIST-C's at 224 px scaled to the image size (so a blur is the
same physical blur at every resolution, and nearly invisible at 28 px: a warning says so); ``resolution``
upsamples bilinearly (a lower-resolution acquisition), ``pixelate`` with nearest (MedMNIST-C's look).
``bias_field`` is not in MedMNIST-C (it has no MRI): it is TorchIO's ``RandomBiasField`` (exp of a random
cubic polynomial), normalised to mean 1 so that it changes homogeneity, not overall brightness.

Usage::

    from zoo.datasets.shift import shift_domain, apply_shift, SHIFTS
    target = shift_domain(partition_domain(pneumonia, 1), "gamma", severity=3, seed=0)
    noisy = apply_shift(images, "speckle_noise", severity=2, seed=0)      # (N, C, H, W) uint8
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import math
import re
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from zoo.datasets.base import Domain, Split
from zoo.errors import ConfigError

logger = logging.getLogger(__name__)

CHUNK = 256  # images per vectorised step: bounds memory (256x3x224x224 float32 = 154 MB); fixed => reproducible
REFERENCE_SIZE = 224  # MedMNIST-C corrupts the 224 px images; spatial parameters are stated at that size
Fn = Callable[[torch.Tensor, float, torch.Generator], torch.Tensor]  # (N,C,H,W) in [0,1], param, rng -> same


def _gray_mean(x: torch.Tensor) -> torch.Tensor:
    """Per-image mean of the luma (ITU-R 601-2 for RGB), as PIL/torchvision contrast: (N,C,H,W) -> (N,1,1,1)."""
    if x.shape[1] == 3:
        x = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)  # (N, 1, H, W)
    return x.mean(dim=(1, 2, 3), keepdim=True)


def _gaussian_blur(x: torch.Tensor, sigma: float, g: torch.Generator) -> torch.Tensor:
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()  # (2r+1,) weights sum to 1: the blur preserves the mean
    n, c, h, w = x.shape
    y = x.reshape(n * c, 1, h, w)  # depthwise: every channel blurred alike
    y = F.pad(y, (radius, radius, radius, radius), mode="reflect" if radius < min(h, w) else "replicate")
    y = F.conv2d(y, k.view(1, 1, 1, -1))  # horizontal pass
    y = F.conv2d(y, k.view(1, 1, -1, 1))  # vertical pass -> (N*C, 1, H, W)
    return y.reshape(n, c, h, w)


def _resample(x: torch.Tensor, factor: float, up_mode: str) -> torch.Tensor:
    h, w = x.shape[-2:]
    small = F.interpolate(x, size=(max(1, round(h * factor)), max(1, round(w * factor))), mode="area")  # box average
    if up_mode == "nearest":
        return F.interpolate(small, size=(h, w), mode="nearest")
    return F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)


def _impulse(x: torch.Tensor, amount: float, g: torch.Generator) -> torch.Tensor:
    hit = torch.rand(x.shape, generator=g) < amount  # which pixels are replaced
    salt = torch.rand(x.shape, generator=g) < 0.5  # half white, half black (skimage 's&p')
    return torch.where(hit, salt.to(x.dtype), x)


def _bias_field(x: torch.Tensor, alpha: float, g: torch.Generator, order: int = 3) -> torch.Tensor:
    n, _, h, w = x.shape
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")  # (H, W)
    terms = torch.stack([xx**i * yy**j for i in range(order + 1) for j in range(order + 1 - i)])  # (T, H, W)
    coeffs = (torch.rand(n, len(terms), generator=g) * 2 - 1) * alpha  # (N, T) ~ U(-alpha, alpha)
    field = torch.exp(torch.einsum("nt,thw->nhw", coeffs, terms))  # (N, H, W), smooth, positive
    field = field / field.mean(dim=(1, 2), keepdim=True)  # mean gain 1
    return x * field[:, None]


@dataclass(frozen=True)
class Shift:
    """One acquisition shift: its per-severity parameters (1..5), function, provenance and suitable modalities.

    Usage::

        SHIFTS["gamma"].param(severity=3, size=28)     # 1.3
    """

    name: str
    params: tuple[float, float, float, float, float]
    fn: Fn
    source: str
    modalities: frozenset[str]
    spatial: bool = False  # params are lengths at REFERENCE_SIZE px, scaled to the image size

    def param(self, severity: int, size: int) -> float:
        """The parameter at ``severity`` (1..5) for ``size`` px images (spatial ones scaled from 224 px).

        Usage::

            SHIFTS["gaussian_blur"].param(5, 224)   # 3.5 (sigma in pixels)
        """
        value = self.params[severity - 1]
        return value * size / REFERENCE_SIZE if self.spatial else value


_ALL = frozenset({"xray", "ct", "mri", "ultrasound", "oct", "fundus", "dermatoscopy", "histopathology", "microscopy"})
_RADIOLOGY = frozenset({"xray", "ct", "mri"})
_MC = "MedMNIST-C "

SHIFTS: dict[str, Shift] = {s.name: s for s in [
    Shift("gamma", (1.1, 1.2, 1.3, 1.4, 1.6), lambda x, p, g: x.clamp(0, 1) ** p, _MC + "gamma_corr_up", _RADIOLOGY),
    Shift("gamma_down", (0.9, 0.8, 0.7, 0.6, 0.4), lambda x, p, g: x.clamp(0, 1) ** p, _MC + "gamma_corr_down",
          _RADIOLOGY),
    Shift("contrast", (0.9, 0.8, 0.7, 0.6, 0.4), lambda x, p, g: _gray_mean(x) + p * (x - _gray_mean(x)),
          _MC + "contrast_down", _ALL),
    Shift("contrast_up", (1.1, 1.2, 1.3, 1.4, 1.6), lambda x, p, g: _gray_mean(x) + p * (x - _gray_mean(x)),
          _MC + "contrast_up", _RADIOLOGY | {"dermatoscopy", "histopathology", "microscopy"}),
    Shift("brightness_up", (1.1, 1.2, 1.3, 1.4, 1.5), lambda x, p, g: x * p, _MC + "brightness_up",
          frozenset({"xray", "ct", "ultrasound", "dermatoscopy", "histopathology", "microscopy"})),
    Shift("brightness_down", (0.9, 0.8, 0.7, 0.6, 0.5), lambda x, p, g: x * p, _MC + "brightness_down",
          frozenset({"xray", "ct", "ultrasound", "fundus", "dermatoscopy", "histopathology", "microscopy"})),
    Shift("gaussian_noise", (0.04, 0.08, 0.12, 0.16, 0.20),
          lambda x, p, g: x + p * torch.randn(x.shape, generator=g), _MC + "gaussian_noise",
          _RADIOLOGY | {"fundus", "dermatoscopy"}),
    Shift("speckle_noise", (0.10, 0.15, 0.20, 0.25, 0.30),
          lambda x, p, g: x + x * p * torch.randn(x.shape, generator=g), _MC + "speckle_noise",
          frozenset({"ultrasound", "oct", "xray", "ct", "fundus", "dermatoscopy"})),
    Shift("shot_noise", (200, 100, 50, 25, 15), lambda x, p, g: torch.poisson(x.clamp(0, 1) * p, generator=g) / p,
          _MC + "shot_noise", frozenset({"xray", "ct", "dermatoscopy"})),
    Shift("impulse_noise", (0.01, 0.02, 0.03, 0.05, 0.08), _impulse, _MC + "impulse_noise",
          frozenset({"xray", "ct", "dermatoscopy", "microscopy"})),
    Shift("gaussian_blur", (2.0, 2.3, 2.6, 2.9, 3.5), _gaussian_blur,
          _MC + "gaussian_blur (kernel 11-21 at 224 px, sigma as torchvision derives it)",
          _RADIOLOGY | {"microscopy"}, spatial=True),
    Shift("resolution", (0.7, 0.6, 0.5, 0.4, 0.35), lambda x, p, g: _resample(x, p, "bilinear"),
          _MC + "pixelate factors; area down, bilinear up", _ALL),
    Shift("pixelate", (0.7, 0.6, 0.5, 0.4, 0.35), lambda x, p, g: _resample(x, p, "nearest"), _MC + "pixelate", _ALL),
    Shift("bias_field", (0.1, 0.2, 0.3, 0.4, 0.5), _bias_field,
          "TorchIO RandomBiasField (order 3, coefficients U(-a, a)), mean-normalised", frozenset({"mri"})),
]}

_MODALITY_GROUPS = [  # first match wins: "retinal OCT" is OCT, "blood cell microscopy" is microscopy
    ("synthetic", r"synthetic"),
    ("oct", r"\boct\b|optical coherence"),
    ("xray", r"x-?ray|radiograph|mammogra|\bcxr\b"),
    ("ct", r"\bct\b|computed tomography"),
    ("mri", r"\bmri?\b|magnetic resonance|\bt[12]\b|flair"),
    ("ultrasound", r"ultrasound|sonograph|\bus\b"),
    ("fundus", r"fundus|retina"),
    ("dermatoscopy", r"dermatoscop|dermoscop|skin"),
    ("histopathology", r"patholog|histolog|\bh&e\b|whole.slide"),
    ("microscopy", r"microscop|cytolog|blood cell"),
]


def modality_group(modality: str) -> str | None:
    """The shift table's modality group for a free-text modality ("abdominal CT" -> "ct"), or None.

    Usage::

        modality_group("chest X-ray")    # 'xray'
    """
    text = modality.lower()
    return next((group for group, pattern in _MODALITY_GROUPS if re.search(pattern, text)), None)


def suitable_shifts(modality: str) -> list[str]:
    """Names of the shifts that suit ``modality`` (all of them for unknown or synthetic modalities).

    Usage::

        suitable_shifts("ultrasound")   # ['contrast', 'brightness_up', ..., 'speckle_noise', 'resolution', ...]
    """
    group = modality_group(modality)
    return [n for n, s in SHIFTS.items() if group in (None, "synthetic") or group in s.modalities]


def _get(name: str, severity: int) -> Shift:
    if name not in SHIFTS:
        close = difflib.get_close_matches(str(name), SHIFTS, n=2, cutoff=0.6)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ConfigError(f"unknown shift '{name}'{hint} available: {', '.join(SHIFTS)}")
    if isinstance(severity, bool) or not isinstance(severity, int) or not 1 <= severity <= 5:
        raise ConfigError(f"shift severity must be an integer 1..5 (as in MedMNIST-C), got {severity!r}")
    return SHIFTS[name]


def apply_shift(images: torch.Tensor, name: str, severity: int, seed: int = 0,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply shift ``name`` at ``severity`` (1..5) to uint8 ``(N, C, H, W)``; same seed, same output.

    Usage::

        out = apply_shift(split.images, "gaussian_noise", 3, seed=0)    # (N, C, H, W) uint8
    """
    spec = _get(name, severity)
    if images.dtype != torch.uint8 or images.ndim != 4:
        raise ValueError(f"apply_shift expects (N, C, H, W) uint8 images, got {tuple(images.shape)} {images.dtype}")
    g = generator or torch.Generator().manual_seed(int(seed))
    param = spec.param(severity, images.shape[-1])
    out = torch.empty_like(images)
    for start in range(0, len(images), CHUNK):
        x = images[start:start + CHUNK].float() / 255.0  # (n, C, H, W) in [0, 1]
        y = spec.fn(x, param, g)
        out[start:start + CHUNK] = (y.clamp(0, 1) * 255.0).round().to(torch.uint8)
    return out


def _split_seed(seed: int, split: str) -> int:
    """A stable per-split seed, so noise differs between splits but never between runs."""
    return int(hashlib.sha256(f"{seed}:{split}".encode()).hexdigest()[:15], 16)


def shift_domain(domain: Domain, name: str, severity: int, seed: int = 0) -> Domain:
    """``domain`` seen through a fixed "target scanner": shift ``name`` applied once to every split.

    Not re-sampled per epoch: the target domain is a fixed set of images. An unknown name or a severity
    outside 1..5 is a ``ConfigError``; a shift atypical for the domain's modality logs a warning.
    ``info["shift"]`` records name, severity, seed, the effective parameter and its source.

    Usage::

        target = shift_domain(domain, "speckle_noise", severity=3, seed=0)   # name 'breastmnist_speckle_noise3'
    """
    spec = _get(name, severity)
    group = modality_group(domain.modality)
    if group is not None and group != "synthetic" and group not in spec.modalities:
        logger.warning("shift '%s' is not typical for %s (%s) images; suited: %s", name, domain.modality,
                       domain.name, ", ".join(suitable_shifts(domain.modality)))
    param = spec.param(severity, domain.image_size)
    if spec.spatial and param < 0.5:
        logger.warning("shift '%s' at %d px has sigma %.2f px and barely changes the images; use a larger image "
                       "size, or 'resolution' for a stronger loss of detail", name, domain.image_size, param)
    splits = {}
    for split_name, split in domain.splits.items():
        g = torch.Generator().manual_seed(_split_seed(seed, split_name))
        splits[split_name] = Split(apply_shift(split.images, name, severity, generator=g), split.labels)
    info = {"shift": {"name": name, "severity": severity, "seed": seed, "param": round(param, 6),
                      "source": spec.source}}
    return domain.with_splits(splits, name=f"{domain.name}_{name}{severity}", info=info)
