"""Named model-selection rules, declared once: which validation split picks the checkpoint. Never a test split.

A run trains once and records every split's metrics at every epoch; each rule that applies to the run's
task then picks its epoch from that history (DomainBed's ``model_selection.py`` does the same after
training). The rules:

- ``source_val``: the metric on the source validation split; the honest default for unsupervised
  adaptation, where no target label may be used. Needs a source that the selected stage trains on.
- ``target_val``: the target validation labels the task's budget allows (the same fraction as training).
- ``target_val_oracle``: all target validation labels; an upper bound, reported as such.
- ``deep_embedded_validation`` (called ``dev`` before issue 18; the old name still works, zoo/registry.py:ALIASES):
  Deep Embedded Validation (You et al., ICML 2019): the source validation loss weighted by the target/source
  density ratio of the features, with a control variate; label-free. Its metric is ``score`` (= -estimated
  risk). Needs a source that the selected stage trains on. The history key it reads stays ``dev``
  (``DEV_SPLIT``; the records' ``curves.dev_score``), so stored histories and curves keep their meaning.
- ``last``: the last epoch; what a script without model selection reports, and the fallback beside a rule
  whose selection set is too small to mean much.

Each rule reads the validation split of its own name (record schema 3). Before, the rule ``target_val`` read
the split ``target_val_budget`` and ``target_val_oracle`` read ``target_val``; records of schema 1-2 are read
under the new split names (``SPLITS_BEFORE_SCHEMA_3``, applied by ``zoo.results.names.canonical_record``), and
``--split target_val_budget`` still works (``zoo/registry.py:ALIASES``).

Usage::

    RULES["source_val"].split                                   # 'source_val'
    rules = applicable_rules(has_source=True, budget=0.0, trains_on_source=True)   # ['source_val', ...]
    best = select_epoch(history, "source_val", "accuracy")      # index into history
    rule_name("dev")                                            # 'deep_embedded_validation'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zoo.errors import ConfigError
from zoo.registry import canonical_name

# Split names of records before schema 3 -> their names now: each rule reads the split of its own name. The old
# `target_val` (all target validation labels) is `target_val_oracle`; `target_val_budget` is `target_val`.
SPLITS_BEFORE_SCHEMA_3 = {"target_val": "target_val_oracle", "target_val_budget": "target_val"}
SMALL_SELECTION_SET = 5  # fewer labelled images than this in some class: the rule's choice is flagged


@dataclass(frozen=True)
class SelectionRule:
    """One model-selection rule: the validation split it reads and what it needs from a task.

    ``split`` is ``None`` for ``last`` (it reads nothing); ``metric`` fixes the metric (DEV's ``score``),
    otherwise the suite's ``selection.metric`` is used; ``needs_source_stage``: the selected stage must
    train on the source (a rule reading source labels says nothing about a model fit to target labels).
    """

    name: str
    split: str | None
    summary: str
    needs_source_stage: bool = False
    needs_budget: bool = False
    metric: str | None = None
    oracle: bool = False
    needs_target_images: bool = False  # reads unlabeled target training images (DEV's density ratio)

    def refusal(self, has_source: bool, budget: float, trains_on_source: bool,
                reads_target: bool = True) -> str | None:
        """Why this rule cannot select for such a task and algorithm, or ``None`` when it can.

        ``reads_target``: the task may read target training images (not in the generalization setting).
        """
        if self.needs_target_images and not reads_target:
            return (f"selection '{self.name}' reads unlabeled target images, which a generalization task never "
                    "reads; use source_val (training-domain validation)")
        if self.needs_source_stage and not has_source:
            return f"selection '{self.name}' needs a source domain and this task has none; use target_val"
        if self.needs_source_stage and not trains_on_source:
            return (f"selection '{self.name}' reads source data, but the selected stage trains on target data "
                    "only; use target_val with target labels, last without (target_val_oracle: an upper bound)")
        if self.needs_budget and budget <= 0:
            return (f"selection '{self.name}' needs target labels but target_budget is 0; use source_val "
                    "(or target_val_oracle, reported as an upper bound)")
        return None


RULES: dict[str, SelectionRule] = {rule.name: rule for rule in [
    SelectionRule("source_val", "source_val", "source validation split", needs_source_stage=True),
    SelectionRule("target_val", "target_val", "budgeted target validation labels", needs_budget=True),
    SelectionRule("target_val_oracle", "target_val_oracle", "all target validation labels (upper bound)", oracle=True),
    SelectionRule("deep_embedded_validation", "dev", "Deep Embedded Validation, label-free (You et al. 2019)",
                  needs_source_stage=True, metric="score", needs_target_images=True),
    SelectionRule("last", None, "the last epoch"),
]}


DEV_SPLIT = "dev"  # the history key of DEV's evaluation (zoo/runner/epoch_eval.py), older than the rule's name


def rule_name(name: str, *, warn: bool = True) -> str:
    """The current name of a rule (``dev`` -> ``deep_embedded_validation``, logged once); others unchanged.

    Usage::

        rule_name("dev")   # 'deep_embedded_validation'
    """
    return canonical_name("selection rule", name, warn=warn)


def reads_dev(rules) -> bool:
    """Whether one of ``rules`` reads DEV's evaluation (so the runner computes it).

    Usage::

        reads_dev(["source_val", "deep_embedded_validation"])   # True
    """
    return any(RULES[r].split == DEV_SPLIT for r in map(rule_name, rules) if r in RULES)


def get_rule(name: str) -> SelectionRule:
    """The rule called ``name`` (or its old name); an unknown name is a one-line ``ConfigError`` listing the known
    ones."""
    name = rule_name(name)
    if name not in RULES:
        raise ConfigError(f"unknown model-selection rule '{name}'; known: {', '.join(RULES)}")
    rule = RULES[name]
    if rule.split is not None and "test" in rule.split:  # defence in depth: no rule may read a test split
        raise ConfigError(f"selection rule '{name}' reads '{rule.split}': the test split can never select a model")
    return rule


def selection_split(rule: str) -> str | None:
    """The validation split a rule reads (``None`` for ``last``); a rule that would read a test split is refused."""
    return get_rule(rule).split


def applicable_rules(has_source: bool, budget: float, trains_on_source: bool, reads_target: bool = True) -> list[str]:
    """Names of the rules that can select for a task with this source, budget and selected stage."""
    return [name for name, rule in RULES.items()
            if rule.refusal(has_source, budget, trains_on_source, reads_target) is None]


def rule_metric(rule: str, metric: str) -> str:
    """The metric ``rule`` ranks epochs by: its own (DEV's ``score``) or the suite's ``selection.metric``."""
    return get_rule(rule).metric or metric


def select_epoch(history: list[dict[str, Any]], rule: str, metric: str) -> int:
    """Index of the best evaluation in ``history`` by ``metric`` on the rule's validation split.

    Each history entry holds ``{"val": {split: metrics}, "test": {...}}`` (``"val": None`` for an epoch that
    was not evaluated); only ``"val"`` is read, so test metrics cannot influence the choice. Ties go to the
    earliest epoch; ``last`` takes the last evaluated entry.
    """
    split = selection_split(rule)
    metric = rule_metric(rule, metric)
    evaluated = [i for i, entry in enumerate(history) if entry.get("val") is not None]
    if split is None:
        return evaluated[-1] if evaluated else len(history) - 1
    best_index, best_score = -1, float("-inf")
    for index in evaluated:
        metrics = history[index]["val"].get(split)
        if metrics is None:
            raise ConfigError(f"selection rule '{rule}' needs the '{split}' split, which this task does not have")
        if metric not in metrics:
            raise ConfigError(f"selection metric '{metric}' unknown; available: {', '.join(sorted(metrics))}")
        score = metrics[metric]
        if score is not None and score == score and score > best_score:  # skip NaN / undefined
            best_index, best_score = index, score
    return best_index if best_index >= 0 else (evaluated[0] if evaluated else 0)


def selection_score(entry: dict[str, Any], rule: str, metric: str) -> float | None:
    """The score ``rule`` gave the evaluation ``entry`` (``None`` for ``last``, which scores nothing)."""
    split = selection_split(rule)
    if split is None or entry.get("val") is None:
        return None
    return entry["val"].get(split, {}).get(rule_metric(rule, metric))
