"""Run a whole suite: skip finished runs, check every task, then hand the rest to a launcher.

Runs are named by the hash of their resolved config, so rerunning a suite skips what is finished and an
interrupted suite resumes where it stopped. Only the main process writes; every process trains. Each run is
trained and recorded by ``zoo.runner.train_record.train_and_record``, whichever launcher
(``zoo.runner.launchers``: local, workers, submitit) runs it.

Usage::

    records = run_suite(load_suite("quick"), output_dir=Path("medzoo-runs"))
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from zoo.bench.suite import Suite
from zoo.errors import ConfigError
from zoo.runner.launcher_base import Launcher
from zoo.runner.launchers import LocalLauncher
from zoo.runner.train_record import check_buildable, make_accelerator

logger = logging.getLogger(__name__)


def run_suite(
    suite: Suite,
    output_dir: Path,
    data_dir: Path | None = None,
    download: bool = False,
    cpu: bool = False,
    tasks: list[str] | None = None,
    algorithms: list[str] | None = None,
    show_progress: bool = True,
    launcher: Launcher | None = None,
    require_all_data: bool = False,
) -> list[dict[str, Any]]:
    """Train every unfinished run of ``suite``; return the records of all its (selected) runs.

    ``launcher`` trains the unfinished runs once every check passed: by default (``None``) a
    ``LocalLauncher``, one after the other in this process (and in every process of an ``accelerate
    launch``); the other launchers of ``zoo.runner.launchers`` hand them to worker processes or cluster
    jobs. Tasks whose data files are missing are skipped with a warning naming the download command
    (``zoo.bench.data_needs``); ``require_all_data`` makes that an error.
    """
    from zoo.bench.data_needs import missing_hint, skip_missing_data
    from zoo.bench.init_from import check_init
    from zoo.bench.leakage import check_leakage
    from zoo.bench.task_data import build_task_data, small_split_warnings
    from zoo.results.integrity import retire_damaged
    from zoo.results.store import ResultStore
    from zoo.runner.preflight import check_plugins

    runs = suite.runs(tasks=tasks, algorithms=algorithms)  # validates names and hparams before any work
    precisions = {run.config["train"]["mixed_precision"] for run in runs}
    if len(precisions) > 1:
        raise ConfigError(f"tasks of one suite run must share train.mixed_precision, got {sorted(precisions)}")
    accelerator = make_accelerator(precisions.pop() if precisions else "no", cpu)
    mixed_precision = accelerator.mixed_precision
    launcher = launcher if launcher is not None else LocalLauncher()
    if not launcher.in_process and accelerator.num_processes > 1:
        raise ConfigError(f"--launcher {launcher.name} starts its own processes; run it without accelerate launch "
                          "(accelerate launch ... medzoo run trains each run on several processes instead)")
    store = ResultStore(output_dir)
    if accelerator.is_main_process:
        store.check_writable()  # first: a wrong -o should not cost a data check
        retire_damaged(store, {run.run_id for run in runs})  # a damaged checkpoint is not "finished"
    accelerator.wait_for_everyone()
    runs, skipped = skip_missing_data(suite, runs, data_dir, download, require_all_data, tasks)  # after -o's check
    finished = store.finished_run_ids()
    first_of_pair, shown, small = {}, {}, {}
    for run in runs:
        if run.run_id not in finished:
            first_of_pair.setdefault((run.task.name, run.algorithm), run)
    with accelerator.main_process_first():  # one process downloads and verifies; the others then read
        check_plugins(first_of_pair.values(), data_dir, download)  # the kit on third-party entries: one line
        for run in first_of_pair.values():  # files, checksums, label spaces and models, before any training
            try:
                data = build_task_data(run.config, data_dir, download)
                check_init(run.config.get("init"), data.label_names, run.config["backbone"], run.task.name)
                caveats = check_leakage(run.config, data_dir, download)  # overlap of images, on the data
                for warning in small_split_warnings(data):
                    small.setdefault(warning, {})[run.task.name] = None  # ordered set of the tasks it concerns
                check_buildable(run, data, data_dir, download)
            except ConfigError as err:  # say which suite file and task the bad setting is in
                raise ConfigError(f"{suite.path}: task '{run.task.name}' ({run.algorithm}): {err}") from None
            for caveat in caveats:
                shown.setdefault(caveat, run.task.name)
    todo = [r for r in runs if r.run_id not in finished]
    if accelerator.is_main_process:
        logger.info(
            "suite %s v%d: %d runs, %d already finished, %d to train on %s x%d (mixed precision: %s)",
            suite.name, suite.version, len(runs), len(runs) - len(todo), len(todo),
            accelerator.device, accelerator.num_processes, mixed_precision,
        )
        for status in skipped:
            logger.warning("skipping task %s: %s not found; get the files with: %s (or pass --download; "
                           "--require-all-data makes a missing file an error)", status.task,
                           ", ".join(str(need.path) for need in status.missing), missing_hint(status.missing))
        for warning, names in small.items():
            logger.warning("task%s %s: %s", "s" * (len(names) > 1), ", ".join(names), warning)
        for caveat, task in shown.items():  # the suite header's caveats, also in every record and the leaderboard
            logger.warning("caveat (task %s): %s", task, caveat)
    launcher.launch(todo, output_dir=store.root, data_dir=data_dir, download=download, cpu=cpu,
                    mixed_precision=mixed_precision, show_progress=show_progress, accelerator=accelerator,
                    title=f"suite {suite.name}")
    wanted = {r.run_id for r in runs}
    records = [r for r in store.records() if r["run_id"] in wanted]
    accelerator.end_training()  # tears down the process group cleanly (gloo aborts at exit otherwise)
    return records
