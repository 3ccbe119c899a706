"""Which preset of a shipped suite a run used, derived from its record (a record does not name it).

A record carries its suite's name and version, its task, algorithm, backbone, resolved train settings and
seed, but neither the preset (``medzoo run SUITE --preset NAME``) nor the list of seeds the run was one of.
The suite file medzoo ships under that name (when its version is the record's) says what each preset
sets. A run is "of" a candidate (the suite's defaults, named ``default``, or one of its presets) when it
agrees with it on every setting where the candidates differ for its task (train options, backbone,
hyperparameters, the task and algorithm filters) and its seed is one the candidate asks for. Settings all
candidates share say nothing, so a command-line override of one of those (``train.eval_every=2``) still
identifies the preset; an override of a telling one (``train.epochs=1``) matches none, and then nothing
is claimed. A suite medzoo does not ship (a file of one's own, a plugin's) is never matched either.

Why derive it: the seed badge must count against what the run was asked for ("1/3 seeds" on every run of
a one-seed preset reads as missing runs), and a reader should see which preset the numbers come from.

Usage::

    match = preset_of(record)        # Match(names=('cpu',), seeds=(0,), keys=('train.epochs', ...)) or None
    match.label, match.n_seeds       # ('cpu', 1)
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

DEFAULT = "default"  # the suite's own defaults: ``medzoo run SUITE`` without --preset
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")  # a suite name read from a record, used as a file name


@dataclass(frozen=True)
class Match:
    """The candidates a run agrees with: ``names`` (``default`` and/or preset names), the seeds they ask
    for (``None`` when they disagree) and the settings that told the candidates apart."""

    names: tuple[str, ...]
    seeds: tuple[int, ...] | None
    keys: tuple[str, ...]

    @property
    def label(self) -> str:
        return " or ".join(self.names)

    @property
    def n_seeds(self) -> int | None:
        return len(self.seeds) if self.seeds is not None else None


@dataclass(frozen=True)
class _Candidate:
    name: str
    tasks: dict[str, tuple[str, ...]]  # task -> algorithms it runs under this candidate (its filters applied)
    settings: dict[str, dict[str, Any]]  # task -> resolved settings (train, backbone, hparams, seeds)


@functools.lru_cache(maxsize=64)
def _candidates(name: str, version: str) -> tuple[_Candidate, ...]:
    """The defaults and every preset of medzoo's own suite ``name`` at ``version``; ``()`` when it ships none."""
    from importlib.resources import files

    if not SAFE_NAME.match(name):
        return ()
    path = files("zoo.suites") / f"{name}.yaml"
    try:
        from zoo.bench.suite import validate_suite
        from zoo.bench.yaml_lines import load_yaml_with_lines

        if not path.is_file():
            return ()
        doc = load_yaml_with_lines(path)
        if str(doc.data.get("version")) != version:  # another version's presets may say anything
            return ()
        out = []
        for preset in (None, *sorted(doc.data.get("presets") or {})):
            suite = validate_suite(load_yaml_with_lines(path), preset=preset)
            out.append(_Candidate(preset or DEFAULT, {t.name: tuple(t.algorithms) for t in suite.tasks},
                                  {t.name: suite.task_defaults[t.name] for t in suite.tasks}))
        return tuple(out)
    except Exception:  # noqa: BLE001 - a suite file this medzoo cannot read names no preset; never fail a build
        return ()


def _features(settings: dict[str, Any], algorithm: str) -> dict[str, Any]:
    """The settings a record can be compared on, flattened: ``train.epochs``, ``backbone.name``, ``hparams.lr``."""
    out = {f"train.{k}": v for k, v in settings["train"].items()}
    out.update({f"backbone.{k}": v for k, v in settings["backbone"].items()})
    given = settings.get("hparams") or {}
    own = given.get(algorithm, given.get(algorithm.split("@")[0])) or {}
    out.update({f"hparams.{k}": v for k, v in own.items()})
    return out


def _record_value(record: dict[str, Any], key: str) -> Any:
    part, _, name = key.partition(".")
    if part == "backbone":
        backbone = record.get("backbone") or {}
        return backbone.get("name") if name == "name" else (backbone.get("options") or {}).get(name)
    return (record.get(part) or {}).get(name)


@functools.lru_cache(maxsize=4096)
def _plan(name: str, version: str, task: str, algorithm: str, sweep: bool
          ) -> tuple[tuple[str, ...], tuple[tuple[str, tuple[int, ...], tuple[tuple[str, Any], ...]], ...]]:
    """``(telling keys, ((candidate, its seeds, its value per telling key), ...))`` for one task x algorithm:
    worked out once, so a 10,000-run site pays a few dict lookups per record."""
    # a variant (dann@w0) runs wherever its method does
    runs_here = [c for c in _candidates(name, version)
                 if algorithm.split("@")[0] in c.tasks.get(task, ()) or algorithm in c.tasks.get(task, ())]
    features = {c.name: _features(c.settings[task], algorithm) for c in runs_here}
    keys = sorted({k for f in features.values() for k in f})
    # a sweep's trials draw their hyperparameters (zoo.bench.sweep): those say nothing about the preset
    telling = tuple(k for k in keys if len({repr(f.get(k)) for f in features.values()}) > 1
                    and not (sweep and k.startswith("hparams.")))
    return telling, tuple((c.name, tuple(c.settings[task]["seeds"]),
                           tuple((k, features[c.name][k]) for k in telling if k in features[c.name]))
                          for c in runs_here)


def preset_of(record: dict[str, Any]) -> Match | None:
    """The preset(s) of the shipped suite a record's run agrees with (see the module docstring), or None.

    Usage::

        preset_of({"suite": {"name": "quick", "version": 1}, "task": {"name": "pneumonia-shift-10pct"}, ...})
    """
    suite = record.get("suite") or {}
    task = (record.get("task") or {}).get("name")
    if not isinstance(task, str):
        return None
    telling, candidates = _plan(str(suite.get("name")), str(suite.get("version")), task,
                                str(record.get("algorithm")), bool(record.get("sweep")))
    seed = record.get("seed")
    found = [(name, seeds) for name, seeds, expected in candidates
             if seed in seeds and all(_record_value(record, k) == v for k, v in expected)]
    if not found:
        return None
    counts = {seeds for _, seeds in found}
    return Match(tuple(n for n, _ in found), next(iter(counts)) if len(counts) == 1 else None, telling)


def seeds_text(n: int) -> str:
    """``"1 seed"``, ``"3 seeds"``.

    Usage::

        seeds_text(1)   # '1 seed'
    """
    return f"{n} seed" + ("" if n == 1 else "s")


def _named(name: str) -> str:
    return "default (no --preset)" if name == DEFAULT else name


def describe(suite: dict[str, Any]) -> str:
    """A sentence on the presets of a suite summary's runs and what the seed badges count against (plain text).

    Usage::

        describe(summarize_suite(records))   # "Preset cpu (1 seed), identified from the runs' settings."
    """
    presets, unmatched, most = suite["presets"], suite["unmatched_runs"], suite["most_seeds"]
    if suite.get("min_seeds"):
        tail = f" Rows are marked when they have fewer than {seeds_text(suite['min_seeds'])} (--min-seeds)."
    else:
        tail = (f" Rows of runs that match no preset are marked against the most seeds a row has ({most})."
                if unmatched else "")
    if not presets:
        return ("The runs match no preset of a suite medzoo ships (settings changed on the command line, or a "
                "suite of one's own)." + tail)
    if len(presets) == 1 and not unmatched:
        (p,) = presets
        asks = f" ({seeds_text(p['seeds'])})" if p["seeds"] else ""
        return f"Preset {_named(p['name'])}{asks}, identified from the runs' settings." + tail
    listed = "; ".join(f"{_named(p['name'])} ({seeds_text(p['seeds']) + ', ' if p['seeds'] else ''}{p['runs']} runs)"
                       for p in presets)
    rest = (f"; {unmatched} run{'s' if unmatched != 1 else ''} match no preset (settings changed on the command "
            "line)" if unmatched else "")
    return f"Presets, identified from the runs' settings: {listed}{rest}." + tail


def short(suite: dict[str, Any]) -> str:
    """The index's cell: ``"cpu · 1 seed"``, ``"default · 3 seeds; full · 5 seeds"``, ``"none matched"``.

    Usage::

        short(summarize_suite(records))   # 'cpu · 1 seed'
    """
    parts = [f"{p['name']}" + (f" · {seeds_text(p['seeds'])}" if p["seeds"] else "") for p in suite["presets"]]
    if suite["unmatched_runs"]:
        parts.append("none matched")
    return "; ".join(parts) or "none matched"
