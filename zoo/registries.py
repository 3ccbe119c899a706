"""Every registry of medzoo by kind: ``backbones``, ``algorithms``, ``datasets`` (filled from entry points) and
``suites`` (YAML files). The package's front (``zoo.list_names``) and the CLI (``medzoo list``, ``info``,
``plugins``, ``doctor``) look registries up here; the registries themselves live with what they hold
(``zoo.backbones``, ``zoo.algorithms``, ``zoo.datasets``, ``zoo.bench.suites_registry``).

Usage::

    from zoo.registries import registry_for
    registry_for("algorithms").names()      # ['adabn', 'ccsa', ...]
    registry_for("algoritms")               # UnknownNameError: unknown kind 'algoritms'; did you mean 'algorithms'? ...
"""

from __future__ import annotations

import difflib

from zoo.errors import UnknownNameError
from zoo.registry import Entry, Registry

KINDS = ("backbones", "algorithms", "datasets", "suites")


def all_registries() -> dict[str, Registry]:
    """The registries whose entries come from entry points, by kind (plural)."""
    from zoo.algorithms import ALGORITHMS
    from zoo.backbones import BACKBONES
    from zoo.datasets import DATASETS

    return {"backbones": BACKBONES, "algorithms": ALGORITHMS, "datasets": DATASETS}


def registry_for(kind: str) -> Registry:
    """The registry of ``kind`` (plural, as on the command line)."""
    if kind not in KINDS:  # answered before the registries (and torch) are imported
        close = difflib.get_close_matches(kind, KINDS, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise UnknownNameError(f"unknown kind '{kind}'{hint} choose one of: {', '.join(KINDS)}, or give a name "
                               "pattern such as '*mnist*'")
    if kind == "suites":
        from zoo.bench.suites_registry import SUITES

        return SUITES
    return all_registries()[kind]


def plugin_entries(load: bool = False) -> list[Entry]:
    """Every entry of every entry-point registry; with ``load=True`` each is imported so its status is final."""
    entries: list[Entry] = []
    for registry in all_registries().values():
        if load:
            registry.load_all()
        entries.extend(registry.entries())
    return entries
