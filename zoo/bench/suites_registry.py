"""Where suites come from: medzoo's own (``benchmarks/suites``, shipped as ``zoo.suites``), folders in
``MEDZOO_SUITE_PATH`` (``:``-separated), plugins (entry-point group ``medzoo.suites`` naming a folder or a
YAML file), or a path given directly. A suite's name is its file name without ``.yaml``.

Usage::

    SUITES.names()                    # ['brain-mri-shift', 'organ-a-to-c', 'quick', ...]
    find_suite_file("quick")          # Path(.../zoo/suites/quick.yaml)
    find_suite_file("./my-suite.yaml")
"""

from __future__ import annotations

import os
from importlib.metadata import entry_points
from importlib.resources import files
from pathlib import Path

from zoo.plugins import autoload_enabled, disabled_names, dist_of
from zoo.registry import BUILTIN_DIST, Registry, import_target

SUITE_PATH_ENV = "MEDZOO_SUITE_PATH"


def _add_folder(registry: Registry, folder: Path, dist: str, version: str = "") -> None:
    for path in sorted(folder.glob("*.yaml")):
        # a quick.yaml in $MEDZOO_SUITE_PATH or a plugin never replaces medzoo's quick: it is a conflict,
        # reachable as "<dist>:quick" (zoo.registry.Registry.claim)
        registry.claim(path.stem, path, dist=dist, version=version)


def _discover_suites(registry: Registry) -> None:
    from zoo.version import __version__

    _add_folder(registry, Path(str(files("zoo.suites"))), BUILTIN_DIST, __version__)
    for folder in filter(None, os.environ.get(SUITE_PATH_ENV, "").split(os.pathsep)):
        _add_folder(registry, Path(folder), f"${SUITE_PATH_ENV}")
    if not autoload_enabled():
        return
    disabled = disabled_names()
    for ep in entry_points(group="medzoo.suites"):
        dist, version = dist_of(ep)
        if ep.name in disabled or dist in disabled:  # never imported: shown as disabled under its entry-point name
            registry.claim(ep.name, ep.value, dist=dist, version=version, disabled=True)
            continue
        try:
            target = Path(str(import_target(ep.value)))  # "module:attr" naming a folder or a YAML file
        except Exception as exc:  # noqa: BLE001 - a broken plugin is recorded, not fatal
            registry.claim(ep.name, ep.value, dist=dist, version=version).error = f"{type(exc).__name__}: {exc}"
            continue
        if target.is_dir():
            _add_folder(registry, target, dist, version)
        else:
            registry.claim(ep.name, target, dist=dist, version=version)


SUITES = Registry("suite", loader=lambda target: target, discover=_discover_suites)


def find_suite_file(name_or_path: str) -> Path:
    """The YAML file of a registered suite, or ``name_or_path`` itself if it is an existing file."""
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"} or os.sep in name_or_path:
        if candidate.is_file():
            return candidate
        from zoo.errors import ConfigError

        raise ConfigError(f"suite file {candidate} does not exist; give a registered suite name or a path "
                          "to a .yaml file")
    return Path(SUITES.get(name_or_path))
