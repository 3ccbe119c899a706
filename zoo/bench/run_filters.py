"""Which runs of a suite a command asks for: ``--task``, ``--algorithm`` and ``--add-algorithm``.

``--task`` and ``--algorithm`` narrow the suite; a name that matches nothing is a one-line error with a
did-you-mean (a typo never trains 0 runs and exits 0). ``--add-algorithm`` benchmarks a method the suite
does not list beside its baselines: every task also runs it, and since a run id hashes the run's own
config (suite name and version, task, algorithm, ...), not the suite's list of algorithms, the baselines
keep their ids: finished ones are skipped and the new runs land in the same suite's tables and pages.

Usage::

    suite = add_algorithms(load_suite("quick"), ["entropy_min"])
    check_tasks(suite, ["pneumonia-shift-unsup"]); check_algorithms(suite, ["entropy_min"])
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from typing import Any

from zoo.bench.suite_fields import algorithm_names
from zoo.errors import ConfigError


def _did_you_mean(name: str, options: list[str], kind: str = "") -> str:
    """`` (did you mean 'X'?)``; with ``kind``, a typo of an old name (``zoo.registry.ALIASES``) suggests the new."""
    from zoo.registry import former_names

    spellings = {**{old: o for o in options for old in former_names(kind, o)}, **{o: o for o in options}}
    close = difflib.get_close_matches(name, spellings, n=1, cutoff=0.6)
    return f" (did you mean '{spellings[close[0]]}'?)" if close else ""


def check_tasks(suite: Any, wanted: list[str] | None) -> None:
    """``--task`` names must be tasks of the suite (after its preset).

    Usage::

        check_tasks(suite, ["pneumonia-shift-unsup"])
    """
    names = [t.name for t in suite.tasks]
    unknown = [name for name in wanted or [] if name not in names]
    if unknown:
        hints = "".join(_did_you_mean(name, names) for name in unknown)
        raise ConfigError(f"suite '{suite.name}' has no task {', '.join(unknown)}{hints}; "
                          f"its tasks: {', '.join(names)}")


def suite_algorithms(suite: Any) -> list[str]:
    """Every algorithm the suite runs, with its controls' twins (``NAME@w0``)."""
    present = {a for t in suite.tasks for a in t.algorithms}
    if "weight_zero" in suite.controls:
        from zoo.algorithms import ALGORITHMS
        from zoo.algorithms.variants import twins

        present |= set(twins(sorted(present), ALGORITHMS))
    return sorted(present)


def check_algorithms(suite: Any, wanted: list[str] | None) -> None:
    """``--algorithm`` names must be algorithms the suite runs (with its controls' twins and added ones).

    Usage::

        check_algorithms(suite, ["dann"])    # ConfigError naming the suite's algorithms if it has no dann
    """
    present = suite_algorithms(suite)
    unknown = [name for name in algorithm_names(wanted) or [] if name not in present]
    if not unknown:
        return
    hints = "".join(_did_you_mean(name, present, "algorithm") for name in unknown)
    raise ConfigError(f"suite '{suite.name}' runs no algorithm {', '.join(unknown)}{hints}; its algorithms: "
                      f"{', '.join(present)} (--add-algorithm NAME benchmarks another one beside them)")


def add_algorithms(suite: Any, names: list[str] | None) -> Any:
    """The suite with ``names`` added to every task (an unknown name: one line with did-you-mean).

    A task an added algorithm cannot run (e.g. a UDA method on a task without a source) is skipped for it
    when the runs are expanded (``Suite.runs``), with the reason logged; one that fits no task is an error.

    Usage::

        suite = add_algorithms(suite, ["entropy_min"])
    """
    if not names:
        return suite
    names = algorithm_names(names)  # an old name (finetune) adds the renamed algorithm
    from zoo.algorithms import ALGORITHMS
    from zoo.algorithms.variants import base_algorithm

    for name in names:
        ALGORITHMS.get(base_algorithm(name))  # UnknownNameError: did-you-mean and what exists
    tasks = [replace(t, algorithms=t.algorithms + tuple(n for n in dict.fromkeys(names) if n not in t.algorithms))
             for t in suite.tasks]
    new = tuple(n for n in dict.fromkeys(names) if n not in suite_algorithms(suite))
    return replace(suite, tasks=tasks, added_algorithms=suite.added_algorithms + new)
