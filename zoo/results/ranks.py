"""The across-tasks table: each algorithm's average rank over tasks per metric, and its pooled gain.

One row per suite x backbone x selection x algorithm. Each metric column is the algorithm's average rank
across tasks (:func:`zoo.results.stats.rank`: 1 = best, ties share ranks, missing cells are not ranked,
tasks with one algorithm are left out; ECE and NLL rank lower-is-better). ``Tasks`` is ``k/K``: ranked on
k of the K tasks where the group has a comparison. With a baseline, the pooled paired gain over all
(task, seed) pairs on the first metric and its sign-flip p-value follow (:func:`zoo.results.compare.compare`
with ``over="task"``).

Usage::

    print(format_ranks(records, metrics=("accuracy", "balanced_accuracy"), fmt="markdown", compare="source_only"))
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from zoo.results.render import Cells, csv_text, suite_prefix, to_text
from zoo.results.stats import rank

RANK_BY = ("suite", "backbone", "selection")


def _rank_rows(records: list[dict[str, Any]], metrics: Sequence[str], split: str) -> dict[tuple, dict[str, dict]]:
    """{(suite, backbone, selection, algorithm): {metric: rank row}}, in the first metric's rank order."""
    rows: dict[tuple, dict[str, dict]] = {}
    for metric in metrics:
        for row in rank(records, metric, split, by=RANK_BY):
            rows.setdefault((*(row[f] for f in RANK_BY), row["algorithm"]), {})[metric] = row
    first = metrics[0]
    return dict(sorted(rows.items(), key=lambda item: (
        item[0][:-1], item[1][first]["mean_rank"] if first in item[1] else float("inf"), item[0][-1])))


def _pooled(records, compare, metric, split) -> tuple[dict[tuple, dict] | None, str]:
    """Pooled gains keyed like the rank rows (None when the baseline is a task), and a caption."""
    from zoo.results.compare import compare as paired, parse_baseline

    axis, value = parse_baseline(compare)
    if axis == "task":
        return None, "no pooled gain: the baseline is a task, so the tasks are what is compared"
    fields = (*RANK_BY, "algorithm")
    rows = paired(records, compare, metric, split, by=("suite", "task", "algorithm", "backbone", "selection"),
                  over="task")
    return ({tuple(row[f] for f in fields): row for row in rows},
            f"Δ: mean paired difference over all (task, seed) pairs with the {axis} {value!r}; p: two-sided "
            f"sign-flip test over those pairs (exact up to 16 pairs, else 10,000 seeded random flips)")


def rank_cells(records: Iterable[dict[str, Any]], metrics: Sequence[str], split: str = "target_test", *,
               compare: str | None = None) -> Cells:
    """The across-tasks table as :class:`zoo.results.render.Cells`.

    Usage::

        cells = rank_cells(records, ("accuracy",), "target_test", compare="source_only")
    """
    from zoo.results.compare import format_gain, format_p, parse_baseline
    from zoo.results.table import _header, is_percent

    records = [r for r in records if split in r.get("metrics", {})]
    rows = _rank_rows(records, metrics, split)
    keys = list(rows)
    # key = (suite, backbone, selection, algorithm); shown as [suite,] algorithm, backbone, selection
    order = ([0] if len({key[0] for key in keys}) > 1 else []) + [3, 1, 2]
    header = [_header(("suite", "backbone", "selection", "algorithm")[i]) for i in order]
    header += ["Tasks"] + [f"Rank: {_header(metric)}" for metric in metrics]
    pooled, note = _pooled(records, compare, metrics[0], split) if compare else (None, None)
    axis, base = parse_baseline(compare) if compare else (None, None)
    if pooled is not None:
        header += [f"Δ {_header(metrics[0])} vs {base}", "pairs", "p"]
    body = []
    for key, by_metric in rows.items():
        main = by_metric.get(metrics[0])
        tasks = f"{main['n_tasks']}/{main['n_tasks_total']}" if main else "–"
        cells = [key[i] for i in order] + [tasks]
        for metric in metrics:
            found = by_metric.get(metric)
            text = f"{found['mean_rank']:.2f}" if found else "–"
            if found and main and found["n_tasks"] != main["n_tasks"]:
                text += f" (n={found['n_tasks']})"
            cells.append(text)
        if pooled is not None and key[(*RANK_BY, "algorithm").index(axis)] == base:
            cells += ["baseline", "", ""]
        elif pooled is not None:
            gain = pooled.get(key)
            cells += [format_gain(gain, percent=is_percent(metrics[0])), str(gain["n_pairs"]) if gain else "0",
                      format_p(gain["p_signflip"] if gain else None)]
        body.append(cells)
    title = f"{suite_prefix(RANK_BY, keys)}{split}: average rank across tasks (1 = best)"
    captions = ["ranked among the algorithms present on each task (ties share the average rank); "
                "tasks with one algorithm are left out; Tasks: ranked on k of K tasks"]
    return Cells(header, body, title, n_left=len(order), captions=captions + ([note] if note else []))


def ranks_csv(records: Iterable[dict[str, Any]], metrics: Sequence[str], split: str = "target_test", *,
              compare: str | None = None) -> str:
    """The across-tasks table as CSV: group fields, per metric mean_rank/n_tasks/n_tasks_total, pooled gain.

    Usage::

        Path("ranks.csv").write_text(ranks_csv(records, ("accuracy", "f1"), compare="source_only"))
    """
    from zoo.results.compare import GAIN_FIELDS

    records = [r for r in records if split in r.get("metrics", {})]
    rows = _rank_rows(records, metrics, split)
    pooled = _pooled(records, compare, metrics[0], split)[0] if compare else None
    header = [*RANK_BY, "algorithm", "split"] + [f"{m}_{part}" for m in metrics
                                                 for part in ("mean_rank", "n_tasks", "n_tasks_total")]
    header += [f"{metrics[0]}_{name}" for name in GAIN_FIELDS] if pooled is not None else []
    body = []
    for key, by_metric in rows.items():
        cells: list[Any] = [*key, split]
        for metric in metrics:
            found = by_metric.get(metric)
            cells += [found["mean_rank"], found["n_tasks"], found["n_tasks_total"]] if found else ["", 0, ""]
        if pooled is not None:
            cells += [pooled[key][name] if key in pooled else "" for name in GAIN_FIELDS]
        body.append(cells)
    return csv_text(header, body)


def format_ranks(records: Iterable[dict[str, Any]], metrics: Sequence[str], split: str = "target_test",
                 fmt: str = "table", *, compare: str | None = None, width: int = 160) -> str:
    """The across-tasks table as text: ``table`` (rich), ``markdown`` or ``csv``.

    Usage::

        sys.stdout.write(format_ranks(records, ("accuracy",), fmt="table"))
    """
    if fmt == "csv":
        return ranks_csv(records, metrics, split, compare=compare)
    return to_text(rank_cells(records, metrics, split, compare=compare), fmt, width=width,
                   empty=f"no task with two or more algorithms on split {split!r}")
