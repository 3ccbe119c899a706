"""Corrections for many p-values read together: Holm (family-wise error, the default) or Benjamini-Hochberg.

A results table with one p-value per task x algorithm reads 20-120 tests at once; at 5% each, several are
"significant" by chance. Holm's step-down procedure (Holm, Scand. J. Statist. 1979) keeps the chance of
any false rejection at 5% without assuming independence; Benjamini-Hochberg (J. R. Statist. Soc. B 1995)
keeps the expected share of false rejections among the rejected at 5% (valid for independent or positively
dependent tests) and rejects more. Both return adjusted p-values: reject where adjusted p <= alpha.
NaN p-values (no test) are left NaN and not counted.

Usage::

    adjust([0.01, 0.04, 0.03], "holm")   # [0.03, 0.06, 0.06]
    adjust([0.01, 0.04, 0.03], "bh")     # [0.03, 0.04, 0.04]
    caption("holm", 3)                   # 'p: Holm-adjusted over 3 tests (family-wise error)'
"""

from __future__ import annotations

import math
from typing import Sequence

from zoo.errors import ConfigError

CORRECTIONS = ("holm", "bh", "none")
_NAMES = {"holm": "Holm-adjusted", "bh": "Benjamini-Hochberg-adjusted"}
_CONTROLS = {"holm": "family-wise error", "bh": "false discovery rate"}


def adjust(p_values: Sequence[float], method: str = "holm") -> list[float]:
    """Adjusted p-values in the input order (``method``: holm, bh or none).

    Usage::

        adjust([0.001, 0.2, math.nan], "holm")   # [0.002, 0.2, nan]
    """
    if method not in CORRECTIONS:
        raise ConfigError(f"unknown correction {method!r}; use one of: {', '.join(CORRECTIONS)}")
    values = [float(p) for p in p_values]
    tested = [i for i, p in enumerate(values) if not math.isnan(p)]
    if method == "none" or not tested:
        return values
    m = len(tested)
    out = list(values)
    if method == "holm":  # step down: the i-th smallest times (m - i), kept monotone
        running = 0.0
        for i, index in enumerate(sorted(tested, key=lambda j: values[j])):
            running = max(running, min(1.0, (m - i) * values[index]))
            out[index] = running
    else:  # step up: the i-th smallest times m / i, the minimum over larger ones
        running = 1.0
        ordered = sorted(tested, key=lambda j: values[j])
        for i in range(m - 1, -1, -1):
            index = ordered[i]
            running = min(running, values[index] * m / (i + 1))
            out[index] = min(running, 1.0)
    return out


def caption(method: str, n_tests: int) -> str:
    """The sentence a table of adjusted p-values carries.

    Usage::

        caption("bh", 120)   # 'p: Benjamini-Hochberg-adjusted over 120 tests (false discovery rate)'
    """
    if method == "none":
        return f"p: not adjusted for multiple comparisons ({n_tests} tests in this table)"
    return f"p: {_NAMES[method]} over {n_tests} tests ({_CONTROLS[method]})"
