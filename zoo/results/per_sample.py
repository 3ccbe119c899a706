"""The per-image predictions behind a cell's runs: read from the ``predictions-*.npz`` files the runner keeps.

A record (schema 2 and later) names, for every selection rule, the predictions file of the epoch that rule chose,
its sha256 and, per split, the sha256 of the split's images and labels. Reading a cell (the seeds of one
task x algorithm x ... under one rule) gives one (S, N, K) probability array over the *same* test images,
which is what intervals over a shared test set and image-paired comparisons need. The file is verified
against the record's sha256 before use; a missing or altered file, or runs scored on different test data,
make the cell fall back to the record-level statistics (the caller labels that).

Records do not know where they were read from, so the one reader of results folders
(:func:`zoo.results.reader.read_results`) calls :func:`remember_store` with each run's results folder.

Usage::

    remember_store(record["run_id"], Path("runs/acq"))
    cell = cell_predictions(records_of_one_cell, "target_test")   # None, or CellPredictions(labels, probs, ...)
    cell.probs.shape                                               # (5, 312, 2)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # numpy only when predictions are read: `import zoo.results` stays light
    import numpy as np

logger = logging.getLogger(__name__)

_STORES: dict[str, Path] = {}  # run_id -> the folder its results.jsonl is in
_STATES: dict[tuple[Path, str, Any], str] = {}  # (folder, file, sha256) -> file_state
_WARNED: set[tuple[Path, str]] = set()  # (results folder, "missing" | "altered") already warned about
_FILES: dict[tuple[Path, str], dict[str, dict[str, np.ndarray]] | None] = {}  # verified file contents


@dataclass(frozen=True)
class CellPredictions:
    """The test predictions of a cell's runs: ``labels`` (N,), ``probs`` (S, N, K), ``seeds`` and ``digest``."""

    labels: np.ndarray
    probs: np.ndarray
    seeds: tuple[Any, ...]
    run_ids: tuple[str, ...]
    digest: str


def remember_store(run_id: str, folder: Path) -> None:
    """Note that ``run_id``'s record was read from ``folder`` (its predictions paths are relative to it).

    Usage::

        remember_store("3ac3ff326a0d3bc3", Path("medzoo-runs"))
    """
    _STORES[run_id] = Path(folder)


def store_of(run_id: str) -> Path | None:
    """The results folder ``run_id`` was read from (``remember_store``), or ``None``."""
    return _STORES.get(run_id)


def _entry(record: dict[str, Any], split: str) -> tuple[dict[str, Any], str] | None:
    """The predictions entry of the rule the record is viewed under, and the split's data digest."""
    rule = (record.get("selection") or {}).get("rule")
    chosen = (record.get("selections") or {}).get(rule) or {}
    entry = chosen.get("predictions")
    if not isinstance(entry, dict) or "file" not in entry:
        return None
    digest = ((entry.get("splits") or {}).get(split) or {}).get("data_sha256")
    return (entry, digest) if isinstance(digest, str) else None


def _warn_once(folder: Path, kind: str, message: str, path: Path) -> None:
    """The first missing (or altered) predictions file of a results folder is a warning, the rest debug lines:
    a folder copied without its ``.npz`` files would otherwise print one warning per run."""
    if (folder, kind) in _WARNED:
        logger.debug(message, path, "")
        return
    _WARNED.add((folder, kind))
    logger.warning(message, path, f" (any other such file under {folder} is not listed)")


def file_state(folder: Path, entry: dict[str, Any]) -> str:
    """``verified``, ``missing`` or ``sha256 mismatch``: a predictions entry's file against the record's sha256.

    Hashed once per file and process (the leaderboard's run pages and the intervals ask the same question).

    Usage::

        file_state(Path("medzoo-runs"), record["selections"]["last"]["predictions"])   # 'verified'
    """
    key = (folder, entry["file"], entry.get("sha256"))
    if key not in _STATES:
        from zoo.digests import sha256_file

        path = folder / entry["file"]
        _STATES[key] = ("missing" if not path.is_file() else
                        "verified" if sha256_file(path) == entry.get("sha256") else "sha256 mismatch")
    return _STATES[key]


def _load_verified(folder: Path, entry: dict[str, Any]) -> dict[str, dict[str, np.ndarray]] | None:
    """The file's arrays when its sha256 matches the record's (cached), else None (and a warning once)."""
    key = (folder, entry["file"])
    if key not in _FILES:
        from zoo.results.predictions import load_predictions

        path, state = folder / entry["file"], file_state(folder, entry)
        if state == "missing":
            _warn_once(folder, "missing", "%s: predictions file missing; its cell uses the record-level interval%s",
                       path)
            _FILES[key] = None
        elif state != "verified":
            _warn_once(folder, "altered", "%s: sha256 differs from the record's; its cell uses the record-level "
                       "interval%s", path)
            _FILES[key] = None
        else:
            _FILES[key] = load_predictions(path)
    return _FILES[key]


def run_predictions(record: dict[str, Any], split: str) -> tuple[np.ndarray, np.ndarray, str] | None:
    """``(labels (N,), probs (N, K), data digest)`` of one record's split in split order, or None.

    Usage::

        found = run_predictions(view_record(record, "last"), "target_test")
    """
    import numpy as np

    found = _entry(record, split)
    folder = _STORES.get(record.get("run_id", ""))
    if found is None or folder is None:
        return None
    entry, digest = found
    arrays = _load_verified(folder, entry)
    # a file written before schema 3 keeps its own split names: read through file_splits, never by guessing
    key = entry["file_splits"].get(split) if "file_splits" in entry else split
    if arrays is None or key not in arrays:
        return None
    part = arrays[key]
    order = np.argsort(part["index"], kind="stable")  # rows back in the split's own order
    return part["labels"][order].astype(np.int64), part["probs"][order].astype(np.float64), digest


def cell_predictions(records: Sequence[dict[str, Any]], split: str) -> CellPredictions | None:
    """The runs of one cell stacked on their shared test images; None if any run lacks usable predictions
    or the runs were scored on different data (different ``data_sha256``).

    Usage::

        cell = cell_predictions(runs, "target_test")
    """
    import numpy as np

    runs = sorted(records, key=lambda r: (str(r.get("seed")), str(r.get("run_id", ""))))
    found = [run_predictions(record, split) for record in runs]
    if not found or any(f is None for f in found):
        return None
    digests = {f[2] for f in found}
    if len(digests) > 1:
        logger.warning("the runs of one cell were scored on different %s data; using the record-level interval", split)
        return None
    labels = found[0][0]
    if any(len(f[0]) != len(labels) or not np.array_equal(f[0], labels) for f in found):
        return None
    return CellPredictions(labels, np.stack([f[1] for f in found]), tuple(r.get("seed") for r in runs),
                           tuple(str(r.get("run_id", "")) for r in runs), found[0][2])
