"""``medzoo run --launcher submitit``: one job per run through ``submitit`` (Slurm, or its local/debug executors).

Each job unpickles a ``RunJob`` and one ``RunSpec`` and trains that run through ``train_and_record``, like
the sequential loop; its record goes to the shared ``results.jsonl`` (appends are locked, duplicates are
skipped), its logs to ``<output>/submitit/<job id>_*``. On a timeout or preemption submitit requeues the
job (``RunJob.checkpoint``), which trains the run again from the start. The driver waits for every job and
logs each run as it finishes; killed, it leaves Slurm jobs running (their records still land), and a rerun
skips whatever has finished by then.

- ``cluster``: ``auto`` (Slurm when ``sbatch`` is there, else local), ``slurm``, ``local`` (each job a local
  subprocess) or ``debug`` (in this process, one after the other; submitit opens pdb on a failure).
- Slurm: all jobs are one job array; ``max_parallel`` (``--workers``) caps how many run at once. Local:
  ``max_parallel`` jobs at a time (default 1), the CPU threads divided among them.

Usage::

    launcher = SubmititLauncher(cluster="slurm", partition="gpu", gpus_per_job=1, time_min=120, max_parallel=16)
    run_suite(suite, Path("/shared/medzoo-runs"), launcher=launcher)
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from zoo.errors import ConfigError, MedzooError
from zoo.runner.launcher_base import Launcher, LaunchError, RunJob, available_cpus, check_threads, report_finished

logger = logging.getLogger(__name__)

CLUSTERS = ("auto", "slurm", "local", "debug")


def _submitit():
    try:
        import submitit
    except ImportError:
        raise ConfigError("--launcher submitit needs the submitit package: pip install 'medzoo[cluster]'") from None
    return submitit


def _last_line(err: BaseException) -> str:
    """The informative line of a job's error: submitit's message holds the job's traceback between lines of
    dashes, then log paths; the traceback's last line names the exception (``zoo.errors.DataError: ...``)."""
    parts = [part for part in str(err).split("-" * 22) if part.strip()]
    body = parts[1] if len(parts) >= 3 else str(err)
    lines = [line.strip() for line in body.splitlines() if line.strip()]
    return lines[-1] if lines else type(err).__name__


class SubmititLauncher(Launcher):
    """One submitit job per run (see the module docstring); Slurm options come from the command line."""

    name = "submitit"

    def __init__(self, max_parallel: int | None = None, cluster: str = "auto", folder: str | Path | None = None,
                 partition: str | None = None, gpus_per_job: int = 0, cpus_per_job: int | None = None,
                 mem_gb: float | None = None, time_min: int = 240, slurm_options: dict[str, Any] | None = None,
                 threads: int | None = None, poll_s: float = 1.0) -> None:
        if cluster not in CLUSTERS:
            raise ConfigError(f"unknown submitit cluster '{cluster}'; choose one of: {', '.join(CLUSTERS)}")
        for label, value, low in (("--workers", max_parallel, 1), ("--gpus-per-job", gpus_per_job, 0),
                                  ("--cpus-per-job", cpus_per_job, 1), ("--time", time_min, 1)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
                raise ConfigError(f"{label} must be an integer >= {low}, got {value!r}")
        self.max_parallel, self.cluster, self.folder = max_parallel, cluster, folder
        self.partition, self.gpus_per_job, self.cpus_per_job = partition, gpus_per_job, cpus_per_job
        check_threads(threads)
        self.mem_gb, self.time_min, self.threads, self.poll_s = mem_gb, time_min, threads, poll_s
        self.slurm_options = dict(slurm_options or {})

    def check(self, output_dir: Path) -> None:
        """Fail now, in one line, on a missing submitit or an option it refuses (before any data is checked)."""
        self.executor(output_dir)

    def executor(self, output_dir: Path):
        """The configured ``submitit.AutoExecutor``; a bad Slurm option is a one-line ConfigError."""
        submitit = _submitit()
        folder = Path(self.folder or Path(output_dir) / "submitit").absolute()
        try:
            executor = submitit.AutoExecutor(folder=folder, cluster=None if self.cluster == "auto" else self.cluster)
        except RuntimeError as err:  # e.g. --cluster slurm where there is no srun
            raise ConfigError(f"--cluster {self.cluster}: {err}; use --cluster local (or auto) on this machine"
                              ) from None
        params: dict[str, Any] = {"name": "medzoo", "timeout_min": self.time_min, "gpus_per_node": self.gpus_per_job,
                                  "cpus_per_task": self.cpus_per_job, "mem_gb": self.mem_gb,
                                  "slurm_partition": self.partition}
        params.update({f"slurm_{key}": value for key, value in self.slurm_options.items()})
        try:
            executor.update_parameters(**{k: v for k, v in params.items() if v is not None})
        except (NameError, AssertionError, ValueError, TypeError) as err:
            first = (str(err).splitlines() or [type(err).__name__])[0]  # submitit lists every valid key below it
            raise ConfigError(f"submitit refused an option: {first}") from None
        return executor

    def launch(self, runs: list, *, output_dir: Path, data_dir: Path | None, download: bool, cpu: bool,
               mixed_precision: str, show_progress: bool = True, accelerator: Any = None,
               title: str | None = None) -> None:
        """Submit one job per run and wait for all; failed runs raise one ``LaunchError`` at the end."""
        from tqdm.auto import tqdm

        if not runs:
            return
        executor = self.executor(output_dir)
        cluster = executor.cluster
        parallel = self.max_parallel or (len(runs) if cluster == "slurm" else 1)
        # Local jobs share this machine's CPUs; a Slurm job gets its own allocation (cpus_per_task).
        threads = self.threads or (self.cpus_per_job if cluster == "slurm" else (
            None if cluster == "debug" else max(1, available_cpus() // min(parallel, len(runs)))))
        job = RunJob(str(Path(output_dir).absolute()), str(Path(data_dir).absolute()) if data_dir else None,
                     download, cpu, mixed_precision, threads, log_level=logging.INFO,
                     dedicated_process=cluster in ("local", "slurm"))  # debug runs jobs in this process
        # each job trains one run on the devices it asks for (the cluster picks which): say so, as the workers
        # launcher says how many runs go to each device
        gpus = 0 if cpu else self.gpus_per_job
        where = f"{gpus} GPU{'s' * (gpus > 1)}" if gpus else "the CPU"
        logger.info("submitit (%s): %d jobs (one run each, on %s), at most %d at a time, logs in %s", cluster,
                    len(runs), where, parallel, executor.folder)
        bar = tqdm(total=len(runs), desc="jobs", unit="run", disable=not show_progress)
        failures: list[tuple[Any, Any, BaseException]] = []
        try:
            if cluster == "slurm":
                self._slurm(executor, job, runs, parallel, bar, failures)
            elif cluster == "debug":
                for run in runs:  # in this process; exception() runs it (done() would open pdb on a failure)
                    submitted = executor.submit(job, run)
                    if not self._collect(submitted, run, bar, failures):
                        break
            else:
                self._throttled(executor, job, runs, parallel, bar, failures)
        finally:
            bar.close()
        if failures:
            run, submitted, err = failures[0]
            if cluster == "debug" and isinstance(err, MedzooError) and len(failures) == 1:
                raise err  # in-process: the run's own one-line error, as the local launcher gives it
            from zoo.runner.train_record import run_label

            raise LaunchError(f"{len(failures)} of {len(runs)} runs failed; first: {run_label(run)} (job "
                              f"{submitted.job_id}): {_last_line(err)}; log: {submitted.paths.stderr}; finished "
                              "runs are kept, rerun the same command to retry the failed ones")

    def _collect(self, submitted, run, bar, failures: list) -> bool:
        """Report a finished job; ``False`` if it failed."""
        err = submitted.exception()
        if err is not None:
            failures.append((run, submitted, err))
            return False
        report_finished(run, submitted.result(), bar)
        return True

    def _throttled(self, executor, job, runs: list, parallel: int, bar, failures: list) -> None:
        """At most ``parallel`` local jobs at once; after a failure, no new job starts."""
        pending, active = list(runs), []
        try:
            while pending or active:
                while pending and len(active) < parallel and not failures:
                    run = pending.pop(0)
                    active.append((executor.submit(job, run), run))
                finished = [pair for pair in active if pair[0].done()]
                for pair in finished:
                    active.remove(pair)
                    self._collect(*pair, bar, failures)
                if failures:
                    pending.clear()
                if not finished:
                    time.sleep(self.poll_s)
        finally:
            for submitted, _ in active:  # interrupted: local jobs are this process's children, stop them
                submitted.cancel(check=False)

    def _slurm(self, executor, job, runs: list, parallel: int, bar, failures: list) -> None:
        """One job array, ``parallel`` tasks at a time; waits for all and reports each as it ends."""
        executor.update_parameters(slurm_array_parallelism=parallel)
        with executor.batch():
            submitted = [executor.submit(job, run) for run in runs]
        logger.info("submitted Slurm jobs %s ... %s", submitted[0].job_id, submitted[-1].job_id)
        active = list(zip(submitted, runs))
        try:
            while active:
                finished = [pair for pair in active if pair[0].done()]
                for pair in finished:
                    active.remove(pair)
                    self._collect(*pair, bar, failures)
                if not finished:
                    time.sleep(max(self.poll_s, 10.0))  # done() may ask sacct: do not hammer the scheduler
        except KeyboardInterrupt:
            logger.warning("stopped waiting; %d Slurm jobs keep running and will write their records", len(active))
            raise
