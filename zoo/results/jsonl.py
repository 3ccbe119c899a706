"""Reading result lines: one JSON record a line, validated, with the file and line of every bad one.

The one place bytes become records: the results store (``zoo.results.store``) and the reader of results
folders (``zoo.results.reader``, which the CLI, the leaderboard and the hub use) all go through
:func:`parse_records`, so every consumer skips the same lines with the same words.

Usage::

    records, problems = parse_records(Path("results.jsonl").read_bytes(), "results.jsonl")
    for p in problems:
        print(p)   # results.jsonl:12: timings.train_s: missing
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from zoo.results.names import canonical_record
from zoo.results.record import validate_record

logger = logging.getLogger("zoo.results.store")  # the name users' log filters already know


@dataclass(frozen=True)
class Problem:
    """One skipped line: where it is, the first offending ``field`` (dotted path, or ``record``) and what was wrong.

    ``message`` is the first problem (with a count of the others); ``details`` holds all of them.

    Usage::

        Problem("results.jsonl", 3, "metrics", "metrics: missing")
    """

    file: str
    line: int
    field: str
    message: str
    details: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def _field_of(message: str) -> str:
    """``"timings.train_s: missing"`` -> ``"timings.train_s"``."""
    head, sep, _ = message.partition(":")
    return head.strip() if sep and " " not in head.strip() else "record"


def parse_line(raw: bytes, validate: bool = True) -> tuple[dict[str, Any] | None, list[str]]:
    """One JSONL line -> ``(record, [])`` or ``(None, problems)`` (each problem starts with its field).

    The record names renamed components by their current names (``zoo.results.names.canonical_record``).

    Usage::

        record, problems = parse_line(b'{"run_id": "a"}')   # (None, ['schema_version: missing', ...])
    """
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, ["record: not UTF-8 text"]
    except json.JSONDecodeError as err:
        return None, [f"record: not valid JSON ({err.msg} at column {err.colno})"]
    if not isinstance(obj, dict):
        return None, [f"record: not a JSON object but {type(obj).__name__}"]
    problems = validate_record(obj) if validate else []
    if not validate and not (isinstance(obj.get("run_id"), str) and obj["run_id"]):
        problems = ["run_id: missing"]
    return (None, problems) if problems else (canonical_record(obj), [])  # older records: current names


def jsonl_lines(data: bytes, validate: bool = True) -> Iterator[tuple[int, dict[str, Any] | None, list[str]]]:
    """``(line number, record, [])`` or ``(line number, None, problems)`` for every non-blank line.

    A bad last line with no newline after it gets a hint: a killed writer leaves exactly that.

    Usage::

        for lineno, record, problems in jsonl_lines(Path("results.jsonl").read_bytes()): ...
    """
    lines = data.split(b"\n")
    for lineno, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        record, problems = parse_line(raw, validate)
        if record is None and lineno == len(lines):
            problems = [*problems[:-1], f"{problems[-1]}; no newline at the end, so probably an interrupted write"]
        yield lineno, record, problems


def _in_short(problems: tuple[str, ...] | list[str]) -> str:
    """The first three problems on one line ("record: " names the whole line: said already by the message)."""
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return "; ".join(p.removeprefix("record: ") for p in problems[:3]) + more


def parse_records(data: bytes, source: str | Path, seen: set[str] | None = None, *,
                  validate: bool = True) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Records of one results file's bytes and the :class:`Problem` of every line skipped as malformed.

    A run_id already in ``seen`` (an earlier file of the same read) is skipped quietly and ``seen`` grows;
    a run_id twice in the same file is skipped with a warning (no writer of medzoo does that: a hand edit).

    Usage::

        records, problems = parse_records(Path("results.jsonl").read_bytes(), "results.jsonl")
    """
    seen = set() if seen is None else seen
    records: list[dict[str, Any]] = []
    problems: list[Problem] = []
    here: set[str] = set()
    for lineno, record, found in jsonl_lines(data, validate):
        if record is None:
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            problems.append(Problem(str(source), lineno, _field_of(found[0]), found[0] + more, tuple(found)))
            continue
        run_id = record["run_id"]
        if run_id in here:
            logger.warning("%s:%d: skipped a second record of run %s", source, lineno, run_id)
        elif run_id in seen:
            logger.debug("%s:%d: run %s was already read from an earlier file; skipped", source, lineno, run_id)
        else:
            records.append(record)
        here.add(run_id)
        seen.add(run_id)
    return records, problems


def warn_skipped(problems: list[Problem]) -> None:
    """One warning per skipped line, for readers that have no list to hand back (the store, the CLI tables).

    Usage::

        warn_skipped(problems)   # WARNING results.jsonl:3: skipped a malformed result line: not valid JSON ...
    """
    for problem in problems:
        logger.warning("%s:%d: skipped a malformed result line: %s", problem.file, problem.line,
                       _in_short(problem.details or (problem.message,)))


def parse_jsonl(data: bytes, path: str | Path, *, validate: bool = True) -> list[dict[str, Any]]:
    """Records of one results file's bytes; bad lines and repeated run_ids are skipped with a warning.

    Usage::

        records = parse_jsonl(Path("results.jsonl").read_bytes(), "results.jsonl")
    """
    records, problems = parse_records(data, path, validate=validate)
    warn_skipped(problems)
    return records
