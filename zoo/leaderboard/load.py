"""Read result records for the leaderboard: every bad line is reported (file, line, field) and skipped.

A leaderboard is built from whatever results people hand it, often merged from several machines, so one
malformed line must never abort the build: each one becomes a :class:`Problem` naming the file, the line
and the first offending field, returned to the caller. Reading is :func:`zoo.results.reader.read_results`,
the reader every command uses (same lines skipped, first file wins, same intervals); this module adds only
what the site shows about a run's files.
A run that ``medzoo push`` published has a ``hub.json`` in its run folder; its record gains ``hub`` from it,
so the run's page links the model card.

Usage::

    records, problems = read_records(["medzoo-runs", "other-lab/results.jsonl"])
    for p in problems:
        print(p)   # other-lab/results.jsonl:12: timings.train_s: missing
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Iterable

from zoo.hub.push import RECEIPT
from zoo.results.integrity import warn_damaged_loaded
from zoo.results.jsonl import Problem
from zoo.results.per_sample import file_state, store_of
from zoo.results.reader import read_results

logger = logging.getLogger(__name__)


def read_records(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Valid records of results files or run folders (:func:`zoo.results.reader.read_results`, each folder
    required to hold results), each with its Hub receipt and the state of its predictions files.

    Usage::

        records, problems = read_records(["medzoo-runs"])
    """
    records, problems = read_results(paths, require_each=True)
    warn_damaged_loaded(records)  # the page still shows their numbers; the builder is told once per folder
    return [_with_predictions(_with_receipt(record, store_of(record["run_id"])), store_of(record["run_id"]))
            for record in records], problems


def _with_predictions(record: dict[str, Any], store: Path) -> dict[str, Any]:
    """The record, with ``prediction_files`` ({file: verified | missing | sha256 mismatch}) when it has any
    (``zoo.results.per_sample.file_state``: each file hashed once, for this page and the intervals alike)."""
    entries = {s["predictions"]["file"]: s["predictions"] for s in (record.get("selections") or {}).values()
               if isinstance(s, dict) and isinstance(s.get("predictions"), dict) and "file" in s["predictions"]}
    if not entries:
        return record
    return {**record, "prediction_files": {name: file_state(store, entry) for name, entry in sorted(entries.items())}}


def _with_receipt(record: dict[str, Any], store: Path) -> dict[str, Any]:
    """The record, with ``hub`` set from its run folder's ``hub.json`` when ``medzoo push`` published it."""
    checkpoint = record.get("checkpoint")
    if "hub" in record or not isinstance(checkpoint, str):
        return record
    receipt_path = store / Path(checkpoint).parent / RECEIPT
    try:
        receipt = json.loads(receipt_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return record
    except (OSError, ValueError) as err:
        logger.warning("%s: unreadable (%s); the run's page will not link its checkpoint card", receipt_path, err)
        return record
    return {**record, "hub": receipt} if isinstance(receipt, dict) else record
