"""Building a policy by name: ``build_augment("standard", degrees=15)``, with one-line ConfigErrors.

Importing this module imports every built-in policy module, which registers its policies in
``AUGMENTATIONS`` (``zoo.augment.base``); nothing here lists them by hand.

Usage::

    from zoo.augment import build_augment, augment_names
    aug = build_augment("intensity", gamma=1.3)   # aug(images_uint8, generator) -> images_uint8
    augment_names()                               # ['intensity', 'none', 'randaugment', ...]
"""

from __future__ import annotations

import difflib
import inspect
from typing import Any

from zoo.augment import autoaug, geometric, intensity, stain  # noqa: F401 - imported to register the policies
from zoo.augment.base import AUGMENTATIONS, BatchAugment
from zoo.errors import ConfigError, UnknownNameError


def augment_names() -> list[str]:
    """The names ``build_augment`` accepts, sorted.

    Usage::

        "stain" in augment_names()     # True
    """
    return AUGMENTATIONS.names()


def augment_options(name: str) -> dict[str, Any]:
    """The options of policy ``name`` with their defaults, e.g. ``{'gamma': 1.5, 'window': 0.1, 'p': 0.8}``.

    Usage::

        augment_options("stain")       # {'sigma': 0.05, 'p': 1.0}
    """
    params = inspect.signature(_policy_class(name).__init__).parameters
    return {k: p.default for k, p in params.items() if k != "self" and p.kind is p.POSITIONAL_OR_KEYWORD}


def build_augment(name: str, **options: Any) -> BatchAugment:
    """The policy registered as ``name``, built with ``options`` (unknown names/options: one-line ConfigError).

    Usage::

        aug = build_augment("standard", flip_p=0.5, degrees=10)
        out = aug(images, torch.Generator().manual_seed(0))     # (B, C, H, W) uint8, same device
    """
    cls = _policy_class(name)
    known = augment_options(name)
    for key in options:
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            listing = ", ".join(known) if known else "(none)"
            raise ConfigError(f"augmentation '{name}' has no option '{key}'{hint} options: {listing}")
    return cls(**options)


def _policy_class(name: str) -> type[BatchAugment]:
    try:
        return AUGMENTATIONS.get(name)
    except UnknownNameError as err:  # a KeyError; the runner expects a ConfigError for a bad config value
        raise ConfigError(str(err)) from None
