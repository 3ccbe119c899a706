"""Resolve one task x algorithm x seed of a suite into a fully explicit, hashable run config.

Everything that changes a result goes into the config (domain specs, hyperparameters with their defaults,
training options, seed, the version and source hash of each third-party plugin used), so ``run_id`` changes
exactly when the result could (``zoo.bench.run_config``). The selection rules are in the config too, but
not in the id: every applicable rule is applied after training. Names (and that each named entry imports),
hyperparameter types, stages, the applicability of the reported selection rule and source/target
disjointness of the specs are checked here, before any training starts (overlap of the images themselves
is checked on the data: ``zoo.bench.leakage``).

Usage::

    spec = resolve_run(suite, suite.tasks[0], "source_only", seed=0, settings=suite.defaults)
    spec.config["selection"]    # {'rule': 'source_val', 'metric': 'accuracy', 'rules': ['source_val', ...]}
"""

from __future__ import annotations

import copy
from typing import Any

from zoo.algorithms import ALGORITHMS
from zoo.algorithms.base import resolve_hparams, stages_of
from zoo.algorithms.variants import base_algorithm, variant_hparams
from zoo.backbones import BACKBONES, is_hub_name
from zoo.bench.init_from import resolve_init
from zoo.bench.run_config import RunConfig
from zoo.bench.run_spec import RunSpec, TaskSpec
from zoo.bench.task_data import check_disjoint
from zoo.datasets import DATASETS
from zoo.errors import ConfigError
from zoo.imbalance_methods import imbalance_method
from zoo.plugins import plugin_sources
from zoo.selection import RULES, applicable_rules, rule_name
from zoo.task_settings import TASK_SETTINGS, algorithm_refusal, task_refusal


def resolve_selection(selection: dict[str, Any], budget: float, task: str, has_source: bool = True,
                      trains_on_source: bool | None = None, algorithm: str = "", setting: str = "transfer"
                      ) -> dict[str, Any]:
    """The reported rule (``auto``: ``source_val`` without target labels, ``target_val`` with, ``last`` in the
    source-free setting and, without target labels, after a stage on unlabeled target images alone, as SHOT
    in a transfer task), the metric, and the rules recorded for the run: every applicable one (or those of
    ``selection.rules`` that apply).

    ``trains_on_source``: the selected (last) stage trains on source data (default: when there is a source).
    A reported rule that cannot apply is a one-line ``ConfigError``, never silently replaced.
    """
    trains_on_source = has_source if trains_on_source is None else trains_on_source
    reads_target = TASK_SETTINGS[setting].reads_target_in_training
    rule = rule_name(selection["rule"])  # an old name (dev): the renamed rule
    if rule == "auto":  # no label may select when the task has no target labels and the last stage no source
        rule = ("last" if setting == "source_free" or (budget == 0 and not trains_on_source) else
                "source_val" if budget == 0 else "target_val")
    refusal = RULES[rule].refusal(has_source, budget, trains_on_source, reads_target)
    if refusal:
        who = f" ({algorithm})" if algorithm else ""
        raise ConfigError(f"task '{task}'{who}: {refusal}")
    wanted = selection.get("rules", "all")
    wanted = wanted if wanted == "all" else [rule_name(r) for r in wanted]
    rules = [r for r in applicable_rules(has_source, budget, trains_on_source, reads_target)
             if wanted == "all" or r in wanted]
    if rule not in rules:
        rules.append(rule)
    return {"rule": rule, "metric": selection.get("metric", "accuracy"), "rules": rules}


def check_setting(task: TaskSpec, algorithm: str, algo_cls: type, has_init: bool) -> None:
    """A one-line ``ConfigError`` when ``task`` breaks its setting's rules or ``algorithm`` does not run in it.

    Checked before the algorithm's stages are probed: the setting is the first reason a run cannot be (MME in
    a generalization task is refused for its setting, not told to take a label budget the setting forbids).
    """
    setting = task.setting
    for refusal in (task_refusal(setting, task.sources, task.target_budget, task.pretrain, has_init),
                    algorithm_refusal(setting, algorithm, tuple(getattr(algo_cls, "SETTINGS", ("transfer",))))):
        if refusal:
            raise ConfigError(f"task '{task.name}': {refusal}")


def setting_stages(stages: list, task: TaskSpec, algorithm: str) -> list:
    """The stages ``algorithm`` trains in ``task``'s setting; a one-line ``ConfigError`` where it cannot run
    (``check_setting`` has refused the task and algorithm already, in ``resolve_run``).

    Source-free: the leading stages on labeled source alone are the source model's (trained by the task's
    pretrain steps, or the ``init`` run) and are left out; no other stage may read the source. Generalization:
    no stage may read the target. ``zoo.task_settings`` declares the rules; the runner enforces them on the
    data too (``zoo.runner.streams``, ``zoo.runner.epoch_eval``).
    """
    setting = task.setting
    if setting == "source_free":
        while stages and stages[0].data == "source":
            stages = stages[1:]
        reading = [s for s in stages if s.data.startswith("source")]
        if reading:
            raise ConfigError(f"task '{task.name}': {algorithm}'s stage '{reading[0].name}' trains on source data, "
                              "which a source_free task never reads")
    if not TASK_SETTINGS[setting].reads_target_in_training:
        reading = [s for s in stages if "target" in s.data]
        if reading:
            raise ConfigError(f"task '{task.name}': {algorithm}'s stage '{reading[0].name}' reads target data, "
                              "which a generalization task never reads in training")
    return stages


def check_stages(stages: list, task: TaskSpec, algorithm: str, train: dict[str, Any]) -> None:
    """The data each stage needs exists in the task, and the train options fit the stages."""
    for stage in stages:
        if not task.sources and stage.data.startswith("source"):
            raise ConfigError(
                f"task '{task.name}' has no source domain but {algorithm}'s stage '{stage.name}' trains on source "
                "data; add a source to the task, or use a fine-tuning strategy (full_ft, linear_probe, lp_ft, ...)"
            )
    refusal = imbalance_method(train["imbalance"]).refusal(any(s.features for s in stages), algorithm)
    if refusal:  # e.g. SMOTE resamples cached features: it needs a feature stage
        raise ConfigError(refusal)
    if train["augment"] != "none":
        from zoo.augment import build_augment

        build_augment(train["augment"])  # an unknown policy: one line with did-you-mean


def resolve_run(suite, task: TaskSpec, algorithm: str, seed: int, settings: dict[str, Any]) -> RunSpec:
    """Build the ``RunSpec`` of one run; unknown names and bad hyperparameters raise one-line errors.

    ``suite`` is the ``zoo.bench.suite.Suite`` being expanded (its name, version, domains and primary metric
    are read); resolution never imports the suite module, which calls it.
    """
    algo_cls = ALGORITHMS.get(base_algorithm(algorithm))
    backbone = copy.deepcopy(settings["backbone"])
    family = backbone["name"].partition("/")[0] if "/" in backbone["name"] else backbone["name"]
    # get(), not entry(): an unknown name answers did-you-mean and a broken plugin names its distribution
    # here, before the first run trains, not when a later run of the suite reaches it.
    if not is_hub_name(backbone["name"]):  # a Hub checkpoint is checked when it is pulled (check_buildable)
        BACKBONES.get(family)
    elif backbone["name"].startswith("medzoo:") and "sha256" not in backbone:
        from zoo.hub.catalogue import pinned_sha256

        sha = pinned_sha256(backbone["name"], backbone.get("catalogue"))  # its weights are part of the run id
        if sha:
            backbone["sha256"] = sha
    components = [ALGORITHMS.entry(base_algorithm(algorithm))]
    if not is_hub_name(backbone["name"]):
        components.append(BACKBONES.entry(family))
    for name in (*task.sources, *(s["domain"] for s in task.pretrain), task.target):
        DATASETS.get(suite.domains[name]["dataset"])
        components.append(DATASETS.entry(suite.domains[name]["dataset"]))
    # Neither a source nor a pretraining domain may share an image with the target.
    domain_specs = {name: suite.domains[name] for name in (*task.sources, *(s["domain"] for s in task.pretrain))}
    check_disjoint(domain_specs, {task.target: suite.domains[task.target]})
    given = settings["hparams"].get(algorithm, settings["hparams"].get(base_algorithm(algorithm))) or {}
    # types, bounds and choices (HParam.check), then rules between hyperparameters: before any model is built;
    # the owner names the suite's algorithm and its class, as the model's own checks do
    hparams = resolve_hparams(algo_cls.HPARAMS, {**given, **variant_hparams(algorithm, algo_cls)},
                              f"{algorithm} ({algo_cls.__name__})")
    algo_cls.validate_hparams(hparams)
    check_setting(task, algorithm, algo_cls, settings["init"] is not None)
    stage_list = setting_stages(stages_of(algo_cls, hparams, task.target_budget), task, algorithm)
    check_stages(stage_list, task, algorithm, settings["train"])
    stages = [s.name for s in stage_list]
    config = {
        "suite": {"name": suite.name, "version": suite.version},
        "task": {
            "name": task.name,
            "sources": {name: suite.domains[name] for name in task.sources},
            "target": {task.target: suite.domains[task.target]},
            "target_budget": task.target_budget,
            "label_map": task.label_map,
            "setting": task.setting,
        },
        "algorithm": algorithm,
        "hparams": hparams,
        "stages": stages,
        "backbone": backbone,
        "train": dict(settings["train"]),
        "seed": seed,
        "selection": resolve_selection(settings["selection"], task.target_budget, task.name, bool(task.sources),
                                       bool(stage_list) and stage_list[-1].data.startswith("source"), algorithm,
                                       task.setting),
        "image_size": settings["image_size"],
        "channels": settings["channels"],
    }
    if task.pretrain:
        config["task"]["pretrain"] = [{**step, "domain": {step["domain"]: suite.domains[step["domain"]]}}
                                      for step in task.pretrain]
        if task.setting == "source_free":  # the last step is the shipped source model: it keeps its head
            config["task"]["pretrain"][-1]["head"] = True
    if task.pretrain and settings["init"] is not None:
        raise ConfigError(f"task '{task.name}': use either init (start from a finished run) or pretrain steps, "
                          "not both")
    if settings["init"] is not None:
        config["init"] = resolve_init(settings["init"])
    plugins = plugin_sources(components)  # a plugin's code is part of the run id; built-ins add nothing
    if plugins:
        config["plugins"] = plugins
    frozen = RunConfig.from_dict(config)
    # the declared primary metric is the record's, not the config's: declaring it must not change run ids
    return RunSpec(run_id=frozen.run_id, task=task, algorithm=algorithm, seed=seed, config=frozen,
                   primary_metric=suite.primary_metric)
