"""Reading result lines: one JSON record a line, validated, with the file and line of every bad one.

Shared by the results store (``zoo.results.store``) and the leaderboard's reader, so both skip the same
lines with the same words.

Usage::

    for lineno, record, problems in jsonl_lines(Path("results.jsonl").read_bytes()): ...
    records = parse_jsonl(Path("results.jsonl").read_bytes(), "results.jsonl")
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Iterator

from zoo.results.names import canonical_record
from zoo.results.record import validate_record

logger = logging.getLogger("zoo.results.store")  # the name users' log filters already know


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


def _in_short(problems: list[str]) -> str:
    """The first three problems on one line ("record: " names the whole line: said already by the message)."""
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return "; ".join(p.removeprefix("record: ") for p in problems[:3]) + more


def parse_jsonl(data: bytes, path: str | Path, *, validate: bool = True) -> list[dict[str, Any]]:
    """Records of one results file's bytes; bad lines and repeated run_ids are skipped with a warning.

    Usage::

        records = parse_jsonl(Path("results.jsonl").read_bytes(), "results.jsonl")
    """
    records: list[dict[str, Any]] = []
    seen: set[str] = set()
    for lineno, record, problems in jsonl_lines(data, validate):
        if record is None:
            logger.warning("%s:%d: skipped a malformed result line: %s", path, lineno, _in_short(problems))
            continue
        if record["run_id"] in seen:
            logger.warning("%s:%d: skipped a second record of run %s", path, lineno, record["run_id"])
            continue
        seen.add(record["run_id"])
        records.append(record)
    return records
