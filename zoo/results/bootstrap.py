"""Two-level (hierarchical) bootstrap of a cell's mean: resample seeds, then test samples within each seed.

A cell (task x algorithm x backbone x selection) has one run per seed, each scored on a finite test set.
Its mean over seeds is uncertain for two reasons: another set of seeds would train other models (level 1),
and another test set would score each model differently (level 2). The t-interval over seeds sees level 2
only through the spread of the per-seed scores; this bootstrap resamples both levels explicitly:

1. draw ``n`` seeds with replacement from the ``n`` runs;
2. for each drawn run, draw a new test set of the same size with replacement from its test samples, and
   score it; 3. average over the drawn seeds. The 2.5% and 97.5% quantiles of that average over ``n_boot``
   replicates are the 95% percentile interval.

Why no per-sample data is needed: accuracy, balanced accuracy, macro precision/recall/F1 and the per-class
precision/recall/F1 are functions of the confusion matrix alone, and resampling N test samples with
replacement puts ``Multinomial(N, C / N)`` counts into the confusion cells (C: the observed K x K matrix).
So the record's ``confusion_matrix`` is a sufficient statistic for the bootstrap of these metrics, and step 2
is one multinomial draw per seed. AUROC, ECE and NLL depend on the scores themselves: they are not
resampled here (:func:`zoo.results.stats.summarize` falls back to the seed-level bootstrap for them).

Caveats, stated so that readers weigh the intervals correctly:

- the percentile bootstrap under-covers with few seeds (it uses the spread of a 5-value sample as if it
  were the population's; Student's t corrects exactly this for the t-interval), so with 3-5 seeds a
  nominal 95% interval covers less (tests/results/test_stats_simulation.py measures it);
- test samples are resampled independently per seed, as if each seed had its own test draw. In medzoo the
  seeds share one test set and seed-mates tend to err on the same images, so the part of test-set noise
  common to all seeds is counted with weight 1/n instead of up to 1: an exact treatment needs per-sample
  correctness for every seed, which the records do not keep.

Usage::

    cell = [r for r in records if r["algorithm"] == "dann" and r["task"]["name"] == "pneu->pneu_blur"]
    hierarchical_bootstrap(cell, metric="balanced_accuracy", split="target_test", n_boot=10_000, seed=0)
    # {'mean': 0.87, 'ci_low': 0.84, 'ci_high': 0.9, 'n': 5, 'n_boot': 10000, 'metric': ..., 'split': ...}
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

from zoo.errors import ConfigError, DataError

if TYPE_CHECKING:  # numpy is imported inside the functions: `import zoo.results` stays light
    import numpy as np

CONFUSION_METRICS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1")
PER_CLASS_METRICS = ("precision", "recall", "f1")
_CHUNK = 2000  # bootstrap replicates drawn at once: bounds memory at CHUNK x seeds x K^2 counts


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 where den == 0 (sklearn's zero_division=0)."""
    import numpy as np

    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den > 0)


def metric_from_confusion(confusion: Any, metric: str, class_index: int | None = None) -> np.ndarray:
    """A metric of (..., K, K) confusion counts (rows true, columns predicted), as zoo.metrics defines it.

    ``metric``: one of accuracy, balanced_accuracy, precision, recall, f1 (macro over the classes present in
    labels or predictions; balanced accuracy over the classes present in labels), or with ``class_index``
    that class's precision, recall or f1 (0 when undefined).

    Usage::

        metric_from_confusion([[1, 1], [1, 2]], "balanced_accuracy")   # array(0.5833...) = (1/2 + 2/3) / 2
    """
    import numpy as np

    cm = np.asarray(confusion, dtype=np.float64)  # (..., K, K)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)  # (..., K)
    true_count, pred_count = cm.sum(axis=-1), cm.sum(axis=-2)  # (..., K) row and column sums
    if class_index is not None:
        if metric not in PER_CLASS_METRICS:
            raise ConfigError(f"per-class {metric!r} is not a function of the confusion matrix; "
                              f"use one of: {', '.join(PER_CLASS_METRICS)}")
        tp, true_count, pred_count = tp[..., class_index], true_count[..., class_index], pred_count[..., class_index]
    if metric == "accuracy" and class_index is None:
        return tp.sum(axis=-1) / cm.sum(axis=(-2, -1))
    recall = _ratio(tp, true_count)
    if metric == "balanced_accuracy" and class_index is None:
        present = true_count > 0
        return (recall * present).sum(axis=-1) / np.maximum(present.sum(axis=-1), 1)
    if metric == "precision":
        per_class = _ratio(tp, pred_count)
    elif metric == "recall":
        per_class = recall
    elif metric == "f1":  # 2 TP / (2 TP + FP + FN) = 2 TP / (true + predicted)
        per_class = _ratio(2 * tp, true_count + pred_count)
    else:
        raise ConfigError(f"{metric!r} is not a function of the confusion matrix; "
                          f"use one of: {', '.join(CONFUSION_METRICS)} (or e.g. recall:CLASS)")
    if class_index is not None:
        return per_class
    present = (true_count + pred_count) > 0  # sklearn's macro average: classes in labels or predictions
    return (per_class * present).sum(axis=-1) / np.maximum(present.sum(axis=-1), 1)


def supports(metric: str) -> bool:
    """Whether ``metric`` (``"f1"``, ``"recall:malignant"``) can be bootstrapped from confusion matrices.

    Usage::

        supports("balanced_accuracy"), supports("auroc")   # (True, False)
    """
    name, _, cls = metric.partition(":")
    return name in (PER_CLASS_METRICS if cls else CONFUSION_METRICS)


def confusion_input(record: dict[str, Any], metric: str, split: str) -> tuple[list, int | None] | None:
    """``(confusion_matrix, class_index)`` of a record's split for ``metric``, or None if it lacks one.

    A per-class metric ``"recall:CLASS"`` finds CLASS's row by its position in ``per_class`` (written in
    class order by :func:`zoo.metrics.classification_metrics`).

    Usage::

        confusion_input(record, "recall:malignant", "target_test")   # ([[50, 3], [9, 40]], 1)
    """
    if not supports(metric):
        return None
    values = record.get("metrics", {}).get(split, {})
    confusion = values.get("confusion_matrix")
    if not isinstance(confusion, list) or not confusion or len(confusion) != len(confusion[0]):
        return None
    _, _, cls = metric.partition(":")
    if not cls:
        return confusion, None
    names = list(values.get("per_class") or {})
    if cls not in names or len(names) != len(confusion):
        return None
    return confusion, names.index(cls)


def two_level_bootstrap(confusions: Sequence[Any], metric: str, *, class_index: int | None = None,
                        n_boot: int = 10_000, seed: int = 0, confidence: float = 0.95
                        ) -> tuple[float, float, np.ndarray]:
    """Percentile interval of the mean over seeds, resampling seeds then each seed's confusion counts.

    ``confusions``: one (K, K) count matrix per seed. Returns ``(low, high, means)`` with ``means`` the
    (n_boot,) replicate means; NaN bounds with fewer than two seeds (no seed-level spread to resample).

    Usage::

        low, high, _ = two_level_bootstrap([[[40, 10], [5, 45]], [[42, 8], [7, 43]]], "accuracy", n_boot=2000)
    """
    import numpy as np

    matrices = [np.asarray(c, dtype=np.int64) for c in confusions]
    if len({m.shape for m in matrices}) > 1:
        raise DataError(f"confusion matrices of different shapes {sorted({m.shape for m in matrices})} in one cell; "
                        "its runs do not share a label set")
    n = len(matrices)
    if n < 2:
        return math.nan, math.nan, np.full(n_boot, math.nan)
    totals = [int(m.sum()) for m in matrices]
    if min(totals) <= 0 or min(int(m.min()) for m in matrices) < 0:
        raise DataError("a confusion matrix is empty or has negative counts; the record is corrupt")
    k2 = matrices[0].size
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    for start in range(0, n_boot, _CHUNK):
        size = min(_CHUNK, n_boot - start)
        pick = rng.integers(0, n, size=(size, n))  # level 1: which run fills each seed slot
        counts = np.empty((size, n, k2), dtype=np.int64)
        for s, matrix in enumerate(matrices):
            slots = pick == s  # (size, n)
            # level 2: a test set of the same size, resampled from this run's test samples, cell by cell
            counts[slots] = rng.multinomial(totals[s], matrix.ravel() / totals[s], size=int(slots.sum()))
        shape = (size, n, *matrices[0].shape)
        means[start:start + size] = metric_from_confusion(counts.reshape(shape), metric, class_index).mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(low), float(high), means


def hierarchical_bootstrap(records: Sequence[dict[str, Any]], metric: str = "accuracy", split: str = "target_test",
                           n_boot: int = 10_000, seed: int = 0, confidence: float = 0.95) -> dict[str, Any]:
    """Mean over a cell's seeds with its two-level percentile interval (seeds, then test samples).

    ``records``: the runs of one cell (one per seed), each with ``metrics[split]["confusion_matrix"]``.
    Raises ConfigError for a metric that needs per-sample scores (AUROC, ECE, NLL) and DataError for a
    record without a confusion matrix. Runs are ordered by (seed, run_id): same records, same interval.

    Usage::

        hierarchical_bootstrap(cell, metric="f1", split="target_test", n_boot=10_000, seed=0)["ci_low"]
    """
    if not supports(metric):
        raise ConfigError(f"the two-level bootstrap needs a metric of the confusion matrix, not {metric!r}; "
                          f"use one of: {', '.join(CONFUSION_METRICS)} or precision/recall/f1:CLASS")
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence!r}")
    runs = sorted(records, key=lambda r: (str(r.get("seed")), str(r.get("run_id", ""))))
    inputs = []
    for record in runs:
        found = confusion_input(record, metric, split)
        if found is None:
            raise DataError(f"run {record.get('run_id', '?')!r} has no usable metrics.{split}.confusion_matrix "
                            f"for {metric!r}; rerun it with this medzoo, or use the t-interval")
        inputs.append(found)
    class_index = inputs[0][1] if inputs else None
    if any(index != class_index for _, index in inputs):
        raise DataError(f"the runs list their classes in different orders; cannot read {metric!r} consistently")
    confusions = [confusion for confusion, _ in inputs]
    name = metric.partition(":")[0]  # "recall:malignant" -> recall of class_index
    low, high, _ = two_level_bootstrap(confusions, name, class_index=class_index, n_boot=n_boot, seed=seed,
                                       confidence=confidence)
    per_seed = [float(metric_from_confusion(c, name, class_index)) for c in confusions]
    mean = math.fsum(per_seed) / len(per_seed) if per_seed else math.nan
    return {"metric": metric, "split": split, "n": len(per_seed), "mean": mean, "ci_low": low, "ci_high": high,
            "n_boot": n_boot, "confidence": confidence, "values": per_seed,
            "seeds": [r.get("seed") for r in runs]}
