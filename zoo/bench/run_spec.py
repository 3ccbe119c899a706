"""What resolution produces: a suite's task (``TaskSpec``) and one fully resolved run (``RunSpec``).

A ``RunSpec`` is built by ``zoo.bench.resolve.resolve_run`` (one task x algorithm x seed) or by
``zoo.bench.sweep.expand_sweep`` (its trials); its ``run_id`` is the hash of its ``config``
(``zoo.bench.run_config.run_id_of``). The runner, the plan and the launchers read these, never the suite file.

Usage::

    from zoo.bench.run_spec import RunSpec
    for run in load_suite("quick").runs():     # list[RunSpec]
        print(run.run_id, run.task.name, run.algorithm, run.seed)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zoo.bench.run_config import RunConfig


@dataclass(frozen=True)
class TaskSpec:
    """One source -> target task of a suite."""

    name: str
    sources: tuple[str, ...]
    target: str
    target_budget: float
    algorithms: tuple[str, ...]
    label_map: dict[str, str] | None = None
    pretrain: tuple[dict[str, Any], ...] = ()  # progressive transfer steps before the algorithm (zoo.runner.pretrain)
    setting: str = "transfer"  # zoo.task_settings: transfer, source_free, semi_supervised or generalization


@dataclass(frozen=True)
class RunSpec:
    """Everything one run needs, fully resolved; ``run_id`` hashes ``config`` (``zoo.bench.run_config``)."""

    run_id: str
    task: TaskSpec
    algorithm: str
    seed: int
    config: RunConfig
    primary_metric: str | None = None  # the suite's declared one: recorded in the record's suite, not hashed
