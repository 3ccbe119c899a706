"""Rendering of a prepared table (header, rows of strings, title, caption) as rich, Markdown or CSV text.

The results table (:mod:`zoo.results.table`) and the across-tasks table (:mod:`zoo.results.ranks`) build a
:class:`Cells` and hand it here, so both print the same way in the terminal and in Markdown.

Usage::

    cells = Cells(header=["Algorithm", "Rank"], body=[["dann", "1.50"]], title="ranks", n_left=1)
    print(to_text(cells, "markdown"))
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from zoo.errors import ConfigError

FORMATS = ("table", "markdown", "csv")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Cells:
    """A table ready to print: ``n_left`` leading group columns (left-aligned), the rest numbers (right).

    Usage::

        Cells(header=["Task", "Accuracy"], body=[["A", "84.5 [81.2, 87.9]"]], title="target_test", n_left=1)
    """

    header: list[str]
    body: list[list[str]]
    title: str
    n_left: int
    captions: list[str] = field(default_factory=list)
    sections: list[int] = field(default_factory=list)  # rows that end a group (a setting): a rule under them


def visible(by: Sequence[str], keys: list[tuple[str, ...]]) -> list[int]:
    """Indices of the ``by`` columns to show: a suite (setting) column only when there are several suites
    (settings); a lone setting goes into a caption (:func:`zoo.results.setting.setting_caption`).

    Usage::

        visible(("suite", "task"), [("quick@1", "a")])   # [1]
    """
    return [i for i, name in enumerate(by) if name not in ("suite", "setting") or len({key[i] for key in keys}) > 1]


def section_ends(by: Sequence[str], keys: list[tuple[str, ...]]) -> list[int]:
    """Indices of the rows (sorted ``keys``) after which the setting changes: a rule between settings.

    Usage::

        section_ends(("setting", "task"), [("transfer", "a"), ("source_free", "b")])   # [0]
    """
    if "setting" not in by:
        return []
    at = list(by).index("setting")
    return [i for i in range(len(keys) - 1) if keys[i][at] != keys[i + 1][at]]


def group_sort_key(by: Sequence[str]):
    """A sort key for row keys of ``by``: settings in their declared order (transfer first), else as text.

    Usage::

        keys.sort(key=group_sort_key(TABLE_BY))
    """
    from zoo.results.setting import setting_order

    def key(values: tuple[str, ...]) -> tuple:
        return tuple(setting_order(v) if f == "setting" else (0, v) for f, v in zip(by, values))

    return key


def suite_prefix(by: Sequence[str], keys: list[tuple[str, ...]]) -> str:
    """``"quick@1, "`` when every row is of one suite (its column is hidden then), else ``""``.

    Usage::

        suite_prefix(("suite", "task"), [("quick@1", "a"), ("quick@1", "b")])   # 'quick@1, '
    """
    suites = {key[by.index("suite")] for key in keys} if "suite" in by else set()
    return f"{next(iter(suites))}, " if len(suites) == 1 else ""


def rich_table(cells: Cells, empty: str | None = None) -> Table:
    """A ``rich`` table; cells are Text, so ``[pretrained=true]`` is never read as markup.

    Usage::

        Console().print(rich_table(cells))
    """
    table = Table(title=Text(cells.title))
    for index, name in enumerate(cells.header):
        left = index < cells.n_left
        # names fold onto a second line rather than being cut to "sim…" when the terminal is narrow
        table.add_column(Text(name), justify="left" if left else "right", no_wrap=not left,
                         overflow="fold" if left else "ellipsis")
    ends = set(cells.sections)
    for i, row in enumerate(cells.body):
        table.add_row(*map(Text, row), end_section=i in ends)
    captions = list(cells.captions) + ([empty] if empty and not cells.body else [])
    if captions:
        table.caption = Text("\n".join(captions))
    return table


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(cells: Cells) -> str:
    """A bold title line, a pipe table, then each caption as an italic line.

    Usage::

        Path("RESULTS.md").write_text(markdown(cells))
    """
    lines = [f"**{cells.title}**", "", "| " + " | ".join(map(_escape, cells.header)) + " |",
             "|" + "|".join("---" if i < cells.n_left else "---:" for i in range(len(cells.header))) + "|"]
    lines += ["| " + " | ".join(map(_escape, row)) + " |" for row in cells.body]
    lines += [""] + [f"_{_escape(caption)}_" for caption in cells.captions] if cells.captions else []
    return "\n".join(lines) + "\n"


def number(value: Any) -> Any:
    """A CSV cell: ``""`` for None/NaN, 12 significant digits for floats (no 0.0999999...), and a text that a
    spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``, tab, CR first) quoted with ``'``.

    Usage::

        number(0.1 + 0.2), number(float("nan")), number(3)   # ('0.3', '', 3)
        number("=cmd()")                                         # "'=cmd()"
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        # a spreadsheet would run "=HYPERLINK(...)" from a record's name: quote it so it stays text
        return "'" + value
    return format(float(value), ".12g") if isinstance(value, float) else value


def csv_text(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """CSV with ``\\n`` line ends; floats through :func:`number`.

    Usage::

        csv_text(["algorithm", "mean_rank"], [["dann", 1.5]])
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([number(value) for value in row])
    return out.getvalue()


def to_text(cells: Cells, fmt: str, *, width: int = 160, empty: str | None = None) -> str:
    """``table`` (rich, exported as plain text) or ``markdown``.

    Usage::

        sys.stdout.write(to_text(cells, "table"))
    """
    if fmt == "markdown":
        return markdown(cells)
    if fmt == "table":
        console = Console(record=True, width=width, file=io.StringIO())
        console.print(rich_table(cells, empty))
        return console.export_text()
    raise ConfigError(f"unknown results format {fmt!r}; use one of: {', '.join(FORMATS)}")
