"""What a finished run leaves in its folder: the weights and predictions of each selected epoch.

The reported rule's weights are ``model.safetensors`` (what ``init:``, ``medzoo push`` and the Hub read);
another epoch that some other rule picked is ``model-<stage>-e<epoch>.safetensors``. Each selected epoch
has ``predictions-<stage>-e<epoch>.npz`` (``zoo.results.predictions``). Rules that pick the same epoch
share its files, so a run usually keeps one to three of each.

Usage::

    selections = save_run_outputs(run_dir, store.root, outcome, data, meta)
    selections["source_val"]["checkpoint"], selections["deep_embedded_validation"]["predictions"]["sha256"]
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from zoo.checkpoint import WEIGHTS, save_checkpoint, save_weights
from zoo.datasets.base import Split
from zoo.results.predictions import save_predictions, split_digest


def _tag(stage: str, epoch: int) -> str:
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', stage)}-e{epoch}"


def evaluated_splits(data) -> dict[str, Split]:
    """The split objects of ``data`` (a ``TaskData``) behind the runner's evaluation names (``source_val``, ...)."""
    splits: dict[str, Split | None] = {
        "source_val": data.source.splits["val"] if data.source is not None else None,
        "target_val_oracle": data.target.splits["val"],
        "target_val": data.target_val_labeled,
        "source_test": data.source.splits["test"] if data.source is not None else None,
        "target_test": data.target.splits["test"],
    }
    return {name: split for name, split in splits.items() if split is not None}


def save_run_outputs(run_dir: Path, root: Path, outcome, data, meta: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Write every selected epoch's weights and predictions; return the record's ``selections`` block."""
    primary = outcome.selections[outcome.selection["rule"]]["index"]
    splits = evaluated_splits(data)
    digests = {name: split_digest(split) for name, split in splits.items()}
    files: dict[int, dict[str, Any]] = {}
    for index, (state, probs) in sorted(outcome.kept.items()):
        entry = outcome.history[index]
        tag = _tag(entry["stage"], entry["epoch"])
        if index == primary:
            weights = save_checkpoint(run_dir, state, meta)
        else:
            weights = save_weights(run_dir / f"model-{tag}.safetensors", state)
        predictions = save_predictions(run_dir / f"predictions-{tag}.npz", probs, splits, digests)
        predictions["file"] = str((run_dir / predictions["file"]).relative_to(root))
        files[index] = {"checkpoint": str(weights.relative_to(root)), "predictions": predictions}
    out = {}
    for rule, chosen in outcome.selections.items():
        out[rule] = {k: v for k, v in chosen.items() if k not in ("index", "rule")} | files[chosen["index"]]
    assert (run_dir / WEIGHTS).is_file()
    return out
