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

sklearn is imported inside the functions so that ``import zoo`` stays light.

Usage::

    from zoo.metrics import classification_metrics
    m = classification_metrics(logits, labels, num_classes=2, label_names=["normal", "pneumonia"])
    m["auroc"], m["accuracy"], m["per_class"]["pneumonia"]["recall"]
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Any, Sequence

import numpy as np

logger = logging.getLogger(__name__)


def _to_numpy(x: Any) -> np.ndarray:
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
    z = _to_numpy(logits).astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)  # (N, K); exp never overflows
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def auroc(probs: Any, labels: Any, num_classes: int, binary_auc=None) -> float:
    """MedMNIST AUROC of (N, K) scores: binary -> AUC of column K-1; multi-class -> mean one-vs-rest AUC.

    Classes absent from ``labels`` are left out of the mean; NaN if fewer than two classes are present or
    a score is not finite. ``binary_auc(is_positive, scores)``: the two-class AUC to use (default sklearn's
    ``roc_auc_score``; the per-epoch evaluation passes its sklearn-free equal, ``zoo.runner.epoch_metrics``).

    Usage::

        auroc(np.array([[0.9, 0.1], [0.2, 0.8]]), [0, 1], num_classes=2)    # 1.0
    """
    if binary_auc is None:
        from sklearn.metrics import roc_auc_score as binary_auc

    probs, labels = _to_numpy(probs).astype(np.float64), _to_numpy(labels).reshape(-1)
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
    probs, labels = _to_numpy(probs).astype(np.float64), _to_numpy(labels).reshape(-1)
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
    z, labels = _to_numpy(scores).astype(np.float64), _to_numpy(labels).reshape(-1).astype(np.int64)
    if len(labels) == 0 or not np.isfinite(z).all():
        return math.nan
    if from_logits:
        z = z - z.max(axis=1, keepdims=True)  # (N, K)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))  # (N, K) log-softmax
    else:
        log_p = np.log(np.maximum(z, _NLL_FLOOR))
    return float(-log_p[np.arange(len(labels)), labels].mean())


def _check_inputs(scores: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
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
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        confusion_matrix,
        precision_recall_fscore_support,
    )

    scores_np = _to_numpy(scores)
    labels_np = _check_inputs(scores_np, _to_numpy(labels), num_classes)
    if label_names is not None and len(label_names) != num_classes:
        raise ValueError(f"got {len(label_names)} label_names for {num_classes} classes")
    probs = softmax(scores_np) if from_logits else scores_np.astype(np.float64)  # (N, K)
    preds = probs.argmax(axis=1)  # (N,); argmax is the same on logits and probabilities

    with warnings.catch_warnings():
        # "y_pred contains classes not in y_true": expected on small splits; documented in the module
        warnings.filterwarnings("ignore", message=".*y_pred contains classes not in y_true.*")
        balanced = balanced_accuracy_score(labels_np, preds)
    precision, recall, f1, _ = precision_recall_fscore_support(
        labels_np, preds, average="macro", zero_division=0
    )
    every = list(range(num_classes))
    p_k, r_k, f_k, s_k = precision_recall_fscore_support(
        labels_np, preds, labels=every, average=None, zero_division=0
    )
    names = [str(n) for n in label_names] if label_names is not None else [str(k) for k in every]
    per_class = {
        names[k]: {"precision": float(p_k[k]), "recall": float(r_k[k]), "f1": float(f_k[k]), "support": int(s_k[k])}
        for k in every
    }
    return {
        "accuracy": float(accuracy_score(labels_np, preds)),
        "balanced_accuracy": float(balanced),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "auroc": auroc(probs, labels_np, num_classes),
        "ece": expected_calibration_error(probs, labels_np),
        "nll": negative_log_likelihood(scores_np, labels_np, from_logits=from_logits),
        "n": int(len(labels_np)),
        "confusion_matrix": confusion_matrix(labels_np, preds, labels=every).tolist(),  # rows true, cols predicted
        "per_class": per_class,
    }
