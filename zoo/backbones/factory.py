"""The backbone registry (entry-point group ``medzoo.backbones``) and building a backbone it names.

Names here are registered names (``simple_cnn``, ``resnet18_28``) or ``family/arch``, where ``family`` is a
registered factory taking the architecture as its first argument (``timm/resnet18`` -> any timm model).
Hub checkpoints (``medzoo:NAME``, ``hf-hub:org/name``) are routed by ``zoo.backbones.create_backbone``, one
layer up: the Hub's loader (``zoo.hub``) rebuilds a checkpoint's network with ``create_registered`` from here.

Usage::

    from zoo.backbones.factory import create_registered, factory_of
    net = create_registered("timm/convnext_atto", in_chans=1, pretrained=False)
    factory_takes(factory_of("simple_cnn"), "image_size")     # True
"""

from __future__ import annotations

import inspect
from typing import Any

from zoo.backbones.base import Backbone
from zoo.errors import ConfigError
from zoo.plugins import discover_into
from zoo.registry import Registry


def _check_backbone(obj: Any) -> str | None:
    return None if callable(obj) else f"expected a callable returning a zoo Backbone, got {obj!r}"


BACKBONES = Registry("backbone", group="medzoo.backbones", check=_check_backbone, discover=discover_into)


def factory_of(name: str) -> Any:
    """The registered factory of ``name`` (of its family for ``family/arch``); unknown names: did-you-mean."""
    family, sep, _ = name.partition("/")
    return BACKBONES.get(family if sep else name)


def factory_takes(factory: Any, option: str) -> bool:
    """True when ``factory`` names ``option`` as a parameter (not just ``**kwargs``)."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    return option in params and params[option].kind is not inspect.Parameter.VAR_KEYWORD


def check_options(name: str, factory: Any, kwargs: dict[str, Any], positional: int) -> None:
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


def create_registered(name: str, **kwargs: Any) -> Backbone:
    """Build the registered backbone ``name`` (``family/arch`` passes ``arch`` to the family's factory)."""
    family, sep, arch = name.partition("/")
    factory = factory_of(name)
    check_options(name, factory, kwargs, positional=1 if sep else 0)
    backbone = factory(arch, **kwargs) if sep else factory(**kwargs)
    missing = [a for a in ("forward_features", "num_features", "config") if not hasattr(backbone, a)]
    if missing:
        raise ConfigError(f"backbone '{name}' does not follow the contract: missing {', '.join(missing)}")
    return backbone
