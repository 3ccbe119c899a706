"""Launchers: who trains the unfinished runs of a suite (``medzoo run --launcher local|workers|submitit``).

- ``local`` (``LocalLauncher``, ``run_suite``'s default): one run after the other in this process (or in
  every process of an ``accelerate launch``, which is how one run uses several GPUs), each under its lock.
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
from dataclasses import replace
from pathlib import Path
from typing import Any

from zoo.errors import ConfigError
from zoo.results.store import ResultStore
from zoo.runner.launcher_base import (
    Launcher,
    LaunchError,
    RunJob,
    available_cpus,
    check_threads,
    report_finished,
    set_threads,
)

logger = logging.getLogger(__name__)

LAUNCHERS = ("local", "workers", "submitit")


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
    """Runs first in each worker process: die with the launcher, take a share of the CPUs and (with GPUs) a GPU,
    import the training runtime (frozen: the worker is a dedicated process, ``zoo.runner.process_heap``)."""
    from zoo.runner.process_heap import become_dedicated, prepare_to_train

    die_with_parent(parent_pid)
    become_dedicated()  # its imports frozen once, and its heap before exit (the teardown skips the walk)
    from tqdm import tqdm

    # tqdm's default lock is a process-shared semaphore; a worker killed with its launcher would leave it to be
    # reported "leaked" at exit, after the CLI's last line. A worker's bars are its own: a thread lock will do.
    tqdm.set_lock(threading.RLock())
    if gpu_queue is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu_queue.get()  # before this process initialises CUDA
    set_threads(threads)
    prepare_to_train()


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


class LocalLauncher(Launcher):
    """``--launcher local``: the runs one after the other in this process, with the caller's Accelerator.

    Under ``accelerate launch`` every process trains each run and the main process writes. Another
    ``medzoo run`` on the same folder may train some of these runs: each is trained under its lock and the
    ones held elsewhere are waited for last (only the main process locks; the other ranks follow its choice).
    ``threads`` (``--threads``) is set on this process by ``check``, before the suite's data is checked.
    """

    name = "local"
    in_process = True

    def __init__(self, threads: int | None = None) -> None:
        check_threads(threads)
        self.threads = threads

    def check(self, output_dir: Path) -> None:
        """The local launcher trains here: this process's CPU threads are set now (``--threads``)."""
        set_threads(self.threads)

    def launch(self, runs: list, *, output_dir: Path, data_dir: Path | None, download: bool, cpu: bool,
               mixed_precision: str, show_progress: bool = True, accelerator: Any = None,
               title: str | None = None) -> None:
        """Train ``runs`` here, one after the other; returns when every one has finished."""
        from tqdm.auto import tqdm

        from zoo.runner.run_lock import agreement, claim_runs
        from zoo.runner.train_record import make_accelerator, run_label, train_and_record

        accelerator = accelerator if accelerator is not None else make_accelerator(mixed_precision, cpu)
        store = ResultStore(output_dir)
        bar = tqdm(total=len(runs), desc=title or "runs", unit="run",
                   disable=not (show_progress and accelerator.is_main_process))
        for run in claim_runs(runs, store.root if accelerator.is_main_process else None, store.finished_run_ids,
                              agree=agreement(accelerator), label=run_label):
            bar.set_postfix_str(run_label(run))
            train_and_record(run, accelerator, store, data_dir, download, show_progress)
            accelerator.wait_for_everyone()  # under the run's lock: it is released once every rank is done
            bar.update(1)
        bar.close()


class WorkersLauncher(Launcher):
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

    def launch(self, runs: list, *, output_dir: Path, data_dir: Path | None, download: bool, cpu: bool,
               mixed_precision: str, show_progress: bool = True, accelerator: Any = None,
               title: str | None = None) -> None:
        """Train ``runs`` on the worker processes; returns when every one has finished."""
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        from tqdm.auto import tqdm

        from zoo.runner.train_record import run_label

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
                  workers_per_gpu: int | None = None, cpu: bool = False, **submitit_options: Any) -> Launcher:
    """The launcher called ``name`` (``local``: a ``LocalLauncher``); a ConfigError if unknown.

    ``workers``: processes (``workers``) or jobs running at once (``submitit``; default: all for Slurm, 1 for
    its local executor). ``workers_per_gpu`` (``workers`` only, instead of ``workers``): that many processes
    on each visible GPU; a ConfigError without a GPU or with ``cpu`` (``--cpu``). ``threads``: CPU threads of
    each process that trains (default: the CPUs divided among the local workers or jobs; for ``local``, set
    on this process by ``LocalLauncher.check``). ``submitit_options``: see
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
        return LocalLauncher(threads)
    if name == "workers":
        from zoo.runner.device_plan import total_workers

        workers = total_workers(workers, workers_per_gpu, cpu)  # G*N for --workers-per-gpu N; checks it
        return WorkersLauncher(workers if workers is not None else 2, threads)
    from zoo.runner.submitit_launcher import SubmititLauncher

    return SubmititLauncher(max_parallel=workers, threads=threads, **submitit_options)
