"""The result record: one JSON object per finished run (docs/architecture.md, "Contracts").

A record says what ran (suite, task, algorithm, backbone, hyperparameters, training settings, seed), which
checkpoint was kept (``selection``), how it scored (``metrics`` per split), how long it took (``timings``)
and on what (``provenance``). Writers build records with :func:`make_record`, which raises a one-line
``ConfigError`` naming every missing or mistyped field; readers check records with :func:`validate_record`,
which returns the problems instead of raising.

Shape (``SCHEMA_VERSION = 3``; ``?`` marks optional fields)::

    schema_version  int                      run_id     str [A-Za-z0-9._-], the hash of the resolved config
    suite           {name, version, primary_metric?}   (primary_metric: declared by the suite, zoo.results.primary)
    task            {name, source: [domain], target, target_budget, setting?}   (setting: zoo.results.setting;
                    none in records before settings, which are transfer)
    algorithm       str                      backbone   {name, options: {}}
    hparams         {}                       train      {epochs, batch_size, lr, optimizer, ...}
    seed            int                      selection  {rule, epoch?, stage?, score?, selection_set?}
    metrics         {split: {accuracy, balanced_accuracy, precision, recall, f1, auroc, per_class?, ...}}
    timings         {train_s, eval_s, total_s, images_per_s?, peak_memory_mb?}
    provenance      {medzoo_version, git, python, platform, packages, plugins, hardware}
    created_at      str, UTC ISO 8601        curves?, checkpoint?, stages?, caveats?
    datasets?       {domain: {dataset, licence, citation}}: the terms of every domain the run read
    files?          {path under the results folder: {sha256, bytes}}: what the run wrote (zoo.results.integrity)
    selections?     {rule: {metric, stage, epoch, score, metrics, selection_set, checkpoint, predictions}}

``selection`` and ``metrics`` are the reported rule's; ``selections`` (from schema 2) holds every rule that
applied to the run, all from its one training. Records of schema 1 (medzoo before selection after
training) have no ``selections``: readers treat them as holding one rule, their ``selection.rule``
(``view_record``), so they load, tabulate and build leaderboards as before. Schema 3 names each validation split
after the rule that reads it (``target_val``: the budget's labels, ``target_val_oracle``: every label); records of
schema 1-2 are read under those names (``zoo.results.names.canonical_record``).

Usage::

    record = make_record(run_id="3f9c2a1b", suite={"name": "quick", "version": 1}, ...)
    problems = validate_record(json.loads(line))   # [] when the record is well formed
"""

from __future__ import annotations

import copy
import json
import math
import re
from datetime import datetime, timezone
from typing import Any

from zoo.errors import ConfigError

SCHEMA_VERSION = 3  # 3: each validation split has its selection rule's name (zoo.selection)

REQUIRED_FIELDS = (
    "schema_version", "run_id", "suite", "task", "algorithm", "backbone", "hparams", "train", "seed",
    "selection", "metrics", "timings", "provenance", "created_at",
)
OPTIONAL_FIELDS = ("curves", "checkpoint", "stages", "sweep", "selections", "caveats", "files", "datasets")
FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS

# The usual metric names; a split may carry more (anything numeric, or nested like per_class).
METRIC_NAMES = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "auroc")

# run_id names a folder (runs/<run_id>/), so it must be a safe single path component.
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")

def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _type_name(value: Any) -> str:
    return type(value).__name__


def to_jsonable(value: Any) -> Any:
    """Plain-JSON copy of ``value``: tuples -> lists, numpy scalars -> Python, NaN/inf -> None.

    Non-finite floats become ``null`` because strict JSON has no NaN (an undefined AUROC is ``null``).

    Usage::

        to_jsonable({"auroc": float("nan"), "shape": (28, 28)})   # {'auroc': None, 'shape': [28, 28]}
    """
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):  # np.float32(0.5), np.int64(3), arrays
        return to_jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def utc_now() -> str:
    """The current time as a UTC ISO 8601 string, e.g. ``2025-01-31T12:00:00+00:00``.

    Usage::

        record["created_at"] = utc_now()
    """
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _check_dict(obj: Any, where: str, problems: list[str]) -> bool:
    if not isinstance(obj, dict):
        problems.append(f"{where}: expected an object, got {_type_name(obj)}")
        return False
    return True


def _check_keys(obj: dict, where: str, spec: dict[str, tuple], problems: list[str]) -> None:
    """``spec`` maps key -> (required, check, expected); check(value) -> bool."""
    for key, (required, check, expected) in spec.items():
        if key not in obj:
            if required:
                problems.append(f"{where}.{key}: missing")
            continue
        if not check(obj[key]):
            problems.append(f"{where}.{key}: expected {expected}, got {obj[key]!r}")


def _nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _optional(check):
    return lambda value: value is None or check(value)


def _version_ok(value: Any) -> bool:
    return _nonempty_str(value) or _is_int(value)


def _nonneg_number(value: Any) -> bool:
    return _is_number(value) and value >= 0


def _check_metrics(metrics: Any, problems: list[str]) -> None:
    if not _check_dict(metrics, "metrics", problems):
        return
    if not metrics:
        problems.append("metrics: empty; expected at least one split such as 'target_test'")
    for split, values in metrics.items():
        if not _check_dict(values, f"metrics.{split}", problems):
            continue
        for name, value in values.items():
            # Scalars are numbers (None = undefined, e.g. AUROC with one class); nested ones are per_class etc.
            if not (value is None or _is_number(value) or isinstance(value, (dict, list))):
                problems.append(f"metrics.{split}.{name}: expected a number or null, got {value!r}")


def _check_created_at(value: Any, problems: list[str]) -> None:
    if not isinstance(value, str):
        problems.append(f"created_at: expected a UTC ISO 8601 string, got {value!r}")
        return
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        problems.append(f"created_at: not an ISO 8601 time: {value!r}")
        return
    if stamp.utcoffset() is None or stamp.utcoffset().total_seconds() != 0:
        problems.append(f"created_at: expected a UTC time (ending in +00:00 or Z), got {value!r}")


def validate_record(obj: Any) -> list[str]:
    """Problems with a result record, one string per problem naming the field; ``[]`` when it is valid.

    Unknown top-level fields are tolerated (a newer writer may add some); a newer ``schema_version`` is not.

    Usage::

        for problem in validate_record(record):
            logger.warning("results.jsonl:%d: %s", lineno, problem)
    """
    if not isinstance(obj, dict):
        return [f"record: expected a JSON object, got {_type_name(obj)}"]
    problems = [f"{name}: missing" for name in REQUIRED_FIELDS if name not in obj]
    version = obj.get("schema_version", SCHEMA_VERSION)
    if not _is_int(version):
        problems.append(f"schema_version: expected an integer, got {version!r}")
    elif version > SCHEMA_VERSION:
        problems.append(f"schema_version: {version} is newer than this medzoo understands "
                        f"({SCHEMA_VERSION}); upgrade medzoo")
    elif version < 1:
        problems.append(f"schema_version: expected >= 1, got {version}")
    if "run_id" in obj and not (isinstance(obj["run_id"], str) and RUN_ID_PATTERN.match(obj["run_id"])):
        problems.append(f"run_id: expected 1-128 characters from [A-Za-z0-9._-], got {obj['run_id']!r}")
    if "algorithm" in obj and not _nonempty_str(obj["algorithm"]):
        problems.append(f"algorithm: expected a non-empty string, got {obj['algorithm']!r}")
    if "seed" in obj and not _is_int(obj["seed"]):
        problems.append(f"seed: expected an integer, got {obj['seed']!r}")
    if "hparams" in obj:
        _check_dict(obj["hparams"], "hparams", problems)

    checks: dict[str, dict[str, tuple]] = {
        "suite": {"name": (True, _nonempty_str, "a non-empty string"),
                  "version": (True, _version_ok, "a string or an integer"),
                  "primary_metric": (False, lambda v: v in METRIC_NAMES, f"one of {', '.join(METRIC_NAMES)}")},
        "task": {"name": (True, _nonempty_str, "a non-empty string"),
                 "source": (True, lambda v: isinstance(v, list) and all(map(_nonempty_str, v)),
                            "a list of domain names"),
                 "target": (True, _nonempty_str, "a domain name"),
                 "target_budget": (True, _optional(_nonneg_number),
                                   "a number of target labels >= 0 (0 = unsupervised) or null"),
                 "setting": (False, _nonempty_str, "a task setting name such as transfer or source_free")},
        "backbone": {"name": (True, _nonempty_str, "a non-empty string"),
                     "options": (False, lambda v: isinstance(v, dict), "an object")},
        "train": {"epochs": (True, lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
                  "batch_size": (True, lambda v: _is_int(v) and v > 0, "an integer > 0"),
                  "lr": (True, _nonneg_number, "a number >= 0"),
                  "optimizer": (True, _nonempty_str, "an optimizer name")},
        "selection": {"rule": (True, _nonempty_str, "a model-selection rule name"),
                      "epoch": (False, _optional(lambda v: _is_int(v) and v >= 0), "an integer >= 0 or null"),
                      "stage": (False, _optional(lambda v: isinstance(v, str) or _is_int(v)),
                                "a stage name/index or null"),
                      "score": (False, _optional(_is_number), "a number or null")},
        "timings": {key: (key in ("train_s", "eval_s", "total_s"), _optional(_nonneg_number),
                          "a number >= 0 or null")
                    for key in ("train_s", "eval_s", "total_s", "images_per_s", "peak_memory_mb")},
        "provenance": {"medzoo_version": (True, _nonempty_str, "a version string")},
    }
    for name, spec in checks.items():
        if name in obj and _check_dict(obj[name], name, problems):
            _check_keys(obj[name], name, spec, problems)
    task = obj.get("task")
    if (isinstance(task, dict) and task.get("source") == [] and not task.get("pretrain")
            and not task.get("target_budget")):
        problems.append("task.source: expected a non-empty list of domain names (a task without a source trains on "
                        "target labels: pretrain steps or target_budget > 0), got []")
    if "metrics" in obj:
        _check_metrics(obj["metrics"], problems)
    if "created_at" in obj:
        _check_created_at(obj["created_at"], problems)
    if obj.get("curves") is not None:
        _check_dict(obj["curves"], "curves", problems)
    if obj.get("checkpoint") is not None:
        path = obj["checkpoint"]
        if not isinstance(path, str) or path.startswith("/") or ".." in path.replace("\\", "/").split("/"):
            problems.append(f"checkpoint: expected a relative path inside the results folder, got {path!r}")
    if obj.get("files") is not None and _check_dict(obj["files"], "files", problems):
        for rel, digest in obj["files"].items():
            if not (isinstance(digest, dict) and isinstance(digest.get("sha256"), str)
                    and _is_int(digest.get("bytes"))):
                problems.append(f"files.{rel}: expected {{sha256: str, bytes: int}}, got {digest!r}")
            elif rel.startswith("/") or ".." in rel.replace("\\", "/").split("/"):
                problems.append(f"files: expected relative paths inside the results folder, got {rel!r}")
    if obj.get("datasets") is not None and _check_dict(obj["datasets"], "datasets", problems):
        for name, terms in obj["datasets"].items():  # records written before it have none: still valid
            if not (isinstance(terms, dict) and all(_nonempty_str(terms.get(k)) for k in ("licence", "citation"))):
                problems.append(f"datasets.{name}: expected {{licence: str, citation: str}}, got {terms!r}")
    if obj.get("stages") is not None and not isinstance(obj["stages"], list):
        problems.append(f"stages: expected a list, got {_type_name(obj['stages'])}")
    if obj.get("caveats") is not None and not (isinstance(obj["caveats"], list)
                                               and all(isinstance(c, str) for c in obj["caveats"])):
        problems.append(f"caveats: expected a list of strings, got {obj['caveats']!r}")
    if obj.get("selections") is not None and _check_dict(obj["selections"], "selections", problems):
        for rule, chosen in obj["selections"].items():
            if _check_dict(chosen, f"selections.{rule}", problems):
                _check_dict(chosen.get("metrics"), f"selections.{rule}.metrics", problems)
    try:
        json.dumps(obj, allow_nan=False)
    except (TypeError, ValueError) as err:
        problems.append(f"record: not plain JSON ({err})")
    return problems


def _normalize(fields: dict[str, Any]) -> dict[str, Any]:
    """Fill defaults and accept the obvious shorthands before validation."""
    record = {name: fields[name] for name in FIELDS
              if name in fields and not (name in OPTIONAL_FIELDS and fields[name] is None)}
    record.setdefault("schema_version", SCHEMA_VERSION)
    record.setdefault("created_at", utc_now())
    if "provenance" not in record:
        from zoo.provenance import collect_provenance

        record["provenance"] = collect_provenance()
    if isinstance(record.get("backbone"), str):  # "timm/resnet18" -> {"name": ..., "options": {}}
        record["backbone"] = {"name": record["backbone"], "options": {}}
    task = record.get("task")
    if isinstance(task, dict) and isinstance(task.get("source"), str):  # one source domain
        record["task"] = {**task, "source": [task["source"]]}
    return to_jsonable(copy.deepcopy(record))


def make_record(**fields: Any) -> dict[str, Any]:
    """Build a validated result record; raise one ``ConfigError`` listing every missing or wrong field.

    Defaults: ``schema_version`` (current), ``created_at`` (now, UTC) and ``provenance``
    (:func:`zoo.provenance.collect_provenance`). Shorthands: ``backbone="simple_cnn"`` and a single
    ``task["source"]`` string. Values are copied into plain JSON (tuples -> lists, NaN -> null).

    Usage::

        record = make_record(run_id=run_id, suite={"name": "quick", "version": 1},
                             task={"name": "pneu->pneu_blur", "source": ["pneu"], "target": "pneu_blur",
                                   "target_budget": 0},
                             algorithm="dann", backbone={"name": "simple_cnn", "options": {}}, hparams={},
                             train={"epochs": 5, "batch_size": 64, "lr": 1e-3, "optimizer": "adamw"}, seed=0,
                             selection={"rule": "source_val", "epoch": 4, "score": 0.91},
                             metrics={"target_test": {"accuracy": 0.83}},
                             timings={"train_s": 12.0, "eval_s": 1.0, "total_s": 13.5})
    """
    unknown = sorted(set(fields) - set(FIELDS))
    problems = [f"{name}: unknown field (known: {', '.join(FIELDS)})" for name in unknown]
    record = _normalize(fields)
    problems += validate_record(record)
    if problems:
        raise ConfigError("invalid result record: " + "; ".join(problems))
    return record


def check_record(record: Any) -> None:
    """Raise ``ConfigError`` (one line, every problem) unless ``record`` is a valid result record.

    Usage::

        check_record(json.loads(line))
    """
    problems = validate_record(record)
    if problems:
        run_id = record.get("run_id") if isinstance(record, dict) else None
        label = f" {run_id!r}" if isinstance(run_id, str) else ""
        raise ConfigError(f"invalid result record{label}: " + "; ".join(problems))


def record_rules(record: dict[str, Any]) -> list[str]:
    """The selection rules a record can be viewed under: every rule of ``selections`` (schema 2), or its one
    ``selection.rule`` (schema 1).

    Usage::

        record_rules(record)      # ['source_val', 'target_val_oracle', 'deep_embedded_validation', 'last']
    """
    return list(record.get("selections") or {}) or [record["selection"]["rule"]]


def view_record(record: dict[str, Any], rule: str) -> dict[str, Any] | None:
    """``record`` as selected by ``rule``: its ``selection`` and ``metrics`` replaced by that rule's choice.

    ``None`` when the rule did not apply to the run (or, for a schema-1 record, is not the one it used).
    Metrics computed only for the reported rule (e.g. CCSA's pair verification) stay with that rule.

    Usage::

        rows = [v for r in records if (v := view_record(r, "last")) is not None]
    """
    if rule == record["selection"]["rule"]:
        return record
    chosen = (record.get("selections") or {}).get(rule)
    if chosen is None:
        return None
    view = dict(record)
    view["selection"] = {k: chosen.get(k) for k in ("rule", "metric", "stage", "epoch", "score", "selection_set")
                         if k in chosen or k == "rule"}
    view["selection"]["rule"] = rule
    view["metrics"] = chosen["metrics"]
    view["checkpoint"] = chosen.get("checkpoint", record.get("checkpoint"))
    return view


def select_views(records: list[dict[str, Any]], selection: str) -> tuple[list[dict[str, Any]], int]:
    """Each record as selected by each rule of ``selection`` (comma-separated; ``all``: every rule a record
    has); returns the views and how many records had none of them. An unknown rule is a one-line error.

    Usage::

        views, missing = select_views(records, "source_val,last")
    """
    from zoo.selection import RULES, rule_name

    wanted = [rule_name(r.strip()) for r in selection.split(",") if r.strip()]  # an old name (dev): logged once
    unknown = [r for r in wanted if r != "all" and r not in RULES]
    if unknown or not wanted:
        raise ConfigError(f"selection: unknown rule '{unknown[0] if unknown else selection}'; known: all, "
                          f"{', '.join(RULES)}")
    out, missing = [], 0
    for record in records:
        rules = record_rules(record) if "all" in wanted else wanted
        views = [v for rule in rules if (v := view_record(record, rule)) is not None]
        missing += not views
        out += views
    return out, missing
