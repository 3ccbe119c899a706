"""The resolved configuration of one run: a typed, frozen object, and the policy that names it (its run id).

A run id is a hash of what makes the run's result what it is. Policy 2 (this one) hashes the config's
difference from a versioned table of defaults, ``ID_DEFAULTS``: a value equal to the table's is left out.
So adding an option with a default never changes earlier ids (add it to the table with that default), and
keys that do not change training are simply not hashed (``NOT_HASHED``: the selection rules, which are
applied after training from the recorded history).

``plugins`` (present only when a run uses a third-party backbone, algorithm or dataset) holds each such
distribution's version and a hash of its source files (``zoo.plugins.plugin_sources``), so editing a
plugin's code renames the runs that use it, while runs of medzoo's built-ins keep their ids.

Renamed components keep their ids: ``ID_LEGACY_NAMES`` maps a current name back to the one the ids were
first computed with (``source_then_target`` -> ``finetune``; a twin ``NAME@w0`` follows its base), so a run
names the same whichever spelling its suite used.

How old ids map: policy 1 (medzoo before selection-after-training) hashed the whole resolved config,
selection rule included, with ``train.drop_last``, ``task.pretrain`` and ``init`` only when set.
``legacy_run_id(config)`` recomputes that id, so a results folder of policy 1 can be matched run by run
(its records stay readable either way: ``zoo.results.record``). A run of policy 1 is trained again under
policy 2 rather than reused: the shift pipeline and selection outputs changed with it.

Usage::

    config = RunConfig.from_dict(resolved)           # typed fields, read-only
    config.train["epochs"], config["seed"]           # attribute or mapping access
    run_id_of(config)                                # '3f9c2a1b...' (16 hex digits)
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Iterator

ID_POLICY = 2

# The reference point of policy 2. Never change a value here: that would silently rename runs. Add keys
# (with the default an option had before it existed) freely; to change a value, start policy 3.
ID_DEFAULTS: dict[str, Any] = {
    "train": {
        "epochs": 5, "batch_size": 128, "eval_batch_size": 512, "lr": 1e-3, "optimizer": "adam",
        "weight_decay": 0.0, "momentum": 0.9, "scheduler": "none", "milestones": [], "gamma": 0.1,
        "max_steps_per_epoch": 0, "mixed_precision": "no", "augment": "none", "imbalance": "none",
        "drop_last": True, "eval_every": 1, "compile": False, "test_curves": False,
        "stage_curves": False,
    },
    "selection": {"metric": "accuracy"},
    "task": {"label_map": None, "pretrain": None, "setting": "transfer"},
    "image_size": None,
    "channels": None,
    "init": None,
    "sweep": None,
    "plugins": None,
}
# Names hashed as they were before a rename (zoo/registry.py:ALIASES holds the reverse): config path ->
# {current name: name in the ids}. Add an entry with each rename; never change or remove one (it renames runs).
ID_LEGACY_NAMES: dict[tuple[str, ...], dict[str, str]] = {
    ("algorithm",): {"source_then_target": "finetune"},
    ("selection", "rule"): {"deep_embedded_validation": "dev"},  # not hashed by policy 2; policy 1 hashed it
}
# They never change what a run trains or selects: the selection rules are applied after training from the
# recorded history; test_curves and stage_curves only add evaluations of unselected epochs to the record's curves.
NOT_HASHED = (("selection", "rule"), ("selection", "rules"), ("train", "test_curves"), ("train", "stage_curves"))


class FrozenDict(dict):
    """A ``dict`` that refuses changes (it still serialises, compares and unpacks like a dict)."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("a resolved run config is read-only; build a new one with RunConfig.replace(...)")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _refuse  # type: ignore

    def __reduce__(self):  # pickling (worker processes) and copying rebuild from a plain dict
        return (FrozenDict, (dict(self),))

    def __deepcopy__(self, memo):
        return FrozenDict({k: copy.deepcopy(v, memo) for k, v in self.items()})


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return FrozenDict({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_freeze(v) for v in value]
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class RunConfig(Mapping):
    """Everything that defines one run, resolved (defaults filled, names checked) and read-only.

    Optional fields (``init``, ``sweep``, ``plugins``) are absent from the mapping view when ``None``, as they were
    absent from the resolved dict.
    """

    suite: Mapping[str, Any]
    task: Mapping[str, Any]
    algorithm: str
    hparams: Mapping[str, Any]
    stages: list[str]
    backbone: Mapping[str, Any]
    train: Mapping[str, Any]
    seed: int
    selection: Mapping[str, Any]
    image_size: int | None = None
    channels: int | None = None
    init: Mapping[str, Any] | None = None
    sweep: Mapping[str, Any] | None = None
    plugins: Mapping[str, Any] | None = None  # {dist: {version, source_sha256}} of third-party components used

    _OPTIONAL = ("init", "sweep", "plugins")

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> "RunConfig":
        """A frozen config from a resolved dict; an unknown or missing key is a ``TypeError`` (a bug, not input)."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(config) - names)
        if unknown:
            raise TypeError(f"unknown run config key(s) {unknown}")
        return cls(**{k: _freeze(v) for k, v in config.items()})

    def replace(self, **changes: Any) -> "RunConfig":
        """A copy with some fields changed (e.g. ``sweep=...``)."""
        return RunConfig.from_dict({**self.to_dict(), **changes})

    def to_dict(self) -> dict[str, Any]:
        """A plain, mutable, JSON-ready copy (absent optional fields left out)."""
        return {k: _thaw(v) for k, v in self.items()}

    # -- the mapping view (``config["train"]``), as the resolved dict was ------------------------------
    def _keys(self) -> list[str]:
        return [f.name for f in fields(self) if not (f.name in self._OPTIONAL and getattr(self, f.name) is None)]

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    @property
    def run_id(self) -> str:
        return run_id_of(self)


def _difference(value: Any, default: Any) -> Any:
    """``value`` without what equals ``default`` (recursively for mappings); ``_SAME`` when all of it does."""
    if isinstance(value, Mapping) and isinstance(default, Mapping):
        out = {}
        for key, item in value.items():
            if key in default:
                item = _difference(item, default[key])
                if item is _SAME:
                    continue
            out[key] = _thaw(item)
        return out if out else _SAME
    return _SAME if _thaw(value) == default else _thaw(value)


_SAME = object()


def legacy_name(path: tuple[str, ...], value: str) -> str:
    """The name ``value`` (at config ``path``) had in the ids (``ID_LEGACY_NAMES``); a twin keeps its ``@w0``.

    Usage::

        legacy_name(("algorithm",), "source_then_target@w0")   # 'finetune@w0'
    """
    base, at, variant = value.partition("@")
    return ID_LEGACY_NAMES.get(path, {}).get(base, base) + at + variant


def _legacy_names(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (a thawed config, changed in place) with each renamed component under its ``ID_LEGACY_NAMES`` name."""
    for path in ID_LEGACY_NAMES:
        node = data
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get(path[-1]), str):
            node[path[-1]] = legacy_name(path, node[path[-1]])
    return data


def id_payload(config: Mapping[str, Any]) -> dict[str, Any]:
    """What a policy-2 run id hashes: the policy number and the config's difference from ``ID_DEFAULTS``."""
    data = _legacy_names(_thaw(dict(config)))
    for path in NOT_HASHED:
        node = data
        for key in path[:-1]:
            node = node.get(key, {})
        node.pop(path[-1], None)
    diff = _difference(data, ID_DEFAULTS)
    return {"id_policy": ID_POLICY, "config": {} if diff is _SAME else diff}


def _hash(obj: Any) -> str:
    canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def run_id_of(config: Mapping[str, Any]) -> str:
    """A stable 16-hex-digit id: sha256 of the canonical JSON of ``id_payload(config)``.

    Usage::

        run_id_of(run.config)      # '9c1f0e...'; the same for every config that differs only in NOT_HASHED
    """
    return _hash(id_payload(config))


def legacy_run_id(config: Mapping[str, Any]) -> str:
    """The id policy 1 gave this run (see the module docstring), to match an older results folder.

    Usage::

        old_to_new = {legacy_run_id(r.config): r.run_id for r in suite.runs()}
    """
    data = _legacy_names(_thaw(dict(config)))
    data["selection"] = {k: v for k, v in data["selection"].items() if k in ("rule", "metric")}
    if data["selection"].get("rule") == "dev":  # policy 1 stored DEV's own metric
        data["selection"]["metric"] = "score"
    train = data["train"]
    if train.get("drop_last", True) is True:
        train.pop("drop_last", None)
    if train.get("eval_every", 1) == 1:
        train.pop("eval_every", None)
    if train.get("compile", False) is False:
        train.pop("compile", None)
    train.pop("test_curves", None)
    train.pop("stage_curves", None)
    if not data["task"].get("pretrain"):
        data["task"].pop("pretrain", None)
    if data["task"].get("setting", "transfer") == "transfer":  # settings came after policy 1
        data["task"].pop("setting", None)
    for key in ("init", "sweep"):
        if data.get(key) is None:
            data.pop(key, None)
    data.pop("plugins", None)  # policy 1 did not hash plugin sources
    return _hash(data)
