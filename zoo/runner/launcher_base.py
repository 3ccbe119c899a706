"""What every launcher shares: the ``Launcher`` interface, the picklable ``RunJob`` a worker or cluster job
calls on one run, threads, and reporting. ``zoo.runner.launchers`` (local and worker processes) and
``zoo.runner.submitit_launcher`` (cluster jobs) build on it; neither imports the other's module at import time.

A launcher gets the unfinished runs of a suite after ``run_suite``'s checks and trains each through
``zoo.runner.train_record.train_and_record``, under the run's lock (``zoo.runner.run_lock``).

Usage::

    class MyLauncher(Launcher):
        name = "mine"

        def launch(self, runs, *, output_dir, data_dir, download, cpu, mixed_precision, show_progress=True,
                   accelerator=None, title="runs"):
            job = RunJob(str(output_dir), None, download, cpu, mixed_precision)
            for run in runs:
                report_finished(run, job(run))
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.errors import ConfigError, MedzooError
from zoo.results.store import ResultStore

logger = logging.getLogger(__name__)

_PROCESS_ACCELERATOR: dict[tuple[str, bool], Any] = {}  # one Accelerator per worker process, made on first use
_PROCESS_STORE: dict[tuple[str, int | None], Any] = {}  # one results store per worker process and folder


class Launcher:
    """Who trains a suite's unfinished runs (``medzoo run --launcher NAME``).

    ``check`` runs once, before the suite is expanded: a bad option fails there in one line. ``launch`` trains
    the runs and returns when every one has finished (a failure is raised after the running ones end).
    ``in_process``: the launcher trains in this process, so it may run in every process of an
    ``accelerate launch``; the others start processes of their own and refuse that.
    """

    name = ""
    in_process = False

    def check(self, output_dir: Path) -> None:
        """Nothing to check by default (options were checked in ``__init__``)."""

    def launch(self, runs: list, *, output_dir: Path, data_dir: Path | None, download: bool, cpu: bool,
               mixed_precision: str, show_progress: bool = True, accelerator: Any = None,
               title: str | None = None) -> None:
        """Train ``runs``. An in-process launcher trains with the caller's ``accelerator`` and labels its
        progress bar ``title`` (``suite NAME``); the others ignore both (their bars count runs or jobs)."""
        raise NotImplementedError


class LaunchError(MedzooError):
    """Runs failed in worker processes or cluster jobs (the others are kept; rerun to retry the failed ones)."""


def available_cpus() -> int:
    """CPUs this process may use (its affinity mask, e.g. a Slurm allocation), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def check_threads(threads: int | None) -> None:
    """``--threads``: None (the launcher's default) or an integer >= 1."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ConfigError(f"--threads must be an integer >= 1, got {threads!r}")


def set_threads(threads: int | None) -> None:
    """Limit this process's intra-op threads (torch and the BLAS/OpenMP libraries of anything it starts)."""
    if not threads:
        return
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)
    import torch

    torch.set_num_threads(threads)


@dataclass(frozen=True)
class RunJob:
    """Trains one run in whatever process calls it: a worker, a cluster job. Picklable (plain fields only).

    Usage::

        job = RunJob(output_dir="/abs/medzoo-runs", data_dir=None, download=False, cpu=True,
                     mixed_precision="no", threads=1)
        job(run_spec)      # {'run_id': ..., 'skipped': False, 'target_test_accuracy': 0.81}
    """

    output_dir: str
    data_dir: str | None
    download: bool
    cpu: bool
    mixed_precision: str
    threads: int | None = None
    log_level: int = logging.WARNING  # worker processes: the parent logs each finished run
    # False: a run another process holds is handed back at once ({"busy": True}) for the launcher to retry
    # later; True: wait for its lock (then skip it if that process stored it, else train it)
    wait_for_lock: bool = True
    parent_pid: int | None = None  # a local worker's launcher: no record is stored once it has died
    # True: each call runs in a process of its own that exits with it (submitit's local and Slurm jobs, not
    # its in-process debug executor): a dedicated process (zoo.runner.process_heap)
    dedicated_process: bool = False

    def __call__(self, run) -> dict[str, Any]:
        from zoo.runner.process_heap import become_dedicated, prepare_to_train
        from zoo.runner.run_lock import try_lock, wait_lock
        from zoo.runner.train_record import make_accelerator, run_label, train_and_record

        if not logging.getLogger().handlers:  # a fresh interpreter: say what matters in its log
            logging.basicConfig(level=self.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        set_threads(self.threads)
        if self.dedicated_process:  # a submitit job's process exits with its run: frozen like a worker's
            become_dedicated()
        prepare_to_train()  # a worker or cluster job: the runtime imported, freed host memory kept for reuse
        key = (self.mixed_precision, self.cpu)
        if key not in _PROCESS_ACCELERATOR:
            _PROCESS_ACCELERATOR[key] = make_accelerator(self.mixed_precision, self.cpu)
        # One store per process: it reads only the lines appended since its last look (not the whole file per run)
        store = _PROCESS_STORE.setdefault((self.output_dir, self.parent_pid),
                                          ParentGuardedStore(self.output_dir, self.parent_pid))
        if run.run_id in store.finished_run_ids():  # finished by another worker, job or an earlier launch
            return {"run_id": run.run_id, "skipped": True}
        root = Path(self.output_dir)
        lock = wait_lock(root, run.run_id, run_label(run)) if self.wait_for_lock else try_lock(root, run.run_id)
        if lock is None:  # another launch is training it right now
            return {"run_id": run.run_id, "skipped": True, "busy": True}
        with lock:
            if run.run_id in store.finished_run_ids():  # stored between our first look and our lock
                return {"run_id": run.run_id, "skipped": True}
            data_dir = Path(self.data_dir) if self.data_dir else None
            record = train_and_record(run, _PROCESS_ACCELERATOR[key], store, data_dir, self.download,
                                      show_progress=False)
        return {"run_id": run.run_id, "skipped": False,
                "target_test_accuracy": record["metrics"]["target_test"]["accuracy"]}

    def checkpoint(self, run):
        """submitit calls this on a timeout or preemption: requeue the same run (it restarts from scratch)."""
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self, run)


def report_finished(run, outcome: dict[str, Any], bar=None) -> None:
    """Log one run a worker or job finished (the parent process logs, so lines never interleave)."""
    from zoo.runner.train_record import run_label

    if outcome.get("skipped"):
        logger.info("%s: finished meanwhile elsewhere; skipped", run_label(run))
    else:
        logger.info("%s: target-test accuracy %.4f", run_label(run), outcome["target_test_accuracy"])
    if bar is not None:
        bar.update(1)


class ParentGuardedStore(ResultStore):
    """A worker's store: ``append`` ends the process instead if its launcher (``parent_pid``) has died.

    An orphaned worker's record would land in a sweep its user believes stopped, racing a rerun.
    """

    def __init__(self, root: str | os.PathLike[str], parent_pid: int | None) -> None:
        super().__init__(root)
        self.parent_pid = parent_pid

    def append(self, record: dict[str, Any]) -> bool:
        if self.parent_pid is not None and os.getppid() != self.parent_pid:
            os._exit(1)  # no cleanup worth running: the run is retrained by the next launch
        return super().append(record)
