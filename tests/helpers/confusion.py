"""Target-test metrics as the evaluator writes them, computed from a confusion matrix, for records of tests.

Usage::

    record["metrics"]["target_test"] = scores([[30, 12], [30, 84]])   # accuracy 0.731, balanced accuracy 0.726
"""

from __future__ import annotations

NAMES = ("malignant", "benign")
BREAST_CONSTANT = [[0, 42], [0, 114]]  # BreastMNIST's test split (42 malignant, 114 benign), all called benign
BREAST_SKEWED = [[10, 32], [4, 110]]  # high accuracy (76.9), low balanced accuracy (60.2)
BREAST_FAIR = [[30, 12], [30, 84]]  # lower accuracy (73.1), higher balanced accuracy (72.6)
BALANCED = [[40, 10], [12, 38]]  # a 50/50 target


def scores(matrix: list[list[int]], names: tuple[str, ...] = NAMES) -> dict:
    """accuracy, balanced accuracy, macro F1, per-class recall and support, predicted classes (rows: truth)."""
    support = [sum(row) for row in matrix]
    predicted = [sum(row[j] for row in matrix) for j in range(len(matrix))]
    recall = [matrix[i][i] / support[i] for i in range(len(matrix))]
    precision = [matrix[i][i] / predicted[i] if predicted[i] else 0.0 for i in range(len(matrix))]
    f1 = [2 * p * r / (p + r) if p + r else 0.0 for p, r in zip(precision, recall)]
    return {"accuracy": sum(matrix[i][i] for i in range(len(matrix))) / sum(support),
            "balanced_accuracy": sum(recall) / len(recall), "f1": sum(f1) / len(f1), "auroc": 0.7,
            "confusion_matrix": matrix, "predicted_classes": sum(1 for p in predicted if p),
            "per_class": {name: {"recall": r, "support": s} for name, r, s in zip(names, recall, support)}}
