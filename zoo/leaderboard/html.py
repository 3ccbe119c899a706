"""HTML building blocks of the leaderboard: escaping, number formats, badges and the page shell.

Every string that comes from a record goes through :func:`esc` (text and attribute values) or, inside a
``<script>`` element, :func:`script_json` (``<``, ``>``, ``&`` and the JavaScript line separators as
``\\uXXXX`` escapes), so a plugin named ``<script>alert(1)</script>`` renders as text. Pages link their
stylesheet and script relatively (``root`` is ``""`` or ``"../"``): the site works from ``file://`` and
from any static host, with nothing fetched from elsewhere.

Usage::

    page("quick@1", body_html, root="")     # a whole HTML document
    esc('<b a="1">')                         # '&lt;b a=&quot;1&quot;&gt;'
"""

from __future__ import annotations

import html
import json
import math
import re
from typing import Any, Sequence

GENERATOR = "medzoo leaderboard"
DASH = "–"
_NEEDS_ESCAPE = re.compile(r"[&<>\"']")


def esc(value: Any) -> str:
    """Text or attribute value, HTML-escaped (quotes too).

    Usage::

        f'<td title="{esc(name)}">{esc(name)}</td>'
    """
    text = str(value)
    # most texts (numbers, metric names) need nothing: one regex scan is half the cost of five replaces,
    # and a 10,000-run site calls this over a million times
    return html.escape(text, quote=True) if _NEEDS_ESCAPE.search(text) else text


def script_json(obj: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">``: no ``</script>``, no ``<!--``.

    Usage::

        f'<script type="application/json" id="data">{script_json(rows)}</script>'
    """
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def finite(value: Any) -> bool:
    """A real, finite number (not a bool, None, NaN or infinity).

    Usage::

        finite(0.5), finite(float("nan")), finite(None)   # (True, False, False)
    """
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def pct(value: Any, decimals: int = 1) -> str:
    """A fraction as a percentage without the sign (``0.8734`` -> ``"87.3"``), ``"–"`` when undefined.

    Usage::

        pct(0.8734), pct(None)   # ("87.3", "–")
    """
    return f"{value * 100:.{decimals}f}" if finite(value) else DASH


def num(value: Any, decimals: int = 1) -> str:
    """A plain number with ``decimals`` (``"–"`` when undefined); thousands separated for readability.

    Usage::

        num(1234.5), num(3, 0)   # ("1,234.5", "3")
    """
    return f"{value:,.{decimals}f}" if finite(value) else DASH


def sort_value(value: Any) -> str:
    """The ``data-v`` attribute the table sorter reads: a number as text, ``""`` for undefined.

    Usage::

        f'<td data-v="{sort_value(0.87)}">'   # data-v="0.87"
    """
    return repr(round(float(value), 9)) if finite(value) else ""


def budget_text(budget: Any) -> str:
    """A target label budget (the fraction of the target's training labels a run may use) as a percentage.

    Usage::

        budget_text(0.1), budget_text(0), budget_text(None)   # ('10%', '0% (no target labels)', '–')
    """
    if not finite(budget):
        return DASH
    if budget == 0:
        return "0% (no target labels)"
    return f"{budget * 100:.3g}%"


def p_text(p: Any) -> str:
    """``"0.0625"``, ``"<0.001"``, ``"–"`` (as :func:`zoo.results.compare.format_p`).

    Usage::

        p_text(0.0625), p_text(0.0001)   # ("0.0625", "<0.001")
    """
    if not finite(p):
        return DASH
    return "<0.001" if p < 0.001 else f"{p:.3g}"


def interval(mean: Any, low: Any, high: Any) -> str:
    """``"87.3 [85.1, 89.5]"`` (percent), the mean alone without an interval.

    Usage::

        interval(0.873, 0.851, 0.895)   # "87.3 [85.1, 89.5]"
    """
    text = pct(mean)
    return f"{text} [{pct(low)}, {pct(high)}]" if finite(low) and finite(high) else text


def badge(text: str, kind: str, title: str = "") -> str:
    """A small label; ``kind`` is a CSS class (``oracle``, ``warn``, ``plugin``, ``base``).

    Usage::

        badge("oracle · upper bound", "oracle", "selected with all target validation labels")
    """
    tip = f' title="{esc(title)}"' if title else ""
    return f'<span class="badge {kind}"{tip}>{esc(text)}</span>'


def row_badges(row: dict[str, Any]) -> str:
    """Badges of a table row: oracle upper bound, fewer seeds than the suite asks for, plugin sources.

    Usage::

        row_badges({"oracle": True, "few_seeds": True, "n": 2, "required_seeds": 3, "plugins": []})
    """
    out = []
    if row.get("oracle"):
        out.append(badge("oracle · upper bound", "oracle",
                         "model selected with ALL target validation labels: an upper bound, not an honest result"))
    if row.get("few_seeds"):
        out.append(badge(f"{row['n']}/{row['required_seeds']} seeds", "warn",
                         f"fewer seeds than {row.get('seeds_from') or 'the suite'} asks for "
                         f"({row['required_seeds']})"))
    if row.get("small_selection") is not None:
        last = row.get("last")
        beside = f" · last epoch {100 * last:.1f}" if isinstance(last, float) and math.isfinite(last) else ""
        out.append(badge(f"{row['small_selection']} selection labels/class{beside}", "warn",
                         f"the selection rule chose among epochs with {row['small_selection']} labelled validation "
                         "image(s) in some class, near a coin toss; the last epoch's mean is shown beside it"))
    for label in row.get("plugins", ()):
        out.append(badge(f"plugin: {label}", "plugin", "not part of medzoo: contributed by this distribution"))
    return " ".join(out)


def th(label: str, kind: str = "num", title: str = "") -> str:
    """A sortable header cell (``kind``: ``num`` or ``text``).

    Usage::

        th("Accuracy [95% CI]", "num", title="mean over seeds")
    """
    tip = f' title="{esc(title)}"' if title else ""
    return f'<th scope="col" data-sort="{kind}"{tip}><button type="button">{esc(label)}</button></th>'


def td(text: str, value: Any = None, cls: str = "", raw: bool = False) -> str:
    """A cell; ``value`` becomes ``data-v`` for sorting; ``raw=True`` when ``text`` is already HTML.

    Usage::

        td("87.3 [85.1, 89.5]", 0.873, "score")
    """
    attrs = f' data-v="{esc(sort_value(value) if not isinstance(value, str) else value)}"' if value is not None else ""
    attrs += f' class="{cls}"' if cls else ""
    return f"<td{attrs}>{text if raw else esc(text)}</td>"


_CELL = re.compile(r"<td(?=[ >])")
_HEAD_TEXT = re.compile(r"<th[^>]*>(?:<button[^>]*>)?(.*?)(?:</button>)?</th>", re.S)


def label_cells(row: str, labels: Sequence[str]) -> str:
    """``row`` with each ``<td`` given ``data-label`` (escaped HTML) of its column, in order.

    Why: on a phone each row is a card of "label: value" lines (style.css, ``table.cards``), which reads
    without scrolling sideways; the label comes from the column's header.

    Usage::

        label_cells("<tr><td>a</td><td>b</td></tr>", ["Algorithm", "Seeds"])
    """
    names = iter(labels)
    return _CELL.sub(lambda _: f'<td data-label="{next(names, "")}"', row)


def header_labels(headers: Sequence[str]) -> list[str]:
    """The text of each header cell (HTML-escaped already, as :func:`th` wrote it).

    Usage::

        header_labels([th("Seeds")])   # ['Seeds']
    """
    return [m.group(1) if (m := _HEAD_TEXT.search(h)) else "" for h in headers]


def table(headers: Sequence[str], bodies: Sequence[tuple[str, Sequence[str]]], caption: str, table_id: str) -> str:
    """A sortable table: columns on a wide screen, a card per row on a phone (``class="cards"``).

    ``bodies``: ``(css class, rows)``; each becomes a ``<tbody>`` sorted on its own, so oracle rows stay
    apart from honest ones whatever column is sorted. The ``scroll`` container only matters if a table
    ever outgrows the page: the browser tests require that none does.

    Usage::

        table([th("Algorithm", "text")], [("honest", ["<tr><td>dann</td></tr>"])], "Task A", "task-table-0")
    """
    labels = header_labels(headers)
    parts = [f'<div class="scroll" tabindex="0"><table class="lb cards" id="{esc(table_id)}">',
             f"<caption>{caption}</caption>", "<thead><tr>", *headers, "</tr></thead>"]
    for cls, rows in bodies:
        if rows:
            parts += [f'<tbody class="{cls}">', *(label_cells(row, labels) for row in rows), "</tbody>"]
    parts.append("</table></div>")
    return "\n".join(parts)


def page(title: str, body: str, *, root: str = "", heading: str | None = None, crumbs: str = "") -> str:
    """A whole HTML document: meta viewport, the local stylesheet and script, a header and footer.

    Usage::

        Path("index.html").write_text(page("medzoo leaderboard", body), encoding="utf-8")
    """
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="{GENERATOR}">
<title>{esc(title)}</title>
<link rel="stylesheet" href="{root}assets/style.css">
<script defer src="{root}assets/app.js"></script>
</head>
<body>
<header class="top"><a class="home" href="{root}index.html">medzoo leaderboard</a>{crumbs}</header>
<main>
<h1>{esc(heading if heading is not None else title)}</h1>
{body}
</main>
<footer>Built by {GENERATOR} from result records only: the same records give the same site.
Raw data: <a href="{root}data/results.json">results.json</a> · <a href="{root}data/results.csv">results.csv</a>
· <a href="{root}data/leaderboard.json">leaderboard.json</a> · <a href="{root}data/cells.csv">cells.csv</a></footer>
</body>
</html>
"""
