"""medzoo: a plugin-based model zoo and benchmark suite for transfer learning in medical imaging.

``import zoo`` is cheap: it imports no plugin and no heavy optional dependency (datasets, accelerate,
sklearn) until first use.

Usage::

    import zoo
    backbone = zoo.create_backbone("timm/resnet18", in_chans=1, small_input=True)
    zoo.list_names("algorithms")          # ['adabn', 'ccsa', ..., 'source_then_target', ...]
"""

from __future__ import annotations

from zoo.version import __version__

__all__ = ["__version__", "create_backbone", "list_names"]


def create_backbone(name: str, **kwargs):
    """Build a registered backbone (``simple_cnn``, ``timm/<arch>``, a plugin's name, ...).

    ``medzoo:NAME[@REV]`` (a catalogue checkpoint) and ``hf-hub:org/name`` (a timm checkpoint on the Hub) are
    pulled, sha256-checked and loaded, and carry their input normalisation in ``backbone.config``.
    """
    from zoo.backbones import create_backbone as _create

    return _create(name, **kwargs)


def list_names(kind: str) -> list[str]:
    """Usable names of one registry: ``backbones``, ``algorithms``, ``datasets`` or ``suites``."""
    from zoo.registries import registry_for

    return registry_for(kind).names()
