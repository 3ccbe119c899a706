"""The across-tasks table: average ranks on complete blocks, the pooled gain, and the Friedman test.

One row per suite x setting x backbone x selection x block x algorithm, where a block is a family of tasks on
which the same algorithms ran (:func:`zoo.results.stats.rank`); ``Block`` names it ("6 algorithms x 20 tasks").
The task setting (:mod:`zoo.results.setting`) is part of every block's key: an algorithm is ranked only
against algorithms of its own setting, the pooled gain pairs runs of one setting, and the Friedman test runs
per setting; a ``Setting`` column shows when there are several (a lone non-transfer one is a caption).
Each metric column is the algorithm's average rank over the block's tasks (1 = best, ties share ranks;
ECE and NLL rank lower-is-better). With a baseline, the pooled gain on the first metric follows: the mean
over tasks of the per-task mean difference, its p from the sign-flip test over independent units (source
group x seed, :mod:`zoo.results.paired_tests`), adjusted over the table (Holm by default).

After the table, per block: the Friedman test over its independent units with the Nemenyi critical
difference, and every pair's adjusted p (:mod:`zoo.results.friedman`).

Usage::

    print(format_ranks(records, metrics=("accuracy", "balanced_accuracy"), fmt="markdown", compare="source_only"))
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from zoo.results.render import Cells, csv_text, group_sort_key, section_ends, suite_prefix, to_text
from zoo.results.setting import setting_caption, settings_of
from zoo.results.stats import RANK_BY, rank
from zoo.task_settings import DEFAULT_SETTING

KEY = (*RANK_BY, "block", "algorithm")
N = len(RANK_BY)  # a row key: the group fields, then block and algorithm


def _rank_rows(records: list[dict[str, Any]], metrics: Sequence[str], split: str) -> dict[tuple, dict[str, dict]]:
    """{(suite, setting, backbone, selection, block, algorithm): {metric: rank row}}, blocks by the first
    metric's rank."""
    rows: dict[tuple, dict[str, dict]] = {}
    for metric in metrics:
        for row in rank(records, metric, split, by=RANK_BY):
            rows.setdefault(tuple(row[f] for f in KEY), {})[metric] = row
    first = metrics[0]
    group = group_sort_key(RANK_BY)
    return dict(sorted(rows.items(), key=lambda item: (
        group(item[0][:N]), -(item[1][first]["n_tasks"] if first in item[1] else 0), item[0][N],
        item[1][first]["mean_rank"] if first in item[1] else float("inf"), item[0][-1])))


def _pooled(records, compare, metric, split, correction) -> tuple[dict[tuple, dict] | None, str]:
    """Pooled gains keyed by (suite, setting, backbone, selection, algorithm) (None when the baseline is a task),
    and a caption."""
    from zoo.results.compare import adjust_rows, parse_baseline
    from zoo.results.compare import compare as paired
    from zoo.results.multiplicity import caption

    axis, value = parse_baseline(compare)
    if axis == "task":
        return None, "no pooled gain: the baseline is a task, so the tasks are what is compared"
    rows = paired(records, compare, metric, split, by=("suite", "setting", "task", "algorithm", "backbone",
                                                        "selection"), over="task")
    n_tests = adjust_rows(rows, correction)
    units = sorted({row["n_units"] for row in rows})
    return ({tuple(row[f] for f in (*RANK_BY, "algorithm")): row for row in rows},
            f"Δ: mean over tasks of each task's mean paired difference with the {axis} {value!r}; p: sign-flip "
            f"test over independent units (source group x seed: {'/'.join(map(str, units))} units), tasks of one "
            f"source sharing its models; {caption(correction, n_tests)}")


def rank_cells(records: Iterable[dict[str, Any]], metrics: Sequence[str], split: str = "target_test", *,
               compare: str | None = None, correction: str = "holm") -> Cells:
    """The across-tasks table as :class:`zoo.results.render.Cells`.

    Usage::

        cells = rank_cells(records, ("accuracy",), "target_test", compare="source_only")
    """
    from zoo.results.compare import format_gain, format_p, parse_baseline
    from zoo.results.table import column_header, is_percent

    records = [r for r in records if split in r.get("metrics", {})]
    rows = _rank_rows(records, metrics, split)
    keys = list(rows)
    # key = (suite, setting, backbone, selection, block, algorithm); shown as [suite,] [setting,] block,
    # algorithm, backbone, selection: suite and setting only when there are several
    order = [i for i in (0, 1) if len({key[i] for key in keys}) > 1] + [N, N + 1, 2, 3]
    header = [column_header(KEY[i]) for i in order] + [f"Rank: {column_header(metric)}" for metric in metrics]
    pooled, note = _pooled(records, compare, metrics[0], split, correction) if compare else (None, None)
    axis, base = parse_baseline(compare) if compare else (None, None)
    if pooled is not None:
        header += [f"Δ {column_header(metrics[0])} vs {base}", "tasks", "p"]
    body = []
    for key, by_metric in rows.items():
        cells = [key[i] for i in order]
        for metric in metrics:
            found = by_metric.get(metric)
            cells.append(f"{found['mean_rank']:.2f}" if found else "–")
        own = (*key[:N], key[-1])
        if pooled is not None and own[(*RANK_BY, "algorithm").index(axis)] == base:
            cells += ["baseline", "", ""]
        elif pooled is not None:
            gain = pooled.get(own)
            cells += [format_gain(gain, percent=is_percent(metrics[0])), str(gain["n_tasks"]) if gain else "0",
                      format_p(gain.get("p_adj") if gain else None)]
        body.append(cells)
    title = f"{suite_prefix(RANK_BY, [k[:N] for k in keys])}{split}: average rank across tasks (1 = best)"
    captions = ["ranked on complete blocks only: the tasks where exactly the block's algorithms ran (ties share "
                "the average rank); an algorithm in two blocks has a row in each"]
    setting = setting_caption(key[1] for key in keys)
    return Cells(header, body, title, n_left=len(order), sections=section_ends(KEY, keys),
                 captions=captions + ([setting] if setting else []) + ([note] if note else []))


def friedman_text(records: Iterable[dict[str, Any]], metric: str, split: str = "target_test") -> str:
    """Per block: the Friedman test, the critical difference and every pair's Holm-adjusted p, as text.

    Usage::

        print(friedman_text(records, "balanced_accuracy"))
    """
    from zoo.results.compare import format_p
    from zoo.results.friedman import friedman

    records = [r for r in records if split in r.get("metrics", {})]
    named = settings_of(records) != [DEFAULT_SETTING]  # say each block's setting unless all are transfer
    lines = []
    for block in friedman(records, metric, split):
        ranks = ", ".join(f"{m} {block['mean_ranks'][m]:.2f}" for m in block["order"])
        setting = f" {block['setting']}" if named else ""
        lines.append(
            f"Friedman, {block['suite']}{setting} {block['backbone']} {block['selection']}, {block['label']} "
            f"({metric}): "
            f"{block['n_units']} independent blocks ({block['n_groups']} source groups x {block['n_seeds']} seeds; a "
            f"block scores each algorithm by its mean over the group's tasks): chi2 = {block['chi2']:.2f}, "
            f"p = {format_p(block['p'])} (2,000 permutations within blocks; chi2({len(block['methods']) - 1}) p = "
            f"{format_p(block['p_asymptotic'])}); critical difference (Nemenyi, alpha 0.05) = {block['cd']:.2f} ranks")
        lines.append(f"  mean ranks over blocks: {ranks}")
        groups = "; ".join(" = ".join(c) for c in block["cliques"]) or "none"
        lines.append(f"  not separated by the CD: {groups}")
        pairs = [f"{r['a']} vs {r['b']} {100 * r['diff']:+.1f} p {format_p(r['p_holm'])}" for r in block["pairwise"]]
        lines.append(f"  pairs (mean difference over tasks, points; sign-flip over blocks, Holm-adjusted over "
                     f"{len(pairs)}): " + "; ".join(pairs))
    return "\n".join(lines) + ("\n" if lines else "")


def ranks_csv(records: Iterable[dict[str, Any]], metrics: Sequence[str], split: str = "target_test", *,
              compare: str | None = None, correction: str = "holm") -> str:
    """The across-tasks table as CSV: group fields (``setting`` when a row is not transfer), block, per metric
    mean_rank/n_tasks/n_tasks_total, pooled gain.

    Usage::

        Path("ranks.csv").write_text(ranks_csv(records, ("accuracy", "f1"), compare="source_only"))
    """
    from zoo.results.compare import GAIN_FIELDS

    records = [r for r in records if split in r.get("metrics", {})]
    rows = _rank_rows(records, metrics, split)
    pooled = _pooled(records, compare, metrics[0], split, correction)[0] if compare else None
    fields = (*GAIN_FIELDS, "n_tasks", "n_units", "p_wilcoxon")
    shown = [i for i, f in enumerate(KEY) if f != "setting" or any(key[i] != DEFAULT_SETTING for key in rows)]
    header = [*(KEY[i] for i in shown), "split"] + [f"{m}_{part}" for m in metrics
                                                    for part in ("mean_rank", "n_tasks", "n_tasks_total")]
    header += [f"{metrics[0]}_{name}" for name in fields] if pooled is not None else []
    body = []
    for key, by_metric in rows.items():
        cells: list[Any] = [*(key[i] for i in shown), split]
        for metric in metrics:
            found = by_metric.get(metric)
            cells += [found["mean_rank"], found["n_tasks"], found["n_tasks_total"]] if found else ["", 0, ""]
        if pooled is not None:
            own = pooled.get((*key[:N], key[-1]))
            cells += [own.get(name, "") if own else "" for name in fields]
        body.append(cells)
    return csv_text(header, body)


def format_ranks(records: Iterable[dict[str, Any]], metrics: Sequence[str], split: str = "target_test",
                 fmt: str = "table", *, compare: str | None = None, width: int = 160,
                 correction: str = "holm") -> str:
    """The across-tasks table as text: ``table`` (rich), ``markdown`` or ``csv``; then the Friedman tests.

    Usage::

        sys.stdout.write(format_ranks(records, ("accuracy",), fmt="table"))
    """
    records = list(records)
    if fmt == "csv":
        return ranks_csv(records, metrics, split, compare=compare, correction=correction)
    table = to_text(rank_cells(records, metrics, split, compare=compare, correction=correction), fmt, width=width,
                    empty=f"no task with two or more algorithms on split {split!r}")
    tests = friedman_text(records, metrics[0], split)
    return table + ("\n" + tests if tests else "")
