"""The metrics of every evaluated epoch, without sklearn: what selection rules and a record's curves read.

Each evaluated epoch used to get the full ``zoo.metrics.classification_metrics`` report for every split
(about 16 ms per split on a CPU, nearly all of it sklearn's input validation). Selection reads one metric
of the validation splits (``selection.metric``) and a record's curves read ``accuracy``, ``auroc`` and
``predicted_classes`` of every split, so each epoch now gets only :data:`EPOCH_METRICS`; the full report
is made once per *selected* epoch after training, from the logits kept for it (``zoo.runner.epoch_eval``).

The values are **bit-identical** to ``classification_metrics``'s, not merely close: a record's curves
carry them at full precision, and a selection rule compares epochs with ``>``, so two epochs that tie
must tie here too. Hence the same float64 softmax (``zoo.metrics.softmax``), the same per-class recalls
averaged by ``np.mean`` (balanced accuracy), and sklearn's own ROC construction (stable descending sort,
one point per distinct score, collinear points dropped, trapezoids summed by ``np.sum``) for AUROC: the
rank formula ``(R+ - P(P+1)/2) / (P N)`` is exact in arithmetic but rounds differently. The arrays are a
few thousand scores, so numpy on the host costs microseconds; the logits come to the host anyway for
the probabilities a selected epoch keeps. ``tests/test_epoch_metrics.py`` checks equality with ``==``.

A ``selection.metric`` outside :data:`EPOCH_METRICS` (``f1``, ``ece``, ...) gets the full report every
epoch, as before: correct, only not cheaper.

Usage::

    m = epoch_metrics(logits, labels, label_names=["normal", "pneumonia"], metric="accuracy")
    m["accuracy"], m["balanced_accuracy"], m["auroc"], m["nll"], m["predicted_classes"]
    full = full_report(logits, labels, label_names)      # classification_metrics + predicted_classes
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from zoo.metrics import (_check_inputs, _to_numpy, auroc, classification_metrics, negative_log_likelihood,
                         softmax)


# what an epoch's fast report holds; any other selection metric falls back to the full report
EPOCH_METRICS = ("accuracy", "balanced_accuracy", "auroc", "nll", "n", "predicted_classes")


def predicted_classes(logits: torch.Tensor) -> int:
    """How many classes the model predicts at all: 1 is a collapsed, constant predictor."""
    return int(logits.argmax(1).unique().numel()) if len(logits) else 0


def full_report(logits: torch.Tensor, labels: torch.Tensor, label_names: Sequence[str]) -> dict[str, Any]:
    """``classification_metrics`` of (N, K) logits and (N,) labels, plus ``predicted_classes``: a split's
    complete entry, as a selected epoch reports it."""
    out = classification_metrics(logits, labels, num_classes=len(label_names), label_names=label_names,
                                 from_logits=True)
    out["predicted_classes"] = predicted_classes(logits)
    return out


def binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC of (N,) float64 ``score`` for (N,) bool ``positive``, computed as sklearn's ``roc_auc_score``
    computes it (``roc_curve`` with ``drop_intermediate=True``, then ``auc``), float for float.

    Both classes must be present. Usage::

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


def fast_auroc(probs: np.ndarray, labels: np.ndarray, num_classes: int) -> float:
    """``zoo.metrics.auroc`` of (N, K) float64 probabilities without sklearn (same definition, same floats)."""
    return auroc(probs, labels, num_classes, binary_auc=binary_auc)


def balanced_accuracy(labels: np.ndarray, preds: np.ndarray, num_classes: int) -> float:
    """Mean recall over the classes present in ``labels`` (sklearn's ``balanced_accuracy_score``, same floats)."""
    confusion = np.bincount(labels * num_classes + preds, minlength=num_classes ** 2).reshape(num_classes, num_classes)
    support = confusion.sum(axis=1)  # (K,) true samples per class
    present = support > 0
    recall = np.diag(confusion)[present] / support[present]  # (K',) int / int -> float64, in class order
    return float(np.mean(recall))


def epoch_metrics(logits: torch.Tensor, labels: torch.Tensor, label_names: Sequence[str],
                  metric: str | None = None) -> dict[str, Any]:
    """The per-epoch report of one split from its (N, K) logits and (N,) labels: :data:`EPOCH_METRICS`,
    each equal to ``classification_metrics``'s; the full report if ``metric`` is not among them."""
    if metric is not None and metric not in EPOCH_METRICS:
        return full_report(logits, labels, label_names)
    num_classes = len(label_names)
    scores = _to_numpy(logits)  # (N, K) float32
    labels_np = _check_inputs(scores, _to_numpy(labels), num_classes)  # (N,) int, validated as the full report does
    probs = softmax(scores)  # (N, K) float64, the full report's probabilities
    preds = probs.argmax(axis=1)  # (N,)
    return {
        "accuracy": int((preds == labels_np).sum()) / len(labels_np),  # exact count / N, as accuracy_score
        "balanced_accuracy": balanced_accuracy(labels_np, preds, num_classes),
        "auroc": fast_auroc(probs, labels_np, num_classes),
        "nll": negative_log_likelihood(scores, labels_np, from_logits=True),
        "n": int(len(labels_np)),
        "predicted_classes": predicted_classes(logits),
    }
