"""Results tables: one row per task x algorithm x backbone x selection, cells "mean ± std" over seeds.

Three renderings of the same rows: a ``rich`` table for the terminal, Markdown (same cells, for READMEs
and model cards) and CSV (raw fractions with std and the 95% t-interval, for further analysis); the CLI's
``--format table|markdown|csv`` picks one through :func:`format_results`. Percentages have one decimal
(``87.3 ± 1.2``); a single seed shows the mean alone; a metric with fewer values than the row has runs
(e.g. AUROC undefined on one seed) says how many, ``(n=2)``.

Usage::

    print_results_table(store.records())
    Path("results.md").write_text(to_markdown(store.records()))
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from typing import Any, Iterable, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from zoo.errors import ConfigError
from zoo.results.stats import group_value, summarize

METRICS = ("accuracy", "balanced_accuracy", "f1", "auroc")
TABLE_BY = ("suite", "task", "algorithm", "backbone", "selection")
FORMATS = ("table", "markdown", "csv")
_HEADERS = {"balanced_accuracy": "Balanced acc.", "auroc": "AUROC", "f1": "F1", "n": "n", "selection": "Selection"}
EMPTY = "–"


def _header(name: str) -> str:
    metric, _, cls = name.partition(":")  # "recall:malignant" -> "Recall (malignant)"
    text = _HEADERS.get(metric, metric.replace("_", " ").capitalize())
    return f"{text} ({cls})" if cls else text


def _collect(records: Iterable[dict[str, Any]], metrics: Sequence[str], split: str, by: Sequence[str],
             ci: str | None = None, confidence: float = 0.95,
             ) -> tuple[list[tuple[str, ...]], Counter, dict[str, dict[tuple, dict]]]:
    """Group keys (sorted), runs per key (records that have the split) and summaries per metric and key."""
    records = [record for record in records if split in record.get("metrics", {})]
    counts = Counter(tuple(group_value(record, field) for field in by) for record in records)
    summaries = {metric: {tuple(row[field] for field in by): row
                          for row in summarize(records, metric, split, by, ci=ci, confidence=confidence)}
                 for metric in metrics}
    return sorted(counts), counts, summaries


def format_cell(row: dict[str, Any] | None, n_runs: int | None = None, *, percent: bool = True,
                decimals: int = 1) -> str:
    """``"87.3 ± 1.2"`` from a :func:`summarize` row (``"87.3"`` for one seed, ``"–"`` for none).

    Usage::

        format_cell({"mean": 0.873, "std": 0.012, "n": 3})   # '87.3 ± 1.2'
    """
    if row is None:
        return EMPTY
    scale = 100.0 if percent else 1.0
    text = f"{row['mean'] * scale:.{decimals}f}"
    if not math.isnan(row["std"]):
        text += f" ± {row['std'] * scale:.{decimals}f}"
    if n_runs is not None and row["n"] < n_runs:
        text += f" (n={row['n']})"
    return text


def _visible(by: Sequence[str], keys: list[tuple[str, ...]]) -> list[int]:
    """Indices of the ``by`` columns to show: a suite column only when there are several suites."""
    return [i for i, field in enumerate(by) if field != "suite" or len({key[i] for key in keys}) > 1]


def _title(by: Sequence[str], keys: list[tuple[str, ...]], split: str, percent: bool) -> str:
    unit = ", %" if percent else ""
    suites = {key[by.index("suite")] for key in keys} if "suite" in by else set()
    where = f"{next(iter(suites))}, " if len(suites) == 1 else ""
    return f"{where}{split}: mean ± std over seeds{unit}"


def _cells(records, metrics, split, by, percent):
    keys, counts, summaries = _collect(records, metrics, split, by)
    shown = _visible(by, keys)
    header = [_header(by[i]) for i in shown] + ["n"] + [_header(metric) for metric in metrics]
    body = [[key[i] for i in shown] + [str(counts[key])]
            + [format_cell(summaries[metric].get(key), counts[key], percent=percent) for metric in metrics]
            for key in keys]
    return header, body, _title(by, keys, split, percent)


def results_table(records: Iterable[dict[str, Any]], metrics: Sequence[str] = METRICS, split: str = "target_test",
                  by: Sequence[str] = TABLE_BY, *, percent: bool = True, title: str | None = None) -> Table:
    """A ``rich`` table of the records: group columns, ``n`` (seeds), one "mean ± std" column per metric.

    Usage::

        Console().print(results_table(records, metrics=("accuracy", "auroc"), split="target_test"))
    """
    header, body, default_title = _cells(records, metrics, split, by, percent)
    table = Table(title=Text(title or default_title))  # Text: no rich markup, "[pretrained=true]" stays
    n_groups = len(header) - 1 - len(metrics)
    for index, name in enumerate(header):
        table.add_column(Text(name), justify="left" if index < n_groups else "right", no_wrap=index >= n_groups)
    for row in body:
        table.add_row(*map(Text, row))
    if not body:
        table.caption = Text(f"no results with metrics for split {split!r}")
    return table


def print_results_table(records: Iterable[dict[str, Any]], console: Console | None = None, **kwargs: Any) -> None:
    """Print :func:`results_table` to ``console`` (default: a new stdout console).

    Usage::

        print_results_table(store.records(), metrics=("accuracy",), split="target_val")
    """
    (console or Console()).print(results_table(records, **kwargs))


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(records: Iterable[dict[str, Any]], metrics: Sequence[str] = METRICS, split: str = "target_test",
                by: Sequence[str] = TABLE_BY, *, percent: bool = True) -> str:
    """The same table as Markdown (a title line, then a pipe table).

    Usage::

        Path("RESULTS.md").write_text(to_markdown(records))
    """
    header, body, title = _cells(records, metrics, split, by, percent)
    n_groups = len(header) - 1 - len(metrics)
    lines = [f"**{title}**", "", "| " + " | ".join(map(_escape, header)) + " |",
             "|" + "|".join("---" if i < n_groups else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(map(_escape, row)) + " |" for row in body]
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return "" if value is None or math.isnan(value) else format(float(value), ".12g")  # no 0.09999999999999998


def to_csv(records: Iterable[dict[str, Any]], metrics: Sequence[str] = METRICS, split: str = "target_test",
           by: Sequence[str] = TABLE_BY, *, confidence: float = 0.95) -> str:
    """CSV with raw fractions: the group columns, ``split``, ``n``, then per metric mean, std, n, ci_low, ci_high.

    The interval is the Student-t one (``confidence``); empty cells mean "undefined" (one seed, no value).

    Usage::

        Path("results.csv").write_text(to_csv(records))
    """
    keys, counts, summaries = _collect(records, metrics, split, by, ci="t", confidence=confidence)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*by, "split", "n"] + [f"{metric}_{part}" for metric in metrics
                                           for part in ("mean", "std", "n", "ci_low", "ci_high")])
    for key in keys:
        cells = [*key, split, counts[key]]
        for metric in metrics:
            row = summaries[metric].get(key)
            cells += (["", "", 0, "", ""] if row is None else
                      [_number(row["mean"]), _number(row["std"]), row["n"], _number(row["ci_low"]),
                       _number(row["ci_high"])])
        writer.writerow(cells)
    return out.getvalue()


def format_results(records: Iterable[dict[str, Any]], fmt: str = "table", *, width: int = 160,
                   **kwargs: Any) -> str:
    """The results as text in one of ``table`` (rich, plain text), ``markdown`` or ``csv``.

    Usage::

        sys.stdout.write(format_results(records, args.format, split="target_test"))
    """
    if fmt == "csv":
        return to_csv(records, **kwargs)
    if fmt == "markdown":
        return to_markdown(records, **kwargs)
    if fmt == "table":
        console = Console(record=True, width=width, file=io.StringIO())
        console.print(results_table(records, **kwargs))
        return console.export_text()
    raise ConfigError(f"unknown results format {fmt!r}; use one of: {', '.join(FORMATS)}")
