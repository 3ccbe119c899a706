"""Transfer gain of each leaderboard row over its baseline: from-scratch training, else source-only.

Which baseline a task has is read from the records alone:

- **from scratch**: a task with no source domain and no pretraining (``task.source == []`` and
  ``task.pretrain == []``) is the from-scratch baseline of every other task of the suite with the same
  target domain and target label budget (``xray-to-breast-10pct`` vs ``scratch-breast-10pct``); runs are
  paired with the scratch run of the same algorithm, backbone, selection rule and seed (when the scratch
  task trains one algorithm only, every algorithm is paired with it: ``lp_ft`` after pretraining against
  ``full_ft`` from scratch, since probing random features is no baseline);
- **source-only**: otherwise, if the task has runs of the algorithm ``source_only``, every other algorithm
  on it is paired with source-only runs of the same backbone, selection rule and seed.

The leaderboard calls these on one suite's runs of one task setting at a time (:mod:`zoo.leaderboard.summary`),
so a baseline is always of the same setting as the runs it is paired with. The pairing and the tests are
:func:`zoo.results.compare.compare`'s (mean paired difference; where runs
kept predictions, the interval and p over seeds and the shared test images, else the sign-flip test over
seeds); :func:`adjust_gains` Holm-adjusts every p of a suite page as one table. :func:`pooled_gain` is
the gain over an algorithm's tasks with its p over independent source x seed units, as ``medzoo results
--compare ... --rank`` computes it. A gain row says
``baseline_constant`` when a paired baseline run predicted one class for every test image
(:func:`zoo.results.primary.is_constant_predictor`): such a gain is over a class prior, not a trained model.

Usage::

    gains = cell_gains(records, "accuracy", "target_test")
    gains[("xray-to-breast-10pct", "full_ft", "resnet18_28", "target_val")]["gain"]   # 0.041
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Sequence

from zoo.results.blocks import source_group
from zoo.results.compare import compare
from zoo.results.primary import is_constant_predictor
from zoo.results.stats import group_value

SOURCE_ONLY = "source_only"
CELL_BY = ("suite", "task", "algorithm", "backbone", "selection")
BASELINE_ROW = {"is_baseline": True}


def task_shape(record: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...], str, float | None]:
    """``(sources, pretrain domains, target, target_budget)`` of a record's task.

    Usage::

        task_shape(record)   # ((), ('xray',), 'breast', 0.1)
    """
    task = record["task"]
    pretrain = task.get("pretrain") if isinstance(task.get("pretrain"), list) else []
    return (tuple(map(str, task["source"])), tuple(map(str, pretrain)), task["target"], task["target_budget"])


def scratch_baselines(records: Sequence[dict[str, Any]]) -> dict[str, str]:
    """``{task: its from-scratch task}`` for every task that has one (see the module docstring).

    Usage::

        scratch_baselines(records)   # {'xray-to-breast-10pct': 'scratch-breast-10pct', ...}
    """
    shapes = {record["task"]["name"]: task_shape(record) for record in records}
    scratch = {(target, budget): name for name, (src, pre, target, budget) in sorted(shapes.items())
               if not src and not pre}
    return {name: scratch[(target, budget)] for name, (src, pre, target, budget) in sorted(shapes.items())
            if (src or pre) and (target, budget) in scratch}


def _constant(runs: Sequence[dict[str, Any]], split: str) -> set[tuple[str, str, str]]:
    """``{(backbone, selection, seed)}`` of the runs that predict one class for every image of ``split``."""
    return {(group_value(r, "backbone"), group_value(r, "selection"), str(r["seed"])) for r in runs
            if is_constant_predictor(r, split)}


def _row(found: dict[str, Any], label: str, constant: set[tuple[str, str, str]] = frozenset(),
         unit: str | None = None) -> dict[str, Any]:
    """A gain row; ``constant``: the baseline's constant predictors, by (backbone, selection, seed); ``unit``:
    the task's source group (zoo.results.blocks), for pooling over independent units."""
    return {"baseline": label, "gain": found["gain"], "gain_ci_low": found["gain_ci_low"],
            "gain_ci_high": found["gain_ci_high"], "n_pairs": found["n_pairs"], "p": found["p"],
            "p_raw": found["p"], "test": found["test"], "p_t": found["p_t"], "pairs": found["pairs"],
            "unit": unit if unit is not None else found.get("task"),
            "baseline_constant": any((found["backbone"], found["selection"], seed) in constant
                                     for _, seed, _ in found["pairs"])}


def adjust_gains(rows: Sequence[dict[str, Any]], method: str = "holm") -> int:
    """Replace each row's ``p`` by its adjusted value over all ``rows`` (``p_raw`` keeps the test's own);
    return the number of tests. A page of gains is one table: it is corrected as one.

    Usage::

        n_tests = adjust_gains([g for g in gains.values() if not g.get("is_baseline")])
    """
    from zoo.results.multiplicity import adjust

    tested = [row for row in rows if not row.get("is_baseline") and math.isfinite(row.get("p_raw", math.nan))]
    for row, adjusted in zip(tested, adjust([row["p_raw"] for row in tested], method)):
        row["p"], row["correction"], row["n_tests"] = adjusted, method, len(tested)
    return len(tested)


def cell_gains(records: Sequence[dict[str, Any]], metric: str, split: str) -> dict[tuple, dict[str, Any]]:
    """Gain rows keyed by ``(task, algorithm, backbone, selection)`` for the records of ONE suite and setting.

    Baseline cells map to ``{"is_baseline": True, "baseline": label}``; cells without a baseline are absent.

    Usage::

        cell_gains(suite_records, "accuracy", "target_test")
    """
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_task[record["task"]["name"]].append(record)
    out: dict[tuple, dict[str, Any]] = {}
    scratch = scratch_baselines(records)
    for task, base in scratch.items():
        base_algorithms = sorted({r["algorithm"] for r in by_task[base]})
        for algorithm in sorted({r["algorithm"] for r in by_task[task]}):
            ours = [r for r in by_task[task] if r["algorithm"] == algorithm]
            theirs = [r for r in by_task[base] if r["algorithm"] == algorithm]
            label = f"from scratch ({base})"
            if not theirs and len(base_algorithms) == 1:
                # e.g. lp_ft after pretraining vs the one from-scratch training (full_ft): a linear probe of
                # random features is no baseline, so every algorithm is paired with scratch's only one
                theirs = [{**r, "algorithm": algorithm} for r in by_task[base]]
                label = f"from scratch ({base}, {base_algorithms[0]})"
            if not theirs:
                continue
            constant = _constant(theirs, split)
            for row in compare(ours + theirs, f"task={base}", metric, split, CELL_BY):
                if row["task"] == task:
                    out[(task, row["algorithm"], row["backbone"], row["selection"])] = _row(
                        row, label, constant, source_group(by_task[task][0]))
    for base in sorted(set(scratch.values())):
        for record in by_task[base]:
            key = tuple(group_value(record, f) for f in CELL_BY[1:])
            out[key] = {**BASELINE_ROW, "baseline": "from scratch"}
    for task in sorted(by_task):
        if task in scratch or not any(r["algorithm"] == SOURCE_ONLY for r in by_task[task]):
            continue
        constant = _constant([r for r in by_task[task] if r["algorithm"] == SOURCE_ONLY], split)
        for row in compare(by_task[task], SOURCE_ONLY, metric, split, CELL_BY):
            out[(task, row["algorithm"], row["backbone"], row["selection"])] = _row(
                row, SOURCE_ONLY, constant, source_group(by_task[task][0]))
        for record in by_task[task]:
            if record["algorithm"] == SOURCE_ONLY:
                key = tuple(group_value(record, f) for f in CELL_BY[1:])
                out.setdefault(key, {**BASELINE_ROW, "baseline": SOURCE_ONLY})
    return out


def pooled_gain(rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The mean over tasks of several cells' gains, tested over source x seed units (None without pairs).

    Usage::

        pooled_gain([gains[key] for key in keys_of_one_algorithm])   # {'gain': ..., 'p': ..., 'n_units': 15}
    """
    from zoo.results.paired_tests import suite_test

    gained = [row for row in rows if not row.get("is_baseline")]
    pairs = sorted(pair for row in gained for pair in row["pairs"])
    if not pairs:
        return None
    # tasks of one source share its baseline model per seed: the test is over independent source x seed units
    found = suite_test(pairs, {task: row.get("unit") or task for row in gained for task, _, _ in row["pairs"]})
    labels = sorted({row["baseline"] for row in gained})
    return {"baseline": "; ".join(labels), "gain": found["gain"], "gain_std": found["gain_std"],
            "n_pairs": found["n_pairs"], "n_tasks": found["n_tasks"], "n_units": found["n_units"],
            "p": found["p_signflip"], "p_raw": found["p_signflip"], "p_t": found["p_t"], "test": "units",
            "baseline_constant": any(row.get("baseline_constant") for row in gained)}


CONTROLS = ("adabn", "twin")  # beside source_only: AdaBN, and each method's own weight-0 twin (NAME@w0)


def control_gains(records: Sequence[dict[str, Any]], metric: str, split: str) -> dict[tuple, dict[str, Any]]:
    """``{(task, algorithm, backbone, selection): {control: gain row}}`` against the adaptation controls.

    A gain over ``source_only`` can come from target BatchNorm statistics (AdaBN) or from a method's own
    architecture and mixed batches (its weight-0 twin) rather than from its alignment; these rows show
    what is left. Tasks without the control's runs get no row for it.

    Usage::

        control_gains(suite_records, "accuracy", "target_test")[("xray-noise-4", "dann", "simple_cnn",
                                                                  "source_val")]["twin"]["gain"]
    """
    from zoo.results.compare import TWIN_SUFFIX

    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_task[record["task"]["name"]].append(record)
    out: dict[tuple, dict[str, Any]] = defaultdict(dict)
    for task, runs in sorted(by_task.items()):
        names = {r["algorithm"] for r in runs}
        for control in CONTROLS:
            if control == "twin" and not any(n.endswith(TWIN_SUFFIX) for n in names):
                continue
            if control != "twin" and control not in names:
                continue
            for row in compare(runs, control, metric, split, CELL_BY):
                if row["algorithm"] != SOURCE_ONLY:
                    own = row["algorithm"] + TWIN_SUFFIX if control == "twin" else control
                    constant = _constant([r for r in runs if r["algorithm"] == own], split)
                    out[(task, row["algorithm"], row["backbone"], row["selection"])][control] = _row(
                        row, control, constant, source_group(runs[0]))
    return dict(out)
