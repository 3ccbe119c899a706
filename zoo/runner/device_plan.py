"""Where the local workers of ``medzoo run --launcher workers`` train: which device each worker uses, and the
one line saying how many runs go to each device.

With G visible GPUs, worker i is pinned to GPU ``i mod G`` (its ``CUDA_VISIBLE_DEVICES``, set before it
initialises CUDA, so its Accelerator's device is that GPU); ``--workers-per-gpu N`` asks for G*N workers
in all, N packed on each GPU. Each worker trains one run after the other and keeps its process (and its
Accelerator) between runs, so the fixed cost of starting a process is paid once per worker, not per run.
Runs go to whichever worker is free; the line gives the even share (each worker ``runs // workers``, the
first ``runs % workers`` workers one more), which is what equal-length runs get.

Usage::

    plan = plan_devices(runs=12, gpus=["0", "1"], workers=6)
    plan.worker_gpus     # ('0', '1', '0', '1', '0', '1'): worker i -> CUDA_VISIBLE_DEVICES entry
    plan.message()       # '12 runs on 2 devices: cuda:0 6 runs (3 workers), cuda:1 6 runs (3 workers)'
    plan_devices(12, [], 2).message()    # '12 runs on cpu, 2 workers'
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from zoo.errors import ConfigError


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


@dataclass(frozen=True)
class DevicePlan:
    """``runs`` runs on ``len(worker_gpus)`` workers; ``gpus``: the visible GPUs (CUDA_VISIBLE_DEVICES entries,
    empty on CPU), ``worker_gpus[i]``: worker i's GPU (``gpus[i % len(gpus)]``), or ``None`` on CPU."""

    runs: int
    gpus: tuple[str, ...]
    worker_gpus: tuple[str | None, ...]

    @property
    def workers(self) -> int:
        return len(self.worker_gpus)

    def worker_runs(self) -> list[int]:
        """The even share of the runs of each worker (runs go to free workers: equal-length runs get this)."""
        share, extra = divmod(self.runs, self.workers) if self.workers else (0, 0)
        return [share + (i < extra) for i in range(self.workers)]

    def per_device(self) -> list[tuple[str, int, int]]:
        """``(device, runs, workers)`` per device in use: ``cuda:K`` (K: the GPU's index among the visible
        ones, as this process's torch numbers them), or ``cpu``."""
        if not self.gpus:
            return [("cpu", self.runs, self.workers)]
        rows = []
        for k, gpu in enumerate(self.gpus):
            mine = [i for i, g in enumerate(self.worker_gpus) if g == gpu]
            if mine:
                shares = self.worker_runs()
                rows.append((f"cuda:{k}", sum(shares[i] for i in mine), len(mine)))
        return rows

    def message(self) -> str:
        """One line: ``12 runs on 2 devices: cuda:0 6 runs (3 workers), ...`` or ``12 runs on cpu, 2 workers``."""
        rows = self.per_device()
        if not self.gpus:
            return f"{_count(self.runs, 'run')} on cpu, {_count(self.workers, 'worker')}"
        parts = ", ".join(f"{device} {_count(runs, 'run')} ({_count(workers, 'worker')})"
                          for device, runs, workers in rows)
        return f"{_count(self.runs, 'run')} on {_count(len(rows), 'device')}: {parts}"


def plan_devices(runs: int, gpus: list[str] | tuple[str, ...], workers: int) -> DevicePlan:
    """``workers`` worker processes (at most one per run, at least one) spread over ``gpus`` round-robin:
    worker i on ``gpus[i % len(gpus)]``; no GPUs: every worker on the CPU."""
    count = max(1, min(workers, runs))
    gpus = tuple(gpus)
    worker_gpus = tuple(gpus[i % len(gpus)] if gpus else None for i in range(count))
    return DevicePlan(runs=runs, gpus=gpus, worker_gpus=worker_gpus)


def visible_gpus(cpu: bool = False) -> list[str]:
    """The GPUs workers are spread over, as CUDA_VISIBLE_DEVICES entries (none with ``cpu`` or no CUDA).

    Counting devices does not create a CUDA context here; workers are spawned, not forked, either way.
    """
    if cpu:
        return []
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    return (visible or [str(i) for i in range(count)])[:count]


def total_workers(workers: int | None, workers_per_gpu: int | None, cpu: bool = False) -> int | None:
    """``--workers`` / ``--workers-per-gpu`` -> the number of worker processes (``None``: neither given).

    ``--workers-per-gpu N`` on G visible GPUs is G*N workers; without a GPU (or with ``--cpu``) it is a
    ConfigError saying to use ``--workers N``. Giving both options is an error too.
    """
    if workers_per_gpu is None:
        return workers
    if isinstance(workers_per_gpu, bool) or not isinstance(workers_per_gpu, int) or workers_per_gpu < 1:
        raise ConfigError(f"--workers-per-gpu must be an integer >= 1, got {workers_per_gpu!r}")
    if workers is not None:
        raise ConfigError("--workers and --workers-per-gpu: give one (--workers N: N processes in all; "
                          "--workers-per-gpu N: N on each visible GPU)")
    if cpu:
        raise ConfigError(f"--workers-per-gpu {workers_per_gpu} with --cpu: the workers train on CPU; "
                          f"use --workers {workers_per_gpu} instead")
    gpus = visible_gpus()
    if not gpus:
        raise ConfigError(f"--workers-per-gpu {workers_per_gpu}: no CUDA device is visible here; "
                          f"use --workers {workers_per_gpu} instead (processes on the CPU)")
    return len(gpus) * workers_per_gpu
