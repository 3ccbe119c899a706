"""Entry-point discovery: read plugin declarations without importing them; record, never raise.

medzoo's own built-ins are declared in its pyproject.toml under the same groups as third-party plugins
(``medzoo.backbones``, ``medzoo.algorithms``, ``medzoo.datasets``), so one code path serves both.

Switches (environment variables, read at discovery time):

- ``MEDZOO_NO_PLUGINS=1``: load only medzoo's own entries; third-party plugins are not even listed.
- ``MEDZOO_DISABLE_PLUGINS=name,dist``: disable single entries by entry name or by distribution name.

A plugin entry's code is part of the run ids of the runs using it: ``plugin_sources`` hashes the source
files of the top-level package its entry point names (found by the import system, so an editable install
hashes the checkout being edited). medzoo's own entries are not hashed: their run ids never change.

Usage::

    ALGORITHMS = Registry("algorithm", group="medzoo.algorithms", discover=discover_into)
    for entry in ALGORITHMS.entries():      # every kind at once: zoo.registries.plugin_entries()
        print(entry.kind, entry.name, entry.source, entry.status, entry.error)
    plugin_sources([ALGORITHMS.entry("bnm")])   # {'medzoo-example-plugin': {'version': ..., 'source_sha256': ...}}
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import os
from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from zoo.registry import BUILTIN_DIST, Entry, Registry, normalize_dist

logger = logging.getLogger(__name__)

NO_PLUGINS_ENV = "MEDZOO_NO_PLUGINS"
DISABLE_ENV = "MEDZOO_DISABLE_PLUGINS"


def autoload_enabled() -> bool:
    """False when ``MEDZOO_NO_PLUGINS`` is set to a true value."""
    return os.environ.get(NO_PLUGINS_ENV, "").strip().lower() not in {"1", "true", "yes", "on"}


def disabled_names() -> set[str]:
    """Entry or distribution names listed in ``MEDZOO_DISABLE_PLUGINS`` (comma separated)."""
    return {part.strip() for part in os.environ.get(DISABLE_ENV, "").split(",") if part.strip()}


def dist_of(ep: EntryPoint) -> tuple[str, str]:
    """``(distribution name, version)`` of the distribution declaring entry point ``ep`` (``"unknown"`` if none)."""
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "unknown", ""
    return dist.metadata["Name"] or "unknown", dist.version or ""


def discover_into(registry: Registry) -> None:
    """Add every entry point of ``registry.group`` as a lazy entry (see ``Registry.claim`` for name clashes).

    A plugin never replaces a built-in: its clashing entry is kept as ``dist:name``, shown as a conflict.
    The registries of entry-point kinds pass it as their ``discover`` callback
    (``Registry("algorithm", group="medzoo.algorithms", discover=discover_into)``).
    """
    disabled = disabled_names()
    disabled_dists = {normalize_dist(name) for name in disabled}  # a distribution may be spelled any PEP 503 way
    seen: set[tuple[str, str, str]] = set()
    for ep in entry_points(group=registry.group):
        dist, version = dist_of(ep)
        if dist != BUILTIN_DIST and not autoload_enabled():
            continue
        key = (ep.name, ep.value, dist)
        if key in seen:  # the same distribution visible twice on sys.path
            continue
        seen.add(key)
        registry.claim(ep.name, ep.value, dist=dist, version=version,
                       disabled=ep.name in disabled or normalize_dist(dist) in disabled_dists)


def _top_module(entry: Entry) -> str:
    """The top-level module an entry's code lives in: ``pkg`` for ``"pkg.sub:Attr"`` or an object of ``pkg.sub``."""
    module = (entry.target.partition(":")[0] if isinstance(entry.target, str)
              else getattr(entry.target, "__module__", ""))
    return (module or "").partition(".")[0]


@functools.lru_cache(maxsize=None)  # one process runs one version of a module: it is imported once
def _module_files(top: str) -> tuple[tuple[str, str], ...]:
    """``(relative path, sha256)`` of every ``.py`` file of the top-level package ``top`` (or of the module file).

    Found with ``importlib.util.find_spec`` (nothing is imported): for an editable install that is the
    checkout itself, where ``importlib.metadata``'s RECORD would list only a ``.pth`` file. Data files are
    left out: they may be large (weights), and what a plugin reads from them it reads through its code.
    """
    try:
        spec = importlib.util.find_spec(top) if top else None
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return ()
    if spec.submodule_search_locations:  # a package (several folders for a namespace package)
        files = [(folder, path) for folder in map(Path, spec.submodule_search_locations)
                 for path in folder.rglob("*.py") if "__pycache__" not in path.parts]
    elif spec.origin and Path(spec.origin).is_file():
        files = [(Path(spec.origin).parent, Path(spec.origin))]
    else:
        return ()
    return tuple(sorted((path.relative_to(folder).as_posix(), hashlib.sha256(path.read_bytes()).hexdigest())
                        for folder, path in files))


def plugin_sources(entries: Iterable[Entry]) -> dict[str, dict[str, str]]:
    """``{dist: {"version", "source_sha256"}}`` for the third-party entries among ``entries`` (``{}`` if none).

    The hash covers the ``.py`` files of the top-level packages the distribution's used entries live in,
    so editing a plugin (an editable install, or a reinstall without a version bump) changes it.

    Usage::

        config["plugins"] = plugin_sources([ALGORITHMS.entry("bnm"), DATASETS.entry("synthetic")])
    """
    tops: dict[tuple[str, str], set[str]] = {}
    for entry in entries:
        if entry.dist != BUILTIN_DIST:
            tops.setdefault((entry.dist, entry.version), set()).add(_top_module(entry))
    out: dict[str, dict[str, str]] = {}
    for (dist, version), modules in sorted(tops.items()):
        digest = hashlib.sha256()
        for top in sorted(modules):
            for path, sha in _module_files(top):
                digest.update(f"{top}/{path}\0{sha}\n".encode())
        out[dist] = {"version": version, "source_sha256": digest.hexdigest()}
    return out
