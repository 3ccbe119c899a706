"""Random hyperparameter search: seeded draws from each algorithm's declared space, expanded into runs.

A suite says, at the top level or in one task (a task's block overrides the top-level keys it names;
``sweep: null`` in a task turns the sweep off there)::

    sweep:
      trials: 8               # trials per task x algorithm (required, >= 1)
      seed: 0                 # the sweep's seed (default 0): another seed, other draws
      hparams_space:          # optional, per algorithm: restrict, widen or fix some names
        dann: {weight: [log, 0.1, 1.0], bottleneck_dim: 256, disc_hidden: {choice: [256, 1024]}}

Trial ``i`` of a task x algorithm draws each searchable hyperparameter from its space; the draw is a pure
function of (suite name, task, algorithm, trial, sweep seed, hyperparameter name), so the same trial draws
the same values on any machine, and restricting one name leaves the draws of the others as they were. A
name is searchable unless the suite fixes it in ``hparams`` or its space is ``None``. Each trial expands
into one run per seed; the resolved config holds the drawn hparams and ``sweep: {trial, seed}``, so run
ids are stable (asking for more trials keeps the first ones' ids) and finished trials are skipped on resume.

Spaces (``HParam.space`` in Python; the YAML spelling after the arrow)::

    ("log", lo, hi)       -> [log, lo, hi]        log-uniform in [lo, hi], lo > 0
    ("uniform", lo, hi)   -> [uniform, lo, hi]    uniform in [lo, hi]
    ("int", lo, hi)       -> [int, lo, hi]        integer in [lo, hi], both included
    [a, b, c]             -> {choice: [a, b, c]}  one of the values (another YAML list also means choices)
    (fixed)               -> 0.5 or {fixed: [1.0]}  this value in every trial

Usage::

    sweep = parse_sweep(doc, doc.data["sweep"], ("sweep",))
    drawn = draw_hparams(DANN.HPARAMS, sweep, "quick", "pneumonia-shift-unsup", "dann", trial=3)
    runs = expand_sweep(suite, task, "dann", settings, sweep)       # trials x seeds RunSpecs
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

from zoo.bench.run_config import legacy_name
from zoo.bench.suite_fields import algorithm_name
from zoo.errors import ConfigError

RANGE_KINDS = ("log", "uniform", "int")
SWEEP_KEYS = ("trials", "seed", "hparams_space")
_SIGNIFICANT = 6  # drawn floats are rounded for readable configs; the draw stays deterministic


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep block: ``space`` maps algorithm -> name -> normalised space (see ``normalize_space``).

    ``where`` locates the block (``suite.yaml:12``) and ``space_where`` each override, for later errors.
    """

    trials: int
    seed: int = 0
    space: dict[str, dict[str, tuple]] = field(default_factory=dict)
    where: str = "sweep"
    space_where: dict[tuple[str, str], str] = field(default_factory=dict)


# -- spaces ------------------------------------------------------------------------------------------
def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _range(kind: str, lo: Any, hi: Any, what: str) -> tuple:
    if not (_is_number(lo) and _is_number(hi)):
        raise ConfigError(f"{what}: bounds of [{kind}, lo, hi] must be numbers, got {lo!r} and {hi!r}")
    if lo > hi:
        raise ConfigError(f"{what}: [{kind}, {lo}, {hi}] has lo > hi; write [{kind}, {hi}, {lo}]")
    if kind == "log" and lo <= 0:
        raise ConfigError(f"{what}: a log space needs lo > 0, got [log, {lo}, {hi}]; use [uniform, ...] to include 0")
    if kind == "int" and not (isinstance(lo, int) and isinstance(hi, int)):
        raise ConfigError(f"{what}: an int space needs integer bounds, got [int, {lo}, {hi}]")
    return (kind, lo, hi)


def normalize_space(space: Any, what: str, declared: bool = False) -> tuple:
    """``("log"|"uniform"|"int", lo, hi)``, ``("choice", [values])`` or ``("fixed", value)``; else ConfigError.

    ``declared=True`` reads Python's ``HParam.space`` (a tuple is a range, a list is choices); otherwise the
    YAML spelling of the module docstring.

    Usage::

        normalize_space(["log", 0.01, 1.0], "dann.weight")      # ('log', 0.01, 1.0)
    """
    if declared:
        if isinstance(space, tuple) and len(space) == 3 and space[0] in RANGE_KINDS:
            return _range(space[0], space[1], space[2], what)
        if isinstance(space, list) and space:
            return ("choice", list(space))
        raise ConfigError(f"{what}: declared space {space!r} is not (kind, lo, hi) with kind in "
                          f"{'/'.join(RANGE_KINDS)} nor a non-empty list of choices")
    if isinstance(space, dict):
        if set(space) == {"choice"}:
            if not isinstance(space["choice"], list) or not space["choice"]:
                raise ConfigError(f"{what}: 'choice' needs a non-empty list of values, got {space['choice']!r}")
            return ("choice", list(space["choice"]))
        if set(space) == {"fixed"}:
            return ("fixed", space["fixed"])
        raise ConfigError(f"{what}: a mapping space is {{choice: [values]}} or {{fixed: value}}, got {space!r}")
    if isinstance(space, list):
        if not space:
            raise ConfigError(f"{what}: an empty list of choices; give [log|uniform|int, lo, hi] or values")
        if isinstance(space[0], str) and space[0] in RANGE_KINDS:
            if len(space) != 3:
                raise ConfigError(f"{what}: a range space is [{space[0]}, lo, hi], got {space!r}")
            return _range(space[0], space[1], space[2], what)
        return ("choice", list(space))
    return ("fixed", space)


def unit_draw(*parts: Any) -> float:
    """A number in [0, 1) that depends only on ``parts``: sha256, not a global RNG or the Python version."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()
    return int(digest[:13], 16) / 16**13  # 52 bits: exact as a float


def sample(space: tuple, u: float) -> Any:
    """The value of ``space`` at ``u`` in [0, 1) (inverse CDF): in space for every ``u``."""
    kind = space[0]
    if kind == "fixed":
        return copy.deepcopy(space[1])
    if kind == "choice":
        values = space[1]
        return copy.deepcopy(values[min(int(u * len(values)), len(values) - 1)])
    lo, hi = space[1], space[2]
    if kind == "int":
        return lo + min(int(u * (hi - lo + 1)), hi - lo)
    if kind == "log":
        value = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
    else:
        value = lo + u * (hi - lo)
    return min(max(float(f"{value:.{_SIGNIFICANT}g}"), lo), hi)  # rounding must not leave [lo, hi]


# -- the sweep block ---------------------------------------------------------------------------------
def parse_sweep(doc, raw: Any, at: tuple, base: SweepSpec | None = None) -> SweepSpec | None:
    """Validate a ``sweep`` block at key path ``at`` of ``doc`` (a ``YamlDoc``); ``None`` for ``sweep: null``.

    ``base``: the top-level sweep a task's block overrides key by key.
    """
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise doc.error(at, f"'sweep' must be a mapping like {{trials: 8, seed: 0}}, got {raw!r}")
    unknown = sorted(set(raw) - set(SWEEP_KEYS))
    if unknown:
        raise doc.error(at + (unknown[0],), f"unknown sweep key '{unknown[0]}'; known: {', '.join(SWEEP_KEYS)}")
    trials = raw.get("trials", base.trials if base else None)
    if trials is None:
        raise doc.error(at, "'sweep' needs 'trials', the number of random draws per task x algorithm, e.g. trials: 8")
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise doc.error(at + ("trials",), f"sweep 'trials' must be an integer >= 1, got {trials!r}")
    seed = raw.get("seed", base.seed if base else 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise doc.error(at + ("seed",), f"sweep 'seed' must be an integer, got {seed!r}")
    if "hparams_space" not in raw and base is not None:
        return SweepSpec(trials, seed, base.space, doc.where(at), base.space_where)
    given = raw.get("hparams_space") or {}
    if not isinstance(given, dict):
        raise doc.error(at + ("hparams_space",), "'hparams_space' must map algorithm -> {hparam: space}, "
                                                 f"e.g. {{dann: {{weight: [log, 0.1, 1.0]}}}}; got {given!r}")
    space: dict[str, dict[str, tuple]] = {}
    space_where: dict[tuple[str, str], str] = {}
    for key, names in given.items():
        where, algorithm = at + ("hparams_space", key), algorithm_name(str(key))  # an old name: the current one
        if not isinstance(names, dict):
            raise doc.error(where, f"hparams_space of '{algorithm}' must map hparam -> space, got {names!r}")
        space.setdefault(algorithm, {})
        for name, value in names.items():
            try:
                space[algorithm][str(name)] = normalize_space(value, f"{algorithm}.{name}")
            except ConfigError as err:
                raise doc.error(where + (name,), f"sweep hparams_space {err}") from None
            space_where[(algorithm, str(name))] = doc.where(where + (name,))
    return SweepSpec(trials, seed, space, doc.where(at), space_where)


def check_space_algorithms(doc, sweep: SweepSpec | None, at: tuple, algorithms: set[str]) -> None:
    """An algorithm named in ``hparams_space`` must be one the sweep's task(s) run (catches typos)."""
    for algorithm in (sweep.space if sweep else {}):
        if algorithm not in algorithms:
            close = difflib.get_close_matches(algorithm, sorted(algorithms), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise doc.error(at + ("hparams_space", algorithm),
                            f"sweep hparams_space names '{algorithm}', which no task here runs; {hint}"
                            f"algorithms: {', '.join(sorted(algorithms))}")


# -- draws and expansion -----------------------------------------------------------------------------
def search_space(declared: dict, sweep: SweepSpec, algorithm: str, fixed: dict[str, Any]) -> dict[str, tuple]:
    """Name -> normalised space of every hyperparameter a trial draws (sorted by name).

    ``declared``: the algorithm's ``HPARAMS``; ``fixed``: the values the suite sets in ``hparams``.
    """
    overrides = sweep.space.get(algorithm, {})
    for name in overrides:
        where = sweep.space_where.get((algorithm, name), sweep.where)
        if name not in declared:
            close = difflib.get_close_matches(name, sorted(declared), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ConfigError(f"{where}: sweep hparams_space: {algorithm} has no hyperparameter '{name}'; {hint}"
                              f"it declares: {', '.join(sorted(declared)) or '(none)'}")
        if name in fixed:
            raise ConfigError(f"{where}: '{name}' of {algorithm} is both fixed in hparams and searched in "
                              "sweep.hparams_space; remove one of the two")
    spaces = {}
    for name in sorted(declared):
        if name in fixed:
            continue
        if name in overrides:
            spaces[name] = overrides[name]
        elif declared[name].space is not None:
            spaces[name] = normalize_space(declared[name].space, f"{algorithm}.{name}", declared=True)
    return spaces


def draw_hparams(declared: dict, sweep: SweepSpec, suite: str, task: str, algorithm: str, trial: int,
                 fixed: dict[str, Any] | None = None) -> dict[str, Any]:
    """The hyperparameters trial ``trial`` draws (only the searched names; defaults fill the rest later).

    Usage::

        draw_hparams(DANN.HPARAMS, SweepSpec(trials=4), "quick", "unsup", "dann", trial=0)  # {'weight': 0.31, ...}
    """
    drawn = {}
    for name, space in search_space(declared, sweep, algorithm, fixed or {}).items():
        # a renamed algorithm draws as under its old name (zoo.bench.run_config.ID_LEGACY_NAMES): same trials, same ids
        value = sample(space, unit_draw(suite, task, legacy_name(("algorithm",), algorithm), trial, sweep.seed, name))
        default = declared[name].default
        if space[0] in ("log", "uniform") and isinstance(default, int) and not isinstance(default, bool):
            value = int(round(value))  # an integer hparam searched on a continuous scale
        drawn[name] = value
    return drawn


def expand_sweep(suite, task, algorithm: str, settings: dict[str, Any], sweep: SweepSpec) -> list:
    """The ``RunSpec`` of every trial x seed of ``task`` x ``algorithm``, trial by trial, seed by seed.

    An algorithm with nothing to search (no declared space, or all fixed) gets trial 0 only.
    """
    from zoo.algorithms import ALGORITHMS
    from zoo.algorithms.variants import base_algorithm, variant_hparams
    from zoo.bench.resolve import resolve_run

    cls = ALGORITHMS.get(base_algorithm(algorithm))
    declared = cls.HPARAMS
    given = settings["hparams"].get(algorithm, settings["hparams"].get(base_algorithm(algorithm))) or {}
    fixed = {**given, **variant_hparams(algorithm, cls)}  # a twin's zero weight is never searched
    # Nothing to search (e.g. source_only): every trial would train the same config again; one is enough.
    trials = sweep.trials if search_space(declared, sweep, algorithm, fixed) else 1
    specs = []
    for trial in range(trials):
        drawn = draw_hparams(declared, sweep, suite.name, task.name, algorithm, trial, fixed)
        trial_settings = {**settings, "hparams": {**settings["hparams"], algorithm: {**fixed, **drawn}}}
        for seed in settings["seeds"]:
            try:
                spec = resolve_run(suite, task, algorithm, int(seed), trial_settings)
            except ConfigError as err:  # e.g. a draw the algorithm's validate_hparams refuses
                raise ConfigError(f"{sweep.where}: sweep trial {trial} of {task.name}/{algorithm} drew {drawn}: "
                                  f"{err}; restrict its hparams_space") from None
            config = spec.config.replace(sweep={"trial": trial, "seed": sweep.seed})  # part of the run id
            specs.append(dataclasses.replace(spec, config=config, run_id=config.run_id))
    return specs
