"""Which layers train: one small vocabulary shared by the fine-tuning strategies and progressive transfer.

A *trainable spec* names what gets gradients in a stage (the classifier head always trains):

- ``"all"``: every backbone parameter;
- ``"head"``: none of the backbone (a linear probe);
- ``"last:K"``: the last ``K`` of ``backbone.blocks()`` (input -> output order), e.g. ``last:1`` = the top block;
- a list of module names of the backbone, e.g. ``["layer4", "layer3"]`` or ``["dense"]`` (names as in
  ``backbone.named_modules()``; a timm model's names may also be given without the ``model.`` prefix).

Bad specs (``last:9`` on a 5-block network, a name that is not a module) are one-line ``ConfigError`` s that
list what exists, raised when the model is built, before any training.

Usage::

    modules = trainable_backbone_modules(backbone, "last:2")    # [layer3, layer4] of a ResNet
    set_trainable(backbone, "last:2")                           # freezes the rest of the backbone
"""

from __future__ import annotations

from typing import Any

from torch import nn

from zoo.errors import ConfigError


def check_trainable_spec(spec: Any, owner: str) -> None:
    """Validate the *form* of a spec (what can be checked without a model); one-line ``ConfigError``."""
    if spec in ("all", "head"):
        return
    if isinstance(spec, str) and spec.startswith("last:"):
        k = spec.partition(":")[2]
        if k.isdigit() and int(k) >= 1:
            return
        raise ConfigError(f"{owner}: '{spec}' must be last:K with an integer K >= 1, e.g. last:2")
    if isinstance(spec, list) and spec and all(isinstance(name, str) and name for name in spec):
        return
    raise ConfigError(f"{owner}: which layers train must be 'all', 'head', 'last:K' or a list of module names, "
                      f"got {spec!r}")


def _module_by_name(backbone: nn.Module, name: str) -> nn.Module | None:
    modules = dict(backbone.named_modules())
    return modules.get(name) or modules.get(f"model.{name}")


def trainable_backbone_modules(backbone: nn.Module, spec: Any, owner: str = "stage") -> list[nn.Module]:
    """The backbone modules that train under ``spec`` (see the module docstring)."""
    check_trainable_spec(spec, owner)
    if spec == "all":
        return [backbone]
    if spec == "head":
        return []
    blocks = backbone.blocks() if hasattr(backbone, "blocks") else [backbone]
    if isinstance(spec, str):  # last:K
        k = int(spec.partition(":")[2])
        if k > len(blocks):
            raise ConfigError(f"{owner}: {spec} asks for the last {k} blocks but the backbone has {len(blocks)}; "
                              f"use last:1 .. last:{len(blocks)} (or 'all')")
        return blocks[len(blocks) - k:]
    found = []
    for name in spec:
        module = _module_by_name(backbone, name)
        if module is None:
            top = [n for n, _ in backbone.named_children()]
            inner = [n for n, _ in getattr(backbone, "model", nn.Module()).named_children()]
            known = ", ".join(inner or top)
            raise ConfigError(f"{owner}: the backbone has no layer '{name}'; its top-level layers: {known}")
        found.append(module)
    return found


def set_trainable(backbone: nn.Module, spec: Any, owner: str = "stage") -> None:
    """Freeze the whole backbone, then unfreeze the modules ``spec`` names (``requires_grad`` only)."""
    modules = trainable_backbone_modules(backbone, spec, owner)
    backbone.requires_grad_(False)
    for module in modules:
        module.requires_grad_(True)


def block_depths(backbone: nn.Module) -> dict[int, int]:
    """``id(parameter) -> depth from the top``: 0 for the last block, 1 for the one below, ... (for LLRD).

    Parameters outside every block (rare) get the deepest depth, so they learn slowest.
    """
    blocks = backbone.blocks() if hasattr(backbone, "blocks") else [backbone]
    depths: dict[int, int] = {}
    for depth, block in enumerate(reversed(blocks)):
        for p in block.parameters():
            depths.setdefault(id(p), depth)
    for p in backbone.parameters():
        depths.setdefault(id(p), len(blocks))
    return depths
