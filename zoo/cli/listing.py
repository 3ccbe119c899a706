"""``medzoo list [backbones|algorithms|datasets|suites]``: what can be named in a suite, and from where.

medzoo's own entries are listed from entry-point metadata (not imported). Third-party plugin entries are
imported here, each guarded, so one that fails to import, names a missing attribute or has the wrong type
shows as ``broken`` with its distribution and error instead of breaking the listing (``MEDZOO_NO_PLUGINS=1``
skips them). ``--describe`` imports every entry to show the first line of its docstring.

Usage::

    medzoo list algorithms
    medzoo list --describe
"""

from __future__ import annotations

import argparse
import difflib

from rich.table import Table

from zoo.errors import UnknownNameError
from zoo.registry import Registry

KINDS = ("backbones", "algorithms", "datasets", "suites")
STATUS_STYLE = {"broken": "bold red", "conflict": "bold yellow", "disabled": "yellow", "loaded": "green",
                "available": "green"}


def registry_for(kind: str) -> Registry:
    """The registry of ``kind`` (plural, as on the command line)."""
    if kind not in KINDS:  # answered before the registries (and torch) are imported
        close = difflib.get_close_matches(kind, KINDS, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise UnknownNameError(f"unknown kind '{kind}'{hint} choose one of: {', '.join(KINDS)}")
    if kind == "suites":
        from zoo.bench.suites_registry import SUITES

        return SUITES
    from zoo.plugins import all_registries

    return all_registries()[kind]


def _summary(registry: Registry, name: str) -> str:
    try:
        obj = registry.get(name)
    except Exception as exc:  # noqa: BLE001 - shown in the table, the listing goes on
        return f"[red]{exc}[/red]"
    if registry.kind == "suite":
        from zoo.bench.suite import load_suite

        return load_suite(name).description
    doc = (getattr(obj, "__doc__", "") or "").strip().splitlines()
    return doc[0] if doc else ""


def entries_table(kinds: list[str], describe: bool = False) -> Table:
    table = Table(title="medzoo registry", show_lines=False)
    for column in ("kind", "name", "source", "status"):
        table.add_column(column, no_wrap=column != "source")
    table.add_column("description" if describe else "target / error", overflow="fold")
    for kind in kinds:
        registry = registry_for(kind)
        registry.load_all(builtins=False)  # a plugin's status is only known once it was imported
        for entry in registry.entries():
            detail = entry.error or entry.conflict or (_summary(registry, entry.name) if describe and not entry.disabled else str(entry.target))
            style = STATUS_STYLE.get(entry.status, "")
            table.add_row(kind[:-1], entry.name, entry.source, f"[{style}]{entry.status}[/{style}]", detail)
    return table


def run(args: argparse.Namespace) -> int:
    from zoo.cli.common import stdout_console

    kinds = [args.kind] if args.kind else list(KINDS)
    for kind in kinds:
        registry_for(kind)  # unknown kind -> one-line error
    stdout_console().print(entries_table(kinds, describe=args.describe))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "list", help="list backbones, algorithms, datasets and suites",
        description="List what can be named in a suite: built-ins and installed plugins.",
        epilog="examples:\n  medzoo list\n  medzoo list algorithms --describe",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # No argparse ``choices``: an unknown kind gets medzoo's one-line error with a did-you-mean hint.
    parser.add_argument("kind", nargs="?", metavar="KIND", help=f"only this kind: {', '.join(KINDS)}")
    parser.add_argument("--describe", action="store_true", help="import each entry and show its docstring summary")
    parser.set_defaults(func=run)
