"""Evaluations beyond classification, chosen by what a trained algorithm offers (never by its name).

- ``pair_verification``, for an algorithm with an ``embed(x) -> (N, D)`` method (a Siamese model such as
  CCSA): are a source image and a target image of one class? Measured by ``zoo.metrics_pairs`` on balanced
  cross-domain pairs of the *test* splits (source test x target test); the decision threshold that
  maximises accuracy is chosen on pairs of the *validation* splits and then applied to the test pairs. An
  algorithm that declares ``verification_threshold`` also gets the accuracy at that fixed threshold
  (``accuracy``, ``threshold``). These numbers use target labels to *measure* a finished model; they never
  select a checkpoint (model selection is ``zoo.selection``'s, on validation splits only).

Everything else gets ``{}``. The returned mapping merges into a record's ``metrics`` as extra "splits"
whose values are numbers (``zoo.results.record`` accepts that), e.g. ``metrics["pair_verification"]["auroc"]``.

Usage::

    extras = extra_metrics(algorithm, data, normalizer, seed=run.seed)   # the unwrapped, selected model
    metrics.update(extras)          # {"pair_verification": {"auroc": ..., "accuracy_at_best_threshold": ...}}
"""

from __future__ import annotations

import logging
from typing import Any

from zoo.errors import ConfigError

logger = logging.getLogger(__name__)

N_PAIRS = 2000  # per set (validation, test): half same-class, half different-class


def pair_verification(algorithm, data, normalizer, seed: int, n_pairs: int = N_PAIRS) -> dict[str, float]:
    """Pair-verification metrics of ``algorithm.embed`` on source x target test pairs (see the module docstring).

    ``data`` is a ``TaskData`` (its source and target domains with train/val/test splits of uint8 images),
    ``normalizer`` maps a uint8 batch on the model's device to the backbone's input (the runner's
    ``Normalizer``).

    Usage::

        m = pair_verification(ccsa, data, normalizer, seed=0)      # m["auroc"], m["best_threshold"], ...
    """
    from zoo.metrics_pairs import pair_verification_metrics

    declared = getattr(algorithm, "verification_threshold", None)
    source, target = data.source.splits, data.target.splits
    metrics = pair_verification_metrics(
        algorithm, source["test"], target["test"], threshold=1.0 if declared is None else float(declared),
        n_pairs=n_pairs, seed=seed, val=(source["val"], target["val"]), transform=normalizer,
    )
    if declared is None:  # no fixed threshold to report: only the validation-chosen one means something
        metrics.pop("accuracy")
        metrics.pop("threshold")
    return metrics


def extra_metrics(algorithm, data, normalizer, seed: int) -> dict[str, dict[str, Any]]:
    """``{"pair_verification": {...}}`` for an algorithm with ``embed`` (and source + target data), else ``{}``.

    Pass the unwrapped algorithm holding the weights the run selected. Pairs that cannot be formed (a split
    with a single class, no class shared by both domains) are logged and leave the metric out: a finished
    run is not failed over an extra metric.
    """
    if not callable(getattr(algorithm, "embed", None)) or getattr(data, "source", None) is None:
        return {}
    try:
        return {"pair_verification": pair_verification(algorithm, data, normalizer, seed)}
    except ConfigError as exc:
        logger.warning("pair verification skipped: %s", exc)
        return {}
