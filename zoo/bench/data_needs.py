"""Which data files a suite's tasks read, which are present, and how to get the missing ones.

Answered from the suite file alone, without loading any data, so ``medzoo run --plan``, ``medzoo info``,
``medzoo list suites`` and the runner's skip of tasks without their files all agree and stay cheap. Datasets
that read a file (official MedMNIST files, a user's ``npz`` or image folder) name it; others (Hugging Face
datasets, synthetic data, third-party plugins) need no file this module can check, and their problems are
left to the pre-flight check that builds each task's data before training.

Usage::

    for status in suite_data_status(load_suite("progressive"), data_dir=None):
        print(status.task, status.runnable, [need.download for need in status.missing])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

# dataset name -> the option naming its file or folder (relative paths resolve against the data dir)
PATH_OPTIONS = {"npz": "path", "image_folder": "path"}


@dataclass(frozen=True)
class FileNeed:
    """One file (or folder) a domain reads; ``download`` is the command that fetches it, if it is official."""

    domain: str
    dataset: str
    path: Path
    present: bool
    download: str | None = None


@dataclass(frozen=True)
class TaskDataStatus:
    """The files of one task's domains (sources, pretraining chain, target)."""

    task: str
    files: tuple[FileNeed, ...]

    @property
    def missing(self) -> list[FileNeed]:
        return [need for need in self.files if not need.present]

    @property
    def runnable(self) -> bool:
        return not self.missing


def domain_file(name: str, spec: dict[str, Any], data_dir: str | Path | None = None) -> FileNeed | None:
    """The file domain ``name`` reads, or ``None`` when its dataset reads no file known here.

    Usage::

        domain_file("xray", {"dataset": "pneumoniamnist"}).path    # <data dir>/medmnist/pneumoniamnist.npz
    """
    from zoo.datasets.medmnist import FLAGS, medmnist_file
    from zoo.datasets.paths import medmnist_dir, resolve_path

    dataset = spec["dataset"]
    if dataset in FLAGS:
        size = spec.get("size", 28)
        meta = medmnist_file(dataset, size)
        path = medmnist_dir(data_dir) / meta.file
        command = f"medzoo download {Path(meta.file).stem}"  # pneumoniamnist, pneumoniamnist_64
        return FileNeed(name, dataset, path, path.is_file(), command)
    option = PATH_OPTIONS.get(dataset)
    if option is None or option not in spec:
        return None
    path = resolve_path(spec[option], data_dir)
    # present = something is there: a folder where a file belongs is the loader's to explain, not "missing"
    return FileNeed(name, dataset, path, path.exists())


def task_domains(suite, task) -> dict[str, dict[str, Any]]:
    """Domain name -> spec of everything ``task`` reads: pretraining chain, sources, target (in that order)."""
    names = [*(step["domain"] for step in task.pretrain), *task.sources, task.target]
    return {name: suite.domains[name] for name in names}


def suite_data_status(suite, data_dir: str | Path | None = None) -> list[TaskDataStatus]:
    """Per task of ``suite`` (in suite order), the files it reads and whether each is present.

    Usage::

        missing = [s.task for s in suite_data_status(suite, "/data") if not s.runnable]
    """
    statuses = []
    for task in suite.tasks:
        needs = (domain_file(name, spec, data_dir) for name, spec in task_domains(suite, task).items())
        by_path = {}  # two domains of one file (source and target parts of a dataset): one need
        for need in needs:
            if need is not None:
                by_path.setdefault(need.path, need)
        statuses.append(TaskDataStatus(task.name, tuple(by_path.values())))
    return statuses


def missing_hint(needs: list[FileNeed]) -> str:
    """How to get ``needs``: one download command for the official files, the paths of the others.

    Usage::

        missing_hint(status.missing)   # 'medzoo download pathmnist organamnist'
    """
    official = list(dict.fromkeys(n.download.removeprefix("medzoo download ") for n in needs if n.download))
    own = list(dict.fromkeys(str(n.path) for n in needs if not n.download))
    parts = []
    if official:
        parts.append("medzoo download " + " ".join(official))
    if own:
        parts.append(f"check the path{'s' * (len(own) > 1)} {', '.join(own)} (relative paths resolve against the data "
                     "dir: --data-dir or MEDZOO_DATA)")
    return "; ".join(parts)


def skip_missing_data(suite, runs: list, data_dir: str | Path | None, download: bool = False,
                      require_all: bool = False,
                      named_tasks: list[str] | None = None) -> tuple[list, list[TaskDataStatus]]:
    """(the runs whose files are present, the statuses of the tasks skipped for missing files).

    A suite runs what the data found can run; a missing file is an error (``DataError``, one line with the
    download command) only under ``require_all`` (``--require-all-data``), for a task named with ``--task``,
    or when no task is left. ``download``: nothing is skipped (the missing official files are fetched).

    Usage::

        runs, skipped = skip_missing_data(suite, suite.runs(), data_dir)
    """
    from zoo.errors import DataError

    if download:
        return runs, []
    wanted = {run.task.name for run in runs}
    skipped = [s for s in suite_data_status(suite, data_dir) if s.task in wanted and not s.runnable]
    if not skipped:
        return runs, []
    names = {s.task for s in skipped}
    files = list(dict.fromkeys(need.path.name for s in skipped for need in s.missing))
    hint = missing_hint([need for s in skipped for need in s.missing])
    where = "not in " + ", ".join(sorted({str(need.path.parent) for s in skipped for need in s.missing}))
    explicit = sorted(names & set(named_tasks or []))
    if require_all or explicit or names == wanted:
        why = ("--require-all-data" if require_all else f"--task {' --task '.join(explicit)}" if explicit
               else "no task of the suite has its data")
        raise DataError(f"suite '{suite.name}': task(s) {', '.join(sorted(names))} need {', '.join(files)} ({where}; "
                        f"{why}); get them with: {hint} (or pass --download)")
    return [run for run in runs if run.task.name not in names], skipped
