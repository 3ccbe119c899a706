"""Resolve one task x algorithm x seed of a suite into a fully explicit, hashable run config.

Everything that changes a result goes into the config (domain specs, hyperparameters with their defaults,
training options, seed, selection rule), so ``run_id`` changes exactly when the result could. Names (and
that each named entry imports), hyperparameter types, stages and source/target disjointness are checked
here, before any training starts.

Usage::

    spec = resolve_run(suite, suite.tasks[0], "source_only", seed=0, settings=suite.defaults)
    spec.config["selection"]          # {'rule': 'source_val', 'metric': 'accuracy'}
"""

from __future__ import annotations

import copy
from typing import Any

from zoo.algorithms import ALGORITHMS
from zoo.algorithms.base import resolve_hparams
from zoo.backbones import BACKBONES
from zoo.bench.suite import RunSpec, Suite, TaskSpec, run_id_of
from zoo.bench.task_data import check_disjoint
from zoo.datasets import DATASETS
from zoo.errors import ConfigError
from zoo.runner.init_from import resolve_init


def resolve_selection(selection: dict[str, Any], budget: float, task: str) -> dict[str, Any]:
    """``auto`` becomes ``source_val`` for unsupervised tasks and ``target_val`` when target labels exist."""
    rule = selection["rule"]
    if rule == "auto":
        rule = "source_val" if budget == 0 else "target_val"
    if rule == "target_val" and budget == 0:
        raise ConfigError(
            f"task '{task}': selection 'target_val' needs target labels but target_budget is 0; "
            "use source_val (or target_val_oracle, reported as an upper bound)"
        )
    return {"rule": rule, "metric": selection.get("metric", "accuracy")}


def resolve_run(suite: Suite, task: TaskSpec, algorithm: str, seed: int, settings: dict[str, Any]) -> RunSpec:
    """Build the ``RunSpec`` of one run; unknown names and bad hyperparameters raise one-line errors."""
    algo_cls = ALGORITHMS.get(algorithm)
    backbone = copy.deepcopy(settings["backbone"])
    family = backbone["name"].partition("/")[0] if "/" in backbone["name"] else backbone["name"]
    # get(), not entry(): an unknown name answers did-you-mean and a broken plugin names its distribution
    # here, before the first run trains, not when a later run of the suite reaches it.
    BACKBONES.get(family)
    for name in (*task.sources, task.target):
        DATASETS.get(suite.domains[name]["dataset"])
    domain_specs = {name: suite.domains[name] for name in task.sources}
    check_disjoint(domain_specs, {task.target: suite.domains[task.target]})
    hparams = resolve_hparams(algo_cls.HPARAMS, settings["hparams"].get(algorithm), algorithm)
    algo_cls.validate_hparams(hparams)  # ranges and values, before any model is built
    probe = algo_cls.__new__(algo_cls)  # stages() depends only on hparams and the budget (contract)
    probe.hparams = hparams
    stages = [s.name for s in algo_cls.stages(probe, task.target_budget)]
    config = {
        "suite": {"name": suite.name, "version": suite.version},
        "task": {
            "name": task.name,
            "sources": {name: suite.domains[name] for name in task.sources},
            "target": {task.target: suite.domains[task.target]},
            "target_budget": task.target_budget,
            "label_map": task.label_map,
        },
        "algorithm": algorithm,
        "hparams": hparams,
        "stages": stages,
        "backbone": backbone,
        "train": dict(settings["train"]),
        "seed": seed,
        "selection": resolve_selection(settings["selection"], task.target_budget, task.name),
        "image_size": settings["image_size"],
        "channels": settings["channels"],
    }
    if settings["init"] is not None:  # only when set: run ids of runs without it stay as they were
        config["init"] = resolve_init(settings["init"])
    return RunSpec(run_id=run_id_of(config), task=task, algorithm=algorithm, seed=seed, config=config)
