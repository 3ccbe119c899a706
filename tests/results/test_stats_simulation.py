"""Simulation checks of the statistics: interval coverage, false-positive rate and power, on seeded experiments.

Each test repeats a simulated benchmark 1000 times with a known truth. With 1000 experiments a rate's
standard error is about 0.7 points at 95% (0.95 +- 2 se = 93.6..96.4), so the bands below allow ~3 se;
every random draw is seeded, so each test computes the same numbers on every run.

Simulated benchmark (fixed before looking at any result): a binary target test set of 624 images with 62.5%
positives (PneumoniaMNIST's test split), 5 seeds per cell, per-seed sensitivity 0.90 and specificity 0.75
each varying by sd 0.02 across seeds (seed-to-seed spread of ~1.5 points, as in small-data transfer).
"""

from __future__ import annotations

import numpy as np
import pytest

from zoo.results import compare, hierarchical_bootstrap, t_interval

N_EXPERIMENTS = 1000
N_SEEDS = 5
N_TEST, PREVALENCE, SENSITIVITY, SPECIFICITY, SEED_SD = 624, 0.625, 0.90, 0.75, 0.02


def _coverage(intervals, truth) -> float:
    return float(np.mean([low <= truth <= high for low, high in intervals]))


def _confusions(rng, n_seeds=N_SEEDS):
    """One simulated cell: (n_seeds, 2, 2) confusion counts, each seed its own model and test draw."""
    sens = np.clip(SENSITIVITY + rng.normal(0, SEED_SD, n_seeds), 0, 1)
    spec = np.clip(SPECIFICITY + rng.normal(0, SEED_SD, n_seeds), 0, 1)
    cells = np.stack([(1 - PREVALENCE) * spec, (1 - PREVALENCE) * (1 - spec),   # true 0: predicted 0, 1
                      PREVALENCE * (1 - sens), PREVALENCE * sens], axis=1)      # true 1: predicted 0, 1
    return np.stack([rng.multinomial(N_TEST, p) for p in cells]).reshape(n_seeds, 2, 2)


def _cell_records(confusions, split="target_test"):
    """The fields of result records that the statistics read (one record per seed)."""
    return [{"run_id": f"s{seed}", "seed": seed, "metrics": {split: {"confusion_matrix": cm.tolist()}}}
            for seed, cm in enumerate(confusions)]


def test_t_interval_covers_the_true_mean_of_normal_seeds():
    rng = np.random.default_rng(20240601)
    truth = 0.85
    intervals = [t_interval(rng.normal(truth, 0.02, N_SEEDS).tolist()) for _ in range(N_EXPERIMENTS)]
    coverage = _coverage(intervals, truth)
    print(f"t-interval coverage, 5 normal seeds: {coverage:.3f}")
    assert 0.93 <= coverage <= 0.97


def test_t_interval_covers_the_expected_accuracy_of_binomial_test_sets():
    # two levels: the seed's model (population accuracy p_s) and its test set (Binomial(624, p_s) / 624)
    rng = np.random.default_rng(7)
    truth = PREVALENCE * SENSITIVITY + (1 - PREVALENCE) * SPECIFICITY
    intervals = []
    for _ in range(N_EXPERIMENTS):
        accuracy = np.trace(_confusions(rng), axis1=1, axis2=2) / N_TEST  # (5,)
        intervals.append(t_interval(accuracy.tolist()))
    coverage = _coverage(intervals, truth)
    print(f"t-interval coverage, 5 seeds x binomial test sets: {coverage:.3f}")
    assert 0.93 <= coverage <= 0.97


def test_hierarchical_bootstrap_coverage_on_a_two_level_process():
    # Truth: the balanced accuracy averaged over the seed distribution, (0.90 + 0.75) / 2.
    # The percentile bootstrap is known to under-cover at small n (5 seeds are resampled as if they were
    # the population: its spread is (n-1)/n of the sample's, with normal rather than t quantiles), while
    # resampling the test set inside each seed counts test noise once more than the seed spread already
    # does (Davison & Hinkley 1997, sec. 3.8); here the two nearly cancel. n_boot = 1000 keeps this fast;
    # the Monte Carlo error it adds to the 2.5% quantiles is small next to the band.
    rng = np.random.default_rng(11)
    truth = (SENSITIVITY + SPECIFICITY) / 2
    intervals = []
    for experiment in range(N_EXPERIMENTS):
        found = hierarchical_bootstrap(_cell_records(_confusions(rng)), "balanced_accuracy", n_boot=1000,
                                       seed=experiment)
        intervals.append((found["ci_low"], found["ci_high"]))
    coverage = _coverage(intervals, truth)
    print(f"two-level bootstrap coverage, 5 seeds x 624 test images: {coverage:.3f}")
    assert 0.90 <= coverage <= 0.98


def _paired_benchmark(rng, gain: float, n_tasks: int) -> list[dict]:
    """Records of 'base' and 'new' on n_tasks tasks x 5 seeds: task and seed effects shared by a pair."""
    records = []
    for t in range(n_tasks):
        task_level = rng.uniform(0.7, 0.9)  # tasks differ a lot: pairing removes it
        for seed in range(N_SEEDS):
            shared = rng.normal(0, 0.02)  # the seed's data order / initialisation, common to both runs
            for algorithm, shift in (("base", 0.0), ("new", gain)):
                value = task_level + shared + shift + rng.normal(0, 0.01)  # paired difference sd = 1.41 points
                records.append({"run_id": f"{t}-{seed}-{algorithm}", "seed": seed, "algorithm": algorithm,
                                "suite": {"name": "sim", "version": 1}, "task": {"name": f"task{t}"},
                                "backbone": {"name": "net", "options": {}}, "selection": {"rule": "source_val"},
                                "metrics": {"target_test": {"accuracy": value}}})
    return records


def _rejection_rates(gain: float, n_tasks: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    p_sign, p_t = [], []
    for experiment in range(N_EXPERIMENTS):
        (row,) = compare(_paired_benchmark(rng, gain, n_tasks), "base", over="task", seed=experiment)
        p_sign.append(row["p_signflip"])
        p_t.append(row["p_t"])
    return float(np.mean(np.array(p_sign) <= 0.05)), float(np.mean(np.array(p_t) <= 0.05))


@pytest.mark.parametrize("n_tasks", [2, 4])  # 10 pairs: exact 2^10 flips; 20 pairs: 10,000 random flips
def test_paired_tests_false_positive_rate_is_near_5_percent(n_tasks):
    sign_rate, t_rate = _rejection_rates(gain=0.0, n_tasks=n_tasks, seed=100 + n_tasks)
    print(f"false-positive rate, {n_tasks * N_SEEDS} pairs: sign-flip {sign_rate:.3f}, t-test {t_rate:.3f}")
    assert 0.03 <= sign_rate <= 0.07 and 0.03 <= t_rate <= 0.07


def test_paired_tests_find_a_planted_gain():
    # gain 1.75 points = 1.24 sd of the paired difference, 10 pairs: the t-test's power is ~0.94 in theory
    sign_rate, t_rate = _rejection_rates(gain=0.0175, n_tasks=2, seed=200)
    print(f"power at +1.75 points, 10 pairs: sign-flip {sign_rate:.3f}, t-test {t_rate:.3f}")
    assert sign_rate > 0.8 and t_rate > 0.8
