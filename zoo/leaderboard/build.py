"""Write the static site: records -> ``index.html``, a page per suite, a page per run, assets, data.

The site is a function of the records and the predictions files they name (sha256-checked; cells whose files
are missing fall back to the seeds-only interval), sorted by run_id first, so their order does not matter: no
build time, no local paths, nothing random. A new site is written to a temporary folder next to the output
and moved into place; an existing output folder is updated only if it is empty or holds a site this command
built (its ``index.html`` says so), never anything else, and afterwards holds exactly the new site's files.

Layout::

    index.html                  suites
    suite-<name>-<version>.html one per suite
    runs/<run_id>.html          provenance of each run
    assets/style.css, app.js    from leaderboard/assets (shipped as zoo.leaderboard_assets)
    data/results.json, results.csv, leaderboard.json, cells.csv

Usage::

    report = build_site(records, "leaderboard/site", problems=problems)
    report.pages, report.bytes_index
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Sequence

from zoo.errors import DataError, OutputError
from zoo.leaderboard.data_files import data_files
from zoo.leaderboard.html import GENERATOR
from zoo.leaderboard.pages import index_page, suite_file, suite_page
from zoo.leaderboard.run_page import record_json, run_page
from zoo.leaderboard.summary import summarize_suites
from zoo.results.jsonl import Problem
from zoo.results.reader import gc_paused
from zoo.results.stats import group_value

ASSETS = ("style.css", "app.js")
MARKER = f'<meta name="generator" content="{GENERATOR}">'


@dataclass
class BuildReport:
    """What a build wrote: the output folder, how many files, the index size, the suites and skipped lines.

    Usage::

        report = build_site(records, "leaderboard/site"); print(report.files, report.bytes_index)
    """

    out: Path
    files: int
    bytes_index: int
    suites: list[str]
    runs: int
    problems: list[Problem]


def asset_bytes(name: str) -> bytes:
    """One of the site's static assets (``style.css``, ``app.js``), from ``leaderboard/assets``.

    Usage::

        asset_bytes("app.js")[:2]   # b"/*"
    """
    return (files("zoo.leaderboard_assets") / name).read_bytes()


def site_files(records: Sequence[dict[str, Any]], *, metric: str | None = None, split: str = "target_test",
               min_seeds: int | None = None, n_skipped: int = 0) -> tuple[dict[str, bytes], list[dict[str, Any]]]:
    """``({path: bytes}, suite summaries)``: the whole site in memory, a function of its
    arguments and the records' predictions files;
    ``metric`` None ranks each suite by its primary metric (:mod:`zoo.results.primary`).

    Usage::

        pages, summaries = site_files(records)
        pages["index.html"][:15]   # b'<!doctype html>'
    """
    # (run_id, rule): with --selection a run appears once per rule, in one order whatever the input's
    records = sorted(records, key=lambda r: (r["run_id"], r["selection"]["rule"]))
    summaries = summarize_suites(records, metric, split, min_seeds)
    out: dict[str, bytes] = {"index.html": index_page(summaries, n_skipped).encode("utf-8")}
    for suite in summaries:
        out[suite_file(suite["suite"])] = suite_page(suite).encode("utf-8")
    dumped = [record_json(record) for record in records]  # once: the run pages and results.json share it
    for record, text in zip(records, dumped):
        href = suite_file(group_value(record, "suite"))
        out[f"runs/{record['run_id']}.html"] = run_page(record, href, text).encode("utf-8")
    for name in ASSETS:
        out[f"assets/{name}"] = asset_bytes(name)
    out.update(data_files(records, summaries, split, dumped))
    return out, summaries


def _check_replaceable(out: Path) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise OutputError(f"cannot write the site to {out}: it is a file; pass --site a folder")
    if not any(out.iterdir()):
        return
    index = out / "index.html"
    try:
        ours = index.is_file() and MARKER in index.read_text(encoding="utf-8", errors="replace")[:2000]
    except OSError:
        ours = False
    if not ours:
        raise OutputError(f"{out} is not empty and holds no medzoo leaderboard; pass --site an empty or new folder")


def write_tree(tree: dict[str, bytes], out: str | os.PathLike[str]) -> Path:
    """Write ``{relative path: bytes}`` as the folder ``out``; afterwards it holds exactly those files.

    A new folder is written beside ``out`` and renamed into place (atomic). An earlier site is updated in
    place instead: changed files are rewritten, unchanged ones left alone and stale ones deleted, because
    deleting a 10,000-page site file by file is slower than building it on some file systems (ext4 mounted
    with ``discard``: ~3 ms per file here).

    Usage::

        write_tree({"index.html": b"..."}, "leaderboard/site")
    """
    out = Path(out)
    _check_replaceable(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.is_dir():
            _write_files(tree, out)
            _remove_stale(tree, out)
            return out
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    except OSError as err:
        raise OutputError(f"cannot write the site to {out}: {(err.strerror or str(err)).lower()}") from None
    try:
        _write_files(tree, tmp)
        os.chmod(tmp, 0o755)
        tmp.rename(out)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"cannot write the site to {out}: {(err.strerror or str(err)).lower()}") from None
    return out


def _remove_stale(tree: dict[str, bytes], root: Path) -> None:
    """Delete what ``root`` holds beyond ``tree``, and folders left empty (os.walk: pathlib's rglob is 5x slower)."""
    for folder, dirs, names in os.walk(root, topdown=False):  # bottom-up: files before their folders
        rel_folder = os.path.relpath(folder, root)
        for name in names + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            rel = name if rel_folder == "." else f"{rel_folder}/{name}".replace(os.sep, "/")
            if rel not in tree:
                os.unlink(os.path.join(folder, name))
        if folder != str(root) and not os.listdir(folder):
            os.rmdir(folder)


def _write_files(tree: dict[str, bytes], root: Path) -> None:
    """Write every file; one already holding the same bytes is left alone (a rebuild rewrites what changed)."""
    folders = {root / rel for rel in {str(Path(rel).parent) for rel in tree}}
    for folder in sorted(folders):
        folder.mkdir(parents=True, exist_ok=True)
    for rel, data in tree.items():
        path = root / rel
        try:
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                continue
        except FileNotFoundError:
            pass
        path.write_bytes(data)


def build_site(records: Sequence[dict[str, Any]], out: str | os.PathLike[str], *, metric: str | None = None,
               split: str = "target_test", min_seeds: int | None = None,
               problems: Sequence[Problem] = ()) -> BuildReport:
    """Build the site from valid records into ``out`` (see the module docstring).

    Usage::

        records, problems = read_records(["medzoo-runs"])
        build_site(records, "leaderboard/site", problems=problems)
    """
    if not records:
        raise DataError("no valid result records to build a leaderboard from"
                        + (f" ({len(problems)} malformed line(s) skipped)" if problems else ""))
    if min_seeds is not None and min_seeds < 1:
        raise DataError(f"--min-seeds must be at least 1, got {min_seeds}")
    _check_replaceable(Path(out))  # a folder that is not ours is refused before the site is computed
    with gc_paused():
        tree, summaries = site_files(records, metric=metric, split=split, min_seeds=min_seeds,
                                     n_skipped=len(problems))
    if not any(task["cells"] for suite in summaries for task in suite["tasks"]):
        shown = metric or ", ".join(sorted({s["metric"] for s in summaries}))
        raise DataError(f"no run has a finite {shown!r} on split {split!r}; pick --metric/--split that the runs have")
    path = write_tree(tree, out)
    return BuildReport(path, len(tree), len(tree["index.html"]), [s["suite"] for s in summaries], len(records),
                       list(problems))
