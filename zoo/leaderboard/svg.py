"""Hand-written SVG plots (no plotting library): bars with intervals, accuracy vs label budget, vs cost.

Each function returns an inline ``<svg>`` element with a ``viewBox`` (it scales to its container, so it
fits a phone), a ``<title>`` per mark (the exact numbers on hover) and record strings escaped. Colours
are the Okabe-Ito palette (distinguishable with colour-vision deficiencies); oracle rows are hatched.
Coordinates are rounded to 0.1, so the same numbers draw the same bytes.

Usage::

    bars_svg([("dann · simple_cnn", 0.87, 0.85, 0.89, False)], "Accuracy (%)")
    budget_svg({"xray→breast · full_ft": {0.01: (0.6, 0.5, 0.7)}}, "Accuracy (%)")
    cost_svg([("dann", 12.5, 0.87)], "Train s per run", "Accuracy (%)")
"""

from __future__ import annotations

import math
from typing import Sequence

from zoo.leaderboard.html import esc, finite

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
WIDTH = 640
FONT = 12


def _f(value: float) -> str:
    """A coordinate with one decimal (``12.0`` -> ``"12"``)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _open(height: float, label: str, hatch: str | None = None) -> str:
    """The ``<svg>`` start tag; with ``hatch``, a hatched fill pattern of that id (for oracle bars)."""
    head = (f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {_f(height)}" role="img" '
            f'aria-label="{esc(label)}">')
    if hatch:
        head += (f'<defs><pattern id="{hatch}" width="6" height="6" patternUnits="userSpaceOnUse" '
                 f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" '
                 f'y2="6" stroke="#888" stroke-width="3"/></pattern></defs>')
    return head


def _axis_pct(x0: float, x1: float, y: float, lo: float, hi: float) -> list[str]:
    """Ticks every 10 or 20 points between ``lo`` and ``hi`` (fractions) along a horizontal axis."""
    step = 0.1 if hi - lo <= 0.5 else 0.2
    out = [f'<line class="axis" x1="{_f(x0)}" y1="{_f(y)}" x2="{_f(x1)}" y2="{_f(y)}"/>']
    tick = math.ceil(lo / step - 1e-9) * step
    while tick <= hi + 1e-9:
        x = x0 + (tick - lo) / (hi - lo) * (x1 - x0)
        out.append(f'<line class="grid" x1="{_f(x)}" y1="0" x2="{_f(x)}" y2="{_f(y)}"/>'
                   f'<text x="{_f(x)}" y="{_f(y + 14)}" text-anchor="middle">{tick * 100:.0f}</text>')
        tick += step
    return out


def _range(values: Sequence[float]) -> tuple[float, float]:
    """A 0..1 range padded around the values, on a 10-point grid."""
    lo = min(values, default=0.0)
    hi = max(values, default=1.0)
    lo = max(0.0, math.floor(lo * 10 - 0.5) / 10)
    hi = min(1.0, math.ceil(hi * 10 + 0.5) / 10)
    return (lo, hi) if hi > lo else (0.0, 1.0)


def bars_svg(rows: Sequence[tuple[str, float, float, float, bool]], axis_label: str, ident: str = "0") -> str:
    """Horizontal bars: ``(label, mean, ci_low, ci_high, oracle)`` per row, whiskers for the interval.

    Usage::

        bars_svg([("dann · simple_cnn · source_val", 0.87, 0.85, 0.89, False)], "Accuracy (%)", ident="task-0")
    """
    left, right, bar, gap = 210.0, WIDTH - 16.0, 16.0, 8.0
    points = [v for _, m, lo, hi, _ in rows for v in (m, lo, hi) if finite(v)]
    lo, hi = _range(points)
    lo = 0.0 if lo < 0.3 else lo
    height = len(rows) * (bar + gap) + 34
    scale = (right - left) / (hi - lo)
    hatch = f"hatch-{ident}"  # ids are per page: one pattern per chart
    out = [_open(height, f"{axis_label} per algorithm with 95% intervals", hatch)]
    out += _axis_pct(left, right, height - 30, lo, hi)
    for i, (label, mean, low, high, oracle) in enumerate(rows):
        y = i * (bar + gap) + 4
        if not finite(mean):
            continue
        width = max(0.0, (mean - lo) * scale)
        fill = f"url(#{hatch})" if oracle else PALETTE[0]
        tip = f"{label}: {mean * 100:.1f}" + (f" [{low * 100:.1f}, {high * 100:.1f}]" if finite(low) and finite(high)
                                               else "") + (" (oracle: upper bound)" if oracle else "")
        out.append(f'<g><title>{esc(tip)}</title>'
                   f'<text x="{_f(left - 6)}" y="{_f(y + bar - 4)}" text-anchor="end">{esc(_short(label, 32))}</text>'
                   f'<rect x="{_f(left)}" y="{_f(y)}" width="{_f(width)}" height="{_f(bar)}" fill="{fill}" '
                   f'stroke="{PALETTE[0] if not oracle else "#666"}"/>')
        if finite(low) and finite(high):
            x0, x1 = left + (max(low, lo) - lo) * scale, left + (min(high, hi) - lo) * scale
            mid = y + bar / 2
            out.append(f'<path class="ci" d="M{_f(x0)} {_f(mid)}H{_f(x1)}M{_f(x0)} {_f(mid - 5)}V{_f(mid + 5)}'
                       f'M{_f(x1)} {_f(mid - 5)}V{_f(mid + 5)}"/>')
        out.append("</g>")
    out.append(f'<text x="{_f((left + right) / 2)}" y="{_f(height - 2)}" text-anchor="middle" class="label">'
               f'{esc(axis_label)}</text></svg>')
    return "".join(out)


def _budget_text(budget: float) -> str:
    if budget == 0:
        return "0 (unsup.)"
    if budget <= 1:
        return f"{budget * 100:g}%"
    return f"{budget:g} labels"


def _y_grid(lo: float, hi: float, left: float, right: float, top: float, bottom: float) -> list[str]:
    """Horizontal grid lines with percent labels every 10 (or 20) points between ``lo`` and ``hi`` (fractions)."""
    lines = []
    step = 0.1 if hi - lo <= 0.5 else 0.2
    tick = math.ceil(lo / step - 1e-9) * step
    while tick <= hi + 1e-9:
        y = bottom - (tick - lo) / (hi - lo) * (bottom - top)
        lines.append(f'<line class="grid" x1="{_f(left)}" y1="{_f(y)}" x2="{_f(right)}" y2="{_f(y)}"/>'
                     f'<text x="{_f(left - 6)}" y="{_f(y + 4)}" text-anchor="end">{tick * 100:.0f}</text>')
        tick += step
    return lines


def budget_svg(series: dict[str, dict[float, tuple[float, float, float]]], axis_label: str) -> str:
    """Lines of accuracy against the target label budget: ``{series label: {budget: (mean, low, high)}}``.

    Budgets are placed at evenly spaced positions in increasing order (0 has no logarithm; 1%, 10%, 100%
    are a factor of ten apart anyway), each labeled as a percentage of the target's training labels.

    Usage::

        budget_svg({"xray→breast · full_ft": {0.01: (0.6, 0.55, 0.65), 0.1: (0.7, 0.66, 0.74)}}, "%")
    """
    budgets = sorted({b for points in series.values() for b in points})
    values = [v for points in series.values() for p in points.values() for v in p if finite(v)]
    lo, hi = _range(values)
    left, right, top, bottom = 44.0, WIDTH - 16.0, 10.0, 230.0
    legend_rows = len(series)
    height = bottom + 40 + legend_rows * 18
    out = [_open(height, f"{axis_label} against the target label budget")]
    out += _y_grid(lo, hi, left, right, top, bottom)
    xs = {b: left + 30 + i * (right - left - 60) / max(1, len(budgets) - 1) for i, b in enumerate(budgets)}
    for b, x in xs.items():
        out.append(f'<text x="{_f(x)}" y="{_f(bottom + 16)}" text-anchor="middle">{esc(_budget_text(b))}</text>')
    out.append(f'<line class="axis" x1="{_f(left)}" y1="{_f(bottom)}" x2="{_f(right)}" y2="{_f(bottom)}"/>')
    for i, (label, points) in enumerate(sorted(series.items())):
        color = PALETTE[i % len(PALETTE)]
        dash = ' stroke-dasharray="5 3"' if i >= len(PALETTE) else ""

        def y_of(v: float) -> float:
            return bottom - (v - lo) / (hi - lo) * (bottom - top)

        coords = [(xs[b], y_of(m), low, high, b, m) for b, (m, low, high) in sorted(points.items()) if finite(m)]
        path = "".join(("M" if j == 0 else "L") + f"{_f(x)} {_f(y)}" for j, (x, y, *_rest) in enumerate(coords))
        out.append(f'<g><title>{esc(label)}</title>'
                   f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
        for x, y, low, high, b, m in coords:
            tip = f"{label}, budget {_budget_text(b)}: {m * 100:.1f}"
            if finite(low) and finite(high):
                tip += f" [{low * 100:.1f}, {high * 100:.1f}]"
                out.append(f'<path d="M{_f(x)} {_f(y_of(low))}V{_f(y_of(high))}" stroke="{color}"/>')
            out.append(f'<circle cx="{_f(x)}" cy="{_f(y)}" r="4" fill="{color}"><title>{esc(tip)}</title></circle>')
        ly = bottom + 36 + i * 18
        out.append(f'<rect x="{_f(left)}" y="{_f(ly - 9)}" width="14" height="4" fill="{color}"/>'
                   f'<text x="{_f(left + 20)}" y="{_f(ly)}">{esc(_short(label, 80))}</text></g>')
    out.append(f'<text x="6" y="{_f(top + 4)}" class="label">{esc(axis_label)}</text></svg>')
    return "".join(out)


def cost_svg(points: Sequence[tuple[str, float, float]], x_label: str, y_label: str) -> str:
    """A scatter of ``(label, cost, accuracy)``: cost on a log axis (runs differ by orders of magnitude).

    Usage::

        cost_svg([("dann · simple_cnn", 12.5, 0.87)], "Train s per run (log)", "Accuracy (%)")
    """
    usable = [(label, c, a) for label, c, a in points if finite(c) and c > 0 and finite(a)]
    left, right, top, bottom = 44.0, WIDTH - 16.0, 10.0, 230.0
    height = bottom + 40
    out = [_open(height, f"{y_label} against {x_label}")]
    if not usable:
        return out[0] + '<text x="10" y="40">no cost recorded</text></svg>'
    lo_c = math.floor(math.log10(min(c for _, c, _ in usable)))
    hi_c = max(lo_c + 1, math.ceil(math.log10(max(c for _, c, _ in usable))))
    lo, hi = _range([a for _, _, a in usable])
    for k in range(lo_c, hi_c + 1):
        x = left + (k - lo_c) / (hi_c - lo_c) * (right - left)
        out.append(f'<line class="grid" x1="{_f(x)}" y1="{_f(top)}" x2="{_f(x)}" y2="{_f(bottom)}"/>'
                   f'<text x="{_f(x)}" y="{_f(bottom + 16)}" text-anchor="middle">{10.0 ** k:g}</text>')
    out += _y_grid(lo, hi, left, right, top, bottom)
    for i, (label, cost, acc) in enumerate(sorted(usable)):
        x = left + (math.log10(cost) - lo_c) / (hi_c - lo_c) * (right - left)
        y = bottom - (acc - lo) / (hi - lo) * (bottom - top)
        color = PALETTE[i % len(PALETTE)]
        out.append(f'<g><title>{esc(f"{label}: {acc * 100:.1f} at {cost:.3g}")}</title>'
                   f'<circle cx="{_f(x)}" cy="{_f(y)}" r="5" fill="{color}"/>'
                   f'<text x="{_f(x + 7)}" y="{_f(y - 6)}">{esc(_short(label, 28))}</text></g>')
    out.append(f'<text x="{_f((left + right) / 2)}" y="{_f(height - 4)}" text-anchor="middle" class="label">'
               f'{esc(x_label)}</text><text x="6" y="{_f(top + 4)}" class="label">{esc(y_label)}</text></svg>')
    return "".join(out)
