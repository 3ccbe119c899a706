"""Per-sample predictions of the selected epochs, kept beside the checkpoints for statistics over test images.

For each epoch some selection rule picked, one compressed ``.npz`` holds, for every evaluated split, the
class probabilities ``<split>.probs`` (N, K) float32, the index of each image in its split
``<split>.index`` (N,) int64 (the split's own, run-independent order: the same domain spec gives the same
images in the same order) and its label ``<split>.labels`` (N,). The record carries the file's sha256 and,
per split, the sha256 of the split's images and labels (``data_sha256``), so two runs can be paired on a
test set only when it really is the same one. The runner writes them (``zoo.runner.run_outputs``), the
statistics over shared test images read them (``zoo.results.per_sample``).

Usage::

    info = save_predictions(run_dir / "predictions-adapt-e3.npz", probs, split_data)
    info["sha256"], info["splits"]["target_test"]["n"]
    arrays = load_predictions(run_dir / "predictions-adapt-e3.npz")     # {"target_test": {"probs": ...}}
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zoo.checkpoint import atomic_write
from zoo.datasets.base import Split
from zoo.digests import sha256_file


def split_digest(split: Split) -> str:
    """sha256 of a split's images (uint8 bytes, with their shape) and labels: equal digests, equal data."""
    h = hashlib.sha256()
    h.update(str(tuple(split.images.shape)).encode())
    h.update(split.images.contiguous().numpy().tobytes())
    h.update(split.labels.to(torch.int64).contiguous().numpy().tobytes())
    return h.hexdigest()


def save_predictions(path: Path, probs: dict[str, torch.Tensor], splits: dict[str, Split],
                     digests: dict[str, str] | None = None) -> dict[str, Any]:
    """Write the probabilities of each split to ``path`` (atomically); return ``{file, sha256, splits}``."""
    arrays: dict[str, np.ndarray] = {}
    info: dict[str, Any] = {}
    for name, p in probs.items():
        split = splits[name]
        if len(split) != len(p):
            raise ValueError(f"{name}: {len(p)} predictions for {len(split)} images")
        arrays[f"{name}.probs"] = p.float().cpu().numpy()  # (N, K)
        arrays[f"{name}.index"] = np.arange(len(split), dtype=np.int64)  # (N,) position in the split
        arrays[f"{name}.labels"] = split.labels.cpu().numpy()  # (N,)
        digest = (digests or {}).get(name) or split_digest(split)
        info[name] = {"n": len(split), "data_sha256": digest}

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:  # a file object: np.savez would append '.npz' to a temporary name
            np.savez_compressed(handle, **arrays)

    atomic_write(path, write)
    return {"file": path.name, "sha256": sha256_file(path), "splits": info}


def load_predictions(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """``{split: {"probs": (N, K), "index": (N,), "labels": (N,)}}`` from a file written by ``save_predictions``."""
    out: dict[str, dict[str, np.ndarray]] = {}
    with np.load(path, allow_pickle=False) as data:
        for key in data.files:
            split, _, kind = key.rpartition(".")
            out.setdefault(split, {})[kind] = data[key]
    return out
