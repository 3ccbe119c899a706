"""Renamed components in stored records: the one place results and the leaderboard read old names as new ones.

Records name the algorithm and the selection rules that were current when they were written. After a rename
(``zoo.registry.ALIASES``: ``finetune`` -> ``source_then_target``, the rule ``dev`` ->
``deep_embedded_validation``) a results folder can mix both spellings; :func:`canonical_record` gives every
record the current names, so a table shows one algorithm, not two. Every reader goes through it: the line
parser shared by the store and the leaderboard (``zoo.results.jsonl.parse_line``) and the Hub's results
tables (``zoo.hub.results``). Run ids are untouched (they hash the old names: ``zoo.bench.run_config``), and
DEV's own split (``metrics.dev``, ``curves.dev_score``) keeps its key.

Records before schema 3 named the validation splits differently (``zoo.selection.SPLITS_BEFORE_SCHEMA_3``:
``target_val`` -> ``target_val_oracle``, ``target_val_budget`` -> ``target_val``). They are read as schema 3:
every ``metrics`` and ``curves`` key, each ``selection_set.split`` and each predictions entry's ``splits``
renamed; a predictions entry also gets ``file_splits`` ({new name: the name inside its ``.npz``}), because the
file itself is not rewritten (its sha256 is in the record), and the record ``converted_from_schema`` (its
version as written). ``target_val`` changed meaning, so asking for it over such records says so once
(:func:`warn_moved_split`, called by the commands that take ``--split``).

Usage::

    canonical_record({"algorithm": "finetune", "selection": {"rule": "dev"}, ...})["algorithm"]
    # 'source_then_target'
"""

from __future__ import annotations

import logging
from typing import Any

from zoo.registry import canonical_name
from zoo.selection import SPLITS_BEFORE_SCHEMA_3

SPLITS_SCHEMA = 3  # the record schema from which split names are the rules' names
MOVED_SPLIT = "target_val"  # the one split name whose meaning changed with schema 3 (so no alias can say it)

logger = logging.getLogger(__name__)

RULE_KIND = "selection rule"


def algorithm_name(name: Any) -> Any:
    """The current name of a stored algorithm name (a twin keeps its ``@w0``); silent: a record is no typo.

    Usage::

        algorithm_name("finetune@w0")   # 'source_then_target@w0'
    """
    if not isinstance(name, str):
        return name
    base, at, variant = name.partition("@")
    return canonical_name("algorithm", base, warn=False) + at + variant


def rule_name(name: Any) -> Any:
    """The current name of a stored selection rule (``dev`` -> ``deep_embedded_validation``).

    Usage::

        rule_name("dev")   # 'deep_embedded_validation'
    """
    return canonical_name(RULE_KIND, name, warn=False) if isinstance(name, str) else name


def canonical_record(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with the current names of its algorithm, its ``selection.rule`` and the rules of its
    ``selections``; the same object when nothing was renamed (a copy otherwise: the input is not changed).

    Usage::

        records = [canonical_record(r) for r in records]
    """
    out = record
    algorithm = algorithm_name(record.get("algorithm"))
    if algorithm != record.get("algorithm"):
        out = {**out, "algorithm": algorithm}
    selection = record.get("selection")
    if isinstance(selection, dict) and rule_name(selection.get("rule")) != selection.get("rule"):
        out = {**out, "selection": {**selection, "rule": rule_name(selection["rule"])}}
    version = record.get("schema_version")
    if isinstance(version, int) and version < SPLITS_SCHEMA:
        out = _splits_renamed(out)
    selections = out.get("selections")
    if isinstance(selections, dict) and any(rule_name(k) != k for k in selections):
        renamed = {}
        for key, chosen in selections.items():
            if isinstance(chosen, dict) and "rule" in chosen:
                chosen = {**chosen, "rule": rule_name(chosen["rule"])}
            renamed[rule_name(key)] = chosen
        out = {**out, "selections": renamed}
    return out


def split_name(name: Any) -> Any:
    """A split's name now, given its name in a record before schema 3 (``target_val`` -> ``target_val_oracle``).

    Usage::

        split_name("target_val_budget")   # 'target_val'
    """
    return SPLITS_BEFORE_SCHEMA_3.get(name, name) if isinstance(name, str) else name


def _curve_key(key: str) -> str:
    """A curve key before schema 3 -> now: ``target_val_budget_accuracy`` -> ``target_val_accuracy``."""
    for old in sorted(SPLITS_BEFORE_SCHEMA_3, key=len, reverse=True):  # the longer old name first
        if key.startswith(old + "_"):
            return SPLITS_BEFORE_SCHEMA_3[old] + key[len(old):]
    return key


def _renamed_keys(mapping: Any, rename) -> Any:
    return {rename(k): v for k, v in mapping.items()} if isinstance(mapping, dict) else mapping


def _selection_renamed(chosen: Any) -> Any:
    """One ``selection``/``selections`` entry with its metrics, selection set and predictions under the new names."""
    if not isinstance(chosen, dict):
        return chosen
    chosen = {**chosen}
    if "metrics" in chosen:
        chosen["metrics"] = _renamed_keys(chosen["metrics"], split_name)
    if isinstance(chosen.get("selection_set"), dict):
        chosen["selection_set"] = {**chosen["selection_set"], "split": split_name(chosen["selection_set"].get("split"))}
    entry = chosen.get("predictions")
    if isinstance(entry, dict) and isinstance(entry.get("splits"), dict):
        chosen["predictions"] = {**entry, "splits": _renamed_keys(entry["splits"], split_name),
                                 "file_splits": {split_name(k): k for k in entry["splits"]}}
    return chosen


def _splits_renamed(record: dict[str, Any]) -> dict[str, Any]:
    """A record before schema 3 as a schema-3 record: its validation splits under their rules' names (a copy)."""
    out = {**record, "schema_version": SPLITS_SCHEMA, "converted_from_schema": record["schema_version"]}
    out["metrics"] = _renamed_keys(record.get("metrics"), split_name)
    if "curves" in record:
        out["curves"] = _renamed_keys(record["curves"], _curve_key)
    if "selection" in record:
        out["selection"] = _selection_renamed(record["selection"])
    if isinstance(record.get("selections"), dict):
        out["selections"] = {rule: _selection_renamed(chosen) for rule, chosen in record["selections"].items()}
    return out


def warn_moved_split(records: list[dict[str, Any]], split: str) -> int:
    """Say once, when ``split`` is ``target_val``, how many records were written when it meant every label.

    Returns that count (0: nothing said).

    Usage::

        warn_moved_split(records, args.split)
    """
    if split != MOVED_SPLIT:
        return 0
    older = sum(1 for r in records if isinstance(r.get("converted_from_schema"), int))
    if older:
        logger.warning("%d record(s) were written before schema 3, when the split target_val held every target "
                       "validation label; they are shown as now: target_val is the budget's labels, every label is "
                       "target_val_oracle", older)
    return older
