"""Hand-written SVG plots (no plotting library): bars with intervals, accuracy vs label budget, vs cost.

Each function returns an inline ``<svg>`` with a ``viewBox`` and ``width``/``height`` in pixels: it is
drawn at that size (12 px text, smaller than the page's 15 px) and shrinks with its container on a phone,
never grows (a plot stretched to a 1200 px column had text twice the page's). Every mark carries a
``<title>`` with its full label and numbers (shown on hover); labels drawn in the plot are never cut: a
long one wraps at its `` · `` separators. Colours come from the caller, one per algorithm
(:func:`algorithm_colors`, the Okabe-Ito palette: distinguishable with colour-vision deficiencies); a
scatter tells the variants of one algorithm apart by marker shape; oracle bars are hatched. Legends are
HTML beside the plot (:mod:`zoo.leaderboard.figures`): they wrap at any width and use the page's font.
Coordinates are rounded to 0.1, so the same numbers draw the same bytes.

Usage::

    bars_svg([("dann · simple_cnn", 0.87, 0.85, 0.89, False, "dann")], "Accuracy (%)", colors={"dann": "#0072B2"})
    budget_svg({"xray→breast · full_ft": {0.01: (0.6, 0.5, 0.7)}}, "%", {"xray→breast · full_ft": ("#0072B2", "")})
    cost_svg([("dann", 12.5, 0.87)], "train s per run (log)", "%", {"dann": ("#0072B2", "circle")})
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

from zoo.leaderboard.html import budget_text, esc, finite

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
SHAPES = ("circle", "square", "triangle", "diamond", "triangle-down", "cross")
DASHES = ("", "6 3", "2 3")  # line styles of the budget plot's origins (solid first; legends draw them in CSS)
WIDTH = 480
FONT = 12
LINE = 15.0  # the height of one line of 12 px text
CHAR_W = 7.3  # the advance of a typical 12 px lowercase letter or digit in DejaVu Sans (a wide sans-serif)
GLYPHS = ((0.5, "ijl.,:;|!'()[] "), (0.65, "frt/-"), (1.45, "<>=+~#&"), (1.7, "MWmw@%"))  # relative advances
INK = "#1b1f24"


def fmt_number(value: float) -> str:
    """A coordinate with one decimal (``12.0`` -> ``"12"``)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text_width(text: str) -> float:
    """Estimated pixels of ``text`` at 12 px, narrow and wide glyphs weighted (generous: wide fonts fit).

    Usage::

        text_width("full_ft")   # ~36
    """
    return CHAR_W * sum(next((w for w, chars in GLYPHS if c in chars), 1.25 if c.isupper() else 1.0) for c in text)


def wrap(text: str, room: float) -> list[str]:
    """``text`` as lines of at most ``room`` estimated pixels: broken after `` · `` separators first, then
    anywhere a single part is still too long (nothing is ever cut off).

    Usage::

        wrap("full_ft · simple_cnn · target_val_oracle", 200)   # ['full_ft · simple_cnn ·', 'target_val_oracle']
    """
    lines: list[str] = []
    parts = text.split(" · ")
    for i, part in enumerate(parts):
        piece = part + (" ·" if i < len(parts) - 1 else "")
        joined = f"{lines[-1]} {piece}" if lines else piece
        if lines and text_width(joined) <= room:
            lines[-1] = joined
            continue
        while text_width(piece) > room and len(piece) > 1:  # hard-break a part wider than the room
            cut = max(1, max(n for n in range(1, len(piece) + 1) if text_width(piece[:n]) <= room or n == 1))
            lines.append(piece[:cut])
            piece = piece[cut:]
        lines.append(piece)
    return lines or [""]


def algorithm_colors(algorithms: Iterable[str]) -> dict[str, str]:
    """One palette colour per algorithm, by sorted name: the same algorithm has the same colour in every plot
    of a page (more than 8 algorithms repeat colours; their labels still tell them apart).

    Usage::

        algorithm_colors(["source_only", "dann"])   # {'dann': '#0072B2', 'source_only': '#E69F00'}
    """
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(sorted(set(algorithms)))}


def _open(height: float, label: str, cls: str = "") -> str:
    """The ``<svg>`` start tag: drawn at WIDTH x height pixels, shrinking (not growing) with its container."""
    return (f'<svg class="plot{" " + cls if cls else ""}" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
            f'height="{fmt_number(height)}" viewBox="0 0 {WIDTH} {fmt_number(height)}" role="img" '
            f'aria-label="{esc(label)}" '
            f'font-family="system-ui, sans-serif" font-size="{FONT}">')


def marker(shape: str, x: float, y: float, color: str, r: float = 5.0) -> str:
    """A point of a scatter: ``circle``, ``square``, ``triangle``, ``diamond``, ``triangle-down`` or ``cross``."""
    if shape == "circle":
        return (f'<circle cx="{fmt_number(x)}" cy="{fmt_number(y)}" r="{fmt_number(r)}" fill="{color}" '
                f'stroke="{INK}" stroke-width=".6"/>')
    if shape == "square":
        return (f'<rect x="{fmt_number(x - r)}" y="{fmt_number(y - r)}" width="{fmt_number(2 * r)}" '
                f'height="{fmt_number(2 * r)}" fill="{color}" '
                f'stroke="{INK}" stroke-width=".6"/>')
    corners = {"triangle": ((0, -1.2), (1.1, 0.9), (-1.1, 0.9)), "triangle-down": ((0, 1.2), (1.1, -0.9), (-1.1, -0.9)),
               "diamond": ((0, -1.3), (1.1, 0), (0, 1.3), (-1.1, 0)),
               "cross": ((-.4, -1.1), (.4, -1.1), (.4, -.4), (1.1, -.4), (1.1, .4), (.4, .4), (.4, 1.1), (-.4, 1.1),
                         (-.4, .4), (-1.1, .4), (-1.1, -.4), (-.4, -.4))}[shape]
    points = " ".join(f"{fmt_number(x + dx * r)},{fmt_number(y + dy * r)}" for dx, dy in corners)
    return f'<polygon points="{points}" fill="{color}" stroke="{INK}" stroke-width=".6"/>'


def _x_ticks(x_of, y_top: float, y_axis: float, ticks: Sequence[tuple[float, str]]) -> list[str]:
    """Vertical grid lines with labels under the axis at ``y_axis``."""
    out = [f'<line class="axis" x1="{fmt_number(x_of(ticks[0][0]))}" y1="{fmt_number(y_axis)}" '
           f'x2="{fmt_number(x_of(ticks[-1][0]))}" '
           f'y2="{fmt_number(y_axis)}" stroke="#8c959f"/>']
    for value, text in ticks:
        x = x_of(value)
        out.append(f'<line class="grid" x1="{fmt_number(x)}" y1="{fmt_number(y_top)}" x2="{fmt_number(x)}" '
                   f'y2="{fmt_number(y_axis)}" stroke="#eaeef2"/>'
                   f'<text class="tick" x="{fmt_number(x)}" y="{fmt_number(y_axis + 14)}" text-anchor="middle">'
                   f'{esc(text)}</text>')
    return out


def bars_svg(rows: Sequence[tuple[str, float, float, float, bool, str]], axis_label: str, ident: str = "0", *,
             colors: dict[str, str] | None = None, context: str = "") -> str:
    """Horizontal bars from 0: ``(label, mean, ci_low, ci_high, oracle, algorithm)`` per row, whiskers for the
    interval, the label (wrapped, never cut) and the value above each bar, coloured by algorithm. ``context``
    (e.g. the task) starts each bar's hover title, so titles stay unique on a page of several charts.

    Usage::

        bars_svg([("dann · simple_cnn · source_val", 0.87, 0.85, 0.89, False, "dann")], "Accuracy (%)", "task-0")
    """
    colors = colors or algorithm_colors(r[5] for r in rows)
    left, right, bar, gap = 8.0, WIDTH - 12.0, 12.0, 10.0
    scale = right - left  # 0..1 (0..100%) across the plot: a bar's length is its score, gaps are not magnified
    body, y, hatches = [], 6.0, {}
    for label, mean, low, high, oracle, algorithm in rows:
        color = colors.get(algorithm, PALETTE[0])
        has_ci = finite(low) and finite(high)
        value = (f"{mean * 100:.1f}" + (f" [{low * 100:.1f}, {high * 100:.1f}]" if has_ci else "")
                 if finite(mean) else "no score")
        lines = wrap(label + (" (upper bound)" if oracle else ""), right - left - text_width(value) - 12)
        tip = (f"{context}: " if context else "") + f"{label}: {value}" + (
            " (oracle selection: an upper bound)" if oracle else "")
        text = "".join(f'<tspan x="{fmt_number(left)}" dy="{0 if i == 0 else fmt_number(LINE)}">{esc(line)}</tspan>'
                       for i, line in enumerate(lines))
        body.append(f'<g class="bar-row"><title>{esc(tip)}</title>'
                    f'<text class="mark" x="{fmt_number(left)}" y="{fmt_number(y + 11)}">{text}</text>'
                    f'<text class="value" x="{fmt_number(right)}" y="{fmt_number(y + 11)}" text-anchor="end">'
                    f'{esc(value)}</text>')
        y += len(lines) * LINE + 2
        if finite(mean):
            if oracle:
                hatches.setdefault(color, f"hatch-{ident}-{len(hatches)}")  # ids are per page: one per chart x colour
            fill = f"url(#{hatches[color]})" if oracle else color
            body.append(f'<rect class="bar" data-algorithm="{esc(algorithm)}" x="{fmt_number(left)}" '
                        f'y="{fmt_number(y)}" width="{fmt_number(max(0.0, min(mean, 1.0)) * scale)}" '
                        f'height="{fmt_number(bar)}" fill="{fill}" stroke="{color}"/>')
            if has_ci:
                x0, x1, mid = left + max(low, 0.0) * scale, left + min(high, 1.0) * scale, y + bar / 2
                body.append(f'<path class="ci" d="M{fmt_number(x0)} {fmt_number(mid)}H{fmt_number(x1)}'
                            f'M{fmt_number(x0)} {fmt_number(mid - 5)}V{fmt_number(mid + 5)}'
                            f'M{fmt_number(x1)} {fmt_number(mid - 5)}V{fmt_number(mid + 5)}" '
                            f'stroke="{INK}" stroke-width="1.5" fill="none"/>')
        body.append("</g>")
        y += bar + gap
    height = y + 34
    out = [_open(height, f"{axis_label} per algorithm with 95% intervals", "bars")]
    if hatches:
        out.append("<defs>" + "".join(
            f'<pattern id="{pid}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
            f'<rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="{color}" '
            f'stroke-width="3"/></pattern>' for color, pid in hatches.items()) + "</defs>")
    out += _x_ticks(lambda v: left + v * scale, 0.0, y, [(t / 5, f"{t * 20}") for t in range(6)])
    out += body
    out.append(f'<text class="label" x="{fmt_number((left + right) / 2)}" y="{fmt_number(height - 4)}" '
               f'text-anchor="middle" fill="#57606a">{esc(axis_label)}</text></svg>')
    return "".join(out)


def _range(values: Sequence[float]) -> tuple[float, float]:
    """A 0..1 range padded around the values, on a 10-point grid (a line plot's y axis)."""
    lo = min(values, default=0.0)
    hi = max(values, default=1.0)
    lo = max(0.0, math.floor(lo * 10 - 0.5) / 10)
    hi = min(1.0, math.ceil(hi * 10 + 0.5) / 10)
    return (lo, hi) if hi > lo else (0.0, 1.0)


def _y_grid(lo: float, hi: float, left: float, right: float, top: float, bottom: float) -> list[str]:
    """Horizontal grid lines with percent labels every 10 (or 20) points between ``lo`` and ``hi`` (fractions)."""
    lines = []
    step = 0.1 if hi - lo <= 0.5 else 0.2
    tick = math.ceil(lo / step - 1e-9) * step
    while tick <= hi + 1e-9:
        y = bottom - (tick - lo) / (hi - lo) * (bottom - top)
        lines.append(f'<line class="grid" x1="{fmt_number(left)}" y1="{fmt_number(y)}" x2="{fmt_number(right)}" '
                     f'y2="{fmt_number(y)}" stroke="#eaeef2"/>'
                     f'<text class="tick" x="{fmt_number(left - 6)}" y="{fmt_number(y + 4)}" text-anchor="end">'
                     f'{tick * 100:.0f}</text>')
        tick += step
    return lines


def budget_svg(series: dict[str, dict[float, tuple[float, float, float]]], axis_label: str,
               styles: dict[str, tuple[str, str]]) -> str:
    """Lines of a score against the target label budget: ``{label: {budget: (mean, low, high)}}``; ``styles``
    gives each label its ``(colour, dash pattern)``; the legend is the caller's.

    Budgets sit at evenly spaced positions in increasing order (0 has no logarithm; 1%, 10%, 100% are a
    factor of ten apart anyway), each labelled as a percentage of the target's training labels.

    Usage::

        budget_svg({"xray→breast · full_ft": {0.01: (0.6, 0.55, 0.65), 0.1: (0.7, 0.66, 0.74)}}, "%",
                   {"xray→breast · full_ft": ("#0072B2", "")})
    """
    budgets = sorted({b for points in series.values() for b in points})
    values = [v for points in series.values() for p in points.values() for v in p if finite(v)]
    lo, hi = _range(values)
    left, right, top, bottom = 34.0, WIDTH - 12.0, 22.0, 212.0
    height = bottom + 24
    out = [_open(height, f"{axis_label} against the target label budget", "budget")]
    out += _y_grid(lo, hi, left, right, top, bottom)
    xs = {b: left + 30 + i * (right - left - 60) / max(1, len(budgets) - 1) for i, b in enumerate(budgets)}
    for b, x in xs.items():
        out.append(f'<text class="tick" x="{fmt_number(x)}" y="{fmt_number(bottom + 16)}" text-anchor="middle">'
                   f'{esc(budget_text(b).split(" ")[0])}</text>')
    out.append(f'<line class="axis" x1="{fmt_number(left)}" y1="{fmt_number(bottom)}" x2="{fmt_number(right)}" '
               f'y2="{fmt_number(bottom)}" stroke="#8c959f"/>')

    def y_of(v: float) -> float:
        return bottom - (v - lo) / (hi - lo) * (bottom - top)

    for label, points in sorted(series.items()):
        color, dash = styles[label]
        coords = [(xs[b], y_of(m), low, high, b, m) for b, (m, low, high) in sorted(points.items()) if finite(m)]
        path = "".join(("M" if j == 0 else "L") + f"{fmt_number(x)} {fmt_number(y)}"
                       for j, (x, y, *_rest) in enumerate(coords))
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<g class="series"><title>{esc(label)}</title>'
                   f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2"{dashed}/>')
        for x, y, low, high, b, m in coords:
            tip = f"{label}, target budget {budget_text(b)}: {m * 100:.1f}"
            if finite(low) and finite(high):
                tip += f" [{low * 100:.1f}, {high * 100:.1f}]"
                out.append(f'<path d="M{fmt_number(x)} {fmt_number(y_of(low))}V{fmt_number(y_of(high))}" '
                           f'stroke="{color}"/>')
            out.append(f'<circle cx="{fmt_number(x)}" cy="{fmt_number(y)}" r="4" fill="{color}">'
                       f'<title>{esc(tip)}</title></circle>')
        out.append("</g>")
    out.append(f'<text class="label" x="4" y="12" fill="#57606a">{esc(axis_label)}</text></svg>')
    return "".join(out)


def cost_svg(points: Sequence[tuple[str, float, float]], x_label: str, y_label: str,
             styles: dict[str, tuple[str, str]]) -> str:
    """A scatter of ``(label, cost, score)``, cost on a log axis (runs differ by orders of magnitude); each
    label's ``(colour, marker shape)`` from ``styles``; no text beside the points (labels collide and run
    off the edge): the legend and each point's ``<title>`` name them.

    Usage::

        cost_svg([("dann · simple_cnn", 12.5, 0.87)], "train s per run (log)", "%",
                 {"dann · simple_cnn": ("#0072B2", "circle")})
    """
    usable = [(label, c, a) for label, c, a in points if finite(c) and c > 0 and finite(a)]
    left, right, top, bottom = 34.0, WIDTH - 12.0, 22.0, 212.0
    height = bottom + 38
    out = [_open(height, f"{y_label} against {x_label}", "cost")]
    if not usable:
        return out[0] + '<text x="10" y="40">no cost recorded</text></svg>'
    lo_c = math.floor(math.log10(min(c for _, c, _ in usable)))
    hi_c = max(lo_c + 1, math.ceil(math.log10(max(c for _, c, _ in usable))))
    lo, hi = _range([a for _, _, a in usable])

    def x_of(cost: float) -> float:
        return left + 8 + (math.log10(cost) - lo_c) / (hi_c - lo_c) * (right - left - 16)

    out += _x_ticks(x_of, top, bottom, [(10.0 ** k, f"{10.0 ** k:g}") for k in range(lo_c, hi_c + 1)])
    out += _y_grid(lo, hi, left, right, top, bottom)
    for label, cost, acc in sorted(usable):
        color, shape = styles[label]
        y = bottom - (acc - lo) / (hi - lo) * (bottom - top)
        out.append(f'<g class="point"><title>{esc(f"{label}: {acc * 100:.1f} at {cost:.3g}")}</title>'
                   f'{marker(shape, x_of(cost), y, color)}</g>')
    out.append(f'<text class="label" x="{fmt_number((left + right) / 2)}" y="{fmt_number(height - 4)}" '
               f'text-anchor="middle" '
               f'fill="#57606a">{esc(x_label)}</text><text class="label" x="4" y="12" '
               f'fill="#57606a">{esc(y_label)}</text></svg>')
    return "".join(out)
