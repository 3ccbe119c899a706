"""The primary metric of a set of records, and the runs whose test predictions are all one class.

Accuracy rewards predicting the majority class: on BreastMNIST (73% benign) a network that answers
"benign" for every image scores 73.1 accuracy and 50.0 balanced accuracy. So the metric that ranks and
that gains are computed on is, in this order:

1. the suite's own ``primary_metric:`` (recorded in each record's ``suite``), when the records agree on it;
2. ``balanced_accuracy`` when the suites declare different ones, or when in some task the majority class
   of the target test split is over 60% of its images (``IMBALANCED``);
3. else ``accuracy``.

``medzoo results`` and ``medzoo leaderboard build`` both call :func:`primary_choice`, so they always agree.

Usage::

    metric, why = primary_choice(records)        # ('balanced_accuracy', 'majority class of a target test split > 60%')
    primary_metric(records)                      # 'balanced_accuracy'
    is_constant_predictor(record)                # True: every target-test prediction is one class
"""

from __future__ import annotations

from typing import Any, Iterable

from zoo.results.record import METRIC_NAMES

IMBALANCED = 0.6  # majority share above which accuracy is mostly the class prior
DECLARED = "declared by the suite"
MAJORITY = f"majority class of a target test split > {IMBALANCED:.0%}"
DISAGREE = "the suites declare different primary metrics"
BALANCED = f"no target test split has a majority class over {IMBALANCED:.0%}"


def _split(record: dict[str, Any], split: str) -> dict[str, Any]:
    metrics = record.get("metrics") if isinstance(record.get("metrics"), dict) else {}
    found = metrics.get(split)
    return found if isinstance(found, dict) else {}


def _matrix(record: dict[str, Any], split: str) -> list[list[float]] | None:
    matrix = _split(record, split).get("confusion_matrix")
    if isinstance(matrix, list) and matrix and all(isinstance(row, list) for row in matrix):
        return matrix
    return None


def majority_share(record: dict[str, Any], split: str = "target_test") -> float | None:
    """The largest class's share of ``split``'s images (rows of the confusion matrix: true classes, else
    ``per_class`` supports); None when the record cannot tell.

    Usage::

        majority_share(record)   # 0.731 on BreastMNIST's test split (114 of 156 benign)
    """
    matrix = _matrix(record, split)
    if matrix is not None:
        sizes = [sum(row) for row in matrix]
    else:
        per_class = _split(record, split).get("per_class")
        per_class = per_class if isinstance(per_class, dict) else {}
        sizes = [c.get("support") for c in per_class.values() if isinstance(c, dict)]
        if not sizes or not all(isinstance(s, (int, float)) for s in sizes):
            return None
    total = sum(sizes)
    return max(sizes) / total if total > 0 else None


def is_constant_predictor(record: dict[str, Any], split: str = "target_test") -> bool:
    """True when every prediction on ``split`` is one class (one non-zero confusion-matrix column, or
    ``predicted_classes == 1``); False when it is not, or when the record cannot tell.

    Usage::

        [r["run_id"] for r in records if is_constant_predictor(r)]
    """
    matrix = _matrix(record, split)
    if matrix is not None:
        columns = range(max(len(row) for row in matrix))
        used = [j for j in columns if any(j < len(row) and row[j] for row in matrix)]
        return len(used) == 1
    return _split(record, split).get("predicted_classes") == 1


def primary_choice(records: Iterable[dict[str, Any]]) -> tuple[str, str]:
    """``(metric, why)``: the primary metric of ``records`` and the reason, as a caption can say it.

    Usage::

        metric, why = primary_choice(store.records())   # ('accuracy', 'declared by the suite')
    """
    records = list(records)
    declared = {(r.get("suite") or {}).get("primary_metric") for r in records}
    if len(declared) == 1 and None not in declared:
        return declared.pop(), DECLARED
    if len(declared - {None}) > 1:
        return "balanced_accuracy", DISAGREE
    shares = [majority_share(r, "target_test") for r in records]
    if any(share is not None and share > IMBALANCED for share in shares):
        return "balanced_accuracy", MAJORITY
    return "accuracy", BALANCED


def primary_metric(records: Iterable[dict[str, Any]]) -> str:
    """The metric that ranks ``records`` and that gains are computed on (see the module docstring).

    Usage::

        primary_metric(records)   # 'balanced_accuracy'
    """
    return primary_choice(records)[0]


def primary_first(records: Iterable[dict[str, Any]], metrics: Iterable[str]) -> tuple[str, ...]:
    """``metrics`` with the primary metric first (added when missing), the others in their order.

    Usage::

        primary_first(records, ("accuracy", "balanced_accuracy", "f1", "auroc"))   # ('balanced_accuracy', ...)
    """
    first = primary_metric(records)
    return (first, *(m for m in metrics if m != first))


__all__ = ["IMBALANCED", "METRIC_NAMES", "is_constant_predictor", "majority_share", "primary_choice",
           "primary_first", "primary_metric"]
