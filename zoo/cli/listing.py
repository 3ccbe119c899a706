"""``medzoo list [KIND] [PATTERN]``: what can be named in a suite, what each entry is, and whether its data is here.

Each row says what an entry is in one line (an algorithm's or backbone's docstring summary, a MedMNIST
dataset's modality and classes, a suite's description) and, for datasets and suites, whether their files
are in the data folder (suites through ``zoo.bench.data_needs``). ``PATTERN`` filters names the way timm's
``list_models`` does (fnmatch: ``'*resnet*'``, ``'d*'``); ``'timm/*resnet*'`` lists timm's own models. A
single word that is a name, not a kind (``medzoo list dann``), lists that entry and points to ``medzoo info``.

Third-party plugin entries are imported here, each guarded, so one that fails to import, names a missing
attribute or has the wrong type shows as ``broken`` with its distribution and error instead of breaking the
listing (``MEDZOO_NO_PLUGINS=1`` skips them). ``--describe`` is kept as an alias: descriptions are the default.

Usage::

    medzoo list algorithms
    medzoo list '*mnist*'
    medzoo list backbones 'timm/convnext*'
"""

from __future__ import annotations

import argparse
import difflib
import fnmatch

from rich.table import Table
from rich.text import Text

from zoo.errors import UnknownNameError
from zoo.registries import KINDS, registry_for
from zoo.registry import Entry, Registry

STATUS_STYLE = {"broken": "bold red", "conflict": "bold yellow", "disabled": "yellow", "loaded": "green",
                "available": "green"}
GLOB = set("*?[")
TIMM_PREFIX = "timm/"


# -- one line about each entry --------------------------------------------------------------------------
def _medmnist_line(flag: str, data_dir) -> tuple[str, str]:
    from zoo.datasets.medmnist import SIZES, medmnist_file, medmnist_table
    from zoo.datasets.paths import medmnist_dir

    meta = medmnist_file(flag, 28)
    k = len(meta.label_names)
    what = (f"{k} findings, multi-label" if meta.multi_label else
            f"{k} classes" + (f" ({'; '.join(meta.label_names)})" if k <= 4 else ""))
    folder = medmnist_dir(data_dir)
    present = [str(s) for s in SIZES
               if (flag, s) in medmnist_table() and (folder / medmnist_file(flag, s).file).is_file()]
    data = f"{', '.join(present)} px present" if present else "not downloaded"
    return f"MedMNIST v2 {meta.modality}: {what}", data


def _suite_line(name: str, data_dir) -> tuple[str, str]:
    from zoo.bench.data_needs import suite_data_status
    from zoo.bench.suite import load_suite

    suite = load_suite(name)
    statuses = suite_data_status(suite, data_dir)
    ready = sum(status.runnable for status in statuses)
    if ready == len(statuses):
        data = "present"
    elif ready == 0:
        data = "missing"
    else:
        data = f"{ready} of {len(statuses)} tasks"
    return suite.description, data


def describe(kind: str, registry: Registry, entry: Entry, data_dir=None) -> tuple[str, str]:
    """``(one line about the entry, data availability)``; a broken entry's error as its line.

    Usage::

        # ('MedMNIST v2 ultrasound: ...', '28 px present')
        describe("datasets", DATASETS, DATASETS.entry("breastmnist"))
    """
    from zoo.cli.info_render import first_line

    if entry.disabled:
        return "", ""
    if entry.error or entry.conflict:
        return entry.error or entry.conflict or "", ""
    try:
        if kind == "suites":
            return _suite_line(entry.name, data_dir)
        obj = registry.get(entry.name)
        if kind == "datasets" and entry.is_builtin:
            from zoo.datasets.medmnist import FLAGS

            if entry.name in FLAGS:
                return _medmnist_line(entry.name, data_dir)
        return first_line(obj), ""
    except Exception as exc:  # noqa: BLE001 - shown in the table, the listing goes on
        return f"{type(exc).__name__}: {exc}", ""


def _timm_rows(pattern: str) -> list[tuple[str, str, str, str, str]]:
    """``(name, source, status, data, description)`` of each timm model matching ``timm/<pattern>``."""
    import timm

    archs = timm.list_models(pattern[len(TIMM_PREFIX):] or "*")
    pretrained = {tagged.partition(".")[0] for tagged in timm.list_pretrained()}
    source = f"timm {timm.__version__}"
    return [(f"{TIMM_PREFIX}{arch}", source, "available", "",
             "timm model, pretrained weights available" if arch in pretrained else "timm model, random init only")
            for arch in archs]


def entry_rows(kinds: list[str], pattern: str | None = None, data_dir=None) -> list[list[str]]:
    """``[kind, name, source, status, data, description]`` of each entry of ``kinds`` whose name matches the
    fnmatch ``pattern`` (``timm/...``: timm's models).

    Usage::

        # [['algorithm', 'dan', 'medzoo 0.1.0', 'available', '', 'Source ...'], ...]
        entry_rows(["algorithms"], "d*")
    """
    from zoo.registry import former_names

    rows = []
    timm_only = pattern is not None and pattern.startswith(TIMM_PREFIX)
    for kind in kinds:
        if timm_only:
            if kind == "backbones":
                rows.extend([kind[:-1], *cells] for cells in _timm_rows(pattern))
            continue
        registry = registry_for(kind)
        registry.load_all(builtins=False)  # a plugin's status is only known once it was imported
        for entry in registry.entries():
            former = former_names(registry.kind, entry.name)  # old names (zoo/registry.py:ALIASES) match too
            if pattern is not None and not any(fnmatch.fnmatchcase(n.lower(), pattern.lower())
                                               for n in (entry.name, *former)):
                continue
            status = entry.status  # before describe() imports a built-in: medzoo's own entries stay "available"
            line, data = describe(kind, registry, entry, data_dir)
            line = f"(formerly {', '.join(former)}) {line}" if former else line
            rows.append([kind[:-1], entry.name, entry.source, "broken" if entry.error else status, data, line])
    return rows


def entries_table(rows: list[list[str]]) -> Table:
    """The listing table of ``entry_rows``; the data column only when some entry has data to report."""
    table = Table(title="medzoo registry", show_lines=False)
    for column in ("kind", "name", "source", "status"):
        table.add_column(column, no_wrap=column != "source")
    with_data = any(row[4] for row in rows)
    if with_data:
        table.add_column("data", no_wrap=True)
    table.add_column("description", overflow="fold")
    for kind, name, source, status, data, line in rows:
        style = STATUS_STYLE.get(status, "")
        cells = [kind, name, source, Text(status, style=style)] + ([data] if with_data else [])
        table.add_row(*cells, Text(line))
    return table


# -- the command -------------------------------------------------------------------------------------
def _known_name(word: str) -> bool:
    return any(word in registry_for(kind) for kind in KINDS)


def parse_words(words: list[str]) -> tuple[list[str], str | None, bool]:
    """``[KIND] [PATTERN]`` -> ``(kinds, pattern, named)``; ``named``: the single word was an entry's name.

    Usage::

        parse_words(["algorithms", "d*"])    # (['algorithms'], 'd*', False)
        parse_words(["dann"])                # (['backbones', 'algorithms', 'datasets', 'suites'], 'dann', True)
    """
    from zoo.errors import ConfigError

    singular = {kind[:-1]: kind for kind in KINDS}
    if len(words) > 2:
        raise ConfigError(f"medzoo list takes at most a kind and a pattern, got {' '.join(words)}; "
                          "e.g. medzoo list algorithms 'd*'")
    if len(words) == 2:
        kind = singular.get(words[0], words[0])
        registry_for(kind)  # unknown kind -> one-line error
        return [kind], words[1], False
    if not words:
        return list(KINDS), None, False
    word = words[0]
    if word in KINDS or word in singular:
        return [singular.get(word, word)], None, False
    if GLOB & set(word) or word.startswith(TIMM_PREFIX):
        return list(KINDS), word, False
    if _known_name(word):
        return list(KINDS), word, True
    if difflib.get_close_matches(word, KINDS, n=1):
        registry_for(word)  # 'algoritms': unknown kind, did you mean 'algorithms'?
    from zoo.cli.info import close_names

    raise UnknownNameError(f"'{word}' is neither a kind nor a name{close_names(word) or ';'} "
                           f"kinds: {', '.join(KINDS)}; "
                           f"a pattern lists the names like it: medzoo list '*{word}*'")


def run(args: argparse.Namespace) -> int:
    from zoo.cli.common import stdout_console

    words = ([args.kind] if args.kind else []) + ([args.pattern] if args.pattern else [])
    kinds, pattern, named = parse_words(words)
    rows = entry_rows(kinds, pattern=pattern, data_dir=args.data_dir)
    console = stdout_console()
    if not rows:
        console.print(f"no {' or '.join(k[:-1] for k in kinds)} name matches '{pattern}' (`medzoo list` shows every "
                      "name; patterns are fnmatch: '*mnist*', 'd*')", markup=False)
        return 0
    console.print(entries_table(rows))
    if named:
        console.print(f"medzoo info {pattern}   # everything about it: paper or citation, options, sizes, ...",
                      markup=False)
    elif pattern is not None and "backbones" in kinds and not pattern.startswith(TIMM_PREFIX):
        console.print(f"timm models too: medzoo list '{TIMM_PREFIX}{pattern}'", markup=False)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    from zoo.cli.common import add_data_dir

    parser = sub.add_parser(
        "list", help="list backbones, algorithms, datasets and suites",
        description="List what can be named in a suite (built-ins and installed plugins): what each entry is and, "
                    "for datasets and suites, whether their data is in the data folder. `medzoo info NAME` shows one.",
        epilog="examples:\n  medzoo list\n  medzoo list algorithms\n  medzoo list '*mnist*'\n"
               "  medzoo list algorithms 'd*'\n  medzoo list 'timm/convnext*'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # No argparse ``choices``: an unknown kind gets medzoo's one-line error with a did-you-mean hint.
    parser.add_argument("kind", nargs="?", metavar="KIND", help=f"only this kind: {', '.join(KINDS)}; or a pattern")
    parser.add_argument("pattern", nargs="?", metavar="PATTERN",
                        help="only names matching this fnmatch pattern ('*resnet*'; 'timm/*resnet*' lists timm models)")
    parser.add_argument("--describe", action="store_true",
                        help="kept for old scripts: descriptions are always shown now")
    add_data_dir(parser)
    parser.set_defaults(func=run)
