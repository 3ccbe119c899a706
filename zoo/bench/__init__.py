"""Benchmark suites: YAML specs, validation, domains and tasks resolved into runs.

Usage::

    from zoo.bench import load_suite
    suite = load_suite("quick")
"""

from zoo.bench.suite import RunSpec, Suite, TaskSpec, load_suite

__all__ = ["RunSpec", "Suite", "TaskSpec", "load_suite"]
