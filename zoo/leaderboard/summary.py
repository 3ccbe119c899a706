"""What the leaderboard shows, computed from records: per suite, per task rows and the overall rows.

A **cell** is one task x algorithm x backbone x selection rule: its seeds' mean and 95% interval
(:func:`zoo.results.stats.summarize` with ``ci="shared"``: over seeds and the shared test images when
the runs' predictions files are there and verified, else Student-t over seeds, labelled), the rank on its
task among the algorithms with the same backbone and rule (:func:`zoo.results.stats.rank`), the paired gain
over its baseline (:mod:`zoo.leaderboard.gains`),
its mean cost (train seconds, peak memory, images/s, from ``timings``) and labels: ``oracle`` for the
``target_val_oracle`` rule (an upper bound, never ranked with honest rules: ranks are per rule), ``few_seeds``
when it has fewer seeds than the suite asks for, and the plugin distributions its algorithm or backbone
came from. An **overall** row is one algorithm x backbone x rule over the suite's tasks: its average rank,
the mean over tasks with a 95% t-interval over seeds (each seed's average over the tasks; only the seeds run
on every one of its tasks count), the gain pooled over (task, seed) pairs, and the mean cost. Training
from scratch (tasks with no source and no pretraining, the baselines) gets rows of its own, never averaged
with the same algorithm after transfer (a suite of target-only tasks with no transfer counterpart is not
"from scratch" in this sense: its tasks are ranked as any others).

Rows are grouped by task setting (:mod:`zoo.results.setting`; ``transfer`` for records before settings):
ranks, gains, overall rows and Friedman blocks are computed on one setting's runs at a time, so a method is
never ranked against a method of another setting, even on a task of the same name. ``settings`` lists them
(name, one-line summary, runs, tasks, algorithms) in their declared order; ``tasks``, ``overall`` and
``friedman`` hold every setting's entries, each tagged with its ``setting``, in that order. Every per-task
p-value on the page is adjusted as one table; each setting's overall table is its own family.

How many seeds a row should have: ``min_seeds`` if given; else what the preset its runs used asks for
(:mod:`zoo.leaderboard.presets` derives the preset from the records' settings: records do not name it);
else, when its runs match no preset (settings changed on the command line, a suite medzoo does not ship)
or several with different seeds, the most seeds any row of the suite has. ``seeds_from`` says which.

Which metric ranks a suite: ``metric`` if given (``--metric``), else the suite's primary metric
(:func:`zoo.results.primary.primary_choice`: declared by the suite, else balanced accuracy when the majority
class of a target test split is over 60%, else accuracy); ``metric_reason`` says which. A cell or overall
row holding a run that predicts one class for every test image says ``constant_predictor``.

Usage::

    suites = summarize_suites(records, metric="accuracy", split="target_test")
    suites[0]["tasks"][0]["cells"][0]   # {'algorithm': 'dann', 'mean': 0.87, 'ci_low': ..., 'gain': {...}, ...}
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from typing import Any, Sequence

from zoo.leaderboard.gains import (
    SOURCE_ONLY,
    adjust_gains,
    cell_gains,
    control_gains,
    pooled_gain,
    scratch_baselines,
    task_shape,
)
from zoo.leaderboard.html import finite
from zoo.leaderboard.presets import Match, preset_of
from zoo.results.primary import is_constant_predictor, primary_choice
from zoo.results.record import view_record
from zoo.results.setting import by_setting, setting_summary
from zoo.results.stats import group_value, main_block, mean_std, metric_value, rank, summarize, t_interval

ORACLE_RULES = ("target_val_oracle",)
COSTS = ("train_s", "peak_memory_mb", "images_per_s")
CELL_BY = ("suite", "task", "algorithm", "backbone", "selection")
OVERALL_KEY = ("algorithm", "backbone", "selection", "scratch")


@functools.lru_cache(maxsize=1)
def builtin_names() -> frozenset[tuple[str, str]]:
    """``{(kind, name)}`` of the entry points medzoo itself declares (read from metadata, nothing imported).

    Usage::

        ("algorithm", "dann") in builtin_names()   # True
    """
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        eps = distribution("medzoo").entry_points
    except PackageNotFoundError:  # pragma: no cover - medzoo always runs installed
        return frozenset()
    return frozenset((ep.group.rsplit(".", 1)[1].rstrip("s"), ep.name) for ep in eps if ep.group.startswith("medzoo."))


def plugin_labels(record: dict[str, Any]) -> list[str]:
    """``["dist version", ...]``: where a record's algorithm and backbone came from, when not medzoo itself.

    Records since this medzoo name each component's distribution (``provenance.components``); for older
    ones a name medzoo does not declare is labeled with the plugin distributions the run had installed.

    Usage::

        plugin_labels(record)   # ['medzoo-example-plugin 0.1.0']
    """
    provenance = record.get("provenance") or {}
    components = provenance.get("components")
    labels = []
    for kind, name in (("algorithm", record["algorithm"]), ("backbone", record["backbone"]["name"])):
        found = components.get(kind) if isinstance(components, dict) else None
        if isinstance(found, dict) and "dist" in found:
            if found["dist"] != "medzoo":
                labels.append(f"{found['dist'] or 'unregistered'} {found.get('version') or ''}".strip())
        elif (kind, name) not in builtin_names() and (kind, name.partition("/")[0]) not in builtin_names():
            plugins = provenance.get("plugins") if isinstance(provenance.get("plugins"), list) else []
            named = [f"{p.get('name')} {p.get('version') or ''}".strip() for p in plugins if isinstance(p, dict)]
            labels += named or ["unofficial"]
    return sorted(set(labels))


def _cost(runs: list[dict[str, Any]]) -> dict[str, float | None]:
    """Mean of each cost over a cell's runs (the finite values; None without any)."""
    out = {}
    for cost in COSTS:
        values = [v for r in runs if finite(v := (r.get("timings") or {}).get(cost))]
        out[cost] = mean_std(values)[0] if values else None
    return out


def _seeds_asked(runs: list[dict[str, Any]], presets: dict[str, Match | None], min_seeds: int | None,
                 most: int) -> dict[str, Any]:
    """``required_seeds``, where that number comes from (``seeds_from``) and the runs' ``preset`` (None: unknown)."""
    found = {presets[r["run_id"]] for r in runs}
    match = next(iter(found)) if len(found) == 1 else None
    preset = match.label if match else None
    if min_seeds:
        return {"required_seeds": min_seeds, "seeds_from": "--min-seeds", "preset": preset}
    if match and match.n_seeds:
        return {"required_seeds": match.n_seeds, "seeds_from": f"preset {preset}", "preset": preset}
    return {"required_seeds": most, "seeds_from": "the most seeds a row of this suite has", "preset": preset}


def _cells(records: Sequence[dict[str, Any]], rows: list[dict], most: int, metric: str, split: str,
           min_seeds: int | None, ranked: list[dict], presets: dict[str, Match | None]) -> tuple[list[dict], list]:
    """The cells of ONE setting's records (``rows``: their summaries) and the gain rows whose p the page adjusts."""
    by_id = {r["run_id"]: r for r in records}
    ranks: dict[tuple, float] = {}
    for row in ranked:
        for task, value in row["ranks"].items():
            ranks[(task, row["algorithm"], row["backbone"], row["selection"])] = value
    gains = cell_gains(records, metric, split)
    controls = control_gains(records, metric, split)
    tested = [*gains.values(), *(row for per in controls.values() for row in per.values())]
    cells = []
    for row in rows:
        key = tuple(row[f] for f in CELL_BY)
        runs = [by_id[run_id] for run_id in row["run_ids"]]
        constant = [is_constant_predictor(r, split) for r in runs]
        asked = _seeds_asked(runs, presets, min_seeds, most)
        cells.append({
            "task": row["task"], "algorithm": row["algorithm"], "backbone": row["backbone"],
            "selection": row["selection"], "oracle": row["selection"] in ORACLE_RULES,
            "n": row["n"], **asked, "few_seeds": row["n"] < asked["required_seeds"],
            "mean": row["mean"], "std": row["std"], "ci_low": row["ci_low"], "ci_high": row["ci_high"],
            "runs": [{"run_id": r["run_id"], "seed": r["seed"], "value": v, "checkpoint": r.get("checkpoint"),
                      "constant_predictor": c} for r, v, c in zip(runs, row["values"], constant)],
            # every test prediction one class in some seed: its score is a class prior's (zoo.results.primary)
            "constant_predictor": any(constant), "constant_runs": sum(constant),
            "seeds": [str(s) for s in row["seeds"]], "values": row["values"],
            "rank": ranks.get(key[1:]), "gain": gains.get(key[1:]), "cost": _cost(runs),
            "controls": controls.get(key[1:], {}), **_selection_flags(runs, metric, split),
            "plugins": sorted({label for r in runs for label in plugin_labels(r)}),
            # the from-scratch baseline of other tasks (zoo.leaderboard.gains): overall rows of its own
            "scratch": bool((gains.get(key[1:]) or {}).get("is_baseline"))
            and gains[key[1:]]["baseline"] == "from scratch",
        })
    return cells, tested


def _selection_flags(runs: list[dict[str, Any]], metric: str, split: str) -> dict[str, Any]:
    """``small_selection``: the fewest labelled images per class any run's rule chose with, when under 5
    (else None); ``last``: the mean of ``metric`` at each run's last epoch, to read beside such a rule."""
    sets = [s for r in runs if (s := r["selection"].get("selection_set"))]
    small = [min(s["per_class"].values()) for s in sets if s.get("small")]
    values = [v for r in runs if (view := view_record(r, "last")) and finite(v := metric_value(view, split, metric))]
    return {"small_selection": min(small) if small else None,
            "last": math.fsum(values) / len(values) if values and len(values) == len(runs) else None}


def _pooled(members: list[dict]) -> dict[str, Any] | None:
    """The pooled gain of an overall row, or the baseline mark when every one of its cells is a baseline."""
    gains = [c["gain"] for c in members if c["gain"]]
    pooled = pooled_gain(gains)
    if pooled is None and gains and all(g.get("is_baseline") for g in gains):
        return {"is_baseline": True, "baseline": "; ".join(sorted({g["baseline"] for g in gains}))}
    return pooled


def _overall(cells: list[dict], ranked: list[dict]) -> list[dict]:
    ranks = {(row["algorithm"], row["backbone"], row["selection"]): row for row in ranked}
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for cell in cells:
        groups[tuple(cell[f] for f in OVERALL_KEY)].append(cell)
    rows = []
    for key, members in sorted(groups.items()):
        common = set.intersection(*(set(c["seeds"]) for c in members))
        per_seed = [math.fsum(dict(zip(c["seeds"], c["values"]))[s] for c in members) / len(members)
                    for s in sorted(common)]
        mean, _ = mean_std(per_seed) if per_seed else (math.fsum(c["mean"] for c in members) / len(members), 0)
        low, high = t_interval(per_seed) if len(per_seed) > 1 else (math.nan, math.nan)
        ranked = ranks.get(key[:3]) if not key[3] else None  # ranks are earned on transfer tasks
        costs = {c: [m["cost"][c] for m in members if m["cost"][c] is not None] for c in members[0]["cost"]}
        rows.append({
            **dict(zip(OVERALL_KEY, key)), "oracle": members[0]["oracle"], "n_tasks": len(members),
            "n": len(per_seed), "few_seeds": any(c["few_seeds"] for c in members),
            "constant_predictor": any(c["constant_predictor"] for c in members),
            "constant_runs": sum(c["constant_runs"] for c in members),
            "required_seeds": max(c["required_seeds"] for c in members),
            "seeds_from": members[0]["seeds_from"], "mean": mean, "ci_low": low, "ci_high": high,
            "rank": ranked["mean_rank"] if ranked else None,
            "rank_tasks": f"{ranked['n_tasks']}/{ranked['n_tasks_total']}" if ranked else None,
            "gain": _pooled(members),
            "cost": {c: (math.fsum(v) / len(v) if v else None) for c, v in costs.items()},
            "plugins": sorted({p for c in members for p in c["plugins"]}),
            "cells": [c["task"] for c in members],
        })
    return rows


def _tasks(cells: list[dict], records: Sequence[dict[str, Any]]) -> list[dict]:
    shapes = {r["task"]["name"]: task_shape(r) for r in records}
    scratch = scratch_baselines(records)
    with_source_only = {r["task"]["name"] for r in records if r["algorithm"] == SOURCE_ONLY}
    by_task: dict[str, list[dict]] = defaultdict(list)
    for cell in cells:
        by_task[cell["task"]].append(cell)
    tasks = []
    # tasks of one target sit together, by label budget, the from-scratch baseline after the transfer tasks
    order = sorted(by_task, key=lambda n: (shapes[n][2], shapes[n][3] if shapes[n][3] is not None else -1,
                                           not (shapes[n][0] or shapes[n][1]), n))
    for name in order:
        sources, pretrain, target, budget = shapes[name]
        baseline = (f"from scratch ({scratch[name]})" if name in scratch
                    else SOURCE_ONLY if name in with_source_only else None)
        ordered = sorted(by_task[name], key=lambda c: (c["oracle"], -c["mean"], c["algorithm"], c["backbone"],
                                                       c["selection"]))
        caveats = sorted({c for r in records if r["task"]["name"] == name for c in r.get("caveats") or []})
        tasks.append({"name": name, "sources": list(sources), "pretrain": list(pretrain), "target": target,
                      "target_budget": budget, "baseline": baseline, "cells": ordered, "caveats": caveats,
                      "controls": sorted({k for c in ordered for k in c["controls"]})})
    return tasks


def _friedman(records: Sequence[dict[str, Any]], metric: str, split: str) -> list[dict[str, Any]]:
    """The suite's Friedman blocks (zoo.results.friedman) on honest rules only: an oracle's ranks are not a claim."""
    from zoo.results.friedman import friedman

    return [b for b in friedman([r for r in records if r["selection"]["rule"] not in ORACLE_RULES], metric, split)
            if len(b["methods"]) >= 3]


def _suite_seeds(cells: list[dict], presets: dict[str, Match | None], min_seeds: int | None) -> dict[str, Any]:
    """The suite's ``required_seeds`` (None when its rows differ), its ``presets`` (name, seeds asked, runs)
    and ``unmatched_runs`` (runs of no preset), for the page's lead and the index."""
    asked = {c["required_seeds"] for c in cells}
    counts: dict[tuple, int] = defaultdict(int)
    for match in presets.values():
        counts[(match.label, match.n_seeds) if match else (None, None)] += 1
    return {"required_seeds": next(iter(asked)) if len(asked) == 1 else None, "min_seeds": min_seeds,
            "presets": [{"name": n, "seeds": k, "runs": v} for (n, k), v in sorted(counts.items(), key=str)
                        if n is not None],
            "unmatched_runs": counts.get((None, None), 0),
            "most_seeds": max((c["n"] for c in cells), default=0)}


def summarize_suite(records: Sequence[dict[str, Any]], metric: str | None = None, split: str = "target_test",
                    min_seeds: int | None = None) -> dict[str, Any]:
    """The leaderboard of ONE suite's records (see the module docstring); ``metric``: None ranks by its primary.

    Usage::

        summarize_suite([r for r in records if r["suite"]["name"] == "quick"])
    """
    metric, reason = (metric, "chosen with --metric") if metric else primary_choice(records)
    first = records[0]["suite"]
    name, version = str(first["name"]), str(first["version"])
    presets = {r["run_id"]: preset_of(r) for r in records}
    groups = by_setting(records)  # everything below is computed within one setting
    ranked = {s: rank(runs, metric, split, by=("suite", "backbone", "selection")) for s, runs in groups.items()}
    rows = {s: summarize(runs, metric, split, by=CELL_BY, ci="shared") for s, runs in groups.items()}
    most = max((row["n"] for per in rows.values() for row in per), default=0)
    cells, tasks, overall, blocks, tested, settings = [], [], [], [], [], []
    for setting, runs in groups.items():
        own, gains = _cells(runs, rows[setting], most, metric, split, min_seeds, ranked[setting], presets)
        tested += gains
        rows_of = _overall(own, list(main_block(ranked[setting]).values()))  # one rank each: its largest block
        adjust_gains([row["gain"] for row in rows_of if row["gain"]])  # a setting's "all tasks" table: a family
        rows_of.sort(key=lambda r: (r["oracle"], r["rank"] if r["rank"] is not None else math.inf, -r["mean"],
                                    r["algorithm"], r["backbone"], r["selection"]))
        part = _tasks(own, runs)
        for entry in (*own, *part, *rows_of):
            entry["setting"] = setting
        cells, tasks, overall = cells + own, tasks + part, overall + rows_of
        blocks += _friedman(runs, metric, split)
        settings.append({"name": setting, "summary": setting_summary(setting), "n_runs": len(runs),
                         "n_tasks": len(part), "algorithms": sorted({r["algorithm"] for r in runs})})
    adjust_gains(tested)  # a suite page is one table of p-values: Holm over every per-task gain on it
    return {"suite": f"{name}@{version}", "name": name, "version": version, "metric": metric,
            "metric_reason": reason, "split": split,
            "n_runs": len(records), **_suite_seeds(cells, presets, min_seeds),
            "settings": settings, "tasks": tasks, "overall": overall, "friedman": blocks,
            "algorithms": sorted({r["algorithm"] for r in records}),
            "latest": max(str(r["created_at"]) for r in records)}


def best_of_sweeps(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records of random-search sweeps reduced to each experiment's best trial, chosen on validation only
    (:func:`zoo.results.best_trial.best_trial_records`); records of no sweep pass unchanged.

    Usage::

        best_of_sweeps(records)   # trials of a sweep would otherwise share cells (several runs per seed)
    """
    sweeps = [r for r in records if r.get("sweep")]
    if not sweeps:
        return list(records)
    from zoo.results.best_trial import best_trial_records

    keep = {r["run_id"] for r in best_trial_records(sweeps)}
    return [r for r in records if not r.get("sweep") or r["run_id"] in keep]


def summarize_suites(records: Sequence[dict[str, Any]], metric: str | None = None, split: str = "target_test",
                     min_seeds: int | None = None) -> list[dict[str, Any]]:
    """One :func:`summarize_suite` per suite (``name@version``), sorted by name and version; sweeps count by
    their best trial (:func:`best_of_sweeps`); ``metric`` None: each suite ranked by its own primary metric.

    Usage::

        for suite in summarize_suites(records):
            print(suite["suite"], len(suite["tasks"]))
    """
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in sorted(best_of_sweeps(records), key=lambda r: r["run_id"]):
        groups[group_value(record, "suite")].append(record)
    return [summarize_suite(groups[key], metric, split, min_seeds) for key in sorted(groups)]
