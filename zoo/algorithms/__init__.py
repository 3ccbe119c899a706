"""Transfer algorithms: the registry (entry-point group ``medzoo.algorithms``) and the contract.

Usage::

    from zoo.algorithms import ALGORITHMS
    algo_cls = ALGORITHMS.get("source_then_target")   # or its old name, finetune (logged once)
"""

from zoo.algorithms.base import Algorithm, HParam, Stage, check_algorithm
from zoo.plugins import discover_into
from zoo.registry import Registry

ALGORITHMS = Registry("algorithm", group="medzoo.algorithms", check=check_algorithm, discover=discover_into)

__all__ = ["ALGORITHMS", "Algorithm", "HParam", "Stage"]
