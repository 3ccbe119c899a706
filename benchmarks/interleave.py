"""Timing a change against its baseline in the same rounds: the baseline runs in pytest-benchmark's ``setup``.

Interleaving (baseline, measured, baseline, measured, ...) exposes both sides to the same machine state
(frequency, cache, other load), so their ratio holds where two separate timings would drift.

Usage::

    from interleave import interleaved
    new_s, old_s = interleaved(benchmark, new, old, rounds=5)   # medians in seconds; old / new is the speedup
"""

from __future__ import annotations

import statistics
import time
from typing import Callable


def interleaved(benchmark, measured: Callable[[], object], baseline: Callable[[], object], *, rounds: int,
                warm_up: bool = True) -> tuple[float, float]:
    """(median seconds of ``measured``, median seconds of ``baseline``), the baseline timed before each round.

    ``warm_up``: one untimed call of each side first (first-call allocations, kernel selection).
    """
    baseline_times: list[float] = []

    def measure_baseline() -> None:
        started = time.perf_counter()
        baseline()
        baseline_times.append(time.perf_counter() - started)

    if warm_up:
        measured(), baseline()
    benchmark.pedantic(measured, setup=measure_baseline, rounds=rounds, iterations=1)
    return benchmark.stats.stats.median, statistics.median(baseline_times)
