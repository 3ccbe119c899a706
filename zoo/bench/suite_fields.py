"""Validators of single fields of a suite file, each raising a file:line ``ConfigError`` (``YamlDoc.error``).

Usage::

    check_type(doc, ("defaults", "seeds"), seeds, (list,), "a list of integers")
    steps = validate_pretrain(doc, raw["pretrain"], ("tasks", 0, "pretrain"), domains)
    metric = validate_primary_metric(doc, raw.get("primary_metric"))
    algorithm_name("finetune")   # 'source_then_target' (an old name, logged once)
"""

from __future__ import annotations

import math
from typing import Any

from zoo.bench.yaml_lines import YamlDoc
from zoo.errors import ConfigError
from zoo.registry import canonical_name
from zoo.selection import RULES, rule_name

SELECTION_RULES = {"auto", *RULES}  # the rule reported by default; every applicable rule is recorded
SELECTION_KEYS = {"rule", "metric", "rules"}


def algorithm_name(name: Any) -> Any:
    """The current name of an algorithm a suite or a command names: an old name (``zoo.registry.ALIASES``) gives
    the new one, logged once; a twin keeps its suffix (``finetune@w0`` -> ``source_then_target@w0``)."""
    if not isinstance(name, str):
        return name
    base, at, variant = name.partition("@")
    return canonical_name("algorithm", base) + at + variant


def algorithm_names(names: Any) -> Any:
    """``algorithm_name`` of each name of a list (``None`` and other values unchanged)."""
    return [algorithm_name(n) for n in names] if isinstance(names, (list, tuple)) else names


def hparams_by_algorithm(hparams: dict[str, Any]) -> dict[str, Any]:
    """``hparams: {algorithm: {...}}`` under the current names: an old name's values go to the new one (merged,
    the new name's own values winning where both are given)."""
    out: dict[str, Any] = {}
    for name, values in sorted(hparams.items(), key=lambda item: algorithm_name(item[0]) == item[0]):  # old first
        new = algorithm_name(name)
        out[new] = {**out[new], **values} if isinstance(out.get(new), dict) and isinstance(values, dict) else values
    return out


def check_type(doc: YamlDoc, keys: tuple, value: Any, kinds: tuple[type, ...], what: str) -> None:
    """One-line error unless ``value`` is one of ``kinds`` (a bool is no number; a number must be finite)."""
    if isinstance(value, bool) and bool not in kinds:
        raise doc.error(keys, f"'{keys[-1]}' must be {what}, got {value!r}")
    if not isinstance(value, kinds):
        raise doc.error(keys, f"'{keys[-1]}' must be {what}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise doc.error(keys, f"'{keys[-1]}' must be a finite number ({what}), got {value!r}")


def check_suite_name(doc: YamlDoc, name: Any) -> str:
    """``suite:`` must be a plain name (it names result folders, pages and Hub datasets)."""
    if not isinstance(name, (str, int)) or isinstance(name, bool) or not str(name).strip():
        raise doc.error(("suite",), f"'suite' must be a name like my-suite, got {name!r}")
    return str(name)


def check_seeds(doc: YamlDoc, seeds: list, at: tuple) -> None:
    """At least one integer seed (an empty list would run nothing and exit 0)."""
    if not seeds:
        raise doc.error(at + ("seeds",), "'seeds' is empty: list at least one, e.g. seeds: [0, 1, 2]")
    for i, seed in enumerate(seeds):
        check_type(doc, at + ("seeds", i), seed, (int,), "an integer seed")


def validate_selection(doc: YamlDoc, merged: dict[str, Any], at: tuple, default: dict[str, Any]) -> None:
    """``selection``: a rule name, or ``{rule, metric, rules}`` (``rules``: ``all`` or a list of rule names)."""
    selection = merged["selection"]
    if isinstance(selection, str):
        merged["selection"] = selection = {**default, "rule": selection}
    check_type(doc, at + ("selection",), selection, (dict,), "a rule name or a mapping {rule, metric, rules}")
    unknown = sorted(set(selection) - SELECTION_KEYS)
    if unknown:
        raise doc.error(at + ("selection", unknown[0]), f"unknown selection key '{unknown[0]}'; known: "
                                                        f"{', '.join(sorted(SELECTION_KEYS))}")
    if isinstance(selection.get("rule"), str):  # an old name (dev) is the renamed rule
        selection["rule"] = rule_name(selection["rule"])
    if isinstance(selection.get("rules"), list):
        selection["rules"] = [rule_name(r) if isinstance(r, str) else r for r in selection["rules"]]
    if selection.get("rule") not in SELECTION_RULES:
        raise doc.error(at + ("selection", "rule"), f"selection rule must be one of {sorted(SELECTION_RULES)}, "
                                                    f"got {selection.get('rule')!r}")
    rules = selection.get("rules", "all")
    if rules != "all":
        check_type(doc, at + ("selection", "rules"), rules, (list,), "'all' or a list of rule names")
        bad = [r for r in rules if r not in RULES]
        if bad:
            raise doc.error(at + ("selection", "rules"), f"unknown selection rule {bad[0]!r} in 'rules'; known: "
                                                         f"{', '.join(RULES)}")


PRETRAIN_KEYS = {"domain", "epochs", "lr_mult", "train"}


def validate_pretrain(doc: YamlDoc, raw: Any, at: tuple, domains: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """``pretrain``: a list of steps, each a domain name or ``{domain, epochs, lr_mult, train}``."""
    from zoo.algorithms.freezing import check_trainable_spec

    steps = raw if isinstance(raw, list) else [raw]
    out = []
    for j, step in enumerate(steps):
        where = at + (j,) if isinstance(raw, list) else at
        if isinstance(step, str):
            step = {"domain": step}
        check_type(doc, where, step, (dict,), "a domain name or a mapping with a 'domain'")
        unknown = set(step) - PRETRAIN_KEYS
        if unknown:
            raise doc.error(where, f"unknown pretrain key '{sorted(unknown)[0]}'; "
                                   f"known: {', '.join(sorted(PRETRAIN_KEYS))}")
        if step.get("domain") not in domains:
            raise doc.error(where, f"pretrain step #{j + 1}: unknown domain {step.get('domain')!r}; "
                                   f"defined: {', '.join(domains)}")
        epochs = step.get("epochs")
        if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1):
            raise doc.error(where, f"pretrain step #{j + 1}: 'epochs' must be an integer >= 1, got {epochs!r}")
        lr_mult = step.get("lr_mult", 1.0)
        if isinstance(lr_mult, bool) or not isinstance(lr_mult, (int, float)) or not lr_mult > 0:
            raise doc.error(where, f"pretrain step #{j + 1}: 'lr_mult' must be a number > 0, got {lr_mult!r}")
        try:
            check_trainable_spec(step.get("train", "all"), f"pretrain step #{j + 1}")
        except ConfigError as err:
            raise doc.error(where, str(err)) from None
        out.append({"domain": step["domain"], "epochs": epochs, "lr_mult": float(lr_mult),
                    "train": step.get("train", "all")})
    return tuple(out)


def validate_primary_metric(doc: YamlDoc, value: Any) -> str | None:
    """``primary_metric``: the metric that ranks the suite's runs (``zoo.results.primary``); None if not declared.

    It goes into each record's ``suite``, never into the run config, so declaring it changes no run id.
    """
    if value is None:
        return None
    from zoo.results.record import METRIC_NAMES  # only when declared: keeps suite parsing light

    if value not in METRIC_NAMES:
        raise doc.error(("primary_metric",), f"'primary_metric' must be one of {', '.join(METRIC_NAMES)}, "
                                             f"got {value!r}")
    return str(value)
