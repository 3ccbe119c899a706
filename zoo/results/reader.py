"""The one reader of results folders: every ``results.jsonl`` under the given paths, as records plus problems.

``medzoo results``, ``medzoo sweep-summary``, ``medzoo leaderboard build`` and the Hub publisher all read
through :func:`read_results`, so they see the same records: the same lines skipped (each a
:class:`~zoo.results.jsonl.Problem` naming file, line and field), the same run kept when sweeps merged from
several machines overlap (the first file wins), the same current names for renamed components, and every
run's results folder remembered (``zoo.results.per_sample.remember_store``), so intervals and paired tests
over shared test images are computed the same way wherever the records are shown.

Usage::

    records, problems = read_results(["medzoo-runs", "other-lab/results.jsonl"])
    records = load_records("medzoo-runs")          # the same, each skipped line a logged warning
"""

from __future__ import annotations

import gc
import logging
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from zoo.errors import DataError
from zoo.results.jsonl import Problem, parse_records, warn_skipped
from zoo.results.per_sample import remember_store
from zoo.results.store import RESULTS_FILENAME

logger = logging.getLogger("zoo.results.store")  # the name users' log filters already know

__all__ = ["Problem", "gc_paused", "load_records", "read_results", "results_files"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: parsed records are acyclic, and with 10,000 of them alive every
    collection walks millions of objects (about a tenth of a leaderboard build). Reference counting still frees.

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


def read_results(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], *, validate: bool = True,
                 require_each: bool = False) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Valid records of results files or folders, and the problems of the lines that were skipped.

    A folder holding no results file is a warning, or a ``DataError`` with ``require_each=True`` (the
    leaderboard: a folder named on its command line must contribute). ``validate=False`` keeps any JSON
    object with a ``run_id`` (to inspect a damaged file).

    Usage::

        records, problems = read_results(["medzoo-runs"], require_each=True)
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    records: list[dict[str, Any]] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for given in paths:
        files = results_files(Path(given))
        if not files and require_each:
            raise DataError(f"no {RESULTS_FILENAME} in {given}; run `medzoo run SUITE -o {given}` first")
        if not files:
            logger.warning("%s: no %s found", given, RESULTS_FILENAME)
        for file in files:
            try:
                data = file.read_bytes()
            except OSError as err:
                raise DataError(f"cannot read results from {file}: {(err.strerror or str(err)).lower()}") from None
            with gc_paused():
                found, skipped = parse_records(data, file, seen, validate=validate)
            for record in found:
                remember_store(record["run_id"], file.parent)  # its predictions files are relative to it
            records += found
            problems += skipped
    return records, problems


def load_records(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], *,
                 validate: bool = True) -> list[dict[str, Any]]:
    """:func:`read_results` for callers with no list of problems to show: each skipped line is a warning.

    Usage::

        records = load_records(["results/quick", "downloads/other-lab/results.jsonl"])
    """
    records, problems = read_results(paths, validate=validate)
    warn_skipped(problems)
    return records
