"""Read result records for the leaderboard: every bad line is reported (file, line, field) and skipped.

A leaderboard is built from whatever results people hand it, often merged from several machines, so one
malformed line must never abort the build: each one becomes a :class:`Problem` naming the file, the line
and the first offending field (as :func:`zoo.results.record.validate_record` names it), returned to the caller.
A run_id seen before is kept from the first file that has it (as :func:`zoo.results.load_records` does).
A run that ``medzoo push`` published has a ``hub.json`` in its run folder; its record gains ``hub`` from it,
so the run's page links the model card.

Usage::

    records, problems = read_records(["medzoo-runs", "other-lab/results.jsonl"])
    for p in problems:
        print(p)   # other-lab/results.jsonl:12: timings.train_s: missing
"""

from __future__ import annotations

import gc
import json
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from zoo.errors import DataError
from zoo.hub.push import RECEIPT
from zoo.results.integrity import warn_damaged
from zoo.results.jsonl import jsonl_lines
from zoo.results.store import RESULTS_FILENAME

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Problem:
    """One skipped line: where it is and what was wrong (``field`` is the dotted path, or ``record``).

    Usage::

        Problem("results.jsonl", 3, "metrics", "metrics: missing")
    """

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: parsed records are acyclic, and with 10,000 of them alive every
    collection walks millions of objects (about a tenth of a build's time). Reference counting still frees.

    Usage::

        with gc_paused():
            records = [json.loads(line) for line in lines]
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def results_files(path: Path) -> list[Path]:
    """A results file itself, or a folder's ``results.jsonl``, else every one below it (sorted).

    Usage::

        results_files(Path("medzoo-runs"))   # [PosixPath('medzoo-runs/results.jsonl')]
    """
    if path.is_file():
        return [path]
    if path.is_dir():
        direct = path / RESULTS_FILENAME
        return [direct] if direct.is_file() else sorted(path.rglob(RESULTS_FILENAME))
    raise DataError(f"no results at {path}: no such file or folder; pass a {RESULTS_FILENAME} file or a run folder")


def _field_of(message: str) -> str:
    """``"timings.train_s: missing"`` -> ``"timings.train_s"``."""
    head, sep, _ = message.partition(":")
    return head.strip() if sep and " " not in head.strip() else "record"


def parse_records(data: bytes, source: str, problems: list[Problem], seen: set[str]) -> list[dict[str, Any]]:
    """Records of one JSONL text; bad lines go to ``problems``, run_ids in ``seen`` are skipped (and added).

    Usage::

        records = parse_records(Path("results.jsonl").read_bytes(), "results.jsonl", problems, set())
    """
    records = []
    for lineno, record, found in jsonl_lines(data):
        if record is None:
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            problem = Problem(source, lineno, _field_of(found[0]), found[0] + more)
            logger.debug("%s: skipped", problem)  # the caller reports the list (the CLI prints every one)
            problems.append(problem)
            continue
        if record["run_id"] in seen:
            logger.debug("%s:%d: run %s was already read; skipped", source, lineno, record["run_id"])
            continue
        seen.add(record["run_id"])
        records.append(record)
    return records


def read_records(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Valid records of results files or run folders, and the problems of the lines that were skipped.

    Usage::

        records, problems = read_records(["medzoo-runs"])
    """
    records: list[dict[str, Any]] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for given in paths:
        files = results_files(Path(given))
        if not files:
            raise DataError(f"no {RESULTS_FILENAME} in {given}; run `medzoo run SUITE -o {given}` first")
        for file in files:
            try:
                data = file.read_bytes()
            except OSError as err:
                raise DataError(f"cannot read results from {file}: {(err.strerror or str(err)).lower()}") from None
            with gc_paused():
                found = parse_records(data, str(file), problems, seen)
            warn_damaged(found, file.parent)  # the page still shows their numbers; the builder is told once
            records += [_with_predictions(_with_receipt(record, file.parent), file.parent) for record in found]
    return records, problems


def _with_predictions(record: dict[str, Any], store: Path) -> dict[str, Any]:
    """The record, with ``prediction_files`` ({file: verified | missing | sha256 mismatch}) when it has any."""
    from zoo.digests import sha256_file

    files = {s["predictions"]["file"]: s["predictions"]["sha256"] for s in (record.get("selections") or {}).values()
             if isinstance(s, dict) and isinstance(s.get("predictions"), dict) and "file" in s["predictions"]}
    if not files:
        return record
    status = {}
    for name, sha in sorted(files.items()):
        path = store / name
        status[name] = ("missing" if not path.is_file() else
                        "verified" if sha256_file(path) == sha else "sha256 mismatch")
    return {**record, "prediction_files": status}


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
