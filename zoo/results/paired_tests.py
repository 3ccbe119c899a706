"""The tests behind a gain: one task on its shared test images, and a whole suite over independent units; and
the two paired tests they use (``paired_t_test``, ``sign_flip_test``), also used by ``zoo.results.compare``
and ``zoo.results.friedman``.

- **One task** (:func:`task_test`): when both cells keep per-image predictions (schema-2 records), the gain
  and its interval come from :func:`zoo.results.shared_test.shared_test_paired`, which resamples the same
  test images for both methods and adds the seed spread; ``p`` is its t-test (``test: "images+seeds"``).
  Without predictions: the sign-flip test over seeds (``test: "seeds"``), as before.
- **A suite** (:func:`suite_test`): one number per task (the mean over seeds of the paired differences),
  ``gain`` = their mean over tasks. The p-value comes from a sign-flip test over the *independent units*,
  source group x seed (:mod:`zoo.results.blocks`): a unit's difference is the mean over its tasks. Pooling
  (task, seed) pairs as independent, as medzoo did before, counts one shared ``source_only`` model many
  times (p <= 0.05 in 20% of simulated null benchmarks in the acquisition-shift layout; 5% with units, see
  tests/results/test_stats_shared_simulation.py). Where every task is its own unit group the Wilcoxon
  signed-rank test over task means is given too (``p_wilcoxon``; else NaN).

Usage::

    row = suite_test(pairs, unit_of={"xray-gamma-2": "g-xray", ...})
    row["gain"], row["p_signflip"], row["n_units"]
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Sequence

from zoo.results.stats import mean_std

EXACT_UP_TO = 16
N_FLIPS = 10_000


def paired_t_test(diffs: Sequence[float]) -> float:
    """Two-sided p of the paired t-test on differences ``d`` (NaN below two pairs).

    All differences equal: p = 1 if they are 0, else 0 (t is infinite).

    Usage::

        paired_t_test([0.02, 0.03, 0.01])   # t = 0.02 / (0.01 / sqrt 3) = 3.46 on 2 df -> p = 0.074
    """
    n = len(diffs)
    if n < 2:
        return math.nan
    mean, std = mean_std(list(diffs))
    if std == 0:
        return 1.0 if mean == 0 else 0.0
    from scipy.stats import t as student_t  # lazy: scipy only when a test is asked for

    return float(2 * student_t.sf(abs(mean) / (std / math.sqrt(n)), n - 1))


def sign_flip_test(diffs: Sequence[float], *, n_flips: int = N_FLIPS, seed: int = 0,
                   exact_up_to: int = EXACT_UP_TO) -> float:
    """Two-sided p of the sign-flip permutation test of "differences symmetric about 0" (NaN with no pairs).

    Exact over all ``2^n`` sign patterns when ``n <= exact_up_to``; otherwise ``n_flips`` random patterns
    (seeded) and ``p = (1 + hits) / (1 + n_flips)`` (Phipson & Smyth 2010: never 0, valid).

    Usage::

        sign_flip_test([1.0, 2.0, 3.0])   # 2 of the 8 patterns reach |sum| = 6 -> 0.25
    """
    import numpy as np

    d = np.asarray(diffs, dtype=np.float64)  # (n,)
    n = len(d)
    if n == 0:
        return math.nan
    observed = abs(d.sum())
    tolerance = 1e-9 * (np.abs(d).sum() + 1e-300)  # equal sums in exact arithmetic must count as reached
    if n <= exact_up_to:
        bits = (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1  # (2^n, n): every sign pattern once
        sums = np.abs((1 - 2 * bits) @ d)  # (2^n,)
        return float(np.mean(sums >= observed - tolerance))
    rng = np.random.default_rng(seed)
    hits = 0
    for start in range(0, n_flips, 2000):  # chunks bound memory at 2000 x n signs
        signs = rng.choice(np.array([-1.0, 1.0]), size=(min(2000, n_flips - start), n))
        hits += int(np.sum(np.abs(signs @ d) >= observed - tolerance))
    return (1 + hits) / (1 + n_flips)


def suite_test(pairs: Sequence[tuple[str, str, float]], unit_of: dict[str, str], *, n_flips: int = N_FLIPS,
               seed: int = 0) -> dict[str, Any]:
    """Gain over tasks and its unit-level tests, from ``(task, seed, difference)`` pairs.

    Usage::

        suite_test([("t1", "0", 0.02), ("t2", "0", 0.01)], {"t1": "g", "t2": "g"})["n_units"]   # 1
    """
    by_task: dict[str, list[float]] = defaultdict(list)
    by_unit: dict[tuple[str, str], list[float]] = defaultdict(list)
    for task, run_seed, diff in sorted(pairs):
        by_task[task].append(diff)
        by_unit[(unit_of.get(task, task), run_seed)].append(diff)
    task_means = [math.fsum(v) / len(v) for _, v in sorted(by_task.items())]
    units = [math.fsum(v) / len(v) for _, v in sorted(by_unit.items())]
    gain, std = mean_std(task_means)
    independent = len({unit_of.get(t, t) for t in by_task}) == len(by_task)
    p_wilcoxon = math.nan
    if independent and len(task_means) >= 2 and any(d != 0 for d in task_means):
        from scipy.stats import wilcoxon

        p_wilcoxon = float(wilcoxon(task_means).pvalue)
    return {"n_pairs": len(pairs), "n_tasks": len(task_means), "n_units": len(units), "gain": gain,
            "gain_std": std, "gain_ci_low": math.nan, "gain_ci_high": math.nan,
            "p_signflip": sign_flip_test(units, n_flips=n_flips, seed=seed), "p_t": paired_t_test(units),
            "p_wilcoxon": p_wilcoxon, "test": "units", "pairs": sorted(pairs)}


def task_test(runs: Sequence[dict[str, Any]], base_runs: Sequence[dict[str, Any]], metric: str,
              split: str) -> dict[str, Any] | None:
    """The image-and-seed paired test of one task's cell against its baseline cell, or None without predictions.

    Seeds are matched by seed value; both cells must share the test data (same ``data_sha256``).

    Usage::

        found = task_test(dann_runs, source_only_runs, "accuracy", "target_test")
    """
    from zoo.results.bootstrap import supports
    from zoo.results.per_sample import cell_predictions
    from zoo.results.shared_test import shared_test_paired

    name, _, cls = metric.partition(":")
    if metric != "auroc" and not supports(metric):
        return None
    seeds = sorted({str(r.get("seed")) for r in runs} & {str(r.get("seed")) for r in base_runs})
    if len(seeds) < 2:
        return None
    mine = cell_predictions([r for r in runs if str(r.get("seed")) in seeds], split)
    theirs = cell_predictions([r for r in base_runs if str(r.get("seed")) in seeds], split)
    if mine is None or theirs is None or mine.digest != theirs.digest or len(mine.seeds) != len(theirs.seeds):
        return None
    class_index = None
    if cls:
        names = list((runs[0].get("metrics", {}).get(split, {}).get("per_class") or {}))
        if cls not in names:
            return None
        class_index = names.index(cls)
    found = shared_test_paired(mine.labels, mine.probs, theirs.probs, name, class_index=class_index)
    return {**found, "p_signflip": found["p"], "test": "images+seeds"}
