"""Paired comparison against a baseline: the transfer gain over the same tasks and seeds, with p-values.

A run of an algorithm and the baseline's run with the same task and seed form a pair (and, for a fair
comparison, the same suite, task setting, backbone and selection rule: every table field except the one
compared; the default ``by`` holds the setting, :mod:`zoo.results.setting`, so no pair crosses settings). The
gain is the mean paired difference ``algorithm - baseline``; pairing removes what the two runs share (the
seed's data order and initialisation, the task's difficulty), which a comparison of two means would not.

Two two-sided tests of "no difference", both over the pairs:

- the **paired t-test**: ``t = mean(d) / (sd(d) / sqrt(n))`` on ``n - 1`` degrees of freedom; exact when the
  differences are normal, and it has power with 3-5 pairs, by leaning on that assumption;
- the **sign-flip permutation test**: under "no difference" each ``d_i`` is as likely ``+|d_i|`` as
  ``-|d_i|``; ``p`` is the share of the ``2^n`` sign patterns whose ``|sum|`` reaches the observed one (all
  of them when ``n <= 16``, else 10,000 seeded random patterns, ``p = (1 + hits) / (1 + 10,000)``). Exact
  without assuming normality, but with n pairs no p is below ``2 / 2^n`` (0.25 for 3 seeds, 0.0625 for 5).

The tables print the sign-flip p (no distributional assumption; its floor is the honest price of few seeds);
CSV carries both. ``over="task"`` pools the pairs of every task (n = tasks x seeds) into one test per
algorithm, the headline "does it help across the benchmark" number.

Usage::

    rows = compare(records, baseline="source_only", metric="balanced_accuracy")
    rows[0]   # {'task': ..., 'algorithm': 'dann', 'n_pairs': 5, 'gain': 0.031, 'p_signflip': 0.0625, 'p_t': 0.012, ...}
    compare(records, "task=scratch-breast")            # compare tasks (pretraining chains) against one task
    compare(records, "source_only", over="task")       # pooled across tasks, one row per algorithm
    compare(records, "twin")      # each adaptation method against its own weight-0 twin (dann vs dann@w0)
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from typing import Any, Iterable, Sequence

from zoo.errors import ConfigError
from zoo.results.paired_tests import N_FLIPS, paired_t_test, sign_flip_test, suite_test, task_test
from zoo.results.stats import DEFAULT_BY, group_value, mean_std, metric_value

logger = logging.getLogger(__name__)

GAIN_FIELDS = ("gain", "gain_ci_low", "gain_ci_high", "n_pairs", "p", "p_adj", "test", "p_signflip", "p_t")
AXES = ("algorithm", "task", "backbone", "selection")
TWIN = "twin"  # the baseline of each algorithm X is its weight-0 twin X@w0 (zoo.algorithms.variants)
TWIN_SUFFIX = "@w0"


def split_baselines(text: str | None) -> list[str]:
    """``"source_only,adabn"`` -> ``["source_only", "adabn"]`` (``--compare`` may name several baselines).

    Usage::

        for baseline in split_baselines(args.compare): ...
    """
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _baseline_of(value: str, row_value: str) -> str:
    """The baseline value for a row: ``value`` itself, or the row's twin when comparing with ``twin``."""
    return f"{row_value}{TWIN_SUFFIX}" if value == TWIN else value


def parse_baseline(text: str) -> tuple[str, str]:
    """``"source_only"`` -> ("algorithm", "source_only"); ``"task=scratch-breast"`` -> ("task", "scratch-breast").

    Usage::

        axis, value = parse_baseline(args.compare)
    """
    field, sep, value = text.partition("=")
    if not sep:
        field, value = "algorithm", text
    field, value = field.strip(), value.strip()
    if field not in AXES or not value:
        raise ConfigError(f"--compare takes an algorithm name or FIELD=VALUE with FIELD one of "
                          f"{', '.join(AXES)}, got {text!r}")
    return field, value


def check_baseline(records: Sequence[dict[str, Any]], baseline: str) -> tuple[str, str]:
    """Parse ``baseline`` and check that some run has it; raise a one-line ConfigError naming what exists.

    Usage::

        axis, value = check_baseline(records, "source_only")   # ('algorithm', 'source_only')
    """
    axis, value = parse_baseline(baseline)
    present = sorted({group_value(r, axis) for r in records})
    if value == TWIN and axis == "algorithm":
        if not any(p.endswith(TWIN_SUFFIX) for p in present):
            raise ConfigError("no weight-0 twins (NAME@w0) to compare against; run the suite with "
                              f"controls: [weight_zero]; algorithms there: {', '.join(present)}")
        return axis, value
    if value not in present:
        raise ConfigError(f"no runs with {axis} {value!r} to compare against; {axis}s there: {', '.join(present)}")
    return axis, value


def _per_seed(records, metric, split, by) -> dict[tuple, dict[str, float]]:
    """{row key: {seed: value}}; several runs with one seed in a row are averaged (and logged)."""
    values: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        value = metric_value(record, split, metric)
        if value is not None:
            values[tuple(group_value(record, f) for f in by)][str(record.get("seed"))].append(value)
    out = {}
    for key, seeds in values.items():
        if any(len(v) > 1 for v in seeds.values()):
            logger.warning("%s: several runs share a seed; their mean is paired", dict(zip(by, key)))
        out[key] = {seed: math.fsum(v) / len(v) for seed, v in seeds.items()}
    return out


def _test_row(pairs: list[tuple[str, str, float]], n_flips: int, seed: int) -> dict[str, Any]:
    diffs = [d for _, _, d in sorted(pairs)]  # sorted by (task, seed): same pairs, same random flips
    gain, std = mean_std(diffs)
    if len(diffs) >= 2:
        from scipy.stats import t as student_t

        half = float(student_t.ppf(0.975, len(diffs) - 1)) * std / math.sqrt(len(diffs))
    else:
        half = math.nan
    return {"n_pairs": len(diffs), "gain": gain, "gain_std": std, "gain_ci_low": gain - half,
            "gain_ci_high": gain + half, "p_signflip": sign_flip_test(diffs, n_flips=n_flips, seed=seed),
            "p_t": paired_t_test(diffs), "pairs": sorted(pairs)}


def compare(records: Iterable[dict[str, Any]], baseline: str, metric: str = "accuracy", split: str = "target_test",
            by: Sequence[str] = DEFAULT_BY, *, over: str | None = None, n_flips: int = N_FLIPS,
            seed: int = 0) -> list[dict[str, Any]]:
    """Paired gain of every row over the baseline row that differs from it only in the compared field.

    ``baseline``: an algorithm name, or ``FIELD=VALUE`` (FIELD: algorithm, task, backbone, selection).
    Returns one dict per compared row (the ``by`` fields, ``baseline``, ``n_pairs``, ``gain`` (fraction,
    ``algorithm - baseline``), its 95% t-interval ``gain_ci_low/high``, ``p_signflip``, ``p_t``, ``pairs``
    as (task, seed, difference)); rows without a matching baseline run are left out. ``over="task"``
    pools all tasks into one row per remaining group. Raises ConfigError if no run is the baseline.

    Usage::

        for row in compare(records, "source_only", metric="accuracy"):
            print(row["task"], row["algorithm"], 100 * row["gain"], row["p_signflip"])
    """
    records = list(records)
    axis, value = check_baseline(records, baseline)
    by = tuple(by)
    if axis not in by or "task" not in by:
        raise ConfigError(f"compare needs 'task' and {axis!r} among the grouping fields {by}")
    if over not in (None, "task") or over == axis:
        raise ConfigError(f"compare pools over 'task' only, and not when comparing tasks (got over={over!r})")
    at = by.index(axis)
    rows = _per_seed(records, metric, split, by)
    pairs: dict[tuple, list[tuple[str, str, float]]] = defaultdict(list)  # group key -> [(task, seed, diff)]
    matched: dict[tuple, tuple] = {}  # row key -> its baseline's row key (per-task rows)
    task_at = by.index("task")
    for key, seeds in rows.items():
        base_value = _baseline_of(value, key[at])
        if key[at] == value or (value == TWIN and key[at].endswith(TWIN_SUFFIX)):
            continue
        base_key = (*key[:at], base_value, *key[at + 1:])
        base = rows.get(base_key, {})
        group = key if over is None else tuple(k for i, k in enumerate(key) if i != task_at)
        pairs[group] += [(key[task_at], seed, seeds[seed] - base[seed]) for seed in seeds if seed in base]
        matched[key] = base_key
    fields = by if over is None else tuple(f for f in by if f != "task")
    if over == "task":
        from zoo.results.blocks import source_group

        # a task's unit within its context (every field but task and the compared one): a task name may recur
        # in another setting or suite with other sources
        context = [f for f in fields if f != axis]
        unit_of = {(tuple(group_value(r, f) for f in context), group_value(r, "task")): source_group(r)
                   for r in records}
        pooled = []
        for group, found in sorted(pairs.items()):
            if found:
                where = tuple(dict(zip(fields, group))[f] for f in context)
                units = {task: unit_of[(where, task)] for task, _, _ in found}
                row = suite_test(found, units, n_flips=n_flips, seed=seed)
                pooled.append({**dict(zip(fields, group)), "baseline": value, "axis": axis, "metric": metric,
                               "split": split, **row, "p": row["p_signflip"]})
        return pooled
    cells = _runs_by_key(records, by)
    out = []
    for group, found in sorted(pairs.items()):
        if not found:
            continue
        row = {**dict(zip(fields, group)), "baseline": value, "axis": axis, "metric": metric, "split": split,
               **_test_row(found, n_flips, seed), "test": "seeds"}
        row["p"] = row["p_signflip"]
        shared = task_test(cells.get(group, []), cells.get(matched[group], []), metric, split)
        if shared is not None:
            row.update(gain_ci_low=shared["gain_ci_low"], gain_ci_high=shared["gain_ci_high"], p=shared["p"],
                       p_images=shared["p"], se=shared["se"], df=shared["df"], test="images+seeds")
        out.append(row)
    return out


def _runs_by_key(records: Sequence[dict[str, Any]], by: Sequence[str]) -> dict[tuple, list[dict[str, Any]]]:
    """The records of each row key (the runs of one cell)."""
    out: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        out[tuple(group_value(record, f) for f in by)].append(record)
    return out


def adjust_rows(rows: Sequence[dict[str, Any]], method: str = "holm") -> int:
    """Set ``p_adj`` on every row from its ``p``, adjusted over all of them (Holm, BH or none); return the
    number of tests.

    Usage::

        n = adjust_rows(compare(records, "source_only"), "holm")
    """
    from zoo.results.multiplicity import adjust

    tested = [row for row in rows if row.get("p") is not None and not math.isnan(row["p"])]
    for row, adjusted in zip(tested, adjust([row["p"] for row in tested], method)):
        row["p_adj"], row["correction"] = adjusted, method
    return len(tested)


def format_gain(row: dict[str, Any] | None, n_runs: int | None = None, *, percent: bool = True) -> str:
    """``"+2.3"`` percentage points (``"(n=3)"`` when fewer pairs than runs), ``"–"`` without pairs.

    Usage::

        format_gain({"gain": 0.023, "n_pairs": 5})   # '+2.3'
    """
    if row is None or math.isnan(row["gain"]):
        return "–"
    text = f"{row['gain'] * (100 if percent else 1):+.{1 if percent else 3}f}"
    if n_runs is not None and row["n_pairs"] < n_runs:
        text += f" (n={row['n_pairs']})"
    return text


def format_p(p: float | None) -> str:
    """Three significant digits: ``"0.0625"``, ``"0.25"``, ``"<0.001"``; ``"–"`` when undefined.

    Usage::

        format_p(0.0625)   # '0.0625'
    """
    if p is None or math.isnan(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3g}"


def gains_by_key(records: Sequence[dict[str, Any]], baseline: str, metric: str, split: str,
                 by: Sequence[str], correction: str = "holm") -> dict[tuple, dict[str, Any]]:
    """:func:`compare` rows keyed by their ``by`` values (the results table's row keys).

    Usage::

        gains_by_key(records, "source_only", "accuracy", "target_test", TABLE_BY)[key]["p_signflip"]
    """
    rows = compare(records, baseline, metric, split, by)
    adjust_rows(rows, correction)  # a table of p-values reads adjusted ones: the rows are one family
    return {tuple(row[f] for f in by): row for row in rows}


def add_gain_columns(cells: Any, records: Sequence[dict[str, Any]], keys: list[tuple], counts: dict[tuple, int],
                     baseline: str, metric: str, split: str, by: Sequence[str], *, percent: bool,
                     header: str, correction: str = "holm") -> None:
    """Append "Δ METRIC vs BASELINE" (points) and "p" (adjusted over the column) columns to a results table.

    Usage::

        add_gain_columns(cells, records, keys, counts, "source_only", "accuracy", "target_test", TABLE_BY,
                         percent=True, header="Accuracy")
    """
    from zoo.results.multiplicity import caption

    axis, value = parse_baseline(baseline)
    gains = gains_by_key(records, baseline, metric, split, by, correction)
    n_tests = sum("p_adj" in row for row in gains.values())
    at = list(by).index(axis)
    cells.header += [f"Δ {header} vs {value}", "p"]
    for key, row in zip(keys, cells.body):
        if key[at] == value or (value == TWIN and key[at].endswith(TWIN_SUFFIX)):
            row += ["baseline", ""]
        else:
            found = gains.get(key)
            row += [format_gain(found, counts[key], percent=percent), format_p(found.get("p_adj") if found else None)]
    unit = "points" if percent else "units"
    # the suite and a lone setting go without saying (a setting is compared within itself only)
    several = "setting" in by and len({key[list(by).index("setting")] for key in keys}) > 1
    same = ", ".join(f for f in by if f not in (axis, "suite") and (f != "setting" or several))
    whom = "its own weight-0 twin's (NAME@w0) run" if value == TWIN else f"the {value!r} run"
    tests = {row["test"] for row in gains.values()}
    how = []
    if "images+seeds" in tests:
        how.append("where runs kept their predictions, a t-test over seeds and the shared test images resampled "
                   "for both (zoo.results.shared_test)")
    if "seeds" in tests:
        how.append("otherwise the two-sided sign-flip test over seed pairs (never below 2/2^n for n pairs)")
    cells.captions.append(f"Δ vs {value}: mean difference ({unit}) from {whom} with the same {same} and seed; "
                          f"p: {'; '.join(how)}; {caption(correction, n_tests)} in this column")
