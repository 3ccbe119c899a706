"""The index page (every suite) and one page per suite (overall table, a table and bar chart per task, plots).

Tables are sortable (click a header) and filterable by algorithm or any text (``assets/app.js``); each
row links to the provenance page of each of its runs (``runs/<run_id>.html``). Oracle-selected rows sit
in their own ``<tbody class="oracle">`` under an "upper bound" heading, never among honest rows. The page
says which metric ranks the suite and why (``metric_reason``); a row with a run that predicts one class
for every test image wears a "constant predictor" badge, and a gain over such a baseline says so.

Rows are grouped by task setting (``summary["settings"]``, :mod:`zoo.results.setting`): a suite of one
setting names it once under the lead; a suite of several gets a section per setting, headed by its name and
one-line summary, holding that setting's overall table, plots, Friedman tests with their critical-difference
diagrams, and tasks; nothing is ranked across two sections. The index names each setting's leader.

Usage::

    html_text = suite_page(summary)          # summary: zoo.leaderboard.summary.summarize_suite(...)
    html_text = index_page(summaries, n_skipped=0)
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Sequence

from zoo.leaderboard import presets
from zoo.leaderboard.figures import METRIC_NAMES, bars_figure, budget_figures, cost_figure
from zoo.leaderboard.html import (
    DASH,
    badge,
    budget_text,
    esc,
    finite,
    interval,
    num,
    p_text,
    page,
    row_badges,
    script_json,
    table,
    td,
    th,
)
from zoo.leaderboard.svg import algorithm_colors
from zoo.results.compare import format_p as fmt_p
from zoo.results.setting import setting_summary
from zoo.task_settings import DEFAULT_SETTING

CONSTANT_TIP = "every test prediction of {k} of its runs is one class: its score is that class's share, not skill"
VS_CONSTANT = badge("vs constant predictor", "warn", "a paired baseline run predicted one class for every test image: "
                                                    "this gain is over a class prior, not over a trained baseline")
COST_HEADERS = (("train_s", "Train s", 1), ("peak_memory_mb", "Peak MB", 0), ("images_per_s", "Images/s", 0))


def suite_file(suite: str) -> str:
    """``quick@1`` -> ``suite-quick-1.html``; names with other characters get a hash (never a path).

    Usage::

        suite_file("quick@1")   # 'suite-quick-1.html'
    """
    slug = re.sub(r"[^a-z0-9]+", "-", suite.lower()).strip("-")[:60] or "suite"
    if not re.fullmatch(r"[a-z0-9-]+@[A-Za-z0-9.-]+", suite.lower()):
        slug += "-" + hashlib.sha256(suite.encode("utf-8")).hexdigest()[:8]
    return f"suite-{slug}.html"


def _gain_cells(gain: dict[str, Any] | None) -> list[str]:
    if gain is None:
        return [td(DASH, ""), td(DASH, "")]
    if gain.get("is_baseline"):
        return [td(badge("baseline", "base", f"the baseline: {gain['baseline']}"), "", raw=True), td(DASH, "")]
    text = f"{gain['gain'] * 100:+.1f}" if finite(gain["gain"]) else DASH
    tip = f"vs {gain['baseline']}, {gain['n_pairs']} paired seeds"
    mark = f" {VS_CONSTANT}" if gain.get("baseline_constant") else ""
    cell = td(f'<span title="{esc(tip)}">{esc(text)}</span>{mark}', gain["gain"] if finite(gain["gain"]) else "",
              raw=True)
    return [cell, td(p_text(gain["p"]), gain["p"] if finite(gain["p"]) else "")]


CONTROL_TITLES = {
    "adabn": "paired gain over adabn (source-only training, target BatchNorm statistics), points; p in the tooltip",
    "twin": "paired gain over the method's own weight-0 twin (same architecture and batches, alignment off), "
            "points; p in the tooltip",
}


def _control_cell(gain: dict[str, Any] | None) -> str:
    if gain is None:
        return td(DASH, "")
    text = f"{gain['gain'] * 100:+.1f}" if finite(gain["gain"]) else DASH
    tip = f"vs {gain['baseline']}, {gain['n_pairs']} paired seeds, p {p_text(gain['p'])} (Holm-adjusted)"
    mark = f" {VS_CONSTANT}" if gain.get("baseline_constant") else ""
    return td(f'<span title="{esc(tip)}">{esc(text)}</span>{mark}', gain["gain"] if finite(gain["gain"]) else "",
              raw=True)


def _cost_cells(cost: dict[str, Any]) -> list[str]:
    return [td(num(cost.get(key), d), cost.get(key) if finite(cost.get(key)) else "") for key, _, d in COST_HEADERS]


def _rank_cell(value: float | None) -> str:
    return td(num(value, 2), value) if value is not None else td(DASH, "")


def _name_cell(row: dict[str, Any]) -> str:
    badges = row_badges(row)
    if row.get("scratch") and "n_tasks" in row:  # an overall row of from-scratch training (the baseline)
        badges = badge("from scratch", "base", "trained on the target labels alone: the baseline") + " " + badges
    if row.get("constant_predictor"):  # styled as the small-selection badge: a warning beside the name
        constant = badge("constant predictor", "warn", CONSTANT_TIP.format(k=row.get("constant_runs", "some")))
        badges = f"{constant} {badges}".strip()
    return (f'<td data-v="{esc(row["algorithm"])}"><span class="algo">{esc(row["algorithm"])}</span>'
            + (f" {badges}" if badges else "") + "</td>")


def _row_attrs(row: dict[str, Any]) -> str:
    return (f' data-algorithm="{esc(row["algorithm"])}" data-backbone="{esc(row["backbone"])}"'
            f' data-selection="{esc(row["selection"])}"')


def _runs_cell(cell: dict[str, Any]) -> str:
    links = [f'<a class="run" href="runs/{esc(run["run_id"])}.html" title="provenance of run {esc(run["run_id"])}">'
             f'seed {esc(run["seed"])}</a>' for run in cell["runs"]]
    return f'<td class="runs">{" ".join(links)}</td>'


def task_table(task: dict[str, Any], metric: str, table_id: str) -> str:
    """The table of one task: a row per algorithm x backbone x selection rule, oracle rows apart.

    Usage::

        task_table(summary["tasks"][0], "accuracy", "task-table-0")
    """
    label = METRIC_NAMES.get(metric, metric)
    headers = [th("Algorithm", "text"), th("Backbone", "text"), th("Selection", "text"),
               th(f"{label} [95%\u00a0CI]", title="mean over seeds, 95% interval over seeds and the shared test images "
                                                 "(t over seeds without stored predictions), in %"),
               th("Seeds"),
               th("Gain", title=f"paired mean difference in points vs {task['baseline'] or 'no baseline'}"),
               th("p", title="paired test over seeds and the shared test images (sign-flip over seeds for runs "
                                  "without stored predictions), Holm-adjusted over every gain on this page"),
               th("Rank", title="rank on this task among algorithms with the same backbone and selection rule"),
               *[th(h) for _, h, _ in COST_HEADERS], th("Runs", "text")]
    controls = task.get("controls") or []
    rank_at = 7  # the control columns go after Gain and p, before Rank
    for i, control in enumerate(controls):  # the gain left over the adaptation controls (AdaBN, weight-0 twin)
        headers.insert(rank_at + i, th(f"vs {control}", title=CONTROL_TITLES[control]))
    honest, oracle = [], []
    for cell in task["cells"]:
        tr = (f"<tr{_row_attrs(cell)}>" + _name_cell(cell) + td(cell["backbone"], cell["backbone"], "text")
              + td(cell["selection"], cell["selection"], "text")
              + td(interval(cell["mean"], cell["ci_low"], cell["ci_high"]), cell["mean"], "score")
              + td(str(cell["n"]), cell["n"]) + "".join(_gain_cells(cell["gain"]))
              + "".join(_control_cell(cell["controls"].get(c)) for c in controls)
              + _rank_cell(cell["rank"])
              + "".join(_cost_cells(cell["cost"])) + _runs_cell(cell) + "</tr>")
        (oracle if cell["oracle"] else honest).append(tr)
    if oracle:
        oracle.insert(0, f'<tr class="divider"><th colspan="{len(headers)}" scope="rowgroup">Upper bound: oracle model '
                         "selection (all target validation labels); not comparable with the rows above</th></tr>")
    caption = f"{esc(task['name'])}: {esc(label)} on the target test split"
    return table(headers, [("honest", honest), ("oracle", oracle)], caption, table_id)


def overall_table(suite: dict[str, Any], table_id: str = "overall") -> str:
    """Each algorithm x backbone x rule over the suite's tasks: average rank, mean, pooled gain, cost.

    Usage::

        overall_table(summarize_suite(records))
    """
    label = METRIC_NAMES.get(suite["metric"], suite["metric"])
    headers = [th("Algorithm", "text"), th("Backbone", "text"), th("Selection", "text"),
               th("Avg rank", title="average rank over the tasks where it was compared (1 = best)"),
               th("Tasks ranked", "text"),
               th(f"{label} [95%\u00a0CI]",
                  title="mean over its tasks; t-interval over seeds of the per-seed task average"),
               th("Seeds"), th("Gain", title="paired gain pooled over all (task, seed) pairs, points"),
               th("p", title="sign-flip test over independent source x seed units (tasks of one source share "
                                  "its models), Holm-adjusted over this table"),
               *[th(h) for _, h, _ in COST_HEADERS], th("Tasks")]
    honest, oracle = [], []
    for row in suite["overall"]:
        gain = row["gain"]
        tr = (f"<tr{_row_attrs(row)}>" + _name_cell(row) + td(row["backbone"], row["backbone"], "text")
              + td(row["selection"], row["selection"], "text")
              + _rank_cell(row["rank"])
              + td(row["rank_tasks"] or DASH, row["rank_tasks"] or "")
              + td(interval(row["mean"], row["ci_low"], row["ci_high"]), row["mean"], "score")
              + td(str(row["n"]), row["n"]) + "".join(_gain_cells(gain))
              + "".join(_cost_cells(row["cost"])) + td(str(row["n_tasks"]), row["n_tasks"]) + "</tr>")
        (oracle if row["oracle"] else honest).append(tr)
    if oracle:
        oracle.insert(0, f'<tr class="divider"><th colspan="{len(headers)}" scope="rowgroup">Upper bound: oracle model '
                         "selection; not ranked with the honest rows above</th></tr>")
    return table(headers, [("honest", honest), ("oracle", oracle)],
                 f"All tasks: {esc(label)} averaged over tasks", table_id)


def _filters(suite: dict[str, Any]) -> str:
    options = "".join(f'<option value="{esc(a)}">{esc(a)}</option>' for a in suite["algorithms"])
    return (f'<form class="filters" role="search" onsubmit="return false">'
            f'<label>Algorithm <select id="f-algorithm"><option value="">all</option>{options}</select></label> '
            f'<label>Filter <input id="f-text" type="search" placeholder="any text in a row"></label> '
            f'<span id="f-count" aria-live="polite"></span></form>')


def _friedman_sections(suite: dict[str, Any], h: str = "h2", start: int = 0) -> list[str]:
    """Per complete block of 3+ algorithms: the Friedman test in words and its critical-difference diagram."""
    from zoo.leaderboard.cd_diagram import cd_diagram_svg

    out = []
    for i, block in enumerate(suite.get("friedman") or [], start):
        pairs = [r for r in block["pairwise"] if r["significant"]]
        separated = "; ".join(f"{r['a']} vs {r['b']} ({r['diff'] * 100:+.1f}, p {fmt_p(r['p_holm'])})"
                             for r in pairs)
        out.append(
            f'<section class="friedman" id="friedman-{i}"><{h}>Across tasks: {esc(block["label"])}</{h}>'
            f'<p>{esc(block["selection"])} · {esc(block["backbone"])}. '
            f'Friedman test over {block["n_units"]} independent '
            f'blocks ({block["n_groups"]} source groups x {block["n_seeds"]} seeds; tasks of one source share its '
            f'models, so a block scores each algorithm by its mean over them): chi² = {block["chi2"]:.2f}, '
            f'p = {esc(fmt_p(block["p"]))} (permutations within blocks). Bars join algorithms whose mean ranks are '
            f'closer than the Nemenyi critical difference (CD = {block["cd"]:.2f}; Demšar, JMLR 2006). '
            f'Pairs separated after Holm adjustment over {len(block["pairwise"])} sign-flip tests: '
            f'{esc(separated or "none")}.</p>'
            f'<figure class="cd">{cd_diagram_svg(block)}</figure></section>')
    return out


def suite_page(suite: dict[str, Any]) -> str:
    """The page of one suite (see the module docstring).

    Usage::

        Path(suite_file(summary["suite"])).write_text(suite_page(summary))
    """
    metric = METRIC_NAMES.get(suite["metric"], suite["metric"])
    parts = [f'<p class="lead">{suite["n_runs"]} runs, {len(suite["tasks"])} tasks, {len(suite["algorithms"])} '
             f'algorithms. {esc(metric)} on <code>{esc(suite["split"])}</code>, mean over seeds with a 95% interval '
             f'over seeds and the shared test images (Student-t over seeds for runs without stored predictions). '
             f'Latest run: {esc(suite["latest"])}.</p>',
             f'<p class="preset" id="preset">{esc(presets.describe(suite))}</p>',
             f'<p class="metric-why" id="ranked-by">Ranked by {esc(metric.lower())} '
             f'({esc(suite.get("metric_reason") or "chosen with --metric")}); gains and ranks use it.</p>',
             '<p class="legend">' + badge("oracle · upper bound", "oracle") + " model selected with all target "
             "validation labels (an upper bound, shown apart) · " + badge("k/n seeds", "warn")
             + " fewer seeds than the runs' preset asks for · " + badge("constant predictor", "warn")
             + " a run predicted one class for every test image · " + badge("plugin: dist version", "plugin")
             + " not part of medzoo · Gain: paired difference in points against the task's baseline "
             "(training from scratch on the same labels, else source_only); p: per task, a paired test over seeds "
             "and the shared test images; across tasks, a sign-flip test over independent source x seed units; "
             "every p on the page Holm-adjusted.</p>",
             _filters(suite)]
    settings = suite.get("settings") or [{"name": DEFAULT_SETTING, "summary": setting_summary(DEFAULT_SETTING)}]
    colors = algorithm_colors(suite["algorithms"])  # one colour per algorithm in every plot of the page
    if len(settings) == 1:  # one setting: named once, the page as before
        parts.insert(3, _setting_line(settings[0]))
        parts += _setting_body(suite, colors)
    else:  # a section per setting; everything in it is computed within that setting
        task0 = block0 = 0  # ids run on over the page
        for setting in settings:
            name = setting["name"]
            view = {**suite, **{key: [e for e in suite[key] if e.get("setting") == name]
                                for key in ("tasks", "overall", "friedman")}}
            parts += [f'<section class="setting" id="setting-{_slug(name)}"><h2>Setting: {esc(name)}</h2>',
                      f'<p class="setting-summary">{esc(setting.get("summary") or "")} · {setting["n_runs"]} runs, '
                      f'{setting["n_tasks"]} tasks, {len(setting["algorithms"])} algorithms, ranked among '
                      f'themselves only.</p>', *_setting_body(view, colors, name, task0, block0), "</section>"]
            task0, block0 = task0 + len(view["tasks"]), block0 + len(view["friedman"])
    parts.append(f'<script type="application/json" id="lb-suite">{script_json(_embedded(suite))}</script>')
    crumbs = f' <span class="crumb">/ {esc(suite["suite"])}</span>'
    return page(f"{suite['suite']} · medzoo leaderboard", "\n".join(parts), heading=suite["suite"], crumbs=crumbs)


def _setting_line(setting: dict[str, Any]) -> str:
    """The one line naming a single-setting suite's setting."""
    summary = setting.get("summary") or ""
    return (f'<p class="setting" id="setting">Setting: <strong>{esc(setting["name"])}</strong>'
            + (f" ({esc(summary)})" if summary else "") + ".</p>")


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "setting"


def _setting_body(suite: dict[str, Any], colors: dict[str, str], setting: str = "", task0: int = 0,
                  block0: int = 0) -> list[str]:
    """The overall table and plots, the Friedman sections and the task sections of ``suite``, or of one setting's
    view of it (``setting``: its name, said in the plots' labels so hover titles stay unique on the page; ids run
    on from ``task0`` and ``block0``; headings go one level down)."""
    h = "h3" if setting else "h2"
    suffix = f"-{_slug(setting)}" if setting else ""
    table_id = f"overall-table{suffix}" if setting else "overall"
    parts = [f'<section id="overall{suffix}"><{h}>All tasks</{h}>', overall_table(suite, table_id)]
    plots = cost_figure(suite, colors, setting) + budget_figures(suite, colors, setting)
    if plots:
        parts.append(f'<div class="plots">{plots}</div>')
    parts.append("</section>")
    parts += _friedman_sections(suite, h, block0)
    for i, task in enumerate(suite["tasks"], task0):
        origin = " + ".join(task["pretrain"] or task["sources"]) or "no source (from scratch)"
        parts += [f'<section class="task" id="task-{i}"><{h}>{esc(task["name"])}</{h}>',
                  f'<p>{esc(origin)} → {esc(task["target"])}; <span class="budget">target budget '
                  f'{esc(budget_text(task["target_budget"]))}</span> of its training labels; '
                  f'baseline: {esc(task["baseline"] or "none")}.</p>',
                  *(f'<p class="caveat">Caveat: {esc(c)}.</p>' for c in task.get("caveats") or []),
                  task_table(task, suite["metric"], f"task-table-{i}"),
                  bars_figure(task, suite["metric"], i, colors, setting), "</section>"]
    return parts


def _embedded(suite: dict[str, Any]) -> dict[str, Any]:
    """What the page's script may read: the suite's name and its algorithms (for the filter)."""
    return {"suite": suite["suite"], "algorithms": suite["algorithms"], "metric": suite["metric"],
            "metric_reason": suite.get("metric_reason")}


def index_page(suites: Sequence[dict[str, Any]], n_skipped: int = 0) -> str:
    """The list of suites with their size and leading honest entry.

    Usage::

        Path("index.html").write_text(index_page(summarize_suites(records)))
    """
    headers = [th("Suite", "text"), th("Runs"), th("Tasks"), th("Algorithms"),
               th("Preset", "text", title="identified from the runs' settings, with the seeds it asks for"),
               th("Ranked by", "text", title="the suite's primary metric, or --metric"),
               th("Leader (avg rank)", "text"), th("Latest run", "text")]
    rows = []
    for suite in suites:
        names = [s["name"] for s in suite.get("settings") or []]
        leaders = []  # one per setting: ranks are never compared across settings
        for name in names if len(names) > 1 else [None]:
            honest = [r for r in suite["overall"] if not r["oracle"] and r["rank"] is not None
                      and (name is None or r.get("setting") == name)]
            complete = [r for r in honest if not r["few_seeds"]]  # a row short of seeds leads only if all are
            found = (complete or honest or [None])[0]
            if found:
                leaders.append((name, found))
        leader = leaders[0][1] if leaders else None
        lead = "; ".join((f"{esc(name)}: " if name else "")
                         + f'{esc(row["algorithm"])} · {esc(row["backbone"])} ({num(row["rank"], 2)})'
                         for name, row in leaders) or DASH
        rows.append(f'<tr data-algorithm="{esc(leader["algorithm"] if leader else "")}">'
                    f'<td data-v="{esc(suite["suite"])}"><a href="{esc(suite_file(suite["suite"]))}">'
                    f'{esc(suite["suite"])}</a></td>' + td(str(suite["n_runs"]), suite["n_runs"])
                    + td(str(len(suite["tasks"])), len(suite["tasks"])) + td(str(len(suite["algorithms"])),
                                                                             len(suite["algorithms"]))
                    + td(presets.short(suite), presets.short(suite), "text")
                    + f'<td class="text" data-v="{esc(suite["metric"])}" '
                      f'title="{esc(suite.get("metric_reason") or "")}">'
                      f'{esc(METRIC_NAMES.get(suite["metric"], suite["metric"]))}</td>'
                    + f'<td class="text" data-v="{esc(leader["algorithm"] if leader else "")}">{lead}</td>'
                    + td(suite["latest"], suite["latest"], "text") + "</tr>")
    skipped = (f'<p class="warn-text">{n_skipped} malformed record(s) were skipped when this site was built.</p>'
               if n_skipped else "")
    body = ('<p class="lead">Transfer-learning benchmarks in medical imaging: every suite, its tasks and how each '
            'algorithm did, with 95% intervals, paired gains over the baselines and the provenance of every run.</p>'
            + skipped + table(headers, [("honest", rows)], "Suites", "suites"))
    return page("medzoo leaderboard", body, heading="Leaderboard")
