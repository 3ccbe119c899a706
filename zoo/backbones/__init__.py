"""Backbones: the registry (entry-point group ``medzoo.backbones``) and ``create_backbone``.

Names: a registered name (``simple_cnn``, ``resnet18_28``) or ``family/arch`` where ``family`` is a
registered factory taking the architecture as its first argument (``timm/resnet18`` -> any timm model).

Usage::

    from zoo.backbones import create_backbone
    net = create_backbone("timm/convnext_atto", in_chans=1, pretrained=False)
"""

from __future__ import annotations

import inspect
from typing import Any

from zoo.backbones.base import Backbone, BackboneConfig
from zoo.errors import ConfigError
from zoo.registry import Registry


def _check_backbone(obj: Any) -> str | None:
    return None if callable(obj) else f"expected a callable returning a zoo Backbone, got {obj!r}"


BACKBONES = Registry("backbone", group="medzoo.backbones", check=_check_backbone)


def is_hub_name(name: str) -> bool:
    """True for checkpoint names served from the Hub: ``medzoo:NAME`` and ``hf-hub:org/name``."""
    return name.startswith(("medzoo:", "hf-hub:"))


def hub_factory():
    from zoo.hub.backbone import create_hub_backbone

    return create_hub_backbone


def _check_options(name: str, factory: Any, kwargs: dict[str, Any], positional: int) -> None:
    """Refuse options the factory does not take, before calling it (a TypeError inside would be a bug)."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # builtins or C callables: nothing to check against
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    accepted = [p for p in list(params)[positional:] if params[p].kind is not inspect.Parameter.VAR_POSITIONAL]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ConfigError(
            f"backbone '{name}' has no option {', '.join(unknown)}; it takes: {', '.join(accepted) or '(none)'}"
        )


def declares_option(name: str, option: str) -> bool:
    """True when the factory of backbone ``name`` names ``option`` as a parameter (not just ``**kwargs``).

    Usage::

        declares_option("simple_cnn", "image_size")      # True: the runner passes the task's image size
    """
    family, sep, _ = name.partition("/")
    try:
        factory = hub_factory() if is_hub_name(name) else BACKBONES.get(family if sep else name)
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    return option in params and params[option].kind is not inspect.Parameter.VAR_KEYWORD


def create_backbone(name: str, **kwargs: Any) -> Backbone:
    """Build the backbone ``name`` (``family/arch`` passes ``arch`` to the family's factory).

    ``medzoo:NAME[@REV]`` and ``hf-hub:org/name[@REV]`` build a pretrained checkpoint from the Hub
    (``zoo.hub.backbone``): pulled, sha256-checked, with its normalisation in ``config``.
    """
    if is_hub_name(name):
        return hub_factory()(name, **kwargs)
    family, sep, arch = name.partition("/")
    factory = BACKBONES.get(family if sep else name)
    _check_options(name, factory, kwargs, positional=1 if sep else 0)
    backbone = factory(arch, **kwargs) if sep else factory(**kwargs)
    missing = [a for a in ("forward_features", "num_features", "config") if not hasattr(backbone, a)]
    if missing:
        raise ConfigError(f"backbone '{name}' does not follow the contract: missing {', '.join(missing)}")
    return backbone


__all__ = ["BACKBONES", "Backbone", "BackboneConfig", "create_backbone", "declares_option", "is_hub_name"]
