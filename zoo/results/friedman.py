"""Many methods on many tasks: the Friedman test, post-hoc tests and the critical difference (Demšar 2006).

For one family of tasks on which the same k methods ran (a complete block, :func:`zoo.results.blocks.families`),
the Friedman test needs blocks that are independent. medzoo's tasks are not (tasks of one source share the
source models and the test images, :mod:`zoo.results.blocks`), so the blocks are the independent units: a
source group x seed, scored by each method's mean over the family's tasks of that group at that seed. Each
block ranks the k methods (1 = best, ties averaged), ``R_j`` is method j's mean rank over the N blocks and

    chi2 = 12 N / (k (k + 1)) * sum_j (R_j - (k + 1) / 2)^2,

referred to chi2(k - 1) (``p_asymptotic``) and, exactly, to 2,000 seeded permutations of the methods within
each block (``p``, Phipson & Smyth's ``(1 + hits) / (1 + n)``). Where every task is its own source group,
the blocks are task x seed. Families are found within one suite, task setting (:mod:`zoo.results.setting`),
backbone and selection rule (``RANK_BY``): methods of two settings are never ranked together.

Post-hoc, for the diagram (Demšar, JMLR 7, 2006): Nemenyi's critical difference
``CD = q_alpha sqrt(k (k + 1) / (6 N))`` on the same mean ranks; methods closer than CD are joined by a bar.
For reading pairs one by one: every pair's sign-flip test over the blocks (the mean difference of a
block), Holm-adjusted over the k(k-1)/2 pairs (:mod:`zoo.results.multiplicity`); ``diff`` is the mean over
the family's tasks.

Usage::

    for block in friedman(records, metric="balanced_accuracy"):
        print(block["label"], block["p"], block["cd"], block["mean_ranks"], block["cliques"])
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Iterable, Sequence

import numpy as np

from zoo.results.blocks import block_label, families, source_group
from zoo.results.stats import LOWER_IS_BETTER, RANK_BY, group_value, metric_value

N_PERMUTATIONS = 2000
ALPHA = 0.05


def friedman_statistic(means: np.ndarray) -> float:
    """chi2 of (N tasks, k methods) scores, higher = better; ties share ranks.

    Usage::

        friedman_statistic(np.array([[0.9, 0.8], [0.7, 0.6]]))   # 2.0: one method first on both tasks
    """
    from scipy.stats import rankdata

    n, k = means.shape
    ranks = rankdata(-means, axis=1)  # (N, k), 1 = best
    mean_ranks = ranks.mean(axis=0)
    return float(12 * n / (k * (k + 1)) * np.sum((mean_ranks - (k + 1) / 2) ** 2))


def nemenyi_cd(k: int, n_tasks: int, alpha: float = ALPHA) -> float:
    """Nemenyi's critical difference of mean ranks: ``q_alpha sqrt(k (k + 1) / (6 N))``.

    Usage::

        nemenyi_cd(6, 20)   # 1.69 (q_0.05 = 2.850 for 6 methods)
    """
    from scipy.stats import studentized_range

    q = float(studentized_range.ppf(1 - alpha, k, math.inf)) / math.sqrt(2)
    return q * math.sqrt(k * (k + 1) / (6 * n_tasks))


def cliques(order: Sequence[str], significant: dict[frozenset, bool]) -> list[list[str]]:
    """Maximal runs of rank-ordered methods that no pairwise test separates (the diagram's bars).

    Usage::

        cliques(["a", "b", "c"], {frozenset("ab"): False, frozenset("ac"): True, frozenset("bc"): False})
        # [['a', 'b'], ['b', 'c']]
    """
    found: list[list[str]] = []
    for i in range(len(order)):
        j = i
        while j + 1 < len(order) and not any(significant[frozenset((order[m], order[j + 1]))] for m in range(i, j + 1)):
            j += 1
        if j > i and not any(set(order[i:j + 1]) <= set(c) for c in found):
            found.append(list(order[i:j + 1]))
    return found


def _values(records: Iterable[dict[str, Any]], metric: str, split: str, item: str, over: str):
    """{group: {task: {method: {seed: value}}}} and {(group, task): source group}, for finite values only."""
    values: dict[tuple, dict[str, dict[str, dict[str, float]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(dict)))
    units: dict[tuple, str] = {}  # by group too: a task name may recur in another setting or suite
    for record in records:
        value = metric_value(record, split, metric)
        if value is None:
            continue
        key = tuple(group_value(record, f) for f in RANK_BY)
        task = group_value(record, over)
        values[key][task][group_value(record, item)][str(record.get("seed"))] = value
        units[(key, task)] = source_group(record)
    return values, units


def _cube(tasks: list[str], methods: tuple[str, ...], runs: dict, sign: float) -> tuple[np.ndarray, list[str]]:
    """(T, k, S) values (NaN where a seed is missing), sign-adjusted so that higher is better, and the seeds."""
    seeds = sorted({s for t in tasks for m in methods for s in runs[t][m]})
    cube = np.full((len(tasks), len(methods), len(seeds)), np.nan)
    for a, task in enumerate(tasks):
        for b, method in enumerate(methods):
            for c, seed in enumerate(seeds):
                if seed in runs[task][method]:
                    cube[a, b, c] = sign * runs[task][method][seed]
    return cube, seeds


def unit_scores(cube: np.ndarray, group_of_task: np.ndarray) -> np.ndarray:
    """(units, k): each method's mean over the tasks of one source group at one seed; units missing a method dropped.

    Usage::

        unit_scores(cube, np.array([0, 0, 1]))   # 2 groups x S seeds rows
    """
    rows = []
    for group in np.unique(group_of_task):
        part = cube[group_of_task == group]  # (tasks of the group, k, S)
        for s in range(cube.shape[2]):
            with np.errstate(invalid="ignore"):
                counts = np.isfinite(part[:, :, s]).sum(axis=0)
                if counts.min() > 0:
                    rows.append(np.nanmean(part[:, :, s], axis=0))
    return np.array(rows).reshape(-1, cube.shape[1])


def _permutation_p(units: np.ndarray, observed: float, n_perm: int, seed: int) -> float:
    """Share of within-block permutations of the methods whose statistic reaches the observed one."""
    from scipy.stats import rankdata

    rng = np.random.default_rng(seed)
    n, k = units.shape
    hits = 0
    for start in range(0, n_perm, 500):  # 500 permuted tables at a time: (500, N, k)
        size = min(500, n_perm - start)
        shuffled = rng.permuted(np.broadcast_to(units, (size, n, k)).copy(), axis=2)
        mean_ranks = rankdata(-shuffled, axis=2).mean(axis=1)  # (size, k)
        stats = 12 * n / (k * (k + 1)) * np.sum((mean_ranks - (k + 1) / 2) ** 2, axis=1)
        hits += int(np.sum(stats >= observed - 1e-9))
    return (1 + hits) / (1 + n_perm)


def _pairwise(cube: np.ndarray, units: np.ndarray, methods: tuple[str, ...], sign: float) -> list[dict[str, Any]]:
    """Every pair: mean difference over tasks, sign-flip p over the blocks, Holm-adjusted over the pairs."""
    from zoo.results.multiplicity import adjust
    from zoo.results.paired_tests import sign_flip_test

    task_means = np.nanmean(cube, axis=2)  # (T, k)
    rows = []
    for i in range(len(methods)):
        for j in range(i + 1, len(methods)):
            rows.append({"a": methods[i], "b": methods[j],
                         "diff": sign * float(np.mean(task_means[:, i] - task_means[:, j])),
                         "n_units": len(units), "p": sign_flip_test((units[:, i] - units[:, j]).tolist())})
    for row, adjusted in zip(rows, adjust([r["p"] for r in rows], "holm")):
        row["p_holm"] = adjusted
        row["significant"] = adjusted <= ALPHA
    return rows


def friedman(records: Iterable[dict[str, Any]], metric: str = "accuracy", split: str = "target_test", *,
             item: str = "algorithm", over: str = "task", n_perm: int = N_PERMUTATIONS,
             seed: int = 0, posthoc: bool = True) -> list[dict[str, Any]]:
    """One dict per (suite, setting, backbone, selection) x complete block of at least 2 methods and 2 blocks.

    Keys: the group fields, ``methods``, ``tasks``, ``label``, ``n_units`` (blocks), ``mean_ranks``
    {method: mean rank over blocks}, ``order`` (best first), ``chi2``, ``p`` (permutation),
    ``p_asymptotic``, ``cd`` (Nemenyi, alpha 0.05), ``cliques`` (methods within CD of each other),
    ``pairwise`` (``a, b, diff, p, p_holm, significant``; empty with ``posthoc=False``).

    Usage::

        blocks = friedman(records, "balanced_accuracy")
    """
    from scipy.stats import chi2 as chi2_dist
    from scipy.stats import rankdata

    sign = -1.0 if metric.partition(":")[0] in LOWER_IS_BETTER else 1.0
    values, unit_of = _values(records, metric, split, item, over)
    out = []
    for key in sorted(values):
        runs = values[key]
        per_task = {task: {m: float(np.mean(list(s.values()))) for m, s in methods.items()}
                    for task, methods in runs.items()}
        for methods, tasks in families(per_task):
            cube, seeds = _cube(tasks, methods, runs, sign)
            groups = sorted({unit_of[(key, t)] for t in tasks})
            group_of_task = np.array([groups.index(unit_of[(key, t)]) for t in tasks])
            units = unit_scores(cube, group_of_task)  # (N blocks, k)
            if len(units) < 2:
                continue
            mean_ranks = rankdata(-units, axis=1).mean(axis=0)
            chi2 = friedman_statistic(units)
            cd = nemenyi_cd(len(methods), len(units))
            order = [methods[i] for i in np.argsort(mean_ranks, kind="stable")]
            ranks = dict(zip(methods, mean_ranks.tolist()))
            apart = {frozenset((a, b)): abs(ranks[a] - ranks[b]) > cd for a in methods for b in methods if a != b}
            out.append({
                **dict(zip(RANK_BY, key)), "metric": metric, "split": split, "methods": list(methods),
                "tasks": tasks, "label": block_label(methods, tasks), "n_tasks": len(tasks),
                "n_units": len(units), "n_groups": len(groups), "n_seeds": len(seeds),
                "mean_ranks": ranks, "order": order, "chi2": chi2,
                "p_asymptotic": float(chi2_dist.sf(chi2, len(methods) - 1)),
                "p": _permutation_p(units, chi2, n_perm, seed), "cd": cd, "alpha": ALPHA,
                "pairwise": _pairwise(cube, units, methods, sign) if posthoc else [], "cliques": cliques(order, apart),
            })
    return out
