"""The metrics of every evaluated epoch, without sklearn: what selection rules and a record's curves read.

Each evaluated epoch used to get the full ``zoo.metrics.classification_metrics`` report for every split
(about 16 ms per split on a CPU when it called sklearn, nearly all of it sklearn's input validation).
Selection reads one metric of the validation splits (``selection.metric``) and a record's curves read
``accuracy``, ``auroc`` and ``predicted_classes`` of every split, so each epoch now gets only
:data:`EPOCH_METRICS`; the full report is made once per *selected* epoch after training, from the logits
kept for it (``zoo.runner.epoch_eval``).

The values are **bit-identical** to ``classification_metrics``'s, not merely close: a record's curves
carry them at full precision, and a selection rule compares epochs with ``>``, so two epochs that tie
must tie here too: the same functions of ``zoo.metrics`` compute both (float64 softmax, balanced
accuracy from the confusion matrix, sklearn's own ROC construction for AUROC). The arrays are a few
thousand scores, so numpy on the host costs microseconds; the logits come to the host anyway for the
probabilities a selected epoch keeps. ``tests/runner/test_epoch_metrics.py`` checks equality with ``==``.

A ``selection.metric`` outside :data:`EPOCH_METRICS` (``f1``, ``ece``, ...) gets the full report every
epoch, as before: correct, only not cheaper.

Usage::

    m = epoch_metrics(logits, labels, label_names=["normal", "pneumonia"], metric="accuracy")
    m["accuracy"], m["balanced_accuracy"], m["auroc"], m["nll"], m["predicted_classes"]
    full = full_report(logits, labels, label_names)      # classification_metrics + predicted_classes
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from zoo.metrics import (
    auroc,
    balanced_accuracy,
    check_inputs,
    classification_metrics,
    negative_log_likelihood,
    softmax,
    to_numpy,
)

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


def epoch_metrics(logits: torch.Tensor, labels: torch.Tensor, label_names: Sequence[str],
                  metric: str | None = None) -> dict[str, Any]:
    """The per-epoch report of one split from its (N, K) logits and (N,) labels: :data:`EPOCH_METRICS`,
    each equal to ``classification_metrics``'s; the full report if ``metric`` is not among them."""
    if metric is not None and metric not in EPOCH_METRICS:
        return full_report(logits, labels, label_names)
    num_classes = len(label_names)
    scores = to_numpy(logits)  # (N, K) float32
    labels_np = check_inputs(scores, to_numpy(labels), num_classes)  # (N,) int, validated as the full report does
    probs = softmax(scores)  # (N, K) float64, the full report's probabilities
    preds = probs.argmax(axis=1)  # (N,)
    return {
        "accuracy": int((preds == labels_np).sum()) / len(labels_np),  # exact count / N, as accuracy_score
        "balanced_accuracy": balanced_accuracy(labels_np, preds, num_classes),
        "auroc": auroc(probs, labels_np, num_classes),
        "nll": negative_log_likelihood(scores, labels_np, from_logits=True),
        "n": int(len(labels_np)),
        "predicted_classes": predicted_classes(logits),
    }
