"""Named model-selection rules: which validation split picks the checkpoint. Never a test split.

- ``source_val``: accuracy (or the chosen metric) on the source validation split; the honest default for
  unsupervised adaptation, where no target label may be used.
- ``target_val``: the target validation labels the task's budget allows (the same fraction as training).
- ``target_val_oracle``: all target validation labels; an upper bound, reported as such.
- ``dev``: Deep Embedded Validation (You et al., ICML 2019): the source validation loss weighted by the
  target/source density ratio of the features, with a control variate; uses unlabeled target images only,
  so it is a label-free rule for unsupervised adaptation. Its metric is ``score`` (= -estimated risk).

Usage::

    split = selection_split("source_val")                      # 'source_val'
    best = select_epoch(history, "source_val", "accuracy")     # index into history
"""

from __future__ import annotations

from typing import Any

from zoo.errors import ConfigError

RULE_SPLITS = {
    "source_val": "source_val",
    "target_val": "target_val_budget",
    "target_val_oracle": "target_val",
    "dev": "dev",  # Deep Embedded Validation: importance-weighted source-val risk (zoo.runner.dev), label-free
}


def selection_split(rule: str) -> str:
    """The validation split a rule reads; a rule that would read a test split is refused."""
    if rule not in RULE_SPLITS:
        raise ConfigError(f"unknown model-selection rule '{rule}'; known: {', '.join(RULE_SPLITS)}")
    split = RULE_SPLITS[rule]
    if "test" in split:  # defence in depth: the table above must never point at a test split
        raise ConfigError(f"selection rule '{rule}' reads '{split}': the test split can never select a model")
    return split


def select_epoch(history: list[dict[str, Any]], rule: str, metric: str) -> int:
    """Index of the best evaluation in ``history`` by ``metric`` on the rule's validation split.

    Each history entry holds ``{"val": {split: metrics}, "test": {...}}``; only ``"val"`` is read, so test
    metrics cannot influence the choice. Ties go to the earliest epoch.
    """
    split = selection_split(rule)
    best_index, best_score = -1, float("-inf")
    for index, entry in enumerate(history):
        metrics = entry["val"].get(split)
        if metrics is None:
            raise ConfigError(f"selection rule '{rule}' needs the '{split}' split, which this task does not have")
        if metric not in metrics:
            raise ConfigError(f"selection metric '{metric}' unknown; available: {', '.join(sorted(metrics))}")
        score = metrics[metric]
        if score == score and score > best_score:  # skip NaN
            best_index, best_score = index, score
    return max(best_index, 0)
