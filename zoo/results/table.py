"""Results tables: one row per task x algorithm x backbone x selection, cells "mean ± std" over seeds.

Rows are grouped by task setting (:mod:`zoo.results.setting`): with several settings a ``Setting`` column
leads, rows of one setting sit together (a rule between settings in the terminal) and gains pair runs of one
setting only; a lone setting other than ``transfer`` is named in a caption, and CSV has a ``setting``
column whenever a record is not ``transfer``.

Three renderings of the same rows: a ``rich`` table for the terminal, Markdown (same cells, for READMEs
and model cards) and CSV (raw fractions with std and the 95% interval, for further analysis); the CLI's
``--format table|markdown|csv`` picks one through :func:`format_results`. Percentages have one decimal
(``87.3 ± 1.2``); a single seed shows the mean alone; a metric with fewer values than the row has runs
(e.g. AUROC undefined on one seed) says how many, ``(n=2)``. NLL is in nats, not a percentage.

Options: ``ci="t"|"bootstrap"`` puts the mean and its 95% interval in the cells (``84.5 [81.2, 87.9]``;
see :func:`zoo.results.stats.summarize`); ``compare="source_only"`` adds the paired gain over that
baseline on the first metric, in points, and its sign-flip p-value (:mod:`zoo.results.compare`).

Without ``metrics`` the primary metric (:mod:`zoo.results.primary`: the suite's declared one, else balanced
accuracy when a target test split's majority class is over 60%, else accuracy) is the first column, so
gains are computed on it. A row with a seed whose test predictions are all one class is marked ``⊘``
beside its algorithm, and a gain over such a baseline row says ``vs ⊘``.

Usage::

    print_results_table(store.records())
    Path("results.md").write_text(to_markdown(store.records(), ci="bootstrap", compare="source_only"))
"""

from __future__ import annotations

import io
import math
from collections import Counter
from typing import Any, Iterable, Sequence

from rich.console import Console
from rich.table import Table

from zoo.errors import ConfigError
from zoo.results.primary import BALANCED, is_constant_predictor, primary_choice, primary_first
from zoo.results.render import (
    FORMATS,
    Cells,
    csv_text,
    group_sort_key,
    rich_table,
    section_ends,
    suite_prefix,
    to_text,
    visible,
)
from zoo.results.setting import setting_caption
from zoo.results.stats import group_value, summarize
from zoo.task_settings import DEFAULT_SETTING

METRICS = ("accuracy", "balanced_accuracy", "f1", "auroc")
TABLE_BY = ("suite", "setting", "task", "algorithm", "backbone", "selection")
NOT_PERCENT = ("nll", "train_s", "eval_s", "total_s", "images_per_s", "peak_memory_mb")  # shown as is, not x100
COST = ("train_s", "images_per_s", "peak_memory_mb")  # --cost: what a run cost, next to what it scored
_HEADERS = {"balanced_accuracy": "Balanced acc.", "auroc": "AUROC", "f1": "F1", "n": "n", "selection": "Selection",
            "ece": "ECE", "nll": "NLL", "train_s": "Train s", "eval_s": "Eval s", "total_s": "Total s",
            "images_per_s": "Images/s", "peak_memory_mb": "Peak MB"}
_CI_LABELS = {"shared": "seeds and the shared test images", "t": "t over seeds",
              "bootstrap": "bootstrap over seeds and test samples"}
EMPTY = "–"
SEEDS_ONLY = "*"
FEW_LABELS = "⚑"  # marks a selection rule that chose with fewer than 5 labelled images in some class
CONSTANT = "⊘"  # marks a row with a run whose every prediction on the split is one class


def is_percent(metric: str, percent: bool = True) -> bool:
    """Whether ``metric`` is shown x100 (every metric but NLL, when ``percent``).

    Usage::

        is_percent("ece"), is_percent("nll")   # (True, False)
    """
    return percent and metric.partition(":")[0] not in NOT_PERCENT


def column_header(name: str) -> str:
    """A metric's column title: ``balanced_accuracy`` -> ``Balanced acc.``; ``recall:malignant`` ->
    ``Recall (malignant)``."""
    metric, _, cls = name.partition(":")  # "recall:malignant" -> "Recall (malignant)"
    text = _HEADERS.get(metric, metric.replace("_", " ").capitalize())
    return f"{text} ({cls})" if cls else text


def _collect(records: Iterable[dict[str, Any]], metrics: Sequence[str], split: str, by: Sequence[str],
             ci: str | None = None, confidence: float = 0.95,
             ) -> tuple[list[dict], list[tuple[str, ...]], Counter, dict[str, dict[tuple, dict]]]:
    """Records with the split, group keys (sorted), runs per key and summaries per metric and key."""
    records = [record for record in records if split in record.get("metrics", {})]
    counts = Counter(tuple(group_value(record, field) for field in by) for record in records)
    summaries = {metric: {tuple(row[field] for field in by): row
                          for row in summarize(records, metric, split, by, ci=ci, confidence=confidence)}
                 for metric in metrics}
    return records, sorted(counts, key=group_sort_key(by)), counts, summaries


def format_cell(row: dict[str, Any] | None, n_runs: int | None = None, *, percent: bool = True,
                decimals: int = 1, ci: str | None = None) -> str:
    """``"87.3 ± 1.2"`` from a :func:`summarize` row; with ``ci``, ``"87.3 [85.1, 89.5]"``.

    ``"87.3"`` for one seed, ``"–"`` for none; a bootstrap interval over seeds only (no confusion matrix,
    or AUROC/ECE/NLL) ends in ``*``; ``(n=2)`` when fewer values than runs.

    Usage::

        format_cell({"mean": 0.873, "std": 0.012, "n": 3})   # '87.3 ± 1.2'
        format_cell({"mean": 0.9, "std": 0.1, "n": 3, "ci_low": 0.75, "ci_high": 1.0}, ci="t")  # '90.0 [75.0, 100.0]'
    """
    if row is None:
        return EMPTY
    scale = 100.0 if percent else 1.0
    text = f"{row['mean'] * scale:.{decimals}f}"
    if ci is not None:
        if not (math.isnan(row["ci_low"]) or math.isnan(row["ci_high"])):
            text += f" [{row['ci_low'] * scale:.{decimals}f}, {row['ci_high'] * scale:.{decimals}f}]"
            fallback = (ci == "bootstrap" and row.get("ci_levels") == "seeds") or (
                ci == "shared" and str(row.get("ci_levels", "")).startswith("seeds ("))
            text += SEEDS_ONLY if fallback else ""
    elif not math.isnan(row["std"]):
        text += f" ± {row['std'] * scale:.{decimals}f}"
    if n_runs is not None and row["n"] < n_runs:
        text += f" (n={row['n']})"
    return text


def _title(by: Sequence[str], keys: list[tuple[str, ...]], split: str, percent: bool, ci: str | None) -> str:
    unit = ", %" if percent else ""
    what = f"mean [95% CI, {_CI_LABELS[ci]}]" if ci else "mean ± std over seeds"
    return f"{suite_prefix(by, keys)}{split}: {what}{unit}"


def _metrics(records: list[dict[str, Any]], metrics: Sequence[str] | None) -> tuple[str, ...]:
    """The columns asked for, else the default set with the primary metric first."""
    return tuple(metrics) if metrics else primary_first(records, METRICS)


def _primary_caption(records: list[dict[str, Any]], metrics: Sequence[str]) -> str | None:
    """Why the first column is the primary metric, when it is not plain accuracy by default."""
    metric, why = primary_choice(records)
    if not metrics or metrics[0] != metric or why == BALANCED:
        return None
    name = {"auroc": "AUROC", "f1": "F1"}.get(metric, metric.replace("_", " "))
    return f"primary metric: {name} ({why}); gains and ranks use it"


def _mark_constant(cells: Cells, records: list[dict], keys: list[tuple], by: Sequence[str], shown: list[int],
                   split: str) -> dict[tuple, tuple[int, int]]:
    """Mark rows holding a constant predictor (``⊘``, ``⊘ k/n`` when only k of n seeds are); return them."""
    runs: dict[tuple, list[bool]] = {}
    for record in records:
        runs.setdefault(tuple(group_value(record, f) for f in by), []).append(is_constant_predictor(record, split))
    found = {key: (sum(flags), len(flags)) for key, flags in runs.items() if any(flags)}
    # beside the algorithm's name, as ⚑ sits beside the rule's; without that column, beside the first score
    algorithm = list(by).index("algorithm") if "algorithm" in by else None
    at = shown.index(algorithm) if algorithm in shown else len(shown) + 1
    for key, row in zip(keys, cells.body):
        if key in found:
            k, n = found[key]
            row[at] += f" {CONSTANT}" + (f" {k}/{n}" if k < n else "")
    if found:
        what = "every test prediction" if split.endswith("test") else f"every {split} prediction"
        k, n = sum(k for k, _ in found.values()), sum(n for _, n in found.values())
        partial = f" of the marked rows; {CONSTANT} k/n: k of the row's n" if k < n else ""
        cells.captions.append(f"{CONSTANT} constant predictor: {what} is one class ({k} of {n} seeds{partial})")
    return found


def _mark_constant_baselines(cells: Cells, keys: list[tuple], by: Sequence[str], baseline: str, column: int,
                             constant: dict[tuple, tuple[int, int]]) -> None:
    """Append ``vs ⊘`` to a gain whose baseline row holds a constant predictor: a gain over a class prior."""
    from zoo.results.compare import TWIN, TWIN_SUFFIX, parse_baseline

    axis, value = parse_baseline(baseline)
    at = list(by).index(axis)
    marked = False
    for key, row in zip(keys, cells.body):
        base = value if value != TWIN else f"{key[at]}{TWIN_SUFFIX}"
        if key[at] != base and (*key[:at], base, *key[at + 1:]) in constant and row[column] != EMPTY:
            row[column] += f" vs {CONSTANT}"
            marked = True
    if marked:
        cells.captions.append(f"Δ … vs {CONSTANT}: the {value} row it is paired with holds a constant predictor, so "
                              "the gain is over a class prior, not over a trained baseline")


def _cells(records, metrics, split, by, percent, ci=None, compare=None, correction="holm") -> Cells:
    records = list(records)
    metrics = _metrics(records, metrics)
    records, keys, counts, summaries = _collect(records, metrics, split, by, ci=ci)
    shown = visible(by, keys)
    header = [column_header(by[i]) for i in shown] + ["n"] + [column_header(metric) for metric in metrics]
    body = [[key[i] for i in shown] + [str(counts[key])]
            + [format_cell(summaries[metric].get(key), counts[key], percent=is_percent(metric, percent), ci=ci,
                           decimals=1 if is_percent(metric, percent) or metric in NOT_PERCENT[1:] else 3)
               for metric in metrics]
            for key in keys]
    if "selection" in by:  # a rule that chose among epochs with a handful of labels: say so beside its name
        at = list(by).index("selection")
        flagged = {tuple(group_value(r, f) for f in by) for r in records
                   if (r["selection"].get("selection_set") or {}).get("small")}
        for key, row in zip(keys, body):
            if key in flagged and at in shown:
                row[shown.index(at)] += f" {FEW_LABELS}"
    cells = Cells(header, body, _title(by, keys, split, percent, ci), n_left=len(shown),
                  sections=section_ends(by, keys))
    if "setting" in by:  # a lone non-transfer setting is named here; several: each compared within itself
        caption = setting_caption(key[list(by).index("setting")] for key in keys)
        if caption:
            cells.captions.append(caption)
    caption = _primary_caption(records, metrics)
    if caption:
        cells.captions.append(caption)
    constant = _mark_constant(cells, records, keys, by, shown, split)
    if any(FEW_LABELS in cell for row in body for cell in row[:len(shown)]):
        cells.captions.append(f"{FEW_LABELS} the rule chose with fewer than 5 labelled validation images in some class "
                              "(near a coin toss): read it beside --selection last")
    if ci == "shared" and any(SEEDS_ONLY in cell for row in body for cell in row[len(shown) + 1:]):
        cells.captions.append(f"{SEEDS_ONLY} t-interval over seeds only: these runs kept no per-image predictions "
                              "(records from before schema 2, or a metric such as ECE that is not resampled)")
    if ci == "bootstrap" and any(SEEDS_ONLY in cell for row in body for cell in row[len(shown) + 1:]):
        cells.captions.append(f"{SEEDS_ONLY} bootstrap over seeds only: AUROC, ECE and NLL need per-sample scores, "
                              "and runs without a confusion matrix cannot resample test samples")
    if compare and metrics:
        from zoo.results.compare import add_gain_columns, split_baselines

        for baseline in split_baselines(compare):  # e.g. source_only,adabn,twin: one Δ/p pair each
            column = len(cells.header)
            add_gain_columns(cells, records, keys, counts, baseline, metrics[0], split, by, correction=correction,
                             percent=is_percent(metrics[0], percent), header=column_header(metrics[0]))
            if constant:
                _mark_constant_baselines(cells, keys, by, baseline, column, constant)
    return cells


def results_table(records: Iterable[dict[str, Any]], metrics: Sequence[str] | None = None, split: str = "target_test",
                  by: Sequence[str] = TABLE_BY, *, percent: bool = True, title: str | None = None,
                  ci: str | None = None, compare: str | None = None, correction: str = "holm") -> Table:
    """A ``rich`` table of the records: group columns, ``n`` (seeds), one "mean ± std" column per metric.

    Usage::

        Console().print(results_table(records, metrics=("accuracy", "auroc"), split="target_test", ci="t"))
    """
    cells = _cells(records, metrics, split, by, percent, ci, compare, correction)
    cells.title = title or cells.title
    return rich_table(cells, empty=f"no results with metrics for split {split!r}")


def print_results_table(records: Iterable[dict[str, Any]], console: Console | None = None, **kwargs: Any) -> None:
    """Print :func:`results_table` to ``console`` (default: a new stdout console).

    Usage::

        print_results_table(store.records(), metrics=("accuracy",), split="target_val")
    """
    (console or Console()).print(results_table(records, **kwargs))


def to_markdown(records: Iterable[dict[str, Any]], metrics: Sequence[str] | None = None, split: str = "target_test",
                by: Sequence[str] = TABLE_BY, *, percent: bool = True, ci: str | None = None,
                compare: str | None = None, correction: str = "holm") -> str:
    """The same table as Markdown (a title line, a pipe table, then any caption lines in italics).

    Usage::

        Path("RESULTS.md").write_text(to_markdown(records, ci="t"))
    """
    return to_text(_cells(records, metrics, split, by, percent, ci, compare, correction), "markdown")


def to_csv(records: Iterable[dict[str, Any]], metrics: Sequence[str] | None = None, split: str = "target_test",
           by: Sequence[str] = TABLE_BY, *, confidence: float = 0.95, ci: str = "shared",
           compare: str | None = None, correction: str = "holm") -> str:
    """CSV with raw fractions: the group columns (``setting`` when a row is not transfer), ``split``, ``n``, then
    per metric mean, std, n, ci_low, ci_high.

    The interval is over seeds and the shared test images (``ci="shared"``, the default), Student-t over
    seeds (``ci="t"``) or the two-level bootstrap (``ci="bootstrap"``), at ``confidence``; shared and
    bootstrap add a ``METRIC_ci_levels`` column saying what was resampled (``seeds+shared images``, or the
    labelled fallback). Empty cells mean "undefined" (one seed, no value). ``compare`` adds the paired gain
    on the first metric: gain, its interval, n_pairs, ``p`` (the test named in ``test``), ``p_adj``
    (adjusted over the column by ``correction``), p_signflip and p_t.

    Usage::

        Path("results.csv").write_text(to_csv(records, ci="bootstrap", compare="source_only"))
    """
    records = list(records)
    metrics = _metrics(records, metrics)
    records, keys, counts, summaries = _collect(records, metrics, split, by, ci=ci, confidence=confidence)
    parts = ("mean", "std", "n", "ci_low", "ci_high") + (("ci_levels",) if ci in ("bootstrap", "shared") else ())
    # the setting column whenever a row is not transfer (a file of transfer runs reads as before settings)
    shown = [i for i, f in enumerate(by) if f != "setting" or any(key[i] != DEFAULT_SETTING for key in keys)]
    header = [*(by[i] for i in shown), "split", "n"] + [f"{metric}_{part}" for metric in metrics for part in parts]
    rows = []
    for key in keys:
        cells: list[Any] = [*(key[i] for i in shown), split, counts[key]]
        for metric in metrics:
            row = summaries[metric].get(key)
            cells += (["", "", 0, "", "", ""][:len(parts)] if row is None else
                      [row["mean"], row["std"], row["n"], row["ci_low"], row["ci_high"], row["ci_levels"]][:len(parts)])
        rows.append(cells)
    if compare and metrics:
        from zoo.results.compare import GAIN_FIELDS, gains_by_key, split_baselines

        baselines = split_baselines(compare)
        for baseline in baselines:  # one baseline: accuracy_gain, ...; several: accuracy_gain_vs_adabn, ...
            gains = gains_by_key(records, baseline, metrics[0], split, by, correction)
            suffix = f"_vs_{baseline.replace('=', '_')}" if len(baselines) > 1 else ""
            header += [f"{metrics[0]}_{name}{suffix}" for name in GAIN_FIELDS]
            for key, cells in zip(keys, rows):
                cells += [gains[key].get(name, "") if key in gains else "" for name in GAIN_FIELDS]
    return csv_text(header, rows)


def format_results(records: Iterable[dict[str, Any]], fmt: str = "table", *, width: int = 160,
                   **kwargs: Any) -> str:
    """The results as text in one of ``table`` (rich, plain text), ``markdown`` or ``csv``.

    Usage::

        sys.stdout.write(format_results(records, args.format, split="target_test", ci="t"))
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
