"""The cards of ``medzoo info``: what is known about one entry, as fields and tables, and how it is printed.

The builders (``zoo/cli/info_models.py`` for algorithms and backbones, ``zoo/cli/info_data.py`` for datasets
and suites) return a ``Card``; ``render_card`` turns it into one rich panel that reads at 100 columns. Every
value is printed as plain text (never parsed as rich markup: ``[log, 0.01, 10]`` stays as it is).

Usage::

    card = Card("algorithm", "dann", summary="Source cross-entropy + ...", fields=[("paper", "Ganin et al. ...")])
    card.tables.append(CardTable("hyperparameters", ["name", "default"], [["weight", "0.1"]]))
    stdout_console().print(render_card(card))
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text


@dataclass
class CardTable:
    """One table of a card; ``note`` is a line printed under it."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""
    first_no_wrap: bool = True  # the first column holds names: never wrapped


@dataclass
class Card:
    """Everything ``medzoo info`` shows about one entry of one kind."""

    kind: str
    name: str
    summary: str = ""
    fields: list[tuple[str, str]] = field(default_factory=list)
    tables: list[CardTable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # closing hints: commands to run next


def doc_text(obj: Any, usage: bool = False) -> str:
    """``obj``'s docstring, dedented, with reST double backquotes as single ones; the ``Usage::`` block dropped
    unless ``usage``.

    Usage::

        doc_text(DANN)        # 'Source cross-entropy + gradient-reversed domain-discriminator loss.'
    """
    doc = inspect.cleandoc(getattr(obj, "__doc__", None) or "")
    if not usage:
        doc = doc.split("Usage::", 1)[0]
    return doc.replace("``", "`").replace("Usage::", "Usage (Python)::").strip()


def first_line(obj: Any) -> str:
    """The first sentence line of ``obj``'s docstring (what ``medzoo list`` shows)."""
    doc = doc_text(obj)
    return doc.splitlines()[0].strip() if doc else ""


def first_paragraph(text: str) -> str:
    """The first paragraph of ``text``, its lines joined."""
    return " ".join(text.strip().split("\n\n", 1)[0].split())


def reflow(text: str) -> str:
    """Docstring paragraphs and list items joined into single lines (rich wraps them to the terminal); the
    indented block after a ``::`` line (code) kept as it is.

    Usage::

        reflow("One\nparagraph.\n\n- an item\n  going on")     # 'One paragraph.\n\n- an item going on'
    """
    out: list[str] = []
    code = False
    for block in re.split(r"\n\s*\n", text.strip()):
        if code and block.startswith(" "):
            out.append(block)
            continue
        code = block.rstrip().endswith("::")
        items: list[str] = []
        for line in block.splitlines():
            stripped = line.strip()
            if not items or stripped.startswith(("- ", "* ")):
                items.append(stripped)
            else:
                items[-1] += " " + stripped
        out.append("\n".join(items))
    return "\n\n".join(out)


def _table(spec: CardTable) -> Table:
    table = Table(title=Text(spec.title, style="bold"), title_justify="left")
    for i, column in enumerate(spec.columns):
        table.add_column(column, overflow="fold", no_wrap=i == 0 and spec.first_no_wrap)
    for row in spec.rows:
        table.add_row(*(Text(str(cell)) for cell in row))
    return table


def render_card(card: Card) -> Panel:
    """One panel: the summary, a field/value grid, each table (with its note), then the closing hints."""
    parts: list[Any] = []
    if card.summary:
        parts.append(Text(card.summary))
    if card.fields:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        for key, value in card.fields:
            grid.add_row(Text(key), Text(str(value)))
        parts.append(Text(""))
        parts.append(grid)
    for spec in card.tables:
        parts.append(Text(""))
        parts.append(_table(spec))
        if spec.note:
            parts.append(Text(spec.note, style="dim"))
    if card.notes:
        parts.append(Text(""))
        parts.extend(Text(note, style="dim") for note in card.notes)
    title = Text.assemble((card.kind, "cyan"), " ", (card.name, "bold"))
    return Panel(Group(*parts), title=title, title_align="left")
