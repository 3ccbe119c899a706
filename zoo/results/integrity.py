"""Are a finished run's files still the ones it wrote? Digests in the record, checked on resume and on read.

A record carries ``files``: ``{path relative to the results folder: {"sha256", "bytes"}}`` for every weights
file and the ``config.json`` the run wrote. ``medzoo run`` checks them before it skips a finished run: a
run whose checkpoint was deleted, truncated or overwritten is retired (its record moves to
``results.retired.jsonl``, its folder to ``damaged/``: nothing is deleted) and trained again. ``medzoo
results`` and ``leaderboard build`` warn about such runs. Records written before digests existed are checked
for the presence of their checkpoints only. Temporaries (``.NAME.tmp-PID``) left by a killed process are
removed when ``medzoo run`` starts.

Usage::

    record["files"] = describe_files(store.root, ["runs/3f9c/model.safetensors", "runs/3f9c/config.json"])
    file_problems(record, store.root)       # ['runs/3f9c/model.safetensors: 1024 bytes, the run wrote 639920']
    retire_damaged(store, wanted_run_ids)   # before a resume decides what is finished
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any, Iterable

from zoo.digests import sha256_file

logger = logging.getLogger(__name__)

DAMAGED_DIRNAME = "damaged"
_TEMPORARY = re.compile(r"^\..+\.tmp-(\d+)$")  # zoo.checkpoint.atomic_write's temporary names


def describe_files(root: Path, paths: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``{relative path: {"sha256", "bytes"}}`` of files under ``root``, read back from disk as they landed."""
    out = {}
    for rel in sorted(set(paths)):
        path = Path(root) / rel
        out[rel] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    return out


def _recorded_paths(record: dict[str, Any]) -> list[str]:
    """Checkpoints a record without ``files`` names (the reported one and each selection rule's)."""
    paths = [record.get("checkpoint")]
    paths += [s.get("checkpoint") for s in (record.get("selections") or {}).values() if isinstance(s, dict)]
    return sorted({p for p in paths if isinstance(p, str)})


def file_problems(record: dict[str, Any], root: Path, *, check_hash: bool = True) -> list[str]:
    """What is wrong with the files ``record`` wrote under ``root`` (empty when all are as written).

    Usage::

        file_problems(record, Path("medzoo-runs"))  # ['runs/3f9c/model.safetensors: missing']
    """
    problems = []
    files = record.get("files")
    if not isinstance(files, dict):  # a record from before digests: presence is all that can be checked
        return [f"{rel}: missing" for rel in _recorded_paths(record) if not (Path(root) / rel).is_file()]
    for rel, expected in sorted(files.items()):
        path = Path(root) / rel
        if not path.is_file():
            problems.append(f"{rel}: missing")
        elif path.stat().st_size != expected.get("bytes"):
            problems.append(f"{rel}: {path.stat().st_size} bytes, the run wrote {expected.get('bytes')}")
        elif check_hash and sha256_file(path) != expected.get("sha256"):
            problems.append(f"{rel}: sha256 differs from the record (overwritten or corrupt)")
    return problems


def warn_damaged(records: list[dict[str, Any]], folder: Path) -> int:
    """Log one warning for the runs of ``folder``'s results file whose files are damaged; returns their count.

    A results file copied without its ``runs/`` folder (shared results) is not warned about run by run.

    Usage::

        warn_damaged(store.records(), store.root)
    """
    if not (Path(folder) / "runs").is_dir():
        return 0
    damaged = {r["run_id"]: p for r in records if (p := file_problems(r, folder))}
    if damaged:
        first_id, first = next(iter(damaged.items()))
        more = f" and {len(first) - 1} more" if len(first) > 1 else ""
        logger.warning("%s: %d of %d runs have damaged or missing files (run %s: %s%s); their numbers stand, but "
                       "their checkpoints cannot be used: `medzoo run` of their suite with -o %s trains them again",
                       folder, len(damaged), len(records), first_id, first[0], more, folder)
    return len(damaged)


def warn_damaged_loaded(records: list[dict[str, Any]]) -> int:
    """``warn_damaged`` for records read by ``load_records``, grouped by the folder each came from."""
    from zoo.results.per_sample import store_of

    groups: dict[Path, list[dict[str, Any]]] = {}
    for record in records:
        if (folder := store_of(record["run_id"])) is not None:
            groups.setdefault(folder, []).append(record)
    return sum(warn_damaged(group, folder) for folder, group in groups.items())


def remove_stale_temporaries(root: Path) -> list[Path]:
    """Delete ``.NAME.tmp-PID`` files under ``root/runs`` and ``root/pretrain`` whose process is gone."""
    removed = []
    for sub in ("runs", "pretrain"):
        base = Path(root) / sub
        if not base.is_dir():
            continue
        for path in base.rglob(".*.tmp-*"):
            match = _TEMPORARY.match(path.name)
            if match and path.is_file() and not _alive(int(match.group(1))):
                path.unlink(missing_ok=True)
                removed.append(path)
    if removed:
        logger.info("removed %d temporary file(s) left by killed processes (e.g. %s)", len(removed), removed[0])
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def retire_damaged(store, run_ids: set[str]) -> list[str]:
    """Retire the finished runs among ``run_ids`` whose files are damaged, so the caller trains them again.

    Each one's record moves to ``results.retired.jsonl`` (with the reason) and its folder to
    ``damaged/<run_id>-<UTC time>``; returns their run ids. Stale temporaries are removed first.

    Usage::

        retire_damaged(ResultStore("medzoo-runs"), {run.run_id for run in runs})
    """
    remove_stale_temporaries(store.root)
    reasons = {}
    for record in store.records():
        if record["run_id"] in run_ids and (problems := file_problems(record, store.root)):
            reasons[record["run_id"]] = "; ".join(problems)
    if not reasons:
        return []
    store.retire(reasons)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for run_id, reason in reasons.items():
        folder = store.run_dir(run_id, create=False)
        moved = Path(store.root) / DAMAGED_DIRNAME / f"{run_id}-{stamp}"
        if folder.exists():
            moved.parent.mkdir(exist_ok=True)
            shutil.move(str(folder), str(moved))
        logger.warning("run %s: %s; training it again (its record is kept in %s%s)", run_id, reason,
                       store.retired_path.name, f", its files in {moved.relative_to(store.root)}" if folder.exists()
                       or moved.exists() else "")
    return sorted(reasons)
