"""A critical-difference diagram (Demšar 2006) of one Friedman block, as an inline ``<svg>``.

What: the methods' mean ranks over the independent blocks on a rank axis (1 = best, on the left), the
Nemenyi critical difference as a scale bar above it, and a thick bar under the axis joining each group of
methods whose mean ranks are within CD of each other (no pair inside a group can be told apart).
Why: one picture for "k methods on many tasks" that shows both the order and which differences are
noise, where a table of means invites reading every gap as real.

The input is one dict of :func:`zoo.results.friedman.friedman`, whose methods are all of one task setting
(a setting other than transfer is named in the diagram's label). The drawing follows the conventions of
:mod:`zoo.leaderboard.svg` (``class="plot"``, a ``viewBox``, Okabe-Ito colours, coordinates rounded to
0.1, every record string escaped with ``html.escape``), and it also carries its own stroke and font
attributes, so the same string renders the same outside the site's style sheet. No script, no web font.

Usage::

    svg = cd_diagram_svg(friedman(records, "accuracy")[0], width=640)

Reference: J. Demšar, "Statistical comparisons of classifiers over multiple data sets",
JMLR 7:1-30, 2006 (the layout is that of its Figures 1-2).
"""

from __future__ import annotations

import math
from typing import Any

from zoo.leaderboard.html import esc, finite
from zoo.leaderboard.svg import FONT, PALETTE, fmt_number, shorten

INK = "#1b1f24"  # elbows, ticks, names (the style sheet's .ci colour)
AXIS = "#8c959f"  # the style sheet's .axis colour
MUTED = "#57606a"  # mean ranks, the CD label
CHAR_W = 7.3  # the advance of a typical 12 px lowercase letter or digit in DejaVu Sans (a wide sans-serif)
GLYPHS = ((0.5, "ijl.,:;|!'()[] "), (0.65, "frt/-"), (1.45, "<>=+~#&"), (1.7, "MWmw@%"))  # relative advances
PAD = 6.0  # outer margin on every side
GAP = 6.0  # from the end of an elbow line to its text
MIN_AXIS = 180.0  # the name columns give way (names are shortened) before the axis gets narrower than this
ROW = 18.0  # vertical step between two names on one side
CLIQUE_STEP = 7.0  # vertical step between stacked clique bars


def _width(text: str) -> float:
    """Estimated pixels of ``text`` at 12 px, with narrow and wide glyphs weighted (sizes the name columns)."""
    return CHAR_W * sum(next((w for w, chars in GLYPHS if c in chars), 1.25 if c.isupper() else 1.0) for c in text)


def _fit(name: str, room: float) -> str:
    """``name``, or its longest ``shorten`` prefix (with an ellipsis) estimated to fit in ``room`` pixels."""
    for n in range(len(name), 1, -1):
        if _width(shorten(name, n)) <= room:
            return shorten(name, n)
    return shorten(name, 1)


def _rank_text(rank: Any) -> str:
    return f"{rank:.2f}" if finite(rank) else "n/a"


def cd_diagram_svg(block: dict, *, width: int = 640) -> str:
    """The critical-difference diagram of one ``friedman()`` block, as a self-contained ``<svg>`` string.

    Ranks outside [1, k] are clamped onto the axis (their label keeps the given value), a missing one sits
    at k labelled "n/a"; names too long for their column are shortened (the tooltip has the full name).
    The same block always draws the same bytes.

    Usage::

        cd_diagram_svg(friedman(records, "accuracy")[0])
    """
    ranks_in = block.get("mean_ranks") or {}
    given = [str(m) for m in block.get("order") or []]
    names = given + sorted(str(m) for m in block.get("methods") or ranks_in if str(m) not in given)
    names = list(dict.fromkeys(names))  # one entry per method, first occurrence kept
    k = max(2, len(names))  # an axis needs two ends, even for a degenerate block
    raw = {m: ranks_in.get(m) for m in names}
    rank = {m: min(max(float(raw[m]), 1.0), float(k)) if finite(raw[m]) else float(k) for m in names}
    names.sort(key=lambda m: (rank[m], given.index(m) if m in given else len(given)))  # stable on ties
    cd = block.get("cd")
    cliques = [[str(m) for m in c if str(m) in rank] for c in block.get("cliques") or []]
    cliques = [c for c in cliques if c]

    # Horizontal geometry: [PAD | left names | axis from rank 1 to rank k | right names | PAD]. The name
    # columns are as wide as their longest "name 1.23" (estimated), but never squeeze the axis below
    # MIN_AXIS; names that do not fit are shortened with an ellipsis (the full name is in the tooltip).
    n_left = math.ceil(len(names) / 2)  # the better half hangs to the left, the worse half to the right
    room = (width - 2 * PAD - MIN_AXIS) / 2 - GAP - 4 - _width(" 1.23")  # the most a name may take
    shown = {m: _fit(m, room) for m in names}
    column = max((_width(t) for t in shown.values()), default=0.0) + _width(" 1.23") + GAP + 4
    x0, x1 = PAD + column, width - PAD - column
    per_rank = (x1 - x0) / (k - 1)  # pixels per rank unit

    def x_of(r: float) -> float:
        return x0 + (r - 1.0) * per_rank

    # Vertical geometry, top down: the CD label and bar, the rank labels, the axis (ticks point up),
    # the clique bars stacked just below it, then one row per name (the longer side sets the height).
    y_cd, y_labels, y_axis = 22.0, 42.0, 52.0
    y_clique0 = y_axis + 8.0
    y_row0 = y_clique0 + len(cliques) * CLIQUE_STEP + 12.0
    height = y_row0 + (max(n_left, len(names) - n_left) - 1) * ROW + 14.0

    metric, label = block.get("metric", "score"), block.get("label", f"{len(names)} methods")
    if block.get("setting") not in (None, "transfer"):  # ranks are within one setting: a diagram names its own
        label = f"{label}, {block['setting']}"
    cd_text = f"CD = {cd:.2f}" if finite(cd) else "CD n/a"
    aria = f"Critical-difference diagram of mean {metric} ranks, {label}"
    summary = (f"{aria}, {block.get('n_units', '?')} independent blocks; Friedman chi2 = "
               + (f"{block['chi2']:.2f}" if finite(block.get("chi2")) else "n/a")
               + ", p = " + (f"{block['p']:.3g}" if finite(block.get("p")) else "n/a")
               + f"; Nemenyi {cd_text} (alpha {block.get('alpha', 0.05)}). Mean ranks, best first: "
               + ", ".join(f"{m} {_rank_text(raw[m])}" for m in names)
               + (". Not separated: " + "; ".join("{" + ", ".join(c) + "}" for c in cliques) if cliques else "")
               + ".")
    # width and height: drawn at its own size (12 px text), shrinking with a phone's column, never stretched
    out = [f'<svg class="plot cd-diagram" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{fmt_number(height)}" '
           f'viewBox="0 0 {width} {fmt_number(height)}" '
           f'role="img" aria-label="{esc(aria)}" font-family="system-ui, sans-serif" font-size="{FONT}">'
           f'<title>{esc(summary)}</title>']

    # The CD scale bar starts at rank 1, with end ticks; a CD wider than the whole axis is cut at rank k
    # and says so (then no two methods can be separated).
    if finite(cd) and cd > 0:
        length = min(cd, k - 1.0) * per_rank
        note = "" if cd <= k - 1 else " (wider than the axis)"
        out.append(f'<g class="cd"><text x="{fmt_number(x0)}" y="{fmt_number(y_cd - 8)}" fill="{MUTED}">'
                   f'{esc(cd_text + note)}</text>'
                   f'<line class="cd-bar" x1="{fmt_number(x0)}" y1="{fmt_number(y_cd)}" '
                   f'x2="{fmt_number(x0 + length)}" y2="{fmt_number(y_cd)}" '
                   f'stroke="{INK}" stroke-width="1.5"/>'
                   f'<path d="M{fmt_number(x0)} {fmt_number(y_cd - 4)}V{fmt_number(y_cd + 4)}'
                   f'M{fmt_number(x0 + length)} {fmt_number(y_cd - 4)}V{fmt_number(y_cd + 4)}" stroke="{INK}"/></g>')
    else:
        out.append(f'<text x="{fmt_number(x0)}" y="{fmt_number(y_cd - 8)}" fill="{MUTED}">{esc(cd_text)}</text>')

    # The rank axis: integer ticks with labels, and short half-rank ticks between them.
    out.append(f'<line class="axis" x1="{fmt_number(x0)}" y1="{fmt_number(y_axis)}" x2="{fmt_number(x1)}" '
               f'y2="{fmt_number(y_axis)}" stroke="{AXIS}"/>')
    for r in range(1, k + 1):
        x = x_of(r)
        out.append(f'<line class="axis" data-rank="{r}" x1="{fmt_number(x)}" y1="{fmt_number(y_axis - 6)}" '
                   f'x2="{fmt_number(x)}" '
                   f'y2="{fmt_number(y_axis)}" stroke="{AXIS}"/><text x="{fmt_number(x)}" y="{fmt_number(y_labels)}" '
                   f'text-anchor="middle">{r}</text>')
        if r < k:
            out.append(f'<line class="axis" x1="{fmt_number(x + per_rank / 2)}" y1="{fmt_number(y_axis - 3)}" '
                       f'x2="{fmt_number(x + per_rank / 2)}" y2="{fmt_number(y_axis)}" stroke="{AXIS}"/>')

    # Clique bars, one row each in the order given (best group first), overhanging their ends by 4 px.
    for i, clique in enumerate(cliques):
        lo, hi = min(rank[m] for m in clique), max(rank[m] for m in clique)
        y = y_clique0 + i * CLIQUE_STEP
        out.append(f'<line class="clique" x1="{fmt_number(x_of(lo) - 4)}" y1="{fmt_number(y)}" '
                   f'x2="{fmt_number(x_of(hi) + 4)}" y2="{fmt_number(y)}" '
                   f'stroke="{PALETTE[0]}" stroke-width="4" stroke-linecap="round">'
                   f'<title>{esc("within CD: " + ", ".join(clique))}</title></line>')

    # Each method: a tick on the axis and an elbow down to its row, then out to its side's name column.
    # Left side: best at the top, moving down as ticks move right; right side: worst at the top, moving
    # down as ticks move left; so no elbow crosses another.
    for i, m in enumerate(names):
        left = i < n_left
        row = i if left else len(names) - 1 - i
        x, y = x_of(rank[m]), y_row0 + row * ROW
        end = x0 - GAP if left else x1 + GAP
        text_x, anchor = (end - 4, "end") if left else (end + 4, "start")
        out.append(f'<g class="method"><title>{esc(f"{m}: mean rank {_rank_text(raw[m])}")}</title>'
                   f'<line class="method-tick" data-method="{esc(m)}" x1="{fmt_number(x)}" '
                   f'y1="{fmt_number(y_axis - 5)}" '
                   f'x2="{fmt_number(x)}" y2="{fmt_number(y_axis + 5)}" stroke="{INK}" stroke-width="2"/>'
                   f'<path d="M{fmt_number(x)} {fmt_number(y_axis)}V{fmt_number(y)}H{fmt_number(end)}" '
                   f'fill="none" stroke="{INK}"/>'
                   f'<text class="method-name" x="{fmt_number(text_x)}" y="{fmt_number(y + 4)}" text-anchor="{anchor}" '
                   f'fill="{INK}">{esc(shown[m])}<tspan fill="{MUTED}"> {_rank_text(raw[m])}</tspan></text></g>')
    out.append("</svg>")
    return "".join(out)
