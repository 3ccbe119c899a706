"""Choose the best random-search trial per task x algorithm by validation metrics only, never a test split.

Records group into experiments (suite@version, task, algorithm, backbone, selection rule and metric) and,
inside one, into trials: a sweep record's ``sweep: {seed, trial}``, or, for records of no sweep, their
hyperparameters. A trial's score is the mean over its seeds of the metric its selection rule reads on the
validation split that rule names (``source_val``, ``target_val``, ...: ``zoo.selection``),
i.e. the very number that picked each run's checkpoint. Test metrics are never read here.

Only complete trials compete: those with as many scored seeds as the most complete trial of the experiment,
so a half-finished sweep cannot crown a trial on one lucky seed. Ties go to the lower trial index.

Usage::

    choices = best_trials(store.records())
    for choice in choices:
        print(choice.task, choice.algorithm, choice.best.trial, choice.best.score, choice.best.hparams)
    records = best_trial_records(store.records())     # the runs (one per seed) of each chosen trial
"""

from __future__ import annotations

import json
import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

from zoo.errors import ConfigError
from zoo.selection import rule_metric, selection_split

logger = logging.getLogger(__name__)


@dataclass
class TrialScore:
    """One trial of an experiment: its records (one per seed) and their mean validation score."""

    key: tuple
    trial: int | None  # the sweep's trial index; None for records of no sweep
    hparams: dict[str, Any]
    records: list[dict[str, Any]]
    score: float | None  # mean over seeds of the selection metric on the selection split
    n: int  # seeds with a finite score


@dataclass
class TrialChoice:
    """The best trial of one experiment and every trial it was chosen from (best first)."""

    suite: str
    task: str
    algorithm: str
    backbone: str
    rule: str
    split: str
    metric: str
    best: TrialScore
    trials: list[TrialScore] = field(default_factory=list)

    @property
    def records(self) -> list[dict[str, Any]]:
        return self.best.records


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def experiment_key(record: dict[str, Any]) -> tuple[str, ...]:
    """(suite@version, task, algorithm, backbone[options], rule, metric): the trials of one sweep share it."""
    backbone = record["backbone"]
    options = backbone.get("options") or {}
    label = backbone["name"] + (f"[{','.join(f'{k}={_compact(options[k])}' for k in sorted(options))}]"
                                if options else "")
    selection = record["selection"]
    return (f"{record['suite']['name']}@{record['suite']['version']}", record["task"]["name"], record["algorithm"],
            label, selection["rule"], selection.get("metric", "accuracy"))


def trial_key(record: dict[str, Any]) -> tuple:
    """``("sweep", sweep seed, trial)`` for sweep records, else ``("hparams", their canonical JSON)``."""
    sweep = record.get("sweep")
    if isinstance(sweep, dict) and isinstance(sweep.get("trial"), int):
        return ("sweep", int(sweep.get("seed", 0)), sweep["trial"])
    return ("hparams", _compact(record.get("hparams", {})))


def validation_score(record: dict[str, Any]) -> float | None:
    """The run's selection metric on its rule's validation split (a finite float), or None.

    Usage::

        validation_score(record)     # e.g. record["metrics"]["source_val"]["accuracy"] for source_val
    """
    rule = record["selection"]["rule"]
    split = selection_split(rule)  # refuses a rule that would read a test split
    if split is None:  # 'last' scores nothing
        return None
    value = record.get("metrics", {}).get(split, {}).get(
        rule_metric(rule, record["selection"].get("metric", "accuracy")))
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _score_trial(key: tuple, records: list[dict[str, Any]]) -> TrialScore:
    records = sorted(records, key=lambda r: (str(r.get("seed")), r["run_id"]))
    values = [v for v in (validation_score(r) for r in records) if v is not None]
    trial = key[2] if key[0] == "sweep" else None
    return TrialScore(key, trial, dict(records[0].get("hparams", {})), records,
                      sum(values) / len(values) if values else None, len(values))


def best_trials(records: Iterable[dict[str, Any]]) -> list[TrialChoice]:
    """The best trial of every experiment in ``records``, sorted by suite, task, algorithm, backbone, rule.

    An experiment whose selection rule is unknown to this medzoo is skipped with a warning.
    """
    experiments: dict[tuple, dict[tuple, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        experiments[experiment_key(record)][trial_key(record)].append(record)
    choices = []
    for key in sorted(experiments):
        try:
            split = selection_split(key[4])
        except ConfigError as err:
            logger.warning("%s: %s; skipped", "/".join(key[:3]), err)
            continue
        if split is None:
            logger.warning("%s: rule '%s' reads no validation split, so it cannot rank trials; choose with "
                           "--selection source_val (or another validation rule); skipped", "/".join(key[:3]), key[4])
            continue
        scored = [_score_trial(tk, recs) for tk, recs in sorted(experiments[key].items())]
        most = max(t.n for t in scored)
        candidates = [t for t in scored if t.n == most and t.score is not None]
        if not candidates:
            logger.warning("%s: no run has %s on %s; no trial can be chosen", "/".join(key[:3]), key[5], split)
            continue
        ranked = sorted(candidates, key=lambda t: -t.score)  # stable: ties keep the lower trial key first
        ranked += [t for t in scored if t not in candidates]  # incomplete trials after, for the listing
        choices.append(TrialChoice(*key[:5], split=split, metric=key[5], best=ranked[0], trials=ranked))
    return choices


def best_trial_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records (one per seed) of the best trial of every experiment, for results tables.

    Usage::

        print_results_table(best_trial_records(store.records()))
    """
    return [record for choice in best_trials(records) for record in choice.records]
