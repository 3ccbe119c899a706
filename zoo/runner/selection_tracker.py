"""Every selection rule's choice during one training: the epoch each rule picks and what to keep of it.

After each evaluated epoch of the selected (last) stage, each rule re-picks its epoch from the history
(``zoo.selection.select_epoch``); a rule's choice can only move to the newest epoch, so the weights
and per-split probabilities of that epoch are snapshotted when some rule moves there, and dropped when no
rule still points at them. At the end, ``selections()`` gives each rule's epoch, score and the metrics of
every split at that epoch: one training serves every rule.

Usage::

    tracker = SelectionTracker(["source_val", "deep_embedded_validation", "last"], metric="accuracy")
    tracker.update(history, first_index=0, snapshot=lambda: state_of(model), probs=probs)   # each epoch
    tracker.selections(history)         # {"source_val": {"stage": ..., "epoch": 3, "score": 0.91, ...}}
    tracker.kept                        # {history index: (state, probs)}: usually one to three epochs
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from zoo.selection import rule_metric, select_epoch, selection_score


class SelectionTracker:
    """The running choice of each rule and the snapshots of the epochs chosen (see the module docstring)."""

    def __init__(self, rules: list[str], metric: str) -> None:
        self.rules, self.metric = list(rules), metric
        self.chosen: dict[str, int] = {}
        self.kept: dict[int, tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]] = {}

    def update(self, history: list[dict[str, Any]], first_index: int,
               snapshot: Callable[[], dict[str, torch.Tensor]], probs: dict[str, torch.Tensor]) -> None:
        """Re-pick every rule among ``history[first_index:]`` (the selected stage) after a new evaluation."""
        newest = len(history) - 1
        stage = history[first_index:]
        self.chosen = {rule: first_index + select_epoch(stage, rule, self.metric) for rule in self.rules}
        if newest in self.chosen.values() and newest not in self.kept:
            self.kept[newest] = (snapshot(), {k: v.clone() for k, v in probs.items()})
        for index in [i for i in self.kept if i not in self.chosen.values()]:
            del self.kept[index]  # no rule points here any more

    def selections(self, history: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """``{rule: {rule, metric, stage, epoch, index, score, metrics}}``; ``metrics`` holds every split."""
        out = {}
        for rule, index in self.chosen.items():
            entry = history[index]
            out[rule] = {
                "rule": rule, "metric": rule_metric(rule, self.metric), "stage": entry["stage"],
                "epoch": entry["epoch"], "index": index, "score": selection_score(entry, rule, self.metric),
                "metrics": {**entry["val"], **entry["test"]},
            }
        return out


def selection_set(data, rule: str) -> dict[str, Any] | None:
    """The labelled images ``rule`` chooses with: ``{split, per_class: {label: n}, small}``, ``None`` for ``last``.

    ``small`` is true when some class has fewer than ``SMALL_SELECTION_SET`` images (a 1% budget of
    BreastMNIST leaves 2 validation images: accuracy on them is 0, 0.5 or 1, and ties go to the first epoch).
    """
    from zoo.selection import SMALL_SELECTION_SET, selection_split

    split_name = selection_split(rule)
    if split_name is None:
        return None
    split = {"source_val": data.source.splits["val"] if data.source is not None else None,
             "dev": data.source.splits["val"] if data.source is not None else None,  # DEV weighs source-val losses
             "target_val_oracle": data.target.splits["val"], "target_val": data.target_val_labeled}[split_name]
    if split is None:
        return None
    counts = torch.bincount(split.labels, minlength=data.num_classes).tolist()  # (K,)
    per_class = dict(zip(data.label_names, counts))
    return {"split": split_name, "per_class": per_class, "small": min(counts) < SMALL_SELECTION_SET}
