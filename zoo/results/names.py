"""Renamed components in stored records: the one place results and the leaderboard read old names as new ones.

Records name the algorithm and the selection rules that were current when they were written. After a rename
(``zoo.registry.ALIASES``: ``finetune`` -> ``source_then_target``, the rule ``dev`` ->
``deep_embedded_validation``) a results folder can mix both spellings; :func:`canonical_record` gives every
record the current names, so a table shows one algorithm, not two. Every reader goes through it: the line
parser shared by the store and the leaderboard (``zoo.results.jsonl.parse_line``) and the Hub's results
tables (``zoo.hub.results``). Run ids are untouched (they hash the old names: ``zoo.bench.run_config``), and
DEV's own split (``metrics.dev``, ``curves.dev_score``) keeps its key.

Usage::

    canonical_record({"algorithm": "finetune", "selection": {"rule": "dev"}, ...})["algorithm"]
    # 'source_then_target'
"""

from __future__ import annotations

from typing import Any

from zoo.registry import canonical_name

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
    selections = record.get("selections")
    if isinstance(selections, dict) and any(rule_name(k) != k for k in selections):
        renamed = {}
        for key, chosen in selections.items():
            if isinstance(chosen, dict) and "rule" in chosen:
                chosen = {**chosen, "rule": rule_name(chosen["rule"])}
            renamed[rule_name(key)] = chosen
        out = {**out, "selections": renamed}
    return out
