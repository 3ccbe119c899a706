"""Metrics of per-image predictions under image weights: one test set resampled many times, vectorised.

A bootstrap replicate of a test set of N images is a vector of counts ``w`` (N,) (how often each image was
drawn; ``w = 1`` is the test set itself). Every metric medzoo reports from the confusion matrix (accuracy,
balanced accuracy, macro precision/recall/F1, per-class ones) is then a function of the weighted confusion
matrix ``C[a, b] = sum_i w_i [label_i = a][pred_i = b]``, and AUROC is the weighted Mann-Whitney statistic.
Both are computed here for B replicates x S runs at once (``weights`` (B, N), predictions (S, N)), so a
two-way bootstrap over shared test images costs a few matrix products.

Usage::

    w = np.random.default_rng(0).multinomial(624, np.full(624, 1 / 624), size=2000)   # (2000, 624)
    weighted_metric(labels, probs, w, "balanced_accuracy")      # (2000, S): one value per replicate and run
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zoo.errors import ConfigError
from zoo.results.bootstrap import metric_from_confusion, supports

AUROC = "auroc"
_CHUNK = 1000  # replicates per matrix product: bounds memory at CHUNK x S x K^2 floats


def weighted_confusions(labels: np.ndarray, preds: np.ndarray, weights: np.ndarray, n_classes: int) -> np.ndarray:
    """(B, S, K, K) confusion counts of S runs' predictions (S, N) under B weight vectors (B, N).

    Usage::

        weighted_confusions(np.array([0, 1]), np.array([[0, 0]]), np.ones((1, 2)), 2)   # [[[[1, 0], [1, 0]]]]
    """
    n_runs, n = preds.shape
    k2 = n_classes * n_classes
    cell = labels[None, :] * n_classes + preds  # (S, N): the confusion cell of each image in each run
    # indicator (N, S*K^2): image i lands in cell (s, cell[s, i]); counts = weights @ indicator
    indicator = np.zeros((n, n_runs * k2))
    indicator[np.arange(n)[None, :].repeat(n_runs, 0), np.arange(n_runs)[:, None] * k2 + cell] = 1.0
    out = np.empty((len(weights), n_runs * k2))
    for start in range(0, len(weights), _CHUNK):
        out[start:start + _CHUNK] = weights[start:start + _CHUNK] @ indicator
    return out.reshape(len(weights), n_runs, n_classes, n_classes)


def weighted_binary_auroc(positive: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(B,) weighted AUROC of one run: P(score of a positive > score of a negative), ties counting one half.

    ``positive`` (N,) bool, ``scores`` (N,), ``weights`` (B, N). NaN where a replicate has no positive or
    no negative weight. Equals sklearn's ``roc_auc_score`` at ``weights = 1``.

    Usage::

        weighted_binary_auroc(np.array([False, True]), np.array([0.2, 0.7]), np.ones((1, 2)))   # array([1.])
    """
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])  # first image of each tie group
    w = weights[:, order]  # (B, N) in ascending score order
    pos_w = np.add.reduceat(w * positive[order], starts, axis=1)  # (B, G) positive weight per tie group
    neg_w = np.add.reduceat(w * ~positive[order], starts, axis=1)  # (B, G)
    below = np.cumsum(neg_w, axis=1) - neg_w  # negatives strictly below each group
    wins = (pos_w * (below + 0.5 * neg_w)).sum(axis=1)
    total = pos_w.sum(axis=1) * neg_w.sum(axis=1)
    return np.divide(wins, total, out=np.full(len(weights), np.nan), where=total > 0)


def _auroc(labels: np.ndarray, probs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(B, S) AUROC as zoo.metrics.auroc defines it: binary on the last column, else mean one-vs-rest."""
    n_runs, _, n_classes = probs.shape
    classes = [n_classes - 1] if n_classes == 2 else [k for k in range(n_classes) if (labels == k).any()]
    out = np.zeros((len(weights), n_runs))
    for s in range(n_runs):
        per_class = [weighted_binary_auroc(labels == k, probs[s, :, k], weights) for k in classes]
        out[:, s] = np.mean(per_class, axis=0)
    return out


def weighted_metric(labels: Any, probs: Any, weights: Any, metric: str, class_index: int | None = None) -> np.ndarray:
    """(B, S) values of ``metric`` for S runs' probabilities (S, N, K) under B image-weight vectors (B, N).

    ``metric``: a confusion-matrix metric (see :func:`zoo.results.bootstrap.supports`) or ``auroc``; the
    predicted class is the argmax, as in :mod:`zoo.metrics`.

    Usage::

        weighted_metric(labels, probs, np.ones((1, len(labels))), "accuracy")[0]   # each run's accuracy
    """
    labels = np.asarray(labels, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if metric == AUROC:
        return _auroc(labels, probs, weights)
    name = metric.partition(":")[0]
    if not supports(metric):
        raise ConfigError(f"{metric!r} cannot be resampled over test images; use one of accuracy, "
                          "balanced_accuracy, precision, recall, f1 (or METRIC:CLASS), auroc")
    confusions = weighted_confusions(labels, probs.argmax(axis=-1), weights, probs.shape[-1])
    return metric_from_confusion(confusions, name, class_index)


def resamples_images(metric: str) -> bool:
    """Whether :func:`weighted_metric` can compute ``metric`` (so the shared-images interval applies).

    Usage::

        resamples_images("auroc"), resamples_images("ece")   # (True, False)
    """
    return metric == AUROC or supports(metric)
