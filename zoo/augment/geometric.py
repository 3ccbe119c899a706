"""Geometric policies: ``none`` (identity) and ``standard`` (flip + random resized/padded crop + rotation).

``standard`` draws, per sample, a horizontal flip (and optionally a vertical one), a zoom factor
``s ~ U(1 - scale, 1 + scale)`` (s > 1 crops a smaller window and resizes it back up: a random resized
crop; s < 1 shows the whole image smaller, padded: a random padded crop), a translation of up to
``translate`` of the image size and a rotation of up to ``degrees``. All of it is one affine matrix per
sample, applied to the whole batch by a single ``affine_grid`` + ``grid_sample`` (bilinear) call.

Usage::

    aug = build_augment("standard", degrees=15, scale=0.2)
    out = aug(images, generator)                  # (B, C, H, W) uint8 -> same
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

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
from zoo.errors import ConfigError

PADDING_MODES = ("zeros", "border", "reflection")


@AUGMENTATIONS.register("none")
class NoAugment(BatchAugment):
    """The identity: returns the batch itself (no copy).

    Usage::

        build_augment("none")(images, generator) is images     # True
    """

    name = "none"

    def apply(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return images


@AUGMENTATIONS.register("standard")
class StandardAugment(BatchAugment):
    """Random flips, resized/padded crop and small rotation, per sample, in one batched resampling.

    Options: ``flip_p`` (horizontal flip probability, 0.5), ``vflip_p`` (vertical flip, 0.0: turn it on
    for rotation-invariant images such as histopathology), ``scale`` (zoom half-range, 0.15),
    ``translate`` (shift as a fraction of the size, 0.1), ``degrees`` (rotation half-range, 10),
    ``p`` (probability that a sample gets the crop/rotation, 1.0), ``padding`` (what fills the area
    outside the image: ``zeros`` (black), ``border`` or ``reflection``).

    Usage::

        StandardAugment(degrees=0, scale=0, translate=0)(images, g)   # flips only
    """

    name = "standard"

    def __init__(self, flip_p: float = 0.5, vflip_p: float = 0.0, scale: float = 0.15, translate: float = 0.1,
                 degrees: float = 10.0, p: float = 1.0, padding: str = "zeros") -> None:
        if padding not in PADDING_MODES:
            raise ConfigError(f"augmentation 'standard': padding must be one of {', '.join(PADDING_MODES)}, "
                              f"got {padding!r}")
        super().__init__(flip_p=flip_p, vflip_p=vflip_p, scale=scale, translate=translate, degrees=degrees, p=p,
                         padding=padding)
        self.flip_p = check_probability(self.name, "flip_p", flip_p)
        self.vflip_p = check_probability(self.name, "vflip_p", vflip_p)
        self.scale = check_range(self.name, "scale", scale, 0.0, 0.9)
        self.translate = check_range(self.name, "translate", translate, 0.0, 1.0)
        self.degrees = check_range(self.name, "degrees", degrees, 0.0, 180.0)
        self.p = check_probability(self.name, "p", p)
        self.padding = padding

    def apply(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        b, _, h, w = images.shape
        theta = self.draw_matrices(b, h, w, generator, images.device)  # (B, 2, 3)
        grid = F.affine_grid(theta, [b, 1, h, w], align_corners=False)  # (B, H, W, 2) input coords in [-1, 1]
        out = F.grid_sample(to_unit(images), grid, mode="bilinear", padding_mode=self.padding,
                            align_corners=False)  # (B, C, H, W) float
        return from_unit(out)

    def draw_matrices(self, b: int, h: int, w: int, generator: torch.Generator,
                      device: torch.device) -> torch.Tensor:
        """Per-sample affine matrices (B, 2, 3) mapping output to input coordinates, as ``affine_grid`` wants.

        The draws are made in a fixed order (flip, vflip, apply, zoom, angle, tx, ty), so the same generator
        state gives the same matrices on every device.
        """
        flip = bernoulli(self.flip_p, (b,), generator, device)
        vflip = bernoulli(self.vflip_p, (b,), generator, device)
        apply = bernoulli(self.p, (b,), generator, device)
        zoom = uniform(1.0 - self.scale, 1.0 + self.scale, (b,), generator, device)  # (B,)
        angle = uniform(-self.degrees, self.degrees, (b,), generator, device) * (math.pi / 180.0)
        shift = uniform(-self.translate, self.translate, (b, 2), generator, device) * 2.0  # normalised units
        zoom = torch.where(apply, zoom, torch.ones_like(zoom))
        angle = torch.where(apply, angle, torch.zeros_like(angle))
        shift = torch.where(apply[:, None], shift, torch.zeros_like(shift))
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom  # (B,) each
        # A rotation in pixel space, written in normalised coordinates (x / (W/2), y / (H/2)): the
        # off-diagonal terms carry the aspect ratio so non-square images rotate without shearing.
        theta = torch.stack([
            torch.stack([cos, -sin * (h / w), shift[:, 0]], dim=1),
            torch.stack([sin * (w / h), cos, shift[:, 1]], dim=1),
        ], dim=1)  # (B, 2, 3)
        # A flip mirrors the output coordinates before the rest: negate the column that multiplies x (or y).
        sign_x = torch.where(flip, -1.0, 1.0).to(theta.dtype)
        sign_y = torch.where(vflip, -1.0, 1.0).to(theta.dtype)
        theta[:, :, 0] *= sign_x[:, None]
        theta[:, :, 1] *= sign_y[:, None]
        return theta
