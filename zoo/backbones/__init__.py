"""Backbones: ``create_backbone`` for every name a suite may give, and the registry (``medzoo.backbones``).

Names: a registered name (``simple_cnn``, ``resnet18_28``) or ``family/arch`` where ``family`` is a
registered factory taking the architecture as its first argument (``timm/resnet18`` -> any timm model),
built by ``zoo.backbones.factory``; or a Hub checkpoint (``medzoo:NAME``, ``hf-hub:org/name``), pulled and
loaded by ``zoo.hub.backbone``. The Hub's loader sits between this module and the backbone implementations:
it rebuilds a checkpoint's network from the registry, so it never imports this module.

Usage::

    from zoo.backbones import create_backbone
    net = create_backbone("timm/convnext_atto", in_chans=1, pretrained=False)
"""

from __future__ import annotations

from typing import Any

from zoo.backbones.base import Backbone, BackboneConfig
from zoo.backbones.factory import BACKBONES, create_registered, factory_of, factory_takes


def is_hub_name(name: str) -> bool:
    """True for checkpoint names served from the Hub: ``medzoo:NAME`` and ``hf-hub:org/name``."""
    return name.startswith(("medzoo:", "hf-hub:"))


def hub_factory():
    from zoo.hub.backbone import create_hub_backbone

    return create_hub_backbone


def declares_option(name: str, option: str) -> bool:
    """True when the factory of backbone ``name`` names ``option`` as a parameter (not just ``**kwargs``).

    Usage::

        declares_option("simple_cnn", "image_size")      # True: the runner passes the task's image size
    """
    try:
        factory = hub_factory() if is_hub_name(name) else factory_of(name)
    except (TypeError, ValueError):
        return False
    return factory_takes(factory, option)


def create_backbone(name: str, **kwargs: Any) -> Backbone:
    """Build the backbone ``name`` (``family/arch`` passes ``arch`` to the family's factory).

    ``medzoo:NAME[@REV]`` and ``hf-hub:org/name[@REV]`` build a pretrained checkpoint from the Hub
    (``zoo.hub.backbone``): pulled, sha256-checked, with its normalisation in ``config``.
    """
    if is_hub_name(name):
        return hub_factory()(name, **kwargs)
    return create_registered(name, **kwargs)


__all__ = ["BACKBONES", "Backbone", "BackboneConfig", "create_backbone", "declares_option", "is_hub_name"]
