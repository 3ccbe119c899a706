"""Benchmark suites: YAML specs, validation, domains and tasks resolved into runs.

Usage::

    from zoo.bench import load_suite
    suite = load_suite("quick")
"""

from zoo.bench.run_spec import RunSpec, TaskSpec
from zoo.bench.suite import Suite, load_suite

__all__ = ["RunSpec", "Suite", "TaskSpec", "load_suite"]
