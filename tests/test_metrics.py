"""zoo.metrics against hand computations on tiny examples and against sklearn / MedMNIST getAUC on random data."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    precision_recall_fscore_support,
    roc_auc_score,
)

from zoo.metrics import auroc, classification_metrics, expected_calibration_error, negative_log_likelihood, softmax

# Binary example: labels 0 0 1 1 1, positive-class probabilities 0.1 0.6 0.9 0.7 0.4
# -> predictions (argmax) 0 1 1 1 0 -> confusion matrix [[1, 1], [1, 2]] (rows true, columns predicted).
LABELS = np.array([0, 0, 1, 1, 1])
P_POS = np.array([0.1, 0.6, 0.9, 0.7, 0.4])
PROBS = np.stack([1 - P_POS, P_POS], axis=1)  # (5, 2)


def _medmnist_get_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """The definition in medmnist/evaluator.py getAUC (binary: last column; else mean one-vs-rest)."""
    if y_score.shape[1] == 2:
        return roc_auc_score(y_true, y_score[:, -1])
    return float(np.mean([roc_auc_score((y_true == i).astype(int), y_score[:, i]) for i in range(y_score.shape[1])]))


def test_binary_by_hand():
    m = classification_metrics(PROBS, LABELS, num_classes=2, from_logits=False)
    assert m["confusion_matrix"] == [[1, 1], [1, 2]]
    assert m["accuracy"] == pytest.approx(3 / 5)
    # class 0: precision 1/2, recall 1/2; class 1: precision 2/3, recall 2/3
    assert m["precision"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert m["recall"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert m["f1"] == pytest.approx((1 / 2 + 2 / 3) / 2)  # F1 = P = R for each class here
    assert m["balanced_accuracy"] == pytest.approx(7 / 12)
    # AUROC = share of (positive, negative) pairs ranked correctly: positives 0.9 0.7 0.4 vs negatives
    # 0.1 0.6 -> 0.9>0.1, 0.9>0.6, 0.7>0.1, 0.7>0.6, 0.4>0.1 right, 0.4<0.6 wrong -> 5/6
    assert m["auroc"] == pytest.approx(5 / 6)
    assert m["per_class"]["1"] == {"precision": pytest.approx(2 / 3), "recall": pytest.approx(2 / 3),
                                   "f1": pytest.approx(2 / 3), "support": 3}
    assert m["n"] == 5


def test_logits_give_the_same_as_their_probabilities():
    logits = torch.tensor(np.log(PROBS), dtype=torch.float32, requires_grad=True)
    from_logits = classification_metrics(logits, torch.tensor(LABELS), num_classes=2)
    from_probs = classification_metrics(PROBS, LABELS, num_classes=2, from_logits=False)
    for key in ("accuracy", "balanced_accuracy", "f1", "auroc"):
        assert from_logits[key] == pytest.approx(from_probs[key])


def test_multiclass_auroc_by_hand():
    # 3 classes, 4 samples; one-vs-rest AUCs: class 0 -> 1.0, class 1 -> 1.0, class 2 -> 0.5 (ties with one)
    probs = np.array([[0.8, 0.1, 0.1], [0.6, 0.2, 0.2], [0.1, 0.7, 0.2], [0.3, 0.5, 0.2]])
    labels = np.array([0, 0, 1, 2])
    # class 0: positives 0.8 0.6 vs negatives 0.1 0.3 -> 4/4; class 1: positive 0.7 vs 0.1 0.2 0.5 -> 3/3;
    # class 2: positive 0.2 vs 0.1 0.2 0.2 -> (1 + 0.5 + 0.5)/3 = 2/3
    expected = (1.0 + 1.0 + 2 / 3) / 3
    assert auroc(probs, labels, 3) == pytest.approx(expected)
    assert classification_metrics(probs, labels, 3, from_logits=False)["auroc"] == pytest.approx(expected)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_random_data_matches_sklearn_and_medmnist(k):
    rng = np.random.default_rng(k)
    logits = rng.normal(size=(200, k)) + np.eye(k)[rng.integers(0, k, 200)]  # (200, k)
    labels = rng.integers(0, k, 200)
    labels[:k] = np.arange(k)  # every class present
    m = classification_metrics(torch.tensor(logits), labels, num_classes=k, label_names=[f"c{i}" for i in range(k)])
    probs = softmax(logits)
    preds = probs.argmax(1)
    assert m["accuracy"] == pytest.approx(accuracy_score(labels, preds))
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(labels, preds))
    p, r, f, _ = precision_recall_fscore_support(labels, preds, average="macro", zero_division=0)
    assert (m["precision"], m["recall"], m["f1"]) == pytest.approx((p, r, f))
    assert m["f1"] == pytest.approx(f1_score(labels, preds, average="macro", zero_division=0))
    assert m["auroc"] == pytest.approx(_medmnist_get_auc(labels, probs))
    if k > 2:  # multi-class AUROC = mean of one-vs-rest AUCs = sklearn's macro OvR
        assert m["auroc"] == pytest.approx(roc_auc_score(labels, probs, multi_class="ovr", average="macro"))
    else:
        assert m["auroc"] == pytest.approx(roc_auc_score(labels, probs[:, 1]))
    pk, rk, fk, sk = precision_recall_fscore_support(labels, preds, labels=list(range(k)), zero_division=0)
    for i in range(k):
        assert m["per_class"][f"c{i}"] == {"precision": pytest.approx(pk[i]), "recall": pytest.approx(rk[i]),
                                           "f1": pytest.approx(fk[i]), "support": int(sk[i])}
    assert np.array(m["confusion_matrix"]).sum() == 200


def test_absent_class_auroc_is_mean_over_present_classes():
    rng = np.random.default_rng(0)
    probs = softmax(rng.normal(size=(50, 3)))
    labels = rng.integers(0, 2, 50)  # class 2 never occurs
    m = classification_metrics(probs, labels, num_classes=3, from_logits=False)
    expected = np.mean([roc_auc_score(labels == c, probs[:, c]) for c in (0, 1)])
    assert m["auroc"] == pytest.approx(expected)
    assert m["per_class"]["2"]["support"] == 0
    assert len(m["confusion_matrix"]) == 3


def test_single_class_present_gives_nan_auroc_not_a_crash():
    probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.7, 0.3]])
    m = classification_metrics(probs, [0, 0, 0], num_classes=2, from_logits=False)
    assert math.isnan(m["auroc"])
    assert m["accuracy"] == pytest.approx(2 / 3)
    assert m["balanced_accuracy"] == pytest.approx(2 / 3)  # recall of the only class present
    json.dumps(m)  # NaN and all values stay JSON-serialisable


def test_non_finite_scores_give_nan_auroc():
    probs = np.array([[np.nan, 0.1], [0.4, 0.6]])
    assert math.isnan(classification_metrics(probs, [0, 1], num_classes=2, from_logits=False)["auroc"])


def test_labels_of_shape_n_by_1_and_bad_inputs():
    m = classification_metrics(PROBS, LABELS.reshape(-1, 1), num_classes=2, from_logits=False)
    assert m["accuracy"] == pytest.approx(3 / 5)
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        classification_metrics(PROBS, LABELS, num_classes=3)
    with pytest.raises(ValueError, match="labels must lie in"):
        classification_metrics(PROBS, [0, 1, 2, 0, 1], num_classes=2)
    with pytest.raises(ValueError, match="label_names"):
        classification_metrics(PROBS, LABELS, num_classes=2, label_names=["a"])
    with pytest.raises(ValueError, match="5 score rows but 4 labels"):
        classification_metrics(PROBS, LABELS[:4], num_classes=2)


def test_softmax_is_stable():
    probs = softmax(np.array([[1000.0, 0.0], [0.0, 0.0]]))
    np.testing.assert_allclose(probs, [[1.0, 0.0], [0.5, 0.5]])


def test_import_zoo_does_not_import_sklearn():
    code = "import sys, zoo, zoo.metrics; assert 'sklearn' not in sys.modules, 'sklearn imported eagerly'"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- calibration: ECE (Guo et al. 2017, top-label, 15 equal-width bins) and NLL ---------------------------------

def _binary_probs_with_confidence(confidence: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """(N, 2) probabilities whose argmax is ``predicted`` and whose max is ``confidence`` (>= 0.5)."""
    probs = np.empty((len(confidence), 2))
    probs[np.arange(len(confidence)), predicted] = confidence
    probs[np.arange(len(confidence)), 1 - predicted] = 1 - confidence
    return probs


def test_ece_of_a_calibrated_predictor_is_near_zero():
    # Draw confidences, then correctness with exactly that probability: calibrated by construction.
    rng = np.random.default_rng(0)
    n = 200_000
    confidence = rng.uniform(0.5, 1.0, n)
    predicted = rng.integers(0, 2, n)
    correct = rng.random(n) < confidence
    labels = np.where(correct, predicted, 1 - predicted)
    ece = classification_metrics(_binary_probs_with_confidence(confidence, predicted), labels, 2,
                                 from_logits=False)["ece"]
    # sampling noise alone: sum over 8 occupied bins of |N(0, p(1-p)/n_bin)| * n_bin/N, about 0.001
    assert 0 <= ece < 0.005


def test_ece_of_an_overconfident_predictor_by_hand():
    # Always 0.95 confident (bin 14 = (14/15, 1]) but right only 70% of the time -> ECE = |0.70 - 0.95| = 0.25.
    labels = np.zeros(100, dtype=int)
    predicted = np.array([0] * 70 + [1] * 30)
    probs = _binary_probs_with_confidence(np.full(100, 0.95), predicted)
    assert classification_metrics(probs, labels, 2, from_logits=False)["ece"] == pytest.approx(0.25)
    # Two bins: 0.95 confidence, 70/100 right (gap 0.25) and 0.6 confidence (bin 8), 50/50 right (gap 0.1):
    # ECE = 100/200 * 0.25 + 100/200 * 0.1 = 0.175
    predicted2 = np.array([0] * 50 + [1] * 50)
    probs2 = np.concatenate([probs, _binary_probs_with_confidence(np.full(100, 0.6), predicted2)])
    labels2 = np.zeros(200, dtype=int)
    assert expected_calibration_error(probs2, labels2) == pytest.approx(0.175)


def test_ece_bins_are_right_closed_and_per_bin():
    # confidences 0.8 (right) and 0.8 (wrong) share bin (11/15, 12/15]: gap |0.5 - 0.8| = 0.3 for both.
    probs = np.array([[0.8, 0.2], [0.8, 0.2]])
    assert expected_calibration_error(probs, [0, 1]) == pytest.approx(0.3)
    # in different bins the gaps do not cancel: |1 - 0.9| and |0 - 0.8| -> (0.1 + 0.8) / 2
    assert expected_calibration_error([[0.9, 0.1], [0.2, 0.8]], [0, 0]) == pytest.approx(0.45)
    # a 3-class uniform predictor: confidence 1/3, accuracy = share of class 0 (the argmax of ties)
    assert expected_calibration_error(np.full((4, 3), 1 / 3), [0, 0, 1, 2]) == pytest.approx(abs(0.5 - 1 / 3))


@pytest.mark.parametrize("k", [2, 5])
def test_ece_lies_in_0_1_and_nll_matches_log_softmax(k):
    rng = np.random.default_rng(k)
    for scale in (0.1, 1.0, 30.0):  # from near-uniform to extremely confident logits
        logits = rng.normal(size=(300, k)) * scale
        labels = rng.integers(0, k, 300)
        m = classification_metrics(logits, labels, num_classes=k)  # float64 (a torch tensor is read as float32)
        assert 0.0 <= m["ece"] <= 1.0
        log_p = torch.log_softmax(torch.tensor(logits, dtype=torch.float64), dim=1)
        expected_nll = torch.nn.functional.nll_loss(log_p, torch.tensor(labels)).item()
        assert m["nll"] == pytest.approx(expected_nll, rel=1e-9)
    assert expected_calibration_error(np.array([[1.0, 0.0]] * 3), [1, 1, 1]) == pytest.approx(1.0)  # worst case


def test_nll_from_probabilities_is_floored_not_infinite():
    assert negative_log_likelihood(np.array([[0.0, 0.0]]), [1]) == pytest.approx(math.log(2))  # logits 0, 0
    value = negative_log_likelihood(np.array([[1.0, 0.0], [0.5, 0.5]]), [1, 0], from_logits=False)
    assert value == pytest.approx((-math.log(1e-15) + math.log(2)) / 2)
    m = classification_metrics(np.array([[np.nan, 0.1], [0.4, 0.6]]), [0, 1], 2, from_logits=False)
    assert math.isnan(m["ece"]) and math.isnan(m["nll"])


@pytest.mark.parametrize("case", ["random", "absent_class", "predicted_only", "constant", "skewed"])
@pytest.mark.parametrize("k", [2, 3, 6])
def test_the_report_is_sklearns_float_for_float(case, k):
    """Computed without sklearn, every number equals sklearn's with ``==`` (not approx): records made
    before and after the rewrite agree, and so do ties between epochs."""
    from sklearn.metrics import confusion_matrix

    rng = np.random.default_rng(10 * k + len(case))
    n = 97
    labels = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[labels]  # (n, k) better than chance
    if case == "absent_class":  # class k-1 never in the labels (but predicted)
        labels = np.minimum(labels, k - 2)
    elif case == "predicted_only":  # class 0 in the labels, never predicted
        logits[:, 0] = -50.0
    elif case == "constant":  # a collapsed predictor
        logits = np.tile(np.arange(k, dtype=float), (n, 1))
    elif case == "skewed":
        labels = np.where(rng.random(n) < 0.9, 0, labels)
    if len(np.unique(labels)) < 2:
        labels[:2] = [0, 1]
    m = classification_metrics(torch.tensor(logits, dtype=torch.float32), labels, num_classes=k)
    preds = softmax(torch.tensor(logits, dtype=torch.float32).numpy()).argmax(1)
    assert m["accuracy"] == float(accuracy_score(labels, preds))
    assert m["balanced_accuracy"] == float(balanced_accuracy_score(labels, preds))
    p, r, f, _ = precision_recall_fscore_support(labels, preds, average="macro", zero_division=0)
    assert (m["precision"], m["recall"], m["f1"]) == (float(p), float(r), float(f))
    pk, rk, fk, sk = precision_recall_fscore_support(labels, preds, labels=list(range(k)), zero_division=0)
    for i in range(k):
        assert m["per_class"][str(i)] == {"precision": float(pk[i]), "recall": float(rk[i]), "f1": float(fk[i]),
                                          "support": int(sk[i])}
    assert m["confusion_matrix"] == confusion_matrix(labels, preds, labels=list(range(k))).tolist()
    probs = softmax(torch.tensor(logits, dtype=torch.float32).numpy())
    present = np.unique(labels)
    expected_auc = (roc_auc_score(labels == k - 1, probs[:, k - 1]) if k == 2
                    else np.mean([roc_auc_score(labels == c, probs[:, c]) for c in present]))
    assert m["auroc"] == float(expected_auc)
