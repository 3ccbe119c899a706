"""Simulations of how medzoo really runs: seeds share one test set, tasks of one source share its models.

tests/results/test_stats_simulation.py draws an independent test set per seed and independent tasks; medzoo
does neither. Here every simulated benchmark follows the layout of a shipped suite:

- **acquisition-shift**: 3 source groups (X-ray: 8 tasks on a 312-image target test half; ultrasound: 6
  tasks, 78 images; MRI: 6 tasks, 286 images), 5 seeds. ``source_only`` (and ``adabn``) is one model per
  source x seed, evaluated on every shifted target of its group; adaptation methods train per task.
- **organ-planes**: 11 classes, 3 seeds; 6 single-source tasks (two per source plane) run 6 methods, 3
  two-source tasks run 4 of them and M3SDA (7 methods in all, a layout with incomplete blocks).

Images have a difficulty shared by every model (seed-mates err on the same images), each model adds its own
seed effect and its own per-image errors; a shift perturbs difficulty per task. The truth of a cell is its
expectation over seeds and over test sets drawn from the image population (closed form: a probit model).
Each rate below comes from 1000-2000 (coverage, level) or 500 (Friedman) seeded benchmarks: a 5% rate has
a standard error of 0.5-0.7 (1.0) points, so 3-7% and 93-97% are about 3 standard errors wide. Every figure is
printed (pytest -s) with what the statistics before this change gave on the same benchmarks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from zoo.results import compare, t_interval
from zoo.results.bootstrap import hierarchical_bootstrap
from zoo.results.friedman import friedman
from zoo.results.shared_test import shared_test_interval, shared_test_paired
from zoo.results.stats import rank

N_SEEDS = 5
SEED_SD, RUN_SD, EASE_SD, SHIFT_SD = 0.12, 0.3, 1.6, 0.3  # probit scale: seed effect, a model's own per-image
MU = np.array([1.0, 1.8])  # per-class margin (class 1 easier, as pneumonia in PneumoniaMNIST); index min(y, 1)
ACQ_GROUPS = {"xray": (8, 312), "us": (6, 78), "mri": (6, 286)}  # tasks, target test images


def _truth(mu: float, extra_sd: float = 0.0) -> float:
    """P(correct) of a random model on a random image: margin mu, every Gaussian term integrated out."""
    return float(norm.cdf(mu / math.sqrt(1 + SEED_SD ** 2 + RUN_SD ** 2 + EASE_SD ** 2 + extra_sd ** 2)))


class Images:
    """A target test set: labels and a difficulty per image (shared by every model scored on it)."""

    def __init__(self, rng, n: int, n_classes: int = 2, prevalence: float = 0.625):
        if n_classes == 2:
            self.labels = (rng.random(n) < prevalence).astype(np.int64)
        else:
            self.labels = rng.integers(0, n_classes, n)
        self.ease = rng.normal(0, EASE_SD, n)
        self.n_classes = n_classes

    def shifted(self, rng) -> Images:
        """The same images under a task's acquisition shift: difficulty moved image by image."""
        out = object.__new__(Images)
        out.labels, out.n_classes = self.labels, self.n_classes
        out.ease = self.ease + rng.normal(0, SHIFT_SD, len(self.labels))
        return out


class Model:
    """One trained model: a seed effect and its own per-image errors, fixed once drawn."""

    def __init__(self, rng, n: int, gain: float = 0.0):
        self.offset = rng.normal(0, SEED_SD) + gain
        self.own = rng.normal(0, RUN_SD, n)

    def correct(self, rng, images: Images) -> np.ndarray:
        """(N,) bool: the model is right on an image when margin + effects + noise > 0."""
        margin = MU[np.minimum(images.labels, 1)] + self.offset + self.own + images.ease
        return margin + rng.normal(0, 1, len(margin)) > 0

    def accuracy(self, rng, images: Images) -> float:
        return float(np.mean(self.correct(rng, images)))

    def probs(self, rng, images: Images) -> np.ndarray:
        """(N, K) probabilities: 0.9 on the label where correct, else on a random wrong class."""
        correct = self.correct(rng, images)
        n = len(correct)
        wrong = (images.labels + rng.integers(1, images.n_classes, n)) % images.n_classes
        pred = np.where(correct, images.labels, wrong)
        probs = np.full((n, images.n_classes), 0.1 / max(images.n_classes - 1, 1))
        probs[np.arange(n), pred] = 0.9
        return probs


def _confusion(probs: np.ndarray, labels: np.ndarray, k: int) -> list:
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (labels, probs.argmax(axis=1)), 1)
    return cm.tolist()


# ----------------------------------------------------------------------------------------- cell intervals

@pytest.mark.parametrize("layout,n_images,n_classes,n_seeds", [("acquisition-shift", 312, 2, 5),
                                                               ("organ-planes", 600, 11, 3)])
def test_cell_interval_covers_on_a_shared_test_set(layout, n_images, n_classes, n_seeds):
    rng = np.random.default_rng(1234 + n_classes)
    # class 0 has margin MU[0], every other class MU[1]; labels: 62.5% class 1 (binary) or uniform (11 classes)
    share0 = 1 - 0.625 if n_classes == 2 else 1 / n_classes
    truth = _truth(MU[0]) * share0 + _truth(MU[1]) * (1 - share0)
    hits = {"shared": 0, "t": 0, "two-level": 0}
    n_experiments = 2000 if n_classes == 2 else 1000
    for experiment in range(n_experiments):
        images = Images(rng, n_images, n_classes)
        probs = np.stack([Model(rng, n_images).probs(rng, images) for _ in range(n_seeds)])  # (S, N, K)
        found = shared_test_interval(images.labels, probs, "accuracy", n_boot=400, seed=0)
        hits["shared"] += found["ci_low"] <= truth <= found["ci_high"]
        low, high = t_interval(found["values"])
        hits["t"] += low <= truth <= high
        records = [{"run_id": str(s), "seed": s, "metrics": {"target_test": {
            "confusion_matrix": _confusion(probs[s], images.labels, n_classes)}}} for s in range(n_seeds)]
        old = hierarchical_bootstrap(records, "accuracy", n_boot=400, seed=0)
        hits["two-level"] += old["ci_low"] <= truth <= old["ci_high"]
    coverage = {k: v / n_experiments for k, v in hits.items()}
    print(f"\n{layout}: 95% interval coverage of a cell's accuracy ({n_seeds} seeds, one {n_images}-image test "
          f"set): shared-images {coverage['shared']:.3f}; before: t over seeds {coverage['t']:.3f}, "
          f"two-level bootstrap {coverage['two-level']:.3f}")
    assert 0.93 <= coverage["shared"] <= 0.97
    assert coverage["t"] < 0.92  # what the issue measured: the seeds-only interval misses the shared images


# ------------------------------------------------------------------------------------ one task, two methods

def test_task_comparison_on_shared_images_holds_its_level_and_finds_a_gain():
    rng = np.random.default_rng(77)
    rates = {}
    for gain, n_experiments in ((0.0, 1000), (0.35, 300)):
        p_new, p_seeds = [], []
        for experiment in range(n_experiments):
            images = Images(rng, 312)
            a = np.stack([Model(rng, 312, gain).probs(rng, images) for _ in range(N_SEEDS)])
            b = np.stack([Model(rng, 312).probs(rng, images) for _ in range(N_SEEDS)])
            found = shared_test_paired(images.labels, a, b, "accuracy", n_boot=400, seed=0)
            p_new.append(found["p"])
            from zoo.results.paired_tests import paired_t_test

            p_seeds.append(paired_t_test(found["values"]))
        rates[gain] = (float(np.mean(np.array(p_new) <= 0.05)), float(np.mean(np.array(p_seeds) <= 0.05)))
    print(f"\none task, 5 seeds, 312 shared images: false-positive rate images+seeds {rates[0.0][0]:.3f} "
          f"(before, t over seeds: {rates[0.0][1]:.3f}); power at a planted probit gain of 0.35 "
          f"(~+5 points): {rates[0.35][0]:.3f} (t over seeds: {rates[0.35][1]:.3f})")
    assert 0.03 <= rates[0.0][0] <= 0.07
    assert rates[0.35][0] > 0.5


# --------------------------------------------------------------------------- a whole suite, shared baselines

def _acquisition_shift(rng, gain: float) -> list[dict]:
    """Records of source_only (one model per source x seed) and dann (one per task x seed)."""
    records = []
    for group, (n_tasks, n_images) in ACQ_GROUPS.items():
        images = Images(rng, n_images)
        tasks = [images.shifted(rng) for _ in range(n_tasks)]
        for seed in range(N_SEEDS):
            base = Model(rng, n_images)  # trained on the source only: the same for every shift of this group
            for t, shifted in enumerate(tasks):
                for algorithm, model in (("source_only", base), ("dann", Model(rng, n_images, gain))):
                    records.append(_record(f"{group}-{t}", group, algorithm, seed,
                                           model.accuracy(rng, shifted)))
    return records


def _record(task: str, source: str | list, algorithm: str, seed: int, value: float) -> dict:
    sources = [source] if isinstance(source, str) else source
    return {"run_id": f"{task}-{algorithm}-{seed}", "seed": seed, "algorithm": algorithm,
            "suite": {"name": "sim", "version": 1},
            "task": {"name": task, "source": sources, "domains": {s: {"dataset": s} for s in sources}, "pretrain": []},
            "backbone": {"name": "net", "options": {}}, "selection": {"rule": "source_val"},
            "metrics": {"target_test": {"accuracy": value}}}


def _old_pooled_p(records: list[dict]) -> tuple[float, float]:
    """The test before this change: every (task, seed) pair independent (records without a source group)."""
    plain = [{**r, "task": {"name": r["task"]["name"]}} for r in records]
    (row,) = compare(plain, "source_only", over="task")
    return row["p_signflip"], row["p_t"]


def test_suite_comparison_with_shared_baselines_holds_its_level():
    rng = np.random.default_rng(2024)
    rates = {}
    for gain, n_experiments in ((0.0, 1000), (0.15, 200)):
        new, old_sign, old_t = [], [], []
        for experiment in range(n_experiments):
            records = _acquisition_shift(rng, gain)
            (row,) = compare(records, "source_only", over="task", seed=experiment)
            assert row["n_units"] == 15 and row["n_tasks"] == 20
            new.append(row["p"])
            sign, t = _old_pooled_p(records)
            old_sign.append(sign)
            old_t.append(t)
        rates[gain] = [float(np.mean(np.array(p) <= 0.05)) for p in (new, old_sign, old_t)]
    print(f"\nacquisition-shift layout, source_only shared by the tasks of a source: false-positive rate "
          f"units (source x seed) {rates[0.0][0]:.3f}; before, 100 pairs as independent: sign-flip "
          f"{rates[0.0][1]:.3f}, t-test {rates[0.0][2]:.3f}. Power at a planted probit gain of 0.15 "
          f"(~+2.5 points): units {rates[0.15][0]:.3f}")
    assert 0.03 <= rates[0.0][0] <= 0.07
    assert rates[0.0][1] > 0.15  # the layout fools the pooled test, as the issue measured
    assert rates[0.15][0] > 0.5


# ------------------------------------------------------------------------------ many methods: ranks, Friedman

def _organ_planes(rng) -> list[dict]:
    """Every method identically distributed; single-source tasks run 6 methods, two-source tasks 5 (with M3SDA).

    source_only and adabn never see the target: one model quality (seed effect) per source x seed, shared by
    the tasks of that source; the other methods train per task.
    """
    single = ["source_only", "adabn", "dann", "coral", "dan", "mcc"]
    multi = ["source_only", "adabn", "dann", "coral", "m3sda"]
    planes = ["axial", "coronal", "sagittal"]
    tasks = [(f"{s[0]}-to-{t[0]}", s, single) for s in planes for t in planes if s != t]
    tasks += [(f"{a[0]}{b[0]}-to-x", [a, b], multi) for a, b in (("axial", "coronal"), ("axial", "sagittal"),
                                                                    ("coronal", "sagittal"))]
    shared = {(str(source), seed, m): rng.normal(0, SEED_SD) for _, source, _ in tasks for seed in range(3)
              for m in ("source_only", "adabn")}
    records = []
    for name, source, methods in tasks:
        images = Images(rng, 300, 11)
        for seed in range(3):
            for method in methods:
                model = Model(rng, 300)
                model.offset = shared.get((str(source), seed, method), model.offset)
                records.append(_record(name, source, method, seed, model.accuracy(rng, images)))
    return records


def _old_mean_ranks(records: list[dict]) -> dict[str, float]:
    """Ranks as before this change: each task ranks whoever ran there, averaged over those tasks."""
    from zoo.results.stats import average_ranks, summarize

    per_task: dict[str, dict[str, float]] = {}
    for row in summarize(records, "accuracy", by=("task", "algorithm"), ci=None):
        per_task.setdefault(row["task"], {})[row["algorithm"]] = row["mean"]
    collected: dict[str, list[float]] = {}
    for scores in per_task.values():
        for name, value in average_ranks(scores).items():
            collected.setdefault(name, []).append(value)
    return {name: float(np.mean(v)) for name, v in collected.items()}


def _old_friedman_p(records: list[dict]) -> list[float]:
    """Before: Friedman over tasks as independent blocks (mean over seeds per task), chi2 p, per block."""
    from scipy.stats import chi2 as chi2_dist

    from zoo.results.friedman import friedman_statistic

    means: dict[str, dict[str, list[float]]] = {}
    for r in records:
        means.setdefault(r["task"]["name"], {}).setdefault(r["algorithm"], []).append(
            r["metrics"]["target_test"]["accuracy"])
    out = []
    for methods in {tuple(sorted(v)) for v in means.values()}:
        table = np.array([[np.mean(v[m]) for m in methods] for v in means.values() if tuple(sorted(v)) == methods])
        out.append(float(chi2_dist.sf(friedman_statistic(table), len(methods) - 1)))
    return out


def test_ranks_use_complete_blocks_and_tests_hold_their_level():
    rng = np.random.default_rng(99)
    old, new_single, new_multi, p_values, p_old = [], [], [], [], []
    pooled_new, pooled_old = [], []
    for experiment in range(500):
        records = _organ_planes(rng)
        old.append(_old_mean_ranks(records))
        rows = rank(records, "accuracy")
        blocks = {row["block"] for row in rows}
        assert blocks == {"6 algorithms x 6 tasks", "5 algorithms x 3 tasks"}
        new_single.append({r["algorithm"]: r["mean_rank"] for r in rows if r["block"] == "6 algorithms x 6 tasks"})
        new_multi.append({r["algorithm"]: r["mean_rank"] for r in rows if r["block"] == "5 algorithms x 3 tasks"})
        found = friedman(records, "accuracy", n_perm=200, seed=experiment, posthoc=False)
        p_values += [block["p"] for block in found]
        p_old += _old_friedman_p(records)
        dann = [r for r in records if r["algorithm"] in ("dann", "source_only")]
        pooled_new.append(compare(dann, "source_only", over="task", seed=experiment)[0]["p"])
        pooled_old.append(_old_pooled_p(dann)[0])
    old_m3sda, old_mcc = np.mean([r["m3sda"] for r in old]), np.mean([r["mcc"] for r in old])
    single = {m: np.mean([r[m] for r in new_single]) for m in new_single[0]}
    multi = {m: np.mean([r[m] for r in new_multi]) for m in new_multi[0]}
    rate, rate_old = float(np.mean(np.array(p_values) <= 0.05)), float(np.mean(np.array(p_old) <= 0.05))
    pooled = [float(np.mean(np.array(p) <= 0.05)) for p in (pooled_new, pooled_old)]
    print(f"\norgan-planes layout, all methods equal: mean rank before: m3sda {old_m3sda:.2f}, mcc {old_mcc:.2f} "
          f"(layout alone); complete blocks: 6 x 6 tasks {min(single.values()):.2f}-{max(single.values()):.2f} "
          f"(expected 3.5), 5 x 3 tasks {min(multi.values()):.2f}-{max(multi.values()):.2f} (expected 3.0). "
          f"False-positive rates: Friedman over source x seed blocks {rate:.3f} (before, tasks as blocks: "
          f"{rate_old:.3f}); dann vs source_only across the 9 tasks, units {pooled[0]:.3f} (before, 27 pairs as "
          f"independent: {pooled[1]:.3f})")
    assert old_m3sda < 3.2 < 3.4 < old_mcc  # the bias the issue found
    assert all(abs(v - 3.5) < 0.15 for v in single.values()) and all(abs(v - 3.0) < 0.15 for v in multi.values())
    assert 0.03 <= rate <= 0.07 and 0.03 <= pooled[0] <= 0.07


def test_friedman_holds_its_level_with_shared_baselines():
    # acquisition-shift: 6 methods, source_only and adabn one model per source x seed (shared by its tasks)
    rng = np.random.default_rng(5)
    p_values, p_asymptotic_tasks = [], []
    for experiment in range(500):
        records = []
        for group, (n_tasks, n_images) in ACQ_GROUPS.items():
            images = Images(rng, n_images)
            tasks = [images.shifted(rng) for _ in range(n_tasks)]
            for seed in range(N_SEEDS):
                shared = {m: Model(rng, n_images) for m in ("source_only", "adabn")}
                for t, shifted in enumerate(tasks):
                    for method in ("source_only", "adabn", "dann", "dann@w0", "coral", "coral@w0"):
                        model = shared.get(method) or Model(rng, n_images)
                        records.append(_record(f"{group}-{t}", group, method, seed,
                                               model.accuracy(rng, shifted)))
        (block,) = friedman(records, "accuracy", n_perm=200, seed=experiment, posthoc=False)
        assert block["n_units"] == 15
        p_values.append(block["p"])
        # before: Friedman over the 20 tasks as independent blocks (mean over seeds per task)
        from scipy.stats import chi2 as chi2_dist

        from zoo.results.friedman import friedman_statistic

        means = {}
        for r in records:
            means.setdefault(r["task"]["name"], {}).setdefault(r["algorithm"], []).append(
                r["metrics"]["target_test"]["accuracy"])
        table = np.array([[np.mean(v[m]) for m in sorted(v)] for v in means.values()])
        p_asymptotic_tasks.append(chi2_dist.sf(friedman_statistic(table), table.shape[1] - 1))
    rate, before = float(np.mean(np.array(p_values) <= 0.05)), float(np.mean(np.array(p_asymptotic_tasks) <= 0.05))
    print(f"\nacquisition-shift layout, 6 equal methods: Friedman false-positive rate over source x seed blocks "
          f"{rate:.3f}; before, tasks as independent blocks: {before:.3f}")
    assert 0.03 <= rate <= 0.07
