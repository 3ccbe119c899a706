"""One lock per run, so that several ``medzoo run`` on one output folder share the runs instead of repeating them.

A process trains a run only while it holds an exclusive ``flock`` on ``<output>/locks/<run_id>.lock``. The
first pass over the runs only *tries* each lock: a run another process is training is put aside and the
next one is taken. Then the runs put aside are waited for, one by one; when a lock comes free the store is
read again: a finished run is skipped, and a run whose holder died without a record (the kernel releases a
dead process's ``flock``) is trained here. After taking a lock the store is always read again, since another
process may have finished the run between our listing and our locking.

Lock files are removed when released; the holder's pid is written into its file for the waiting message.
Removing a lock file is safe because a lock taken on a file that is no longer at its path is dropped and
taken again. Like any ``flock``, this is as good as the file system's (local disks: yes; some network file
systems: no); without ``fcntl`` (Windows) no lock is taken and processes may repeat each other's runs.

Under ``accelerate launch`` only the main process touches the locks: every decision (train, skip, busy) is
passed to the other ranks through ``agree`` (a broadcast), so all ranks train the same runs together.

Usage::

    for run in claim_runs(todo, store.root, store.finished_run_ids):
        train_and_record(run, ...)           # the run's lock is held until the loop asks for the next run
"""

from __future__ import annotations

import errno
import logging
import os
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

try:  # POSIX only
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

LOCKS_DIRNAME = "locks"
POLL_S = 0.5  # how often a run held elsewhere is tried again (a poll, not a blocking wait: see claim_runs)

Run = TypeVar("Run")


class RunLock:
    """An exclusive ``flock`` held on one run's lock file; ``release()`` (or ``with``) removes the file.

    Usage::

        lock = try_lock(Path("medzoo-runs"), run_id)
        if lock is not None:
            with lock:
                ...train...
    """

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path, self.fd = path, fd

    def release(self) -> None:
        if self.fd is None:
            return
        try:  # unlink while still holding it: a process that opened the old file notices (see try_lock)
            self.path.unlink()
        except OSError:
            pass
        os.close(self.fd)  # closing drops the flock
        self.fd = None
        try:  # the folder too, once no process holds a lock (fails harmlessly while one does)
            self.path.parent.rmdir()
        except OSError:
            pass

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def lock_path(root: Path, run_id: str) -> Path:
    return Path(root) / LOCKS_DIRNAME / f"{run_id}.lock"


def try_lock(root: Path, run_id: str) -> RunLock | None:
    """Take the run's lock now, or ``None`` if another process holds it."""
    path = lock_path(root, run_id)
    if fcntl is None:  # pragma: no cover - Windows: no locking
        return RunLock(path, None)
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except (FileNotFoundError, FileExistsError):  # the folder was removed by a releasing process just now
            continue  # (mkdir's exist_ok re-raises when the folder it found is gone by its is_dir check): again
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return None
            raise
        try:  # the holder we waited on may have removed the file we opened: then our lock guards nothing
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return RunLock(path, fd)
        os.close(fd)


def lock_holder(root: Path, run_id: str) -> str:
    """``pid 1234`` of the process holding the run's lock, as far as its file says ("" if unknown)."""
    try:
        pid = lock_path(root, run_id).read_text().strip()
    except OSError:
        return ""
    return f"pid {pid}" if pid.isdigit() else ""


def wait_lock(root: Path, run_id: str, label: str = "", poll_s: float = POLL_S) -> RunLock:
    """Take the run's lock, waiting (with one log line) while another process holds it."""
    lock = try_lock(root, run_id)
    if lock is None:
        holder = lock_holder(root, run_id)
        logger.info("%s: waiting for another process%s that is training it", label or run_id,
                    f" ({holder})" if holder else "")
    while lock is None:
        time.sleep(poll_s)
        lock = try_lock(root, run_id)
    return lock


def _alone(decision: str) -> str:
    return decision


def claim_runs(runs: Iterable[Run], root: Path | None, finished: Callable[[], set[str]],
               agree: Callable[[str | None], str] = _alone, label: Callable[[Run], str] = str,
               poll_s: float = POLL_S) -> Iterator[Run]:
    """Yield each run of ``runs`` this process should train, holding its lock until the next one is asked for.

    ``root``: the output folder; ``None`` on the ranks of an ``accelerate launch`` other than the main one,
    which take no lock and follow the main process's decisions through ``agree`` (identity for one process;
    a broadcast from the main process otherwise). ``finished``: the run ids stored now (read on the main
    process only). Runs held by another process come last, each waited for in turn; one that process
    finished is skipped, one it left unfinished (it died) is yielded.
    """
    # Only the process that locks says what it decided (the other ranks of a launch follow it silently).
    say = logger.info if root is not None else (lambda *args: None)
    held_elsewhere = []
    for run in runs:
        decision, lock = agree_on(run, root, finished, agree)
        if decision == "busy":
            say("%s: another process is training it; taking the next run", label(run))
            held_elsewhere.append(run)
        elif decision == "train":
            yield from _holding(run, lock)
    for run in held_elsewhere:
        decision, lock = agree_on(run, root, finished, agree)
        if decision == "busy":
            holder = lock_holder(root, run.run_id) if root is not None else ""  # type: ignore[attr-defined]
            say("%s: waiting for another process%s that is training it", label(run), f" ({holder})" if holder else "")
        while decision == "busy":  # polled, so that every rank of a launch takes part in each decision
            time.sleep(poll_s)
            decision, lock = agree_on(run, root, finished, agree)
        if decision == "skip":
            say("%s: finished by another process; skipped", label(run))
        else:  # its holder died before storing it
            say("%s: the process that held it stopped before finishing it; training it here", label(run))
            yield from _holding(run, lock)


def _holding(run: Run, lock: RunLock | None) -> Iterator[Run]:
    """Yield ``run`` with its lock held; release it when the caller asks for the next run (or stops)."""
    try:
        yield run
    finally:
        if lock is not None:
            lock.release()


def agree_on(run, root: Path | None, finished: Callable[[], set[str]],
             agree: Callable[[str | None], str]) -> tuple[str, RunLock | None]:
    """``("train", lock)``, ``("skip", None)`` (stored already) or ``("busy", None)`` (locked elsewhere)."""
    decision, lock = None, None
    if root is not None:
        lock = try_lock(root, run.run_id)
        if lock is None:
            decision = "busy"
        elif run.run_id in finished():  # finished between our listing and our locking
            lock.release()
            lock, decision = None, "skip"
        else:
            decision = "train"
    return agree(decision), lock


def agreement(accelerator) -> Callable[[str | None], str]:
    """``agree`` for :func:`claim_runs`: the main process's decision, broadcast to every rank of a launch."""
    if accelerator.num_processes == 1:
        return _alone
    from accelerate.utils import broadcast_object_list

    return lambda decision: broadcast_object_list([decision], from_process=0)[0]
