"""``medzoo run SUITE --plan``: what a run of the suite would do, before it does it.

Per task and algorithm: how many runs, how many are finished in the results folder, how long the rest
should take; the data files needed and missing (with the command that fetches them); the total. A time
comes from the finished runs of the same configuration (task, algorithm, backbone, training options and
hyperparameters; any seed) when the results folder has them, else from a short probe of one run on this
machine (``zoo.runner.probe``).

Usage::

    plan = make_plan(suite, suite.runs(), ResultStore("medzoo-runs"), data_dir=None, probe=my_probe)
    plan.to_train, plan.seconds
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.bench.data_needs import TaskDataStatus, suite_data_status


@dataclass
class PlanRow:
    """The runs of one task x algorithm; ``seconds``: estimated per run (None: no estimate)."""

    task: str
    algorithm: str
    runs: int
    finished: int
    seconds: float | None = None
    basis: str = ""  # "4 finished runs" or "probe" (or why there is none)
    runnable: bool = True

    @property
    def to_train(self) -> int:
        return self.runs - self.finished if self.runnable else 0


@dataclass
class Plan:
    suite: str
    rows: list[PlanRow]
    data: list[TaskDataStatus]
    pretrain_s: float = 0.0  # pretraining steps of the probed tasks, once per task and seed
    notes: list[str] = field(default_factory=list)

    @property
    def runs(self) -> int:
        return sum(r.runs for r in self.rows if r.runnable)

    @property
    def finished(self) -> int:
        return sum(r.finished for r in self.rows if r.runnable)

    @property
    def to_train(self) -> int:
        return sum(r.to_train for r in self.rows)

    @property
    def seconds(self) -> float | None:
        """Estimated seconds to train what is left; None when some row has no estimate."""
        if any(r.to_train and r.seconds is None for r in self.rows):
            return None
        return sum(r.to_train * (r.seconds or 0.0) for r in self.rows) + self.pretrain_s


def config_key(task: str, algorithm: str, backbone: dict, train: dict, hparams: dict) -> str:
    """What makes two runs cost the same, seeds aside."""
    options = {k: v for k, v in backbone.items() if k != "name"}
    return json.dumps([task, algorithm, backbone["name"], options, train, hparams], sort_keys=True, default=str)


def record_seconds(records: list[dict[str, Any]]) -> dict[str, list[float]]:
    """config key -> total seconds of each finished run with that configuration."""
    seconds: dict[str, list[float]] = {}
    for r in records:
        total = (r.get("timings") or {}).get("total_s")
        if total is None:
            continue
        backbone = {"name": r["backbone"]["name"], **(r["backbone"].get("options") or {})}
        key = config_key(r["task"]["name"], r["algorithm"], backbone, r["train"], r["hparams"])
        seconds.setdefault(key, []).append(float(total))
    return seconds


def make_plan(suite, runs: list, finished: set[str], records: list[dict[str, Any]], data_dir: str | Path | None,
              probe: Callable[[Any], Any] | None = None, download: bool = False) -> Plan:
    """The plan of ``runs`` (of ``suite``); ``probe(run)`` returns a ``zoo.runner.probe.ProbeEstimate``.

    Usage::

        plan = make_plan(suite, suite.runs(), store.finished_run_ids(), store.records(), None)
    """
    data = suite_data_status(suite, data_dir)
    missing = set() if download else {s.task for s in data if not s.runnable}
    past = record_seconds(records)
    rows: dict[tuple[str, str], PlanRow] = {}
    first_todo: dict[tuple[str, str], Any] = {}
    for run in runs:
        key = (run.task.name, run.algorithm)
        row = rows.setdefault(key, PlanRow(run.task.name, run.algorithm, 0, 0, runnable=run.task.name not in missing))
        row.runs += 1
        if run.run_id in finished:
            row.finished += 1
        else:
            first_todo.setdefault(key, run)
    plan = Plan(suite.name, list(rows.values()), data)
    probed_tasks: set[str] = set()
    for key, row in rows.items():
        if not row.to_train:
            continue
        run = first_todo[key]
        config = run.config
        times = past.get(config_key(row.task, row.algorithm, dict(config["backbone"]), dict(config["train"]),
                                    dict(config["hparams"])))
        if times:
            row.seconds, row.basis = statistics.median(times), f"{len(times)} finished run{'s' * (len(times) > 1)}"
        elif probe is not None:
            estimate = probe(run)
            row.seconds, row.basis = estimate.seconds, "probe"
            if estimate.pretrain_s and row.task not in probed_tasks:  # the checkpoint is shared by the task's runs
                seeds = {r.seed for r in runs if r.task.name == row.task and r.run_id not in finished}
                plan.pretrain_s += estimate.pretrain_s * len(seeds)
            probed_tasks.add(row.task)
        else:
            row.basis = "no finished run of this configuration"
    return plan
