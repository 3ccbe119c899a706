"""The figures of a suite page: each plot of :mod:`zoo.leaderboard.svg` with its caption and an HTML legend.

One colour per algorithm across the whole page (:func:`~zoo.leaderboard.svg.algorithm_colors`); in the
cost scatter, the variants of one algorithm (backbone x selection rule x from scratch) differ by marker
shape, in the budget plot the origins (pretraining or source domains) by dash pattern. Legends are HTML
lists (``ul.key``) under the plot: they wrap on a phone and read in the page's font, where text inside a
shrunken SVG would not; each entry carries its swatch (a CSS shape, no extra ``<svg>``) and the full label.
Within a figure every label is unique, so two rows that differ only by selection rule stay apart.

Usage::

    colors = algorithm_colors(suite["algorithms"])
    html = cost_figure(suite, colors) + budget_figures(suite, colors) + bars_figure(task, "Accuracy", 0, colors)
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from zoo.leaderboard.html import esc, finite
from zoo.leaderboard.svg import DASHES, SHAPES, bars_svg, budget_svg, cost_svg

METRIC_NAMES = {"accuracy": "Accuracy", "balanced_accuracy": "Balanced accuracy", "f1": "F1", "auroc": "AUROC",
                "precision": "Precision", "recall": "Recall"}


def metric_name(metric: str) -> str:
    """``balanced_accuracy`` -> ``Balanced accuracy`` (other names as given).

    Usage::

        metric_name("auroc")   # 'AUROC'
    """
    return METRIC_NAMES.get(metric, metric)


LINE_STYLES = {"": "solid", "6 3": "dashed", "2 3": "dotted"}  # svg.DASHES as CSS border styles


def _swatch(color: str, kind: str) -> str:
    """A legend swatch, a CSS shape in ``color``: ``bar``, ``hatch`` (oracle), ``line solid|dashed|dotted``,
    or a marker shape of :data:`~zoo.leaderboard.svg.SHAPES`."""
    return f'<span class="sw {kind}" style="--c:{color}"></span>'


def legend(entries: list[tuple[str, str, str]], title: str) -> str:
    """``<ul class="key">`` of ``(colour, swatch kind, label)``, labels escaped here.

    Usage::

        legend([("#0072B2", "bar", "dann")], "Colour: algorithm")
    """
    items = "".join(f'<li>{_swatch(color, kind)}<span class="key-label">{esc(label)}</span></li>'
                    for color, kind, label in entries)
    return f'<ul class="key" aria-label="{esc(title)}">{items}</ul>'


def bars_figure(task: dict[str, Any], metric: str, index: int, colors: dict[str, str], setting: str = "") -> str:
    """The bar chart of one task (a bar per table row, from 0) with its legend of algorithm colours; ``setting``
    (on a page of several) joins the task's name in the hover titles, which stay unique on the page.

    Usage::

        bars_figure(suite["tasks"][0], "accuracy", 0, colors)
    """
    rows = [(f"{c['algorithm']} · {c['backbone']} · {c['selection']}", c["mean"], c["ci_low"], c["ci_high"],
             c["oracle"], c["algorithm"]) for c in task["cells"]]
    algorithms = sorted({c["algorithm"] for c in task["cells"]})
    context = f"{task['name']} ({setting})" if setting else task["name"]
    entries = [(colors[a], "bar", a) for a in algorithms]
    if any(c["oracle"] for c in task["cells"]):
        entries.append(("#888", "hatch", "hatched: oracle selection (an upper bound)"))
    return (f'<figure class="bars"><figcaption>{esc(metric_name(metric))} (%) on {esc(task["name"])}: mean over seeds, '
            f'95% interval; bars start at 0</figcaption>'
            f'{bars_svg(rows, metric_name(metric) + " (%)", f"task-{index}", colors=colors, context=context)}'
            f'{legend(entries, "bar colour: algorithm")}</figure>')


def cost_figure(suite: dict[str, Any], colors: dict[str, str], setting: str = "") -> str:
    """The overall rows' mean score against training time per run; ``""`` when no run recorded a cost.
    ``setting`` (one setting's view on a page of several) ends every label, so hover titles stay unique.

    Usage::

        cost_figure(suite, algorithm_colors(suite["algorithms"]))
    """
    rows = [r for r in suite["overall"] if not r["oracle"]]
    points = [(f"{r['algorithm']} · {r['backbone']} · {r['selection']}" + (" · from scratch" if r["scratch"] else "")
               + (f" · {setting}" if setting else ""), r["cost"]["train_s"], r["mean"], r["algorithm"]) for r in rows]
    shown = [p for p in points if finite(p[1]) and p[1] > 0 and finite(p[2])]
    if not shown:
        return ""
    variants = sorted({label.partition(" · ")[2] for label, *_ in shown})  # what follows the algorithm's name
    styles = {label: (colors[algo], SHAPES[variants.index(label.partition(" · ")[2]) % len(SHAPES)])
              for label, _, _, algo in shown}
    entries = [(styles[label][0], styles[label][1], f"{label}: {mean * 100:.1f} at {cost:.3g} s")
               for label, cost, mean, _ in sorted(shown)]
    svg = cost_svg([(label, cost, mean) for label, cost, mean, _ in shown], "train seconds per run (log scale)",
                   "%", styles)
    return (f'<figure class="cost"><figcaption>{esc(metric_name(suite["metric"]))} (%, mean over tasks) against '
            f'training time per run: colour is the algorithm, shape its backbone and selection rule</figcaption>'
            f'{svg}{legend(entries, "points")}</figure>')


def budget_figures(suite: dict[str, Any], colors: dict[str, str], setting: str = "") -> str:
    """One plot per target domain whose tasks differ by label budget; a line per origin x algorithm x rule
    (``setting``: as for :func:`cost_figure`).

    Usage::

        budget_figures(suite, colors)
    """
    by_target: dict[str, dict[str, dict[float, tuple]]] = defaultdict(lambda: defaultdict(dict))
    origin_of: dict[str, str] = {}
    algorithm_of: dict[str, str] = {}
    one_backbone = len({c["backbone"] for t in suite["tasks"] for c in t["cells"]}) == 1
    for task in suite["tasks"]:
        origin = "+".join(task["pretrain"] or task["sources"]) or "scratch"
        for cell in task["cells"]:
            if cell["oracle"] or task["target_budget"] is None:
                continue
            extra = ("" if one_backbone else f" · {cell['backbone']}") + (f" · {setting}" if setting else "")
            label = f"{origin}→{task['target']} · {cell['algorithm']} · {cell['selection']}{extra}"
            by_target[task["target"]][label][task["target_budget"]] = (cell["mean"], cell["ci_low"], cell["ci_high"])
            origin_of[label], algorithm_of[label] = origin, cell["algorithm"]
    out = []
    for target, series in sorted(by_target.items()):
        if not any(len(points) >= 2 for points in series.values()):
            continue
        origins = sorted({origin_of[label] for label in series})
        styles = {label: (colors[algorithm_of[label]], DASHES[origins.index(origin_of[label]) % len(DASHES)])
                  for label in series}
        entries = [(styles[label][0], f"line {LINE_STYLES[styles[label][1]]}", label) for label in sorted(series)]
        out.append(f'<figure class="budget"><figcaption>{esc(metric_name(suite["metric"]))} (%) on {esc(target)} '
                   f'against the share of its training labels used: colour is the algorithm, the line style its '
                   f'origin</figcaption>{budget_svg(dict(series), "%", styles)}'
                   f'{legend(entries, "lines")}</figure>')
    return "".join(out)
