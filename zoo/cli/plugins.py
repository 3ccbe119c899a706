"""``medzoo plugins [--strict]``: every entry-point entry (suites too), its distribution, version, status and error.

A plugin entry that declares a name already taken (a built-in's, or another plugin's) shows as ``conflict``
under ``dist:name``, the name it can be used by; the built-in keeps the plain name.

Each entry is imported here, so the status is final. ``--strict`` exits 1 if any entry is broken (for CI).
``MEDZOO_NO_PLUGINS=1`` hides third-party plugins; ``MEDZOO_DISABLE_PLUGINS=name,dist`` disables some.

Usage::

    medzoo plugins
    medzoo plugins --strict
"""

from __future__ import annotations

import argparse
import sys

from rich.table import Table

from zoo.cli.listing import STATUS_STYLE


def _suite_entries() -> list:
    """Suites from medzoo and from plugins' ``medzoo.suites`` entry points (not ``$MEDZOO_SUITE_PATH`` folders)."""
    from zoo.bench.suites_registry import SUITE_PATH_ENV, SUITES

    SUITES.load_all(builtins=False)
    return [e for e in SUITES.entries() if e.dist != f"${SUITE_PATH_ENV}"]


def run(args: argparse.Namespace) -> int:
    from zoo.cli.common import stdout_console
    from zoo.plugins import autoload_enabled
    from zoo.registries import plugin_entries

    entries = plugin_entries(load=True) + _suite_entries()
    if not args.all:
        entries = [e for e in entries if not e.is_builtin or e.error or e.conflict]
    table = Table(title="medzoo plugins" + ("" if autoload_enabled() else " (autoloading disabled: MEDZOO_NO_PLUGINS)"))
    for column in ("kind", "name", "distribution", "version", "status"):
        table.add_column(column, no_wrap=True)
    table.add_column("error", overflow="fold")
    for e in entries:
        style = STATUS_STYLE.get(e.status, "")
        table.add_row(e.kind, e.name, e.dist, e.version, f"[{style}]{e.status}[/{style}]", e.error or e.conflict or "")
    console = stdout_console()
    if entries:
        console.print(table)
    else:
        console.print("no third-party plugins installed (medzoo's built-ins: `medzoo plugins --all`)")
    broken = [e for e in entries if e.error]
    if broken and args.strict:
        names = ", ".join(f"{e.kind} '{e.name}' ({e.source})" for e in broken)
        # One unwrapped line, like every other medzoo error (a console would wrap it at its width).
        print(f"medzoo: error: {len(broken)} broken plugin entr{'y' if len(broken) == 1 else 'ies'}: {names}",
              file=sys.stderr)
        return 1
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "plugins", help="show installed plugins and their status",
        description="Show every plugin entry point with its distribution, version, status and error.",
        epilog="examples:\n  medzoo plugins\n  medzoo plugins --strict     # exit 1 if any plugin is broken\n"
               "  MEDZOO_DISABLE_PLUGINS=my_algo medzoo plugins",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when any plugin entry is broken")
    parser.add_argument("--all", action="store_true", help="include medzoo's own built-in entries")
    parser.set_defaults(func=run)
