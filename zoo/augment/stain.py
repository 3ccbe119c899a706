"""HED stain jitter for H&E histopathology (Tellez et al. 2018, 2019), on whole RGB uint8 batches.

Colour deconvolution (Ruifrok & Johnston, "Quantification of histochemical staining by color
deconvolution", Anal. Quant. Cytol. Histol. 2001) writes each pixel's optical density
``OD = -log(I)`` (I in (0, 1], clipped below at 1e-6) as a mix of three stain vectors: Haematoxylin,
Eosin and DAB (the rows of ``RGB_FROM_HED``, the matrix ``skimage.color.rgb_from_hed`` uses). Per sample
and per stain channel the concentrations are perturbed, ``hed' = alpha * hed + beta`` with
``alpha ~ U(1 - sigma, 1 + sigma)`` and ``beta ~ U(-sigma, sigma)``, and mapped back to RGB.

Units: concentrations here are natural-log optical densities (``hed = OD @ HED_FROM_RGB``), so ``beta`` is
a shift in OD units. ``skimage.color.rgb2hed`` (>= 0.19) additionally divides by -log(1e-6) (about 13.8)
and clips negative concentrations at 0; neither is done here, so that ``sigma = 0`` is an exact round trip
(up to uint8 rounding) and ``sigma`` keeps the meaning of Tellez et al.'s "HED-light" (0.05, the default)
and "HED-strong" (0.2) settings, a modest and a strong colour change.

References: Tellez et al., "Whole-slide mitosis detection in H&E breast histology using PHH3 as a
reference to train distilled stain-invariant convolutional networks", IEEE TMI 2018; Tellez et al.,
"Quantifying the effects of data augmentation and stain color normalization in convolutional neural
networks for computational pathology", Medical Image Analysis 2019.

Usage::

    aug = build_augment("stain", sigma=0.05)
    out = aug(images_rgb, generator)              # (B, 3, H, W) uint8 -> same
"""

from __future__ import annotations

import torch

from zoo.augment.base import AUGMENTATIONS, BatchAugment, bernoulli, check_probability, check_range, uniform
from zoo.errors import ConfigError

# Rows: the OD colour of one unit of Haematoxylin, Eosin, DAB (skimage.color.rgb_from_hed).
RGB_FROM_HED = torch.tensor([[0.65, 0.70, 0.29],
                             [0.07, 0.99, 0.11],
                             [0.27, 0.57, 0.78]], dtype=torch.float64)
HED_FROM_RGB = torch.linalg.inv(RGB_FROM_HED)  # skimage.color.hed_from_rgb
_MIN_INTENSITY = 1e-6  # as skimage: avoids log(0) for black pixels


def rgb_to_hed(rgb: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] (B, 3, H, W) float -> stain concentrations (B, 3, H, W): channels H, E, D, in OD units.

    Usage::

        hed = rgb_to_hed(images.float() / 255)        # hed[:, 0] is the haematoxylin map
    """
    od = -torch.log(rgb.clamp(min=_MIN_INTENSITY))  # (B, 3, H, W) optical density per RGB channel
    m = HED_FROM_RGB.to(device=rgb.device, dtype=rgb.dtype)
    return torch.einsum("bchw,cs->bshw", od, m)  # per pixel: row vector OD @ HED_FROM_RGB


def hed_to_rgb(hed: torch.Tensor) -> torch.Tensor:
    """Stain concentrations (B, 3, H, W) in OD units -> RGB in [0, 1] (B, 3, H, W): the inverse of ``rgb_to_hed``.

    Usage::

        rgb = hed_to_rgb(rgb_to_hed(x))              # == x where x >= 1e-6
    """
    m = RGB_FROM_HED.to(device=hed.device, dtype=hed.dtype)
    od = torch.einsum("bshw,sc->bchw", hed, m)  # per pixel: row vector HED @ RGB_FROM_HED
    return torch.exp(-od).clamp(0.0, 1.0)


@AUGMENTATIONS.register("stain")
class HEDJitter(BatchAugment):
    """Per-sample, per-stain scale and shift of H&E(+DAB) concentrations; needs 3-channel images.

    Options: ``sigma`` (0.05: both the scale half-range around 1 and the shift half-range), ``p``
    (probability that a sample is jittered, 1.0).

    Usage::

        HEDJitter(sigma=0.2)(images_rgb, generator)    # "HED-strong"
    """

    name = "stain"

    def __init__(self, sigma: float = 0.05, p: float = 1.0) -> None:
        super().__init__(sigma=sigma, p=p)
        self.sigma = check_range(self.name, "sigma", sigma, 0.0, 1.0)
        self.p = check_probability(self.name, "p", p)

    def apply(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        b, c = images.shape[:2]
        if c != 3:
            raise ConfigError(f"augmentation 'stain' (HED stain jitter) needs RGB H&E images (3 channels), got {c} "
                              "channel(s); use 'intensity' or 'standard' for grayscale modalities")
        s, dev = self.sigma, images.device
        alpha = uniform(1.0 - s, 1.0 + s, (b, 3), generator, dev)  # (B, 3) scale per stain
        beta = uniform(-s, s, (b, 3), generator, dev)  # (B, 3) shift per stain, OD units
        keep = ~bernoulli(self.p, (b,), generator, dev)  # (B,) samples left as they are
        alpha = torch.where(keep[:, None], torch.ones_like(alpha), alpha)
        beta = torch.where(keep[:, None], torch.zeros_like(beta), beta)
        hed = rgb_to_hed(images.float().div_(255.0))  # (B, 3, H, W)
        hed = hed * alpha[:, :, None, None] + beta[:, :, None, None]
        return hed_to_rgb(hed).mul_(255.0).round_().to(torch.uint8)  # hed_to_rgb already clips to [0, 1]
