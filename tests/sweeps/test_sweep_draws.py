"""Random-search draws: in their space, a pure function of (suite, task, algorithm, trial, sweep seed).

Generated from the registry: every declared space of every registered algorithm is drawn from.
"""

from __future__ import annotations

import math

import pytest

from zoo.algorithms import ALGORITHMS
from zoo.algorithms.base import HParam, resolve_hparams
from zoo.bench.sweep import SweepSpec, draw_hparams, normalize_space, sample, search_space, unit_draw
from zoo.errors import ConfigError

TRIALS = 25


def _in_space(value, space: tuple) -> bool:
    kind = space[0]
    if kind == "choice":
        return value in space[1]
    if kind == "fixed":
        return value == space[1]
    lo, hi = space[1], space[2]
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi
    return isinstance(value, float) and lo <= value <= hi


@pytest.mark.parametrize("algorithm", ALGORITHMS.names())
def test_every_declared_space_draws_valid_values_in_space(algorithm):
    cls = ALGORITHMS.get(algorithm)
    sweep = SweepSpec(trials=TRIALS, seed=3)
    spaces = search_space(cls.HPARAMS, sweep, algorithm, {})
    assert set(spaces) == {n for n, hp in cls.HPARAMS.items() if hp.space is not None}
    seen = {name: set() for name in spaces}
    for trial in range(TRIALS):
        drawn = draw_hparams(cls.HPARAMS, sweep, "suite", "task", algorithm, trial)
        assert drawn == draw_hparams(cls.HPARAMS, sweep, "suite", "task", algorithm, trial)  # deterministic
        assert set(drawn) == set(spaces)
        for name, value in drawn.items():
            assert _in_space(value, spaces[name]), (algorithm, name, value, spaces[name])
            seen[name].add(repr(value))
        cls.validate_hparams(resolve_hparams(cls.HPARAMS, drawn, algorithm))  # the algorithm accepts them
    for name, values in seen.items():  # a search, not a constant: 25 draws hit several values
        assert len(values) > 1, f"{algorithm}.{name} drew only {values}"


def test_draws_depend_on_each_part_of_their_identity():
    declared = {"lr_mult": HParam(0.1, ("log", 1e-3, 1.0)), "width": HParam(8, ("int", 1, 10_000))}
    base = ("s", "t", "a", 0)
    drawn = draw_hparams(declared, SweepSpec(trials=1, seed=0), *base)
    for changed in [("s2", "t", "a", 0), ("s", "t2", "a", 0), ("s", "t", "a2", 0), ("s", "t", "a", 1)]:
        assert draw_hparams(declared, SweepSpec(trials=1, seed=0), *changed) != drawn, changed
    assert draw_hparams(declared, SweepSpec(trials=1, seed=1), *base) != drawn  # another sweep seed


def test_draw_function_is_pinned():
    """Run ids of existing sweeps hash their draws: changing the draw function would orphan finished trials."""
    assert unit_draw("suite", "task", "dann", 0, 0, "weight") == 0.30151061673561763
    assert sample(("log", 0.01, 10.0), 0.5) == pytest.approx(math.sqrt(0.01 * 10.0), rel=1e-5)
    assert sample(("int", 0, 3), 0.999999) == 3 and sample(("int", 0, 3), 0.0) == 0
    assert sample(("choice", ["a", "b"]), 0.5) == "b"


def test_restricting_one_name_keeps_the_other_draws():
    declared = {"a": HParam(1.0, ("log", 0.01, 10.0)), "b": HParam(0.5, ("uniform", 0.0, 1.0))}
    free = SweepSpec(trials=5)
    narrowed = SweepSpec(trials=5, space={"algo": {"a": ("uniform", 2.0, 3.0)}})
    fixed_b = SweepSpec(trials=5, space={"algo": {"b": ("fixed", 0.25)}})
    for trial in range(5):
        d0, d1 = (draw_hparams(declared, s, "s", "t", "algo", trial) for s in (free, narrowed))
        assert d1["b"] == d0["b"] and 2.0 <= d1["a"] <= 3.0
        assert draw_hparams(declared, fixed_b, "s", "t", "algo", trial) == {"a": d0["a"], "b": 0.25}
    # hyperparameters the suite fixes in `hparams` are not drawn (defaults and fixed values fill them later)
    expected_b = draw_hparams(declared, free, "s", "t", "algo", 0)["b"]
    assert draw_hparams(declared, free, "s", "t", "algo", 0, fixed={"a": 3.0}) == {"b": expected_b}


def test_log_space_spreads_over_its_decades():
    draws = [sample(("log", 1e-4, 1.0), unit_draw("spread", i)) for i in range(400)]
    below = sum(v < 1e-2 for v in draws) / len(draws)  # half the decades -> about half the draws
    assert 0.4 < below < 0.6, below
    ints = [sample(("int", 1, 4), unit_draw("ints", i)) for i in range(400)]
    assert {1, 2, 3, 4} == set(ints)  # both ends included


@pytest.mark.parametrize("yaml_value, expected", [
    (["log", 0.001, 0.1], ("log", 0.001, 0.1)),
    (["uniform", 0, 1], ("uniform", 0, 1)),
    (["int", 2, 8], ("int", 2, 8)),
    ({"choice": [[1.0], [0.5, 1.0]]}, ("choice", [[1.0], [0.5, 1.0]])),
    (["quadratic", "linear"], ("choice", ["quadratic", "linear"])),
    (0.3, ("fixed", 0.3)),
    ({"fixed": [1.0, 2.0]}, ("fixed", [1.0, 2.0])),
])
def test_yaml_spellings_of_spaces(yaml_value, expected):
    assert normalize_space(yaml_value, "x") == expected


@pytest.mark.parametrize("yaml_value, fragment", [
    (["log", 0, 1], "lo > 0"),
    (["uniform", 2, 1], "lo > hi"),
    (["int", 0.5, 4], "integer bounds"),
    (["log", 1], "[log, lo, hi]"),
    ([], "empty list"),
    ({"choice": []}, "non-empty list"),
    ({"range": [1, 2]}, "{choice: [values]} or {fixed: value}"),
])
def test_malformed_spaces_are_one_line_errors(yaml_value, fragment):
    with pytest.raises(ConfigError) as err:
        normalize_space(yaml_value, "dann.weight")
    assert fragment in str(err.value) and "\n" not in str(err.value)
