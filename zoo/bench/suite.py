"""Benchmark suites are data: versioned YAML files, validated with file:line errors, expanded into runs.

A suite names its domains (any registered dataset, optionally partitioned and shifted), its tasks
(source -> target, label map, target label budget, algorithms) and defaults (backbone, training,
seeds, model selection). ``key=value`` overrides from the command line replace defaults. A ``sweep``
block (top level or per task) turns each task x algorithm into seeded random-search trials
(``zoo.bench.sweep``).

Usage::

    suite = load_suite("quick", overrides=["train.epochs=1", "seeds=[0]"])
    for run in suite.runs():                     # one RunSpec per task x algorithm x seed
        print(run.run_id, run.task.name, run.algorithm, run.seed)

This module is the top of ``zoo/bench``: ``Suite.runs`` calls resolution (``zoo.bench.run_filters``,
``zoo.bench.resolve``, ``zoo.bench.sweep``), which sees the suite only as the object passed to it and
returns ``zoo.bench.run_spec.RunSpec`` objects; nothing below imports this module.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from zoo.bench.run_spec import RunSpec, TaskSpec
from zoo.bench.suite_fields import (
    algorithm_name,
    algorithm_names,
    check_seeds,
    check_suite_name,
    check_type,
    hparams_by_algorithm,
    validate_pretrain,
    validate_primary_metric,
    validate_selection,
)
from zoo.bench.suites_registry import find_suite_file
from zoo.bench.sweep import check_space_algorithms, parse_sweep
from zoo.bench.yaml_lines import YamlDoc, load_yaml_with_lines
from zoo.bench.yaml_safe import parse_value
from zoo.errors import ConfigError
from zoo.imbalance_methods import IMBALANCE_NAMES
from zoo.task_settings import DEFAULT_SETTING, TASK_SETTINGS, task_refusal

logger = logging.getLogger(__name__)

TOP_LEVEL = {"suite", "version", "description", "citation", "defaults", "domains", "tasks", "presets", "sweep",
             "controls", "primary_metric"}
TRAIN_DEFAULTS: dict[str, Any] = {
    "epochs": 5,
    "batch_size": 128,
    "eval_batch_size": 512,
    "lr": 1e-3,
    "optimizer": "adam",
    "weight_decay": 0.0,
    "momentum": 0.9,
    "scheduler": "none",
    "milestones": [],
    "gamma": 0.1,
    "max_steps_per_epoch": 0,
    "mixed_precision": "no",
    "augment": "none",  # a policy of zoo.augment, applied to training image batches
    "imbalance": "none",  # one of zoo.imbalance_methods.METHODS (class weights, balanced sampler, SMOTE family)
    "drop_last": True,  # False: train on each epoch's last partial batch too (the MedMNIST v2 code does)
    "eval_every": 1,  # every k-th epoch of the last stage (and its last; earlier stages too with stage_curves)
    "compile": False,  # True or a torch.compile mode: the backbone compiled (same losses to float tolerance)
    "test_curves": False,  # True: test splits at every evaluated epoch (curves); else only at the selected epochs
    "stage_curves": False,  # True: stages before the last evaluated as it is (curves); else at their last epoch
}
# train.compile: true, false or one of torch.compile's modes by name (what each does: zoo.runner.compiled)
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
TRAIN_CHOICES = {
    "optimizer": {"adam", "adamw", "sgd"},
    "scheduler": {"none", "cosine", "multistep"},
    "mixed_precision": {"no", "fp16", "bf16"},
    "imbalance": set(IMBALANCE_NAMES),  # declared once, with what each changes, in zoo.imbalance_methods
}
# suite ``controls:``: each adaptation method also runs as NAME@w0 (zoo.algorithms.variants)
CONTROLS = ("weight_zero",)
DEFAULTS: dict[str, Any] = {
    "backbone": {"name": "simple_cnn"},
    "train": TRAIN_DEFAULTS,
    "seeds": [0],
    # rule: the one reported by default; rules: which to record ("all" applicable, or a list)
    "selection": {"rule": "auto", "metric": "accuracy", "rules": "all"},
    "image_size": None,
    "channels": None,
    "hparams": {},
    "init": None,  # a finished run's checkpoint to start from (zoo.bench.init_from)
}


@dataclass
class Suite:
    """A validated suite; ``runs()`` expands it into ``RunSpec`` objects."""

    name: str
    version: int
    path: Path
    description: str
    domains: dict[str, dict[str, Any]]
    tasks: list[TaskSpec]
    defaults: dict[str, Any]
    task_defaults: dict[str, dict[str, Any]] = field(default_factory=dict)
    sweeps: dict[str, Any] = field(default_factory=dict)  # task name -> zoo.bench.sweep.SweepSpec
    controls: tuple[str, ...] = ()  # "weight_zero": each adaptation method also runs as its weight-0 twin
    primary_metric: str | None = None  # the metric that ranks its runs (zoo.results.primary); None: the default
    added_algorithms: tuple[str, ...] = ()  # --add-algorithm: run beside the suite's own (zoo.bench.run_filters)

    def runs(self, tasks: list[str] | None = None, algorithms: list[str] | None = None) -> list[RunSpec]:
        """All runs, task by task, algorithm by algorithm, seed by seed (optionally filtered).

        An algorithm added with ``--add-algorithm`` (``added_algorithms``) skips the tasks it cannot run,
        saying why in the log; it is an error only if it fits no task at all.
        """
        from zoo.bench.resolve import resolve_run  # imports the registries; keep suite parsing light
        from zoo.bench.run_filters import check_algorithms, check_tasks

        algorithms = algorithm_names(algorithms)  # an old name (finetune) selects the renamed algorithm's runs
        check_tasks(self, tasks)
        check_algorithms(self, algorithms)
        wanted_tasks = set(tasks or [t.name for t in self.tasks])
        specs, refused = [], {}
        for task in self.tasks:
            if task.name not in wanted_tasks:
                continue
            settings = self.task_defaults.get(task.name, self.defaults)
            names = list(task.algorithms)
            if "weight_zero" in self.controls:
                from zoo.algorithms import ALGORITHMS
                from zoo.algorithms.variants import twins

                names = twins(names, ALGORITHMS)
            for algorithm in names:
                if algorithms and algorithm not in algorithms:
                    continue
                try:
                    specs.extend(self._expand(task, algorithm, settings, resolve_run))
                except ConfigError as err:
                    if algorithm.partition("@")[0] not in self.added_algorithms:
                        raise
                    refused.setdefault(algorithm, {})[task.name] = str(err)
        for algorithm, reasons in refused.items():
            if not any(spec.algorithm == algorithm for spec in specs):
                task, reason = next(iter(reasons.items()))
                raise ConfigError(f"--add-algorithm {algorithm} fits no task of suite '{self.name}': {reason}")
            logger.warning("%s does not run on task(s) %s: %s", algorithm, ", ".join(reasons),
                           next(iter(reasons.values())))
        return specs

    def _expand(self, task: TaskSpec, algorithm: str, settings: dict[str, Any], resolve_run) -> list[RunSpec]:
        if task.name in self.sweeps:  # random search: trials x seeds (zoo.bench.sweep)
            from zoo.bench.sweep import expand_sweep

            return expand_sweep(self, task, algorithm, settings, self.sweeps[task.name])
        return [resolve_run(self, task, algorithm, int(seed), settings) for seed in settings["seeds"]]


# -- overrides ---------------------------------------------------------------------------------------
def override_path(key: str) -> tuple[str, ...]:
    """The key path an override sets: ``train.epochs`` -> ``('defaults', 'train', 'epochs')``."""
    parts = key.strip().split(".")
    return tuple(parts if parts[0] in TOP_LEVEL else ["defaults"] + parts)


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``a.b.c=value`` overrides (values parsed as YAML); bare default keys need no ``defaults.``."""
    data = copy.deepcopy(data)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override '{item}' must look like key=value, e.g. train.epochs=2")
        value = parse_value(raw)  # as in a suite file: 1.2 numbers (3e-4), no duplicate keys
        parts = list(override_path(key))
        node = data
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override '{item}': '{part}' is not a mapping in this suite")
        node[parts[-1]] = value
    return data


# -- validation --------------------------------------------------------------------------------------
def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _validate_settings(doc: YamlDoc, settings: dict[str, Any], at: tuple) -> dict[str, Any]:
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        key = sorted(unknown)[0]
        raise doc.error(at + (key,), f"unknown setting '{key}'; known: {', '.join(sorted(DEFAULTS))}")
    merged = _merge(DEFAULTS, settings)
    backbone = merged["backbone"]
    if isinstance(backbone, str):
        merged["backbone"] = backbone = {"name": backbone}
    check_type(doc, at + ("backbone",), backbone, (dict,), "a mapping with a 'name'")
    check_type(doc, at + ("backbone", "name"), backbone.get("name"), (str,), "a backbone name")
    train = merged["train"]
    for key, value in train.items():
        if key not in TRAIN_DEFAULTS:
            raise doc.error(at + ("train", key), f"unknown train option '{key}'; known: {', '.join(TRAIN_DEFAULTS)}")
        default = TRAIN_DEFAULTS[key]
        if key == "compile":  # true / false, or torch.compile's mode by name (zoo.runner.compiled)
            if value not in (True, False, *COMPILE_MODES) or not isinstance(value, (bool, str)):
                raise doc.error(at + ("train", key), f"'compile' must be true, false or a torch.compile mode "
                                                     f"({', '.join(COMPILE_MODES)}), got {value!r}")
            continue
        kinds = (int, float) if isinstance(default, float) else (type(default),)
        check_type(doc, at + ("train", key), value, kinds, type(default).__name__)
        if key in TRAIN_CHOICES and value not in TRAIN_CHOICES[key]:
            raise doc.error(at + ("train", key), f"'{key}' must be one of {sorted(TRAIN_CHOICES[key])}, got {value!r}")
    for key in ("epochs", "batch_size", "eval_batch_size", "eval_every"):
        if train[key] < 1:
            raise doc.error(at + ("train", key), f"'{key}' must be >= 1, got {train[key]}")
    seeds = merged["seeds"]
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        merged["seeds"] = seeds = [seeds]
    check_type(doc, at + ("seeds",), seeds, (list,), "a list of integers")
    check_seeds(doc, seeds, at)
    validate_selection(doc, merged, at, DEFAULTS["selection"])
    for key in ("image_size", "channels"):
        if merged[key] is not None:
            check_type(doc, at + (key,), merged[key], (int,), "an integer")
    check_type(doc, at + ("hparams",), merged["hparams"], (dict,), "a mapping algorithm -> {name: value}")
    merged["hparams"] = hparams_by_algorithm(merged["hparams"])
    if merged["init"] is not None:
        check_type(doc, at + ("init",), merged["init"], (str,), "the path of a medzoo run folder or checkpoint")
    return merged


def _validate_task(doc: YamlDoc, raw: Any, i: int, domains: dict[str, Any]) -> TaskSpec:
    at = ("tasks", i)
    check_type(doc, at, raw, (dict,), "a mapping")
    for key in ("name", "target", "algorithms"):
        if key not in raw:
            raise doc.error(at, f"task #{i + 1} has no '{key}'")
    setting = raw.get("setting", DEFAULT_SETTING)
    if setting not in TASK_SETTINGS:
        raise doc.error(at + ("setting",), f"task '{raw['name']}': unknown setting {setting!r}; known: "
                                           f"{', '.join(TASK_SETTINGS)}")
    if "source" not in raw and "pretrain" not in raw and setting != "source_free":
        raise doc.error(at, f"task #{i + 1} has no 'source' (or 'pretrain' steps, for fine-tuning a pretrained net)")
    raw_sources = raw.get("source", [])
    sources = raw_sources if isinstance(raw_sources, list) else [raw_sources]
    for name, key in [(s, "source") for s in sources] + [(raw["target"], "target")]:
        if name not in domains:
            raise doc.error(at + (key,), f"task '{raw['name']}': unknown domain '{name}'; "
                                         f"defined: {', '.join(domains)}")
    budget = raw.get("target_budget", 0)
    check_type(doc, at + ("target_budget",), budget, (int, float), "a fraction in [0, 1]")
    if not 0 <= budget <= 1:
        raise doc.error(at + ("target_budget",), f"'target_budget' must be in [0, 1], got {budget}")
    if not sources and budget == 0 and setting != "source_free":
        raise doc.error(at + ("target_budget",), f"task '{raw['name']}' has no source, so it needs target labels: "
                                                 "set target_budget > 0")
    algorithms = raw["algorithms"] if isinstance(raw["algorithms"], list) else [raw["algorithms"]]
    label_map = raw.get("label_map")
    if label_map is not None:
        check_type(doc, at + ("label_map",), label_map, (dict,), "a mapping source label -> target label")
    pretrain = validate_pretrain(doc, raw["pretrain"], at + ("pretrain",), domains) if "pretrain" in raw else ()
    refusal = task_refusal(setting, tuple(sources), budget, pretrain, has_init=True)  # init: checked at resolution
    if refusal:
        raise doc.error(at + (("setting",) if "setting" in raw else ()), f"task '{raw['name']}': {refusal}")
    return TaskSpec(
        name=str(raw["name"]),
        sources=tuple(str(s) for s in sources),
        target=str(raw["target"]),
        target_budget=float(budget),
        algorithms=tuple(algorithm_name(str(a)) for a in algorithms),
        label_map={str(k): str(v) for k, v in label_map.items()} if label_map else None,
        pretrain=pretrain,
        setting=setting,
    )


PRESET_FILTERS = ("tasks", "algorithms")


def _preset_settings(doc: YamlDoc, data: dict, name: str) -> tuple[dict, dict]:
    """Split preset ``name`` into default settings (merged into ``defaults``) and its task/algorithm filters.

    A CPU-sized preset can thus run a declared subset of a large suite (e.g. three of seven algorithms);
    the filters apply after every task is validated, so errors still point at the right lines.
    """
    presets = data.get("presets") or {}
    if name not in presets:
        raise ConfigError(f"suite '{data['suite']}' has no preset '{name}'; presets: {', '.join(presets) or '(none)'}")
    at = ("presets", name)
    check_type(doc, at, presets[name], (dict,), "a mapping of default settings")
    filters = {k: v for k, v in presets[name].items() if k in PRESET_FILTERS}
    for key, value in filters.items():
        check_type(doc, at + (key,), value, (list,), f"a list of {key[:-1]} names")
    settings = {k: v for k, v in presets[name].items() if k not in PRESET_FILTERS}
    return {**data, "defaults": _merge(data.get("defaults") or {}, settings)}, filters


def _filter_tasks(doc: YamlDoc, tasks: list[TaskSpec], name: str, filters: dict) -> list[TaskSpec]:
    """Keep the tasks and algorithms a preset names; a name that matches nothing is an error."""
    at = ("presets", name)
    if "tasks" in filters:
        unknown = sorted(set(filters["tasks"]) - {t.name for t in tasks})
        if unknown:
            raise doc.error(at + ("tasks",), f"preset '{name}' names unknown task(s) {unknown}")
        tasks = [t for t in tasks if t.name in filters["tasks"]]
    if "algorithms" in filters:
        keep = algorithm_names(filters["algorithms"])
        unknown = sorted(set(keep) - {a for t in tasks for a in t.algorithms})
        if unknown:
            raise doc.error(at + ("algorithms",), f"preset '{name}' names algorithm(s) {unknown} that no task lists")
        tasks = [replace(t, algorithms=tuple(a for a in t.algorithms if a in keep)) for t in tasks]
        tasks = [t for t in tasks if t.algorithms]
    return tasks


def validate_suite(doc: YamlDoc, overrides: list[str] | None = None, preset: str | None = None) -> Suite:
    """Check the parsed document (types, names, ranges) and build a ``Suite``."""
    data = doc.data
    if not isinstance(data, dict):
        raise doc.error((), "a suite file must be a YAML mapping with 'suite', 'version', 'domains' and 'tasks'")
    for key in data:
        if key not in TOP_LEVEL:
            raise doc.error((key,), f"unknown top-level key '{key}'; known: {', '.join(sorted(TOP_LEVEL))}")
    for key in ("suite", "version", "domains", "tasks"):
        if key not in data:
            raise doc.error((), f"missing required key '{key}'")
    check_type(doc, ("version",), data["version"], (int,), "an integer version")
    filters: dict = {}
    if preset:
        data, filters = _preset_settings(doc, data, preset)
    data = apply_overrides(data, overrides or [])
    for item in overrides or []:  # a bad value from the command line is reported as that override
        doc.origins[override_path(item.partition("=")[0])] = f"override '{item}'"
    domains = data["domains"]
    check_type(doc, ("domains",), domains, (dict,), "a mapping of domain name -> spec")
    for name, spec in domains.items():
        check_type(doc, ("domains", name), spec, (dict,), "a mapping with a 'dataset'")
        if "dataset" not in spec:
            raise doc.error(("domains", name), f"domain '{name}' has no 'dataset'")
        if "shift" in spec and not (isinstance(spec["shift"], dict) and "name" in spec["shift"]):
            raise doc.error(("domains", name, "shift"), f"domain '{name}': 'shift' is an acquisition shift, a mapping "
                                                        f"like {{name: gamma, severity: 3, seed: 0}}; "
                                                        f"got {spec['shift']!r}")
        if "partition" in spec and not isinstance(spec["partition"], dict):
            raise doc.error(("domains", name, "partition"), f"domain '{name}': 'partition' must be a mapping like "
                                                            f"{{part: 0, of: 2, seed: 0}}; got {spec['partition']!r}")
    check_type(doc, ("tasks",), data["tasks"], (list,), "a list of tasks")
    defaults = _validate_settings(doc, data.get("defaults") or {}, ("defaults",))
    tasks, task_defaults, sweeps = [], {}, {}
    top_sweep = parse_sweep(doc, data.get("sweep"), ("sweep",))
    for i, raw in enumerate(data["tasks"]):
        task = _validate_task(doc, raw, i, domains)
        tasks.append(task)
        own = {k: v for k, v in raw.items() if k in DEFAULTS}
        task_defaults[task.name] = _validate_settings(doc, _merge(data.get("defaults") or {}, own), ("tasks", i))
        sweep = parse_sweep(doc, raw["sweep"], ("tasks", i, "sweep"), top_sweep) if "sweep" in raw else top_sweep
        if sweep is not None:
            sweeps[task.name] = sweep
            if isinstance(raw.get("sweep"), dict) and "hparams_space" in raw["sweep"]:  # its own, not inherited
                check_space_algorithms(doc, sweep, ("tasks", i, "sweep"), set(task.algorithms))
    check_space_algorithms(doc, top_sweep, ("sweep",), {a for t in tasks for a in t.algorithms})
    controls = data.get("controls") or []
    check_type(doc, ("controls",), controls, (list,), "a list of controls, e.g. [weight_zero]")
    for i, control in enumerate(controls):
        if control not in CONTROLS:
            raise doc.error(("controls", i), f"unknown control {control!r}; known: {', '.join(CONTROLS)} (each "
                                             "adaptation method also runs with its alignment weight at 0)")
    primary = validate_primary_metric(doc, data.get("primary_metric"))
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise doc.error(("tasks",), f"task names must be unique, got {names}")
    if filters:
        tasks = _filter_tasks(doc, tasks, preset, filters)
    return Suite(
        name=check_suite_name(doc, data["suite"]),
        version=int(data["version"]),
        path=doc.path,
        description=str(data.get("description", "")),
        domains=domains,
        tasks=tasks,
        defaults=defaults,
        task_defaults=task_defaults,
        sweeps=sweeps,
        controls=tuple(controls),
        primary_metric=primary,
    )


def load_suite(name_or_path: str, overrides: list[str] | None = None, preset: str | None = None) -> Suite:
    """Load a suite by registered name or by path to a YAML file, apply overrides, validate it."""
    path = find_suite_file(name_or_path)
    return validate_suite(load_yaml_with_lines(path), overrides=overrides, preset=preset)
