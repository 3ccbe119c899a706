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
    present = path.is_dir() if dataset == "image_folder" else path.is_file()
    return FileNeed(name, dataset, path, present)


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
        statuses.append(TaskDataStatus(task.name, tuple(need for need in needs if need is not None)))
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
        parts.append("put your files at " + ", ".join(own))
    return "; ".join(parts)
