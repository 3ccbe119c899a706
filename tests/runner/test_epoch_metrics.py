"""The per-epoch report (``zoo.runner.epoch_metrics``) against the full ``classification_metrics`` report.

Every value the cheap report holds must be *bit-identical* to the full report's (compared with ``==``;
NaN with NaN): records carry per-epoch curves at full precision and selection rules break ties by
``>``. Checked on random logits of every scale, on integer logits (many tied scores), on a constant
predictor, on saturated probabilities (ties at 1.0), on a split that lacks a class, on a split with one
class, binary and multi-class, and on real predictions: a seeded SimpleCNN on PneumoniaMNIST (binary)
and on BloodMNIST-like 8-class logits from the same network's features.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zoo.metrics import binary_auc
from zoo.runner.epoch_metrics import EPOCH_METRICS, epoch_metrics, full_report


def _same(a, b) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def _assert_identical(logits: torch.Tensor, labels: torch.Tensor, num_classes: int) -> None:
    names = [f"c{k}" for k in range(num_classes)]
    full = full_report(logits, labels, names)
    cheap = epoch_metrics(logits, labels, names, metric="auroc")
    assert set(cheap) == set(EPOCH_METRICS)
    for key, value in cheap.items():
        assert type(value) is type(full[key]) and _same(value, full[key]), (key, value, full[key])


def _random_case(rng: np.random.Generator, kind: str, n: int, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    if kind == "normal":
        logits = rng.normal(size=(n, k)) * rng.choice([0.01, 1.0, 8.0])
    elif kind == "integer":  # few distinct scores: long runs of ties in every ROC
        logits = rng.integers(-2, 3, size=(n, k)).astype(np.float64)
    elif kind == "constant":  # a collapsed predictor: one score for all
        logits = np.repeat(rng.normal(size=(1, k)), n, axis=0)
    else:  # saturated: probabilities round to 1.0 and to tiny values, half the rows duplicated
        logits = rng.normal(size=(n, k)) * 60
        logits[: n // 2] = logits[0]
    labels = rng.integers(0, k, size=n)
    return torch.tensor(logits, dtype=torch.float32), torch.tensor(labels)


@pytest.mark.parametrize("k", [2, 3, 8])
@pytest.mark.parametrize("kind", ["normal", "integer", "constant", "saturated"])
def test_random_predictions_bit_identical(kind, k):
    rng = np.random.default_rng(k * 100 + len(kind))
    for n in (2, 5, 26, 263):
        for _ in range(5):
            _assert_identical(*_random_case(rng, kind, n, k), num_classes=k)


@pytest.mark.parametrize("k", [2, 4])
def test_missing_class_and_single_class(k):
    rng = np.random.default_rng(7)
    logits = torch.tensor(rng.normal(size=(40, k)), dtype=torch.float32)
    _assert_identical(logits, torch.tensor(rng.integers(0, k - 1, size=40)), k)  # class k-1 absent from labels
    _assert_identical(logits, torch.zeros(40, dtype=torch.int64), k)  # one class: AUROC NaN in both
    _assert_identical(torch.full((40, k), float("nan")), torch.tensor(rng.integers(0, k, size=40)), k)  # diverged


def test_binary_auc_matches_sklearn_on_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(2, 60))
        positive = rng.random(n) < 0.4
        positive[:2] = [True, False]
        score = rng.integers(0, 4, size=n) / 3.0  # heavy ties
        assert binary_auc(positive, score) == roc_auc_score(positive, score)


def test_real_predictions_bit_identical(data_dir):
    from zoo.backbones.simple_cnn import SimpleCNN
    from zoo.datasets.medmnist import load_medmnist

    domain = load_medmnist("pneumoniamnist", size=28, data_dir=data_dir)
    split = domain.splits["val"]
    torch.manual_seed(0)
    net = SimpleCNN(in_chans=1).eval()
    with torch.no_grad():
        feats = net.forward_features(split.images.float() / 255.0)  # (N, D)
    head2, head8 = torch.nn.Linear(feats.shape[1], 2), torch.nn.Linear(feats.shape[1], 8)
    with torch.no_grad():
        binary, multi = head2(feats), head8(feats)  # (N, 2), (N, 8)
    labels = split.labels.reshape(-1).long()  # (N,)
    _assert_identical(binary, labels, 2)
    _assert_identical(binary * 200, labels, 2)  # an over-confident network: saturated probabilities
    # 8 classes, labels from a fixed hash of the true ones: real scores, some classes rare
    _assert_identical(multi, (labels * 3 + torch.arange(len(labels)) % 5) % 8, 8)


def test_other_selection_metric_gets_the_full_report():
    logits, labels = torch.randn(30, 3), torch.randint(0, 3, (30,))
    names = ["a", "b", "c"]
    assert epoch_metrics(logits, labels, names, metric="f1") == full_report(logits, labels, names)
