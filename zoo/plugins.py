"""Entry-point discovery: read plugin declarations without importing them; record, never raise.

medzoo's own built-ins are declared in its pyproject.toml under the same groups as third-party plugins
(``medzoo.backbones``, ``medzoo.algorithms``, ``medzoo.datasets``), so one code path serves both.

Switches (environment variables, read at discovery time):

- ``MEDZOO_NO_PLUGINS=1``: load only medzoo's own entries; third-party plugins are not even listed.
- ``MEDZOO_DISABLE_PLUGINS=name,dist``: disable single entries by entry name or by distribution name.

Usage::

    from zoo.plugins import plugin_entries
    for entry in plugin_entries():
        print(entry.kind, entry.name, entry.source, entry.status, entry.error)
"""

from __future__ import annotations

import logging
import os
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING

from zoo.errors import RegistryConflictError

if TYPE_CHECKING:
    from zoo.registry import Entry, Registry

logger = logging.getLogger(__name__)

NO_PLUGINS_ENV = "MEDZOO_NO_PLUGINS"
DISABLE_ENV = "MEDZOO_DISABLE_PLUGINS"


def autoload_enabled() -> bool:
    """False when ``MEDZOO_NO_PLUGINS`` is set to a true value."""
    return os.environ.get(NO_PLUGINS_ENV, "").strip().lower() not in {"1", "true", "yes", "on"}


def disabled_names() -> set[str]:
    """Entry or distribution names listed in ``MEDZOO_DISABLE_PLUGINS`` (comma separated)."""
    return {part.strip() for part in os.environ.get(DISABLE_ENV, "").split(",") if part.strip()}


def _dist_of(ep: EntryPoint) -> tuple[str, str]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "unknown", ""
    return dist.metadata["Name"] or "unknown", dist.version or ""


def discover_into(registry: "Registry") -> None:
    """Add every entry point of ``registry.group`` as a lazy entry; conflicts become broken entries."""
    from zoo.registry import BUILTIN_DIST

    disabled = disabled_names()
    seen: set[tuple[str, str, str]] = set()
    for ep in entry_points(group=registry.group):
        dist, version = _dist_of(ep)
        if dist != BUILTIN_DIST and not autoload_enabled():
            continue
        key = (ep.name, ep.value, dist)
        if key in seen:  # the same distribution visible twice on sys.path
            continue
        seen.add(key)
        try:
            entry = registry.add(ep.name, ep.value, dist=dist, version=version)
        except RegistryConflictError:
            registry.add_conflict(ep.name, ep.value, dist=dist, version=version)
            continue
        if ep.name in disabled or dist in disabled:
            entry.disabled = True


def all_registries() -> dict[str, "Registry"]:
    """The registries whose entries come from entry points, by kind (plural)."""
    from zoo.algorithms import ALGORITHMS
    from zoo.backbones import BACKBONES
    from zoo.datasets import DATASETS

    return {"backbones": BACKBONES, "algorithms": ALGORITHMS, "datasets": DATASETS}


def plugin_entries(load: bool = False) -> list["Entry"]:
    """Every entry of every registry; with ``load=True`` each is imported so its status is final."""
    entries: list[Entry] = []
    for registry in all_registries().values():
        if load:
            registry.load_all()
        entries.extend(registry.entries())
    return entries
