"""Pair verification on held-out cross-domain pairs: is a (domain A, domain B) image pair of one class?

A Siamese model (e.g. CCSA, Motiian et al. ICCV 2017) predicts "same class" when the distance of the two
embeddings is below a threshold (``zoo.algorithms.ccsa.verify_pairs``). This module measures that on
pairs the model never trained on:

- pairs are balanced: ``n_pairs // 2`` same-class pairs (a class drawn uniformly among the classes both
  splits hold, then one image of it from each split) and the rest different-class pairs (an image of A,
  then one of B with another label); images are drawn with replacement, so a pair may repeat;
- ``accuracy``: share of test pairs where ``(distance < threshold) == same``, at the given threshold;
- ``auroc``: ROC AUC of the score ``-distance`` for the positive "same class" (threshold-free);
- ``best_threshold``: the threshold maximising accuracy on *validation* pairs, never on the test pairs;
  ``accuracy_at_best_threshold`` is its accuracy on the test pairs. Validation pairs come from ``val``
  when given (e.g. the val splits); otherwise each split is cut, per class and seeded, into two disjoint
  halves: validation pairs from the first halves, test pairs from the second, so no image is shared.

The embedding is ``model.embed(x)`` when the model has one (CCSA: its L2-normalised features), else
``model.features(x)``. uint8 images are normalised as the runner does (the backbone's mean/std) unless a
``transform`` is given; float images are used as they are.

Usage::

    m = pair_verification_metrics(model, source.splits["test"], target.splits["test"], threshold=1.0,
                                  n_pairs=2000, seed=0, val=(source.splits["val"], target.splits["val"]))
    m["accuracy"], m["auroc"], m["best_threshold"], m["accuracy_at_best_threshold"]
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch

from zoo.errors import ConfigError


def _images_labels(split: Any) -> tuple[torch.Tensor, np.ndarray]:
    images, labels = (split.images, split.labels) if hasattr(split, "images") else split
    return images, np.asarray(labels.cpu() if hasattr(labels, "cpu") else labels).reshape(-1)


def _default_transform(model) -> Callable[[torch.Tensor], torch.Tensor]:
    config = getattr(getattr(model, "backbone", None), "config", None)
    if config is None:
        raise ConfigError("pair verification got uint8 images but the model has no backbone config to "
                          "normalise them with; pass transform= (or float images)")
    from zoo.backbones.normalize import Normalizer

    return Normalizer(config.mean, config.std, config.in_chans)


@torch.no_grad()
def embed_images(model, images: torch.Tensor, transform: Callable | None = None, batch_size: int = 256) -> torch.Tensor:
    """Embeddings (N, D) of images (N, C, H, W), in eval mode, on the model's device, returned on the CPU.

    Usage::

        z = embed_images(algo, split.images)     # (N, D)
    """
    if images.dtype == torch.uint8 and transform is None:
        transform = _default_transform(model)
    embed = getattr(model, "embed", None) or model.features
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size].to(device)
        out.append(embed(transform(x) if transform is not None else x).float().cpu())  # (B, D)
    model.train(was_training)
    return torch.cat(out)


def sample_pairs(labels_a: np.ndarray, labels_b: np.ndarray, n_pairs: int, rng: np.random.Generator):
    """Balanced cross-domain pairs: (ia (P,), ib (P,), same (P,) bool), same-class pairs first.

    Usage::

        ia, ib, same = sample_pairs(np.array([0, 1]), np.array([1, 0]), 4, np.random.default_rng(0))
    """
    shared = np.intersect1d(labels_a, labels_b)
    if len(shared) == 0 or len(np.union1d(labels_a, labels_b)) < 2:
        raise ConfigError("pair verification needs a class present in both splits and at least two classes")
    n_same = n_pairs // 2
    cls = rng.choice(shared, size=n_same)  # (n_same,) classes drawn uniformly
    ia, ib = np.empty(n_pairs, dtype=np.int64), np.empty(n_pairs, dtype=np.int64)
    for c in shared:
        rows = np.flatnonzero(cls == c)
        ia[rows] = rng.choice(np.flatnonzero(labels_a == c), size=len(rows))
        ib[rows] = rng.choice(np.flatnonzero(labels_b == c), size=len(rows))
    # different-class pairs: an image of A whose class is not the only class of B, then an image of B of another class
    eligible = np.flatnonzero(labels_a != labels_b[0]) if len(np.unique(labels_b)) == 1 else np.arange(len(labels_a))
    diff_rows = np.arange(n_same, n_pairs)
    ia[diff_rows] = rng.choice(eligible, size=len(diff_rows))
    for c in np.unique(labels_a[ia[diff_rows]]):
        rows = diff_rows[labels_a[ia[diff_rows]] == c]
        ib[rows] = rng.choice(np.flatnonzero(labels_b != c), size=len(rows))
    return ia, ib, labels_a[ia] == labels_b[ib]


def best_threshold(distances: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """(threshold, accuracy): the threshold maximising the accuracy of ``distance < threshold`` == same.

    Usage::

        best_threshold(np.array([0.1, 0.2, 0.9]), np.array([True, True, False]))   # (0.55, 1.0)
    """
    order = np.argsort(distances, kind="stable")
    d, s = distances[order], same[order].astype(np.int64)
    # predicting "same" for the k nearest pairs: correct = same among them + different among the rest
    correct = np.concatenate([[0], np.cumsum(s)]) + np.concatenate([np.cumsum((1 - s)[::-1])[::-1], [0]])
    cuts = np.concatenate([[True], d[1:] > d[:-1], [True]])  # k where a threshold can separate d[k-1] and d[k]
    k = int(np.flatnonzero(cuts)[np.argmax(correct[cuts])])
    if k == 0:
        threshold = float(d[0])  # nothing below: "different" for every pair
    elif k == len(d):
        threshold = float(np.nextafter(d[-1], np.inf))
    else:
        threshold = float((d[k - 1] + d[k]) / 2)
    return threshold, float(correct[k] / len(d))


def _holdout(labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint (val, test) index halves, split per class."""
    val, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        cut = len(idx) // 2 if len(idx) > 1 else 0
        val.append(idx[:cut])
        test.append(idx[cut:])
    return np.concatenate(val), np.concatenate(test)


def _pair_distances(z_a, y_a, z_b, y_b, n_pairs, rng) -> tuple[np.ndarray, np.ndarray]:
    from zoo.losses.contrastive import pair_distances

    ia, ib, same = sample_pairs(y_a, y_b, n_pairs, rng)
    dist = pair_distances(z_a[torch.as_tensor(ia)], z_b[torch.as_tensor(ib)]).double().numpy()  # (P,)
    return dist, same


def pair_verification_metrics(model, split_a, split_b, threshold: float, n_pairs: int = 2000, seed: int = 0, *,
                              val: tuple[Any, Any] | None = None, transform: Callable | None = None,
                              batch_size: int = 256) -> dict[str, float]:
    """Verification accuracy at ``threshold``, AUROC, and the best threshold from validation pairs.

    ``split_a``/``split_b`` are ``Split`` objects or ``(images, labels)`` tuples of two domains.
    """
    from sklearn.metrics import roc_auc_score

    if not isinstance(n_pairs, int) or n_pairs < 2:
        raise ConfigError(f"pair verification needs n_pairs >= 2 (half same, half different), got {n_pairs!r}")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
        raise ConfigError(f"pair verification threshold must be a finite number, got {threshold!r}")
    rng = np.random.default_rng(seed)
    x_a, y_a = _images_labels(split_a)
    x_b, y_b = _images_labels(split_b)
    z_a, z_b = embed_images(model, x_a, transform, batch_size), embed_images(model, x_b, transform, batch_size)
    if val is None:  # disjoint halves of each split: validation pairs never share an image with test pairs
        (va, ta), (vb, tb) = _holdout(y_a, rng), _holdout(y_b, rng)
        val_dist, val_same = _pair_distances(z_a[va], y_a[va], z_b[vb], y_b[vb], n_pairs, rng)
        z_a, y_a, z_b, y_b = z_a[ta], y_a[ta], z_b[tb], y_b[tb]
    else:
        (vx_a, vy_a), (vx_b, vy_b) = _images_labels(val[0]), _images_labels(val[1])
        vz_a, vz_b = embed_images(model, vx_a, transform, batch_size), embed_images(model, vx_b, transform, batch_size)
        val_dist, val_same = _pair_distances(vz_a, vy_a, vz_b, vy_b, n_pairs, rng)
    dist, same = _pair_distances(z_a, y_a, z_b, y_b, n_pairs, rng)
    best, val_acc = best_threshold(val_dist, val_same)
    return {
        "n_pairs": float(len(dist)),
        "threshold": float(threshold),
        "accuracy": float(((dist < threshold) == same).mean()),
        "auroc": float(roc_auc_score(same, -dist)),
        "best_threshold": best,
        "val_accuracy_at_best_threshold": val_acc,
        "accuracy_at_best_threshold": float(((dist < best) == same).mean()),
        "mean_distance_same": float(dist[same].mean()),
        "mean_distance_different": float(dist[~same].mean()),
    }
