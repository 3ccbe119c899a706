"""Intervals and paired tests over the test images medzoo really uses: one test set, shared by every seed.

Every seed of a cell is scored on the same target test images, and seed-mates err on the same hard images.
A cell's mean over S seeds on N shared images then varies for two reasons, crossed rather than nested:
another set of seeds (the seed spread) and another test set drawn from the same population (the images).
For a mean of per-image scores ``y[s, i] = mu + a_s + b_i + e_si`` (a two-way random-effects layout)

    Var(mean) = var_a / S + var_b / N + var_e / (S N).

Neither the t-interval over seeds (it sees ``var_b / N`` only through the per-seed spread, where the shared
images cancel) nor a bootstrap that resamples images independently per seed (it turns the shared ``var_b``
into independent noise that averages away over seeds) estimates this. Here:

1. **images, shared**: B replicates of the test set (image counts ``w ~ Multinomial(N, 1/N)``), the *same*
   ``w`` for every seed; each seed's metric is recomputed under ``w`` (:mod:`zoo.results.weighted_metrics`),
   giving ``M`` (B, S). ``V_img = var_B(mean_s M)`` estimates ``(var_b + var_e / S) / N`` and the mean of
   the per-seed variances ``V_run = mean_s var_B(M[:, s])`` estimates ``(var_b + var_e) / N``;
2. **seeds**: the sample variance ``s^2`` of the S per-seed values estimates ``var_a + var_e / N``;
3. **combined** (the two-way random-effects estimator; Owen, "The pigeonhole bootstrap", Ann. Appl. Stat.
   2007, shows the naive two-way bootstrap counts ``var_e`` twice):

       Var_hat = s^2 / S + V_img - (V_run - V_img) / (S - 1)

   and the interval is ``mean +- t_{df} sqrt(Var_hat)`` with Satterthwaite's ``df`` from the two parts
   (``S - 1`` for the seeds', ``N - 1`` for the images'), so 3-5 seeds get Student's correction.

For a comparison, the same image weights score both methods (``M_A - M_B``, paired on seed and image), and
``mean / sqrt(Var_hat)`` is referred to the same t distribution. With one seed there is no seed spread to
estimate: the interval is NaN (as for the t-interval). tests/results/test_stats_shared_simulation.py
checks coverage and false-positive rates on the layouts of the shipped suites.

Usage::

    found = shared_test_interval(cell.labels, cell.probs, "balanced_accuracy", n_boot=2000, seed=0)
    found["mean"], found["ci_low"], found["ci_high"], found["df"]
    paired = shared_test_paired(cell_a.labels, cell_a.probs, cell_b.probs, "accuracy")
    paired["gain"], paired["p"]
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

from zoo.errors import DataError
from zoo.results.weighted_metrics import weighted_metric

N_BOOT = 2000


@lru_cache(maxsize=8)
def image_weights(n_images: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n_images) bootstrap counts of a test set: each row a resample of its images (seeded, cached,
    read-only: every cell of one test-set size reuses the same replicates, which also pairs them).

    Usage::

        image_weights(624, 2000, seed=0).sum(axis=1)   # 624 in every row
    """
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n_images, np.full(n_images, 1.0 / n_images), size=n_boot).astype(np.float64)
    weights.flags.writeable = False
    return weights


def combine(point: np.ndarray, boot: np.ndarray, n_images: int, confidence: float = 0.95) -> dict[str, float]:
    """Mean, standard error, Satterthwaite df and t-interval from per-seed values (S,) and replicates (B, S).

    Usage::

        combine(np.array([0.80, 0.82, 0.81]), boot, n_images=624)   # {'mean': 0.81, 'se': ..., 'df': ..., ...}
    """
    n_seeds = len(point)
    mean = float(np.mean(point))
    nan = {"mean": mean, "se": math.nan, "df": math.nan, "ci_low": math.nan, "ci_high": math.nan,
           "var_seeds": math.nan, "var_images": math.nan}
    boot = boot[np.isfinite(boot).all(axis=1)]  # an AUROC replicate without one class is undefined
    if n_seeds < 2 or len(boot) < 2:
        return nan
    seeds_part = float(np.var(point, ddof=1)) / n_seeds
    v_img = float(np.var(boot.mean(axis=1), ddof=1))
    v_run = float(np.mean(np.var(boot, axis=0, ddof=1)))
    images_part = max(v_img - (v_run - v_img) / (n_seeds - 1), 0.0)  # var_e is already in the seeds' part
    var = seeds_part + images_part
    if var <= 0:  # every seed identical and no image moves the metric: the interval is the point
        return {**nan, "se": 0.0, "df": math.inf, "ci_low": mean, "ci_high": mean, "var_seeds": 0.0, "var_images": 0.0}
    df = var * var / (seeds_part ** 2 / (n_seeds - 1) + images_part ** 2 / max(n_images - 1, 1))
    from scipy.stats import t as student_t  # lazy: scipy only when intervals are asked for

    half = float(student_t.ppf((1 + confidence) / 2, df)) * math.sqrt(var)
    return {"mean": mean, "se": math.sqrt(var), "df": df, "ci_low": mean - half, "ci_high": mean + half,
            "var_seeds": seeds_part, "var_images": images_part}


def _check(labels: np.ndarray, probs: np.ndarray) -> None:
    if probs.ndim != 3 or probs.shape[1] != len(labels):
        raise DataError(f"predictions of shape {probs.shape} do not match {len(labels)} test labels; "
                        "expected (seeds, images, classes)")


def shared_test_interval(labels: Any, probs: Any, metric: str, *, n_boot: int = N_BOOT, seed: int = 0,
                         confidence: float = 0.95, class_index: int | None = None) -> dict[str, Any]:
    """A cell's mean over seeds and its interval over seeds and the shared test images (module docstring).

    ``labels`` (N,), ``probs`` (S, N, K). Returns ``mean, se, df, ci_low, ci_high, var_seeds, var_images,
    values`` (per seed), ``n``, ``n_images``, ``n_boot``.

    Usage::

        shared_test_interval(labels, probs, "accuracy")["ci_low"]
    """
    labels, probs = np.asarray(labels), np.asarray(probs, dtype=np.float64)
    _check(labels, probs)
    point = weighted_metric(labels, probs, np.ones((1, len(labels))), metric, class_index)[0]  # (S,)
    boot = weighted_metric(labels, probs, image_weights(len(labels), n_boot, seed), metric, class_index)  # (B, S)
    return {**combine(point, boot, len(labels), confidence), "values": point.tolist(), "n": len(point),
            "n_images": len(labels), "n_boot": n_boot, "confidence": confidence}


def shared_test_paired(labels: Any, probs_a: Any, probs_b: Any, metric: str, *, n_boot: int = N_BOOT,
                       seed: int = 0, confidence: float = 0.95, class_index: int | None = None) -> dict[str, Any]:
    """Gain ``A - B`` over seed-matched runs on one test set, the same image resamples scoring both.

    ``probs_a``/``probs_b`` (S, N, K), row s of each from the same seed. Returns ``gain``, its ``se``,
    ``df``, ``gain_ci_low/high`` and the two-sided ``p`` of "no difference" (t on ``df``).

    Usage::

        shared_test_paired(labels, dann.probs, source_only.probs, "balanced_accuracy")["p"]
    """
    labels = np.asarray(labels)
    probs_a, probs_b = np.asarray(probs_a, dtype=np.float64), np.asarray(probs_b, dtype=np.float64)
    _check(labels, probs_a)
    _check(labels, probs_b)
    if probs_a.shape[0] != probs_b.shape[0]:
        raise DataError(f"{probs_a.shape[0]} and {probs_b.shape[0]} runs: pair them by seed first")
    ones = np.ones((1, len(labels)))
    weights = image_weights(len(labels), n_boot, seed)
    point = (weighted_metric(labels, probs_a, ones, metric, class_index)
             - weighted_metric(labels, probs_b, ones, metric, class_index))[0]  # (S,) per-seed differences
    boot = (weighted_metric(labels, probs_a, weights, metric, class_index)
            - weighted_metric(labels, probs_b, weights, metric, class_index))  # (B, S)
    found = combine(point, boot, len(labels), confidence)
    p = math.nan
    if found["se"] == 0:
        p = 1.0 if found["mean"] == 0 else 0.0
    elif math.isfinite(found["se"]):
        from scipy.stats import t as student_t

        p = float(2 * student_t.sf(abs(found["mean"]) / found["se"], found["df"]))
    return {"gain": found["mean"], "se": found["se"], "df": found["df"], "gain_ci_low": found["ci_low"],
            "gain_ci_high": found["ci_high"], "p": p, "values": point.tolist(), "n_pairs": len(point),
            "n_images": len(labels), "var_seeds": found["var_seeds"], "var_images": found["var_images"]}
