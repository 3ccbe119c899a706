"""``medzoo plugin new NAME --kind algorithm|backbone|dataset``: scaffold a plugin package that passes its tests.

The package (``medzoo-NAME``, import name ``medzoo_NAME``) declares NAME in the kind's entry-point group,
holds a working starting point (entropy minimisation, a small CNN, a generated two-class dataset), tests
that run medzoo's conformance kit on it and one epoch through the runner, and an example suite. It
installs and passes its own tests unchanged; then the author replaces the starting point with their code.

Usage::

    medzoo plugin new my_algo --kind algorithm
    medzoo plugin new lung_ct --kind dataset --dir ~/src/medzoo-lung-ct
"""

from __future__ import annotations

import argparse
import difflib
import re
from pathlib import Path

KINDS = ("algorithm", "backbone", "dataset")
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*")


def entry_name(name: str) -> str:
    """The entry (and suite) name for NAME: lower case, ``-`` as ``_``; a bad name is a one-line ``ConfigError``."""
    from zoo.errors import ConfigError

    entry = name.strip().lower().replace("-", "_")
    if not NAME_PATTERN.fullmatch(entry):
        raise ConfigError(f"plugin name {name!r} must start with a letter and hold only letters, digits, '-' or '_', "
                          "e.g. my_method")
    return entry


def _check_free(kind: str, entry: str) -> None:
    """Refuse a name medzoo or an installed plugin already uses (installing it would break both)."""
    from zoo.errors import ConfigError
    from zoo.registries import registry_for

    registry = registry_for(f"{kind}s")
    if entry in registry:  # read from entry-point metadata: nothing is imported
        raise ConfigError(f"{kind} '{entry}' already exists (from {registry.entry(entry).source}); choose another name")


def scaffold(kind: str, name: str, directory: Path | None = None) -> tuple[Path, list[str]]:
    """Write the package for ``kind`` ``name`` into ``directory`` (default ``./medzoo-NAME``); return it and its files.

    Usage::

        root, files = scaffold("algorithm", "my_algo")
    """
    from zoo import __version__
    from zoo.cli.plugin_templates import render
    from zoo.errors import ConfigError

    if kind not in KINDS:
        close = difflib.get_close_matches(kind, KINDS, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"unknown plugin kind '{kind}'{hint} choose one of: {', '.join(KINDS)}")
    entry = entry_name(name)
    _check_free(kind, entry)
    root = Path(directory) if directory is not None else Path.cwd() / f"medzoo-{entry.replace('_', '-')}"
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ConfigError(f"{root} already exists and is not an empty folder; pick another --dir or remove it")
    files = render(kind, entry, ".".join(__version__.split(".")[:2]))
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root, sorted(files)


def run(args: argparse.Namespace) -> int:
    from zoo.cli.common import stdout_console

    root, files = scaffold(args.kind, args.name, Path(args.dir) if args.dir else None)
    console = stdout_console()
    lines = [f"created the {args.kind} plugin '{entry_name(args.name)}' in {root}:", *(f"  {f}" for f in files),
             "next:", f"  cd {root}", '  pip install -e ".[test]"', "  pytest", "  medzoo run example-suite.yaml"]
    console.print("\n".join(lines), markup=False, highlight=False)  # no rich markup: ".[test]" is literal
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    examples = ("examples:\n  medzoo plugin new my_algo --kind algorithm\n"
                "  medzoo plugin new tiny_net --kind backbone --dir ./medzoo-tiny-net\n"
                "  medzoo plugins            # what is installed, and its status")
    parser = sub.add_parser(
        "plugin", help="create a plugin package (medzoo plugin new NAME --kind ...)",
        description="Work on medzoo plugins. `new` scaffolds a package that installs and passes its own tests.",
        epilog=examples, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    new = actions.add_parser("new", help="scaffold a plugin package",
                             description="Scaffold a plugin package: entry point, starting code, conformance tests, "
                                         "example suite.",
                             epilog=examples, formatter_class=argparse.RawDescriptionHelpFormatter)
    new.add_argument("name", metavar="NAME", help="the entry's name in suites (letters, digits, _ or -)")
    # No argparse ``choices``: a wrong kind gets medzoo's one-line error with a did-you-mean hint.
    new.add_argument("--kind", required=True, metavar="{" + ",".join(KINDS) + "}", help="what the plugin adds")
    new.add_argument("--dir", metavar="PATH", help="where to write it (default: ./medzoo-NAME; must be new or empty)")
    new.set_defaults(func=run)
