"""Launchers: who trains the unfinished runs of a suite (``medzoo run --launcher local|workers|submitit``).

- ``local`` (``None`` here): today's loop, one run after the other in this process (or in every process
  of an ``accelerate launch``, which is how one run uses several GPUs).
- ``workers``: N local worker processes share the runs, each a fresh ``spawn``-ed interpreter that trains
  one run at a time through the same ``train_and_record`` path; the CPU threads are divided among them and,
  with GPUs, worker i uses GPU ``i mod #GPUs`` (``--workers-per-gpu N``: N workers packed on each GPU;
  ``zoo.runner.device_plan`` says how many runs go to each device, in one line before training).
- ``submitit``: one job per run through the ``submitit`` package (``zoo.runner.submitit_launcher``):
  Slurm on a cluster, or its local / debug executors.

Whichever launcher trains them, runs append their record to the one ``results.jsonl`` under an exclusive
lock, and a record whose run id is stored already is not written twice; each worker or job also skips a run
that is finished by the time it starts, and trains a run only while holding its lock
(``zoo.runner.run_lock``), so two launches on one output folder share the runs. So killing a sweep anywhere
and rerunning the command resumes it: finished runs are skipped, the interrupted ones train again from scratch.

Workers die with their launcher: each asks Linux for SIGKILL when its parent dies (``PR_SET_PDEATHSIG``) and
also polls its parent pid (any POSIX system), and checks its parent is alive right before storing a record.
On SIGTERM or Ctrl-C the launcher kills its workers itself and says so in the CLI's one-line message.

Usage::

    launcher = make_launcher("workers", workers=2)     # or workers_per_gpu=4: 4 processes on each GPU
    records = run_suite(suite, Path("medzoo-runs"), launcher=launcher)
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from zoo.errors import ConfigError, MedzooError
from zoo.results.store import ResultStore

logger = logging.getLogger(__name__)

LAUNCHERS = ("local", "workers", "submitit")
_PROCESS_ACCELERATOR: dict[tuple[str, bool], Any] = {}  # one Accelerator per worker process, made on first use
_PROCESS_STORE: dict[tuple[str, int | None], Any] = {}  # one results store per worker process and folder


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

    def __call__(self, run) -> dict[str, Any]:
        from zoo.runner.run_lock import try_lock, wait_lock
        from zoo.runner.suite_runner import make_accelerator, run_label, train_and_record

        if not logging.getLogger().handlers:  # a fresh interpreter: say what matters in its log
            logging.basicConfig(level=self.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        set_threads(self.threads)
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
    from zoo.runner.suite_runner import run_label

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


def _watch_parent(parent_pid: int, poll_s: float = 0.5) -> None:
    """A worker's daemon thread: end the process once it is reparented, i.e. its launcher has died."""
    while os.getppid() == parent_pid:
        time.sleep(poll_s)
    os._exit(1)


def die_with_parent(parent_pid: int) -> None:
    """Make this process end when ``parent_pid`` (its parent) dies, however it dies (SIGKILL included).

    Linux: ``PR_SET_PDEATHSIG`` delivers SIGKILL at once. It fires when the *thread* that started the child
    ends; ProcessPoolExecutor starts spawn-context workers from the thread calling ``submit`` (checked on
    Python 3.11: the main thread here, which ends only with the process). Everywhere, a daemon thread also
    polls the parent pid every 0.5 s, covering other systems and workers started from another thread.
    """
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1: PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - an unusual libc: the watchdog still runs
            pass
    if os.getppid() != parent_pid:  # the parent died before the line above: no signal will come
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="medzoo-parent-watch", daemon=True).start()


def _init_worker(threads: int, gpu_queue, parent_pid: int) -> None:
    """Runs first in each worker process: die with the launcher, take a share of the CPUs and (with GPUs) a GPU."""
    die_with_parent(parent_pid)
    from tqdm import tqdm

    # tqdm's default lock is a process-shared semaphore; a worker killed with its launcher would leave it to be
    # reported "leaked" at exit, after the CLI's last line. A worker's bars are its own: a thread lock will do.
    tqdm.set_lock(threading.RLock())
    if gpu_queue is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu_queue.get()  # before this process initialises CUDA
    set_threads(threads)


def stop_workers(pool) -> int:
    """Kill ``pool``'s worker processes (their unfinished runs train again on a rerun); how many were alive."""
    # ProcessPoolExecutor has no public way before Python 3.14 (kill_workers); _processes is {pid: Process}.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    alive = [p for p in processes if p.is_alive()]
    for process in alive:
        process.kill()
    for process in alive:
        process.join(timeout=10)
    return len(alive)


class WorkersLauncher:
    """``--launcher workers --workers N``: N local processes take the runs in order, one at a time each.

    A run is handed out only when a worker is free, so after a failed run no new run starts; the running ones
    finish (and are kept), then the first error is raised:
    a user error (e.g. a diverged run) as its own one-line message, anything else with its traceback.
    """

    name = "workers"

    def __init__(self, workers: int, threads: int | None = None) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigError(f"--workers must be an integer >= 1, got {workers!r}")
        check_threads(threads)
        self.workers, self.threads = workers, threads

    def check(self, output_dir: Path) -> None:
        """Nothing to check before the suite is expanded (options were checked in ``__init__``)."""

    def launch(self, runs: list, *, output_dir: Path, data_dir: Path | None, download: bool, cpu: bool,
               mixed_precision: str, show_progress: bool = True) -> None:
        """Train ``runs`` on the worker processes; returns when every one has finished."""
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        from tqdm.auto import tqdm

        from zoo.runner.suite_runner import run_label

        if not runs:
            return
        workers = min(self.workers, len(runs))
        # Spawn, not fork: a forked copy of a process that already runs torch's thread pools can deadlock.
        context = multiprocessing.get_context("spawn")
        from zoo.runner.device_plan import plan_devices, visible_gpus

        plan = plan_devices(len(runs), visible_gpus(cpu), workers)  # worker i on GPU i mod #GPUs
        gpus, gpu_queue = list(plan.gpus), None
        if gpus:
            gpu_queue = context.Queue()
            for gpu in plan.worker_gpus:  # each worker takes one as it starts, before it initialises CUDA
                gpu_queue.put(gpu)
        threads = self.threads or max(1, available_cpus() // workers)
        waiting = RunJob(str(Path(output_dir).absolute()), str(Path(data_dir).absolute()) if data_dir else None,
                         download, cpu, mixed_precision, threads, parent_pid=os.getpid())
        first = replace(waiting, wait_for_lock=False)  # first pass: runs another launch holds are put aside
        logger.info("%d worker processes, %d CPU thread(s) each%s", workers, threads,
                    f", GPUs {gpus}" if gpus else "")
        logger.info("%s", plan.message())  # e.g. 12 runs on 2 devices: cuda:0 6 runs (3 workers), cuda:1 ...
        bar = tqdm(total=len(runs), desc="runs", unit="run", disable=not show_progress)
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker,
                                   initargs=(threads, gpu_queue, os.getpid()))
        failure: BaseException | None = None
        pending, active, held = [(run, first) for run in runs], {}, []
        ok = stopped = False
        try:
            while pending or active or held:
                if not pending and not active:  # only runs other launches held are left: wait for each
                    pending, held = [(run, waiting) for run in held], []
                # Hand out a run only when a worker is free: after a failure no new run starts at all.
                while pending and len(active) < workers and failure is None:
                    run, job = pending.pop(0)
                    active[pool.submit(job, run)] = run
                done, _ = wait(active, return_when=FIRST_COMPLETED)
                for future in done:
                    run = active.pop(future)
                    try:
                        outcome = future.result()
                    except BrokenProcessPool:
                        raise LaunchError("a worker process died (killed, or out of memory?); finished runs are "
                                          "kept, rerun the same command to resume") from None
                    except Exception as err:  # the running ones finish and are kept; the first error is raised
                        if failure is not None:
                            logger.warning("%s failed too: %s", run_label(run), err)
                        failure = failure or err
                        pending.clear()
                        held.clear()
                        continue
                    if outcome.get("busy"):
                        logger.info("%s: another process is training it; later", run_label(run))
                        held.append(run)
                        continue
                    report_finished(run, outcome, bar)
            ok = True
        except BaseException as err:  # SIGTERM, Ctrl-C, a dead worker: no worker may outlive this launch
            count = stop_workers(pool)
            stopped = True
            if count:  # the CLI's one-line message names it (BaseException.add_note, by hand on Python 3.10)
                err.__notes__ = [*getattr(err, "__notes__", []), f"stopped {count} worker process{'es' * (count > 1)}"]
            raise
        finally:
            bar.close()
            # With the workers gone this returns at once, and closes the pool's queues (else their semaphores
            # are reported as leaked at exit); if they could not be stopped, do not wait for their runs.
            pool.shutdown(wait=ok or stopped, cancel_futures=True)
        if failure is not None:
            raise failure


def make_launcher(name: str, workers: int | None = None, threads: int | None = None,
                  workers_per_gpu: int | None = None, cpu: bool = False, **submitit_options: Any):
    """The launcher called ``name`` (``None`` for ``local``: run_suite's own loop); a ConfigError if unknown.

    ``workers``: processes (``workers``) or jobs running at once (``submitit``; default: all for Slurm, 1 for
    its local executor). ``workers_per_gpu`` (``workers`` only, instead of ``workers``): that many processes
    on each visible GPU; a ConfigError without a GPU or with ``cpu`` (``--cpu``). ``threads``: CPU threads of
    each process that trains (default: the CPUs divided among the local workers or jobs; for ``local``, the
    caller sets them with ``set_threads``). ``submitit_options``: see
    ``zoo.runner.submitit_launcher.SubmititLauncher``.

    Usage::

        make_launcher("workers", workers_per_gpu=4)   # 4 runs at once on each GPU
        make_launcher("submitit", workers=8, cluster="slurm", partition="gpu", gpus_per_job=1, time_min=120)
    """
    if name not in LAUNCHERS:
        raise ConfigError(f"unknown launcher '{name}'; choose one of: {', '.join(LAUNCHERS)}")
    check_threads(threads)
    if workers_per_gpu is not None and name != "workers":
        raise ConfigError(f"--workers-per-gpu needs --launcher workers (got --launcher {name})"
                          + ("; a submitit job asks for its GPUs with --gpus-per-job" if name == "submitit" else ""))
    if name == "local":
        if workers not in (None, 1):
            raise ConfigError("--workers needs --launcher workers (or submitit); the local launcher runs one run "
                              "at a time")
        return None
    if name == "workers":
        from zoo.runner.device_plan import total_workers

        workers = total_workers(workers, workers_per_gpu, cpu)  # G*N for --workers-per-gpu N; checks it
        return WorkersLauncher(workers if workers is not None else 2, threads)
    from zoo.runner.submitit_launcher import SubmititLauncher

    return SubmititLauncher(max_parallel=workers, threads=threads, **submitit_options)
