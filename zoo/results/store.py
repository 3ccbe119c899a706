"""The append-only results store: ``<root>/results.jsonl`` (one record a line) and ``<root>/runs/<run_id>/``.

Why the care: several processes of a sweep append to one file, any of them may be killed mid-write, and a
person may edit the file by hand. So each append is one ``os.write`` of one whole line on an ``O_APPEND``
descriptor, under an exclusive ``flock`` (so lines never interleave), followed by ``fsync``; a line left
half-written is skipped by readers with a warning naming file and line, and the next append starts on a
fresh line. A run whose ``run_id`` is already stored is not written twice, which makes reruns idempotent.
Locking needs POSIX ``fcntl``; elsewhere appends are single writes without a lock. Like any ``flock``,
it is only as good as the file system's (local disks: yes; some network file systems: no).

Usage::

    store = ResultStore("results/quick")
    store.check_writable()                 # before any work starts: OutputError with a fix if not
    if run_id not in store.finished_run_ids():
        ...train...
        store.append(record)               # False if that run_id was stored meanwhile
    for record in store.records(): ...
"""

from __future__ import annotations

import errno
import json
import logging
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from zoo.errors import ConfigError, DataError, OutputError
from zoo.results.jsonl import parse_jsonl, parse_line
from zoo.results.per_sample import remember_store
from zoo.results.record import RUN_ID_PATTERN, check_record, to_jsonable

try:  # POSIX only
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

RESULTS_FILENAME = "results.jsonl"
RETIRED_FILENAME = "results.retired.jsonl"  # records of runs retrained because their files were damaged
RUNS_DIRNAME = "runs"


def _cannot_write(root: Path, err: OSError | str) -> OutputError:
    if isinstance(err, FileExistsError):
        reason = "it is a file, not a folder"
    elif isinstance(err, OSError):
        reason = (err.strerror or str(err)).lower()
    else:
        reason = err
    return OutputError(f"cannot write results to {root}: {reason}; pass --output-dir to a writable folder")


@contextmanager
def _locked(fd: int, exclusive: bool) -> Iterator[None]:
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


@contextmanager
def _locked_current(path: Path) -> Iterator[int]:
    """An exclusively locked descriptor of the file *now* at ``path`` (``retire`` may have replaced it while
    this process waited for the lock; appending to the replaced file would lose the line)."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            with _locked(fd, exclusive=True):
                info, now = os.fstat(fd), os.stat(path)
                if (info.st_dev, info.st_ino) == (now.st_dev, now.st_ino):
                    yield fd
                    return
        finally:
            os.close(fd)


class ResultStore:
    """An append-only store of result records in a folder (see the module docstring).

    Usage::

        store = ResultStore(output_dir)
        store.check_writable()
        store.append(record)
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.path = self.root / RESULTS_FILENAME
        # run_ids already in the file up to byte offset _scanned; reset if the file was replaced or shrank.
        self._ids: set[str] = set()
        self._scanned = 0
        self._file_key: tuple[int, int] | None = None

    def __repr__(self) -> str:
        return f"ResultStore({str(self.root)!r})"

    def check_writable(self) -> None:
        """Create the folder if needed and prove it writable; else one-line ``OutputError`` with the fix.

        Usage::

            ResultStore(args.output_dir).check_writable()   # before loading data or building models
        """
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".medzoo-write-check-", dir=self.root)
            os.close(fd)
            os.unlink(probe)
            if self.path.exists():
                os.close(os.open(self.path, os.O_WRONLY | os.O_APPEND))
        except OSError as err:
            raise _cannot_write(self.root, err) from None

    def _refresh_ids(self, fd: int) -> None:
        """Bring ``_ids`` up to date with the file; the caller holds the lock, so no write is in flight."""
        info = os.fstat(fd)
        key = (info.st_dev, info.st_ino)
        if key != self._file_key or info.st_size < self._scanned:
            self._ids, self._scanned, self._file_key = set(), 0, key
        if info.st_size == self._scanned:
            return
        os.lseek(fd, self._scanned, os.SEEK_SET)
        chunks, remaining = [], info.st_size - self._scanned
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        for raw in b"".join(chunks).split(b"\n"):
            record, _ = parse_line(raw) if raw.strip() else (None, None)
            if record is not None:
                self._ids.add(record["run_id"])
        self._scanned = info.st_size

    def append(self, record: dict[str, Any], *, validate: bool = True) -> bool:
        """Append one record as one line; ``False`` (nothing written) if its ``run_id`` is already stored.

        Raises ``ConfigError`` for an invalid record (``validate=False`` only requires a ``run_id``) and
        ``OutputError`` when the file cannot be written.

        Usage::

            if not store.append(record):
                logger.info("run %s was already stored", record["run_id"])
        """
        if validate:
            check_record(record)
        elif not (isinstance(record, dict) and isinstance(record.get("run_id"), str) and record["run_id"]):
            raise ConfigError("invalid result record: run_id: missing")
        run_id = record["run_id"]
        try:
            line = json.dumps(to_jsonable(record), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"invalid result record {run_id!r}: not plain JSON ({err})") from None
        data = (line + "\n").encode("utf-8")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with _locked_current(self.path) as fd:
                self._refresh_ids(fd)
                if run_id in self._ids:
                    logger.debug("%s: run %s is already stored; not appended", self.path, run_id)
                    return False
                size = os.fstat(fd).st_size
                if size:  # a killed writer or an editor may have left no final newline: start a fresh line
                    os.lseek(fd, size - 1, os.SEEK_SET)
                    if os.read(fd, 1) != b"\n":
                        data = b"\n" + data
                written = os.write(fd, data)  # ONE write: with O_APPEND and the lock, lines never interleave
                if written != len(data):
                    raise OSError(errno.EIO, f"short write ({written} of {len(data)} bytes)")
                os.fsync(fd)
                self._ids.add(run_id)
                self._scanned = size + len(data)
        except OSError as err:
            raise _cannot_write(self.root, err) from None
        return True

    @property
    def retired_path(self) -> Path:
        return self.root / RETIRED_FILENAME

    def retire(self, reasons: dict[str, str]) -> None:
        """Move the records of ``reasons``' run ids to ``results.retired.jsonl``, each with its reason.

        The results file is rewritten whole (temporary + rename) under its lock; an appender waiting for
        the lock then writes to the new file (``_locked_current``). Lines that do not parse are kept.

        Usage::

            store.retire({"3f9c2a1b": "runs/3f9c2a1b/model.safetensors: missing"})
        """
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        try:
            with _locked_current(self.path) as fd:
                data = os.pread(fd, os.fstat(fd).st_size, 0)
                kept, retired = [], []
                for raw in data.splitlines(keepends=True):
                    record, _ = parse_line(raw) if raw.strip() else (None, None)
                    if record is not None and record["run_id"] in reasons:
                        retired.append({**record, "retired": {"reason": reasons[record["run_id"]], "at": stamp}})
                    else:
                        kept.append(raw if raw.endswith(b"\n") else raw + b"\n")
                with open(self.retired_path, "ab") as handle:  # first: a crash now leaves a copy, not a loss
                    handle.write(b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in retired))
                    handle.flush()
                    os.fsync(handle.fileno())
                tmp = self.path.with_name(f".{RESULTS_FILENAME}.tmp-{os.getpid()}")
                with open(tmp, "wb") as handle:
                    handle.write(b"".join(kept))
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.path)
        except OSError as err:
            raise _cannot_write(self.root, err) from None
        self._ids, self._scanned, self._file_key = set(), 0, None

    def records(self, *, validate: bool = True) -> list[dict[str, Any]]:
        """Every stored record in file order; malformed lines are skipped with a warning, never fatal.

        ``validate=False`` keeps any JSON object with a ``run_id`` (e.g. to inspect a damaged file).

        Usage::

            accuracies = [r["metrics"]["target_test"]["accuracy"] for r in store.records()]
        """
        try:
            with open(self.path, "rb") as handle:
                with _locked(handle.fileno(), exclusive=False):  # never see a line mid-write
                    data = handle.read()
        except FileNotFoundError:
            return []
        except OSError as err:  # e.g. the root is a file, or unreadable
            raise DataError(f"cannot read results from {self.path}: {(err.strerror or str(err)).lower()}") from None
        records = parse_jsonl(data, self.path, validate=validate)
        for record in records:
            remember_store(record["run_id"], self.root)  # its predictions files are relative to the store
        return records

    def finished_run_ids(self) -> set[str]:
        """The run_ids that have a valid stored record (a sweep skips these).

        Incremental: only the bytes appended since this store's last look are parsed (a file replaced by
        ``retire`` or shrunk is read again whole), so a worker asking before each run pays for new lines only.

        Usage::

            todo = [run for run in runs if run.run_id not in store.finished_run_ids()]
        """
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return set()
        except OSError as err:
            raise DataError(f"cannot read results from {self.path}: {(err.strerror or str(err)).lower()}") from None
        try:
            with _locked(fd, exclusive=False):  # never see a line mid-write
                self._refresh_ids(fd)
        finally:
            os.close(fd)
        return set(self._ids)

    def __contains__(self, run_id: object) -> bool:
        return run_id in self.finished_run_ids()

    def get(self, run_id: str) -> dict[str, Any] | None:
        """The stored record of ``run_id``, or ``None``.

        Usage::

            record = store.get("3f9c2a1b")
        """
        return next((record for record in self.records() if record["run_id"] == run_id), None)

    def run_dir(self, run_id: str, *, create: bool = True) -> Path:
        """``<root>/runs/<run_id>/`` for a run's checkpoints and logs (created unless ``create=False``).

        Usage::

            checkpoint = store.run_dir(run_id) / "model.safetensors"
        """
        if not (isinstance(run_id, str) and RUN_ID_PATTERN.match(run_id)):
            raise ConfigError(f"run_id {run_id!r} cannot name a folder; use 1-128 characters from [A-Za-z0-9._-]")
        path = self.root / RUNS_DIRNAME / run_id
        if create:
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise _cannot_write(self.root, err) from None
        return path

