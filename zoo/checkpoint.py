"""Checkpoints: the selected weights of a run as safetensors, with the config needed to rebuild them.

Files are written to a temporary name (``.NAME.tmp-PID``) and renamed, so a crash never leaves a half-written
checkpoint; a temporary whose process died is removed at the next ``medzoo run`` (``zoo.results.integrity``).
A failed write (a full disk) raises ``OSError`` with its errno, never a library-specific error. The runner
writes them (``zoo.runner.run_outputs``, ``zoo.runner.pretrain``), the Hub's export reads them
(``zoo.hub.export``), per-sample predictions are written the same way (``zoo.results.predictions``).

Usage::

    save_checkpoint(run_dir, outcome.best_state, {"run": run.config, "label_names": [...]})
    state, meta = load_checkpoint(run_dir)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save

WEIGHTS = "model.safetensors"
META = "config.json"


TEMPORARY_MARK = ".tmp-"  # .NAME.tmp-PID


def atomic_write(path: Path, write) -> None:
    """``write(tmp)`` then rename onto ``path``; the temporary is removed whatever happens."""
    tmp = path.with_name(f".{path.name}{TEMPORARY_MARK}{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_weights(path: Path, state: dict[str, torch.Tensor]) -> Path:
    """Write a state dict as safetensors at ``path`` (atomically); returns ``path``.

    Serialised in memory and written by Python, so a full disk is an ``OSError`` (ENOSPC) the runner can
    report in one line (safetensors' own file writer raises its ``SafetensorError`` instead).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    data = save(state, metadata={"format": "pt"})
    atomic_write(path, lambda p: p.write_bytes(data))
    return path


def save_checkpoint(run_dir: Path, state: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Write ``model.safetensors`` and ``config.json`` into ``run_dir``; returns the weights path."""
    weights = save_weights(run_dir / WEIGHTS, state)
    text = json.dumps(meta, indent=2, sort_keys=True, default=str)
    atomic_write(run_dir / META, lambda p: p.write_text(text, encoding="utf-8"))
    return weights


def load_checkpoint(run_dir: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The state dict and metadata saved by ``save_checkpoint``."""
    state = load_file(str(run_dir / WEIGHTS))
    meta = json.loads((run_dir / META).read_text(encoding="utf-8"))
    return state, meta
