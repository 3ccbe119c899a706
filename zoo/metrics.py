"""Classification metrics for single-label tasks, with AUROC defined as the MedMNIST evaluator defines it.

AUROC (``medmnist/evaluator.py: getAUC``): for 2 classes, the ROC AUC of the last (positive) class's score;
for K > 2 classes, the unweighted mean over classes of the one-vs-rest ROC AUC of that class's score.
Scores are softmax probabilities (MedMNIST applies softmax before evaluating), so logits are passed
through a softmax first when ``from_logits=True``.

Degenerate cases, chosen so that evaluating a small or skewed split never crashes a run:

- a class absent from ``labels`` has no one-vs-rest AUC: AUROC is the mean over the classes present
  (``getAUC`` would raise); with every class present the two definitions agree;
- fewer than two classes present, or non-finite scores (a diverged run): AUROC is NaN;
- macro precision/recall/F1 average over the classes present in labels or predictions (sklearn's default),
  with ``zero_division=0``; balanced accuracy is the mean recall over the classes present in ``labels``;
- the per-class report lists every class, absent ones with support 0 and zeros.

Calibration, from the same softmax probabilities:

- ``ece``: top-label expected calibration error (Guo et al., "On Calibration of Modern Neural Networks",
  ICML 2017, Eq. 3): confidences ``max_k p_k`` fall into 15 equal-width bins ``((m-1)/15, m/15]``, and
  ``ECE = sum_m |B_m|/N * |acc(B_m) - conf(B_m)|``; in [0, 1], 0 for a perfectly calibrated predictor (up to
  sampling noise: with few samples per bin ECE is biased upwards);
- ``nll``: mean negative log-likelihood of the true class (natural log), from log-softmax of the logits;
  given probabilities, each is floored at 1e-15 so that a confident mistake costs 34.5 nats, not infinity;
- both are NaN (JSON null) when a score is not finite.

Computed with numpy from the confusion matrix, float for float as scikit-learn computes them
(``tests/test_metrics.py`` compares with ``accuracy_score``, ``balanced_accuracy_score``,
``precision_recall_fscore_support``, ``confusion_matrix`` and ``roc_auc_score`` using ``==``): the same
numbers without importing scikit-learn, which costs a short run more than a second of start-up.

Usage::

    from zoo.metrics import classification_metrics
    m = classification_metrics(logits, labels, num_classes=2, label_names=["normal", "pneumonia"])
    m["auroc"], m["accuracy"], m["per_class"]["pneumonia"]["recall"]
"""

from __future__ import annotations

import logging
import math
from typing import Any, Sequence

import numpy as np

logger = logging.getLogger(__name__)


def to_numpy(x: Any) -> np.ndarray:
    """A tensor (on any device, with or without grad; half precision as float32) or array-like -> numpy."""
    if hasattr(x, "detach"):  # a torch tensor, possibly on an accelerator or requiring grad
        x = x.detach().cpu()
        x = x.float() if x.is_floating_point() else x
        return x.numpy()
    return np.asarray(x)


def softmax(logits: Any) -> np.ndarray:
    """Row-wise softmax in float64, stable for large logits.

    Usage::

        probs = softmax([[2.0, 0.0], [0.0, 0.0]])     # (N, K) rows summing to 1
    """
    z = to_numpy(logits).astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)  # (N, K); exp never overflows
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC of (N,) float64 ``score`` for (N,) bool ``positive``, computed as sklearn's ``roc_auc_score``
    computes it (``roc_curve`` with ``drop_intermediate=True``, then ``auc``), float for float.

    The rank formula ``(R+ - P(P+1)/2) / (P N)`` is exact in arithmetic but rounds differently, and a
    selection rule compares epochs with ``>``: ties must tie as they do in sklearn. Both classes must be
    present. Usage::

        binary_auc(np.array([False, True, True]), np.array([0.1, 0.8, 0.8]))     # 1.0
    """
    order = np.argsort(-score, kind="stable")  # descending, ties in input order (sklearn's stable sort)
    score, truth = score[order], positive[order].astype(np.float64)  # (N,), (N,)
    # one ROC point per distinct score: the last index of each run of equal scores, and the end
    thresholds = np.concatenate([np.nonzero(np.diff(score))[0], [len(score) - 1]])  # (T,) int
    tps = np.cumsum(truth, dtype=np.float64)[thresholds]  # (T,) positives scored >= threshold (exact integers)
    fps = 1 + thresholds.astype(np.float64) - tps  # (T,) negatives likewise
    if len(fps) > 2:  # drop collinear points, as roc_curve does: they change the rounding of the sum
        keep = np.nonzero(np.concatenate([[True], np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), [True]]))[0]
        fps, tps = fps[keep], tps[keep]
    fpr = np.concatenate([[0.0], fps]) / fps[-1]  # (T'+1,) from the origin
    tpr = np.concatenate([[0.0], tps]) / tps[-1]
    # scipy's trapezoid, as sklearn's auc calls it: fpr is non-decreasing, so no direction flip
    return float(np.sum((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1]) / 2.0, dtype=np.float64))


def confusion(labels: np.ndarray, preds: np.ndarray, num_classes: int) -> np.ndarray:
    """(K, K) int64 counts, rows true class, columns predicted (sklearn's ``confusion_matrix(labels=range(K))``)."""
    return np.bincount(labels * num_classes + preds, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def balanced_accuracy(labels: np.ndarray, preds: np.ndarray, num_classes: int) -> float:
    """Mean recall over the classes present in ``labels`` (sklearn's ``balanced_accuracy_score``, same floats)."""
    counts = confusion(labels, preds, num_classes)
    support = counts.sum(axis=1)  # (K,) true samples per class
    present = support > 0
    recall = np.diag(counts)[present] / support[present]  # (K',) int / int -> float64, in class order
    return float(np.mean(recall))


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Element-wise ratio, 0 where the denominator is 0 (sklearn's ``zero_division=0``)."""
    safe = np.where(denominator == 0, 1, denominator)
    return np.where(denominator == 0, 0.0, numerator / safe)


def precision_recall_f1(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall and F1 of a (K, K) confusion matrix, each (K,) float64, 0 where undefined
    (sklearn's ``precision_recall_fscore_support(average=None, zero_division=0)``, F1 as ``2 tp / (t + p)``)."""
    tp = np.diag(counts)  # (K,)
    predicted, true = counts.sum(axis=0), counts.sum(axis=1)  # (K,), (K,)
    f1 = _divide(2.0 * tp.astype(np.float64), 1.0 * true.astype(np.float64) + predicted.astype(np.float64))
    return _divide(tp, predicted), _divide(tp, true), f1


def auroc(probs: Any, labels: Any, num_classes: int) -> float:
    """MedMNIST AUROC of (N, K) scores: binary -> AUC of column K-1; multi-class -> mean one-vs-rest AUC.

    Classes absent from ``labels`` are left out of the mean; NaN if fewer than two classes are present or
    a score is not finite. Each two-class AUC is :func:`binary_auc` (scikit-learn's ``roc_auc_score``,
    float for float).

    Usage::

        auroc(np.array([[0.9, 0.1], [0.2, 0.8]]), [0, 1], num_classes=2)    # 1.0
    """
    probs, labels = to_numpy(probs).astype(np.float64), to_numpy(labels).reshape(-1)
    present = np.unique(labels)
    if len(present) < 2:
        return math.nan
    if not np.isfinite(probs).all():
        logger.warning("AUROC is NaN: the scores contain NaN or inf values (did training diverge?)")
        return math.nan
    if num_classes == 2:
        return float(binary_auc(labels == num_classes - 1, probs[:, num_classes - 1]))
    # one-vs-rest per present class k: positives are labels == k, score is column k
    aucs = [binary_auc(labels == k, probs[:, k]) for k in present]
    return float(np.mean(aucs))


ECE_BINS = 15
_NLL_FLOOR = 1e-15


def expected_calibration_error(probs: Any, labels: Any, n_bins: int = ECE_BINS) -> float:
    """Top-label ECE of (N, K) probabilities (Guo et al. 2017): binned |accuracy - confidence|, weighted by bin size.

    Bins are equal-width on the confidence ``max_k p_k``, right-closed: ``((m-1)/n_bins, m/n_bins]``.

    Usage::

        expected_calibration_error([[0.9, 0.1], [0.2, 0.8]], [0, 0])   # bins 0.8 and 0.9: (|0-0.8| + |1-0.9|)/2 = 0.45
    """
    probs, labels = to_numpy(probs).astype(np.float64), to_numpy(labels).reshape(-1)
    if len(labels) == 0 or not np.isfinite(probs).all():
        return math.nan
    confidence = probs.max(axis=1)  # (N,)
    correct = (probs.argmax(axis=1) == labels).astype(np.float64)  # (N,)
    # right-closed bins: ceil(c * M) - 1, so 1/15 goes to bin 0 and 1.0 to bin M-1 (c > 0 for probabilities)
    bins = np.clip(np.ceil(confidence * n_bins).astype(np.int64) - 1, 0, n_bins - 1)  # (N,)
    gap = np.bincount(bins, weights=correct - confidence, minlength=n_bins)  # (M,) sum of (acc - conf) per bin
    return float(np.abs(gap).sum() / len(labels))  # sum_m |B_m|/N |mean gap_m| = sum_m |sum gap_m| / N


def negative_log_likelihood(scores: Any, labels: Any, *, from_logits: bool = True) -> float:
    """Mean ``-log p(true class)`` (nats) from (N, K) logits (log-softmax) or probabilities (floored at 1e-15).

    Usage::

        negative_log_likelihood([[0.0, 0.0]], [1])   # log 2 = 0.693...
    """
    z, labels = to_numpy(scores).astype(np.float64), to_numpy(labels).reshape(-1).astype(np.int64)
    if len(labels) == 0 or not np.isfinite(z).all():
        return math.nan
    if from_logits:
        z = z - z.max(axis=1, keepdims=True)  # (N, K)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))  # (N, K) log-softmax
    else:
        log_p = np.log(np.maximum(z, _NLL_FLOOR))
    return float(-log_p[np.arange(len(labels)), labels].mean())


def check_inputs(scores: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(N, K) ``scores`` against (N,) or (N, 1) ``labels`` and K; returns the labels as (N,) integers, or
    raises a one-line ValueError (shape, count, empty, non-integer or out-of-range labels)."""
    if num_classes < 2:
        raise ValueError(f"classification_metrics needs num_classes >= 2, got {num_classes}")
    if scores.ndim != 2 or scores.shape[1] != num_classes:
        raise ValueError(f"scores must have shape (N, {num_classes}), got {tuple(scores.shape)}")
    labels = labels.reshape(-1)  # MedMNIST stores labels as (N, 1)
    if len(labels) != len(scores):
        raise ValueError(f"{len(scores)} score rows but {len(labels)} labels")
    if len(labels) == 0:
        raise ValueError("classification_metrics got no samples")
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.mod(labels, 1) == 0):
            raise ValueError(f"labels must be integer class indices, got dtype {labels.dtype}")
        labels = labels.astype(np.int64)
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"labels must lie in [0, {num_classes - 1}], got {labels.min()}..{labels.max()}")
    return labels


def classification_metrics(
    scores: Any,
    labels: Any,
    num_classes: int,
    *,
    from_logits: bool = True,
    label_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Accuracy, balanced accuracy, macro P/R/F1, MedMNIST AUROC, ECE, NLL, confusion matrix, per-class report.

    ``scores``: (N, K) logits (``from_logits=True``, softmax applied) or probabilities, tensor or array;
    ``labels``: (N,) or (N, 1) integer classes. Every value is a plain Python number (JSON-ready); the
    per-class report is keyed by ``label_names`` if given, else by the class index as a string.

    Usage::

        m = classification_metrics(torch.randn(100, 3), torch.randint(0, 3, (100,)), num_classes=3)
        m["accuracy"], m["balanced_accuracy"], m["f1"], m["auroc"], m["ece"], m["per_class"]["2"]["support"]
    """
    scores_np = to_numpy(scores)
    labels_np = check_inputs(scores_np, to_numpy(labels), num_classes)
    if label_names is not None and len(label_names) != num_classes:
        raise ValueError(f"got {len(label_names)} label_names for {num_classes} classes")
    probs = softmax(scores_np) if from_logits else scores_np.astype(np.float64)  # (N, K)
    preds = probs.argmax(axis=1)  # (N,); argmax is the same on logits and probabilities
    counts = confusion(labels_np, preds, num_classes)  # (K, K)
    p_k, r_k, f_k = precision_recall_f1(counts)  # (K,) each
    s_k = counts.sum(axis=1)  # (K,) support
    seen = (s_k + counts.sum(axis=0)) > 0  # macro averages: classes in labels or predictions (sklearn's default)
    precision, recall, f1 = (float(np.mean(v[seen])) for v in (p_k, r_k, f_k))
    every = list(range(num_classes))
    names = [str(n) for n in label_names] if label_names is not None else [str(k) for k in every]
    per_class = {
        names[k]: {"precision": float(p_k[k]), "recall": float(r_k[k]), "f1": float(f_k[k]), "support": int(s_k[k])}
        for k in every
    }
    return {
        "accuracy": int((preds == labels_np).sum()) / len(labels_np),  # exact count / N, as accuracy_score
        "balanced_accuracy": balanced_accuracy(labels_np, preds, num_classes),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "auroc": auroc(probs, labels_np, num_classes),
        "ece": expected_calibration_error(probs, labels_np),
        "nll": negative_log_likelihood(scores_np, labels_np, from_logits=from_logits),
        "n": int(len(labels_np)),
        "confusion_matrix": counts.tolist(),  # rows true, cols predicted
        "per_class": per_class,
    }
