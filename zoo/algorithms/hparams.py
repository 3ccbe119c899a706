"""Hyperparameters: what an algorithm declares next to its code, and the one place their values are checked.

An ``HParam`` holds a default, a search space (what sweeps draw from), a one-line help and what makes a value
valid: its type (the default's; an int is accepted for a float), bounds ``low``/``high`` (inclusive, or
exclusive with ``low_open``/``high_open``) and ``choices`` (the only valid values; the search space defaults
to them). A float must be finite. For a list-valued hyperparameter (its default is a list) the bounds apply
to every item and the list must not be empty. ``HParam.check`` enforces all of it with a one-line
``ConfigError`` naming the hyperparameter, its owner, the rule and an example value; ``resolve_hparams``
overlays a suite's values on the defaults and checks each one, for the suite resolver and for ``__init__``
alike. Rules between several hyperparameters (or the grammar of a string) stay in the algorithm's
``validate_hparams``.

A declaration is checked when it is made: the default must be valid and the whole search space must lie
inside the bounds and choices (a sweep must never draw a value the algorithm then refuses), or ``HParam(...)``
raises ``ValueError``.

Usage::

    tau = HParam(0.9, ("uniform", 0.5, 0.99), "confidence both heads need", low=0, low_open=True, high=1,
                 high_open=True)
    norm = HParam("batch", help="BatchNorm in the discriminator, or none", choices=["batch", "none"])
    resolve_hparams({"tau": tau}, {"tau": 1.0}, "cotraining")
    # ConfigError: hyperparameter 'tau' of cotraining must be a finite number in (0, 1), got 1.0; e.g. tau=0.9
"""

from __future__ import annotations

import math
from dataclasses import KW_ONLY, dataclass
from typing import Any

from zoo.errors import ConfigError

RANGE_KINDS = ("log", "uniform", "int")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _space_points(space: Any) -> list[Any]:
    """The values a space can reach at its edges: ``lo`` and ``hi`` of a range, every item of a list."""
    if isinstance(space, tuple) and len(space) == 3 and space[0] in RANGE_KINDS:
        return [space[1], space[2]]
    return list(space) if isinstance(space, list) else []


@dataclass(frozen=True)
class HParam:
    """A hyperparameter: default, search space, one-line help, and the values it accepts.

    ``space`` is ``("log", lo, hi)``, ``("uniform", lo, hi)``, ``("int", lo, hi)`` or a list of values to
    draw from (not necessarily every valid one: ``choices`` says that).
    """

    default: Any
    space: Any = None
    help: str = ""
    _: KW_ONLY
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # True: ``low`` itself is refused (value > low)
    high_open: bool = False  # True: ``high`` itself is refused (value < high)
    choices: list | tuple | None = None

    def __post_init__(self) -> None:
        if self.choices is not None:
            if not self.choices:
                raise ValueError("HParam: choices must not be empty")
            if self.space is None:  # what is valid is also what a sweep draws from, unless said otherwise
                object.__setattr__(self, "space", list(self.choices))
        if self.low is not None and self.high is not None and not self.low <= self.high:
            raise ValueError(f"HParam: low {self.low!r} > high {self.high!r}")
        if not self.valid(self.default):
            raise ValueError(f"HParam: default {self.default!r} must be {self.rule()}")
        outside = [v for v in _space_points(self.space) if not self.valid(v)]
        if outside:
            raise ValueError(f"HParam: search space {self.space!r} reaches {outside[0]!r}, which must be "
                             f"{self.rule()}; keep the space inside the valid values")

    # -- validity ---------------------------------------------------------------------------------
    def _number_ok(self, v: Any) -> bool:
        if not _is_number(v) or not math.isfinite(v):
            return False
        if self.low is not None and (v < self.low or (self.low_open and v == self.low)):
            return False
        return self.high is None or not (v > self.high or (self.high_open and v == self.high))

    def _bounded(self) -> bool:
        return self.low is not None or self.high is not None

    def valid(self, value: Any) -> bool:
        """Whether ``value`` (already of the right type) meets the bounds and choices."""
        if self.choices is not None:
            return value in self.choices
        if isinstance(value, list):
            return not self._bounded() or (bool(value) and all(self._number_ok(v) for v in value))
        if _is_number(value):
            return self._number_ok(value)
        return True

    def bounds_text(self) -> str | None:
        """``">= 0"``, ``"> 0"``, ``"in (0, 1]"``, ... or None without bounds."""
        lo, hi = self.low, self.high
        if lo is not None and hi is not None:
            return f"in {'(' if self.low_open else '['}{lo:g}, {hi:g}{')' if self.high_open else ']'}"
        if lo is not None:
            return f"{'>' if self.low_open else '>='} {lo:g}"
        if hi is not None:
            return f"{'<' if self.high_open else '<='} {hi:g}"
        return None

    def rule(self) -> str:
        """What a valid value is, in words: ``"a finite number >= 0"``, ``"one of batch, none"``, ..."""
        if self.choices is not None:
            return "one of " + ", ".join(str(c) for c in self.choices)
        bounds = self.bounds_text()
        if isinstance(self.default, list):
            return f"a non-empty list of finite numbers {bounds}" if bounds else "a list"
        if _is_number(self.default):
            kind = "an integer" if isinstance(self.default, int) else "a finite number"
            return f"{kind} {bounds}" if bounds else kind
        return f"a {type(self.default).__name__}" if self.default is not None else "any value"

    def check(self, name: str, value: Any, owner: str) -> Any:
        """Return ``value`` coerced to the default's type, or raise a one-line ``ConfigError``: wrong type,
        a non-finite float, outside the bounds or not among the choices."""
        expected = type(self.default)
        if self.default is None:
            return value
        if expected is float and _is_number(value) and not isinstance(value, float):
            value = float(value)  # an int where a float is declared: 1 means 1.0
        elif not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ConfigError(
                f"hyperparameter '{name}' of {owner} must be {expected.__name__}, got {value!r} "
                f"({type(value).__name__}); e.g. {name}={self.default!r}"
            )
        if not self.valid(value):
            raise ConfigError(f"hyperparameter '{name}' of {owner} must be {self.rule()}, got {value!r}; "
                              f"e.g. {name}={self.default!r}")
        return value


def resolve_hparams(declared: dict[str, HParam], given: dict[str, Any] | None, owner: str) -> dict[str, Any]:
    """Defaults overlaid with ``given``; unknown names, wrong types and invalid values raise ``ConfigError``."""
    given = dict(given or {})
    unknown = sorted(set(given) - set(declared))
    if unknown:
        known = ", ".join(sorted(declared)) or "(none)"
        raise ConfigError(f"unknown hyperparameter(s) {', '.join(unknown)} for {owner}; it declares: {known}")
    return {name: hp.check(name, given.get(name, hp.default), owner) for name, hp in declared.items()}
