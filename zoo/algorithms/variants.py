"""Algorithm variants named in suites: ``NAME@w0``, the weight-0 twin of an adaptation method.

A twin is the method with its alignment term switched off (the hyperparameter its class names in
``ALIGNMENT_WEIGHT`` set to 0) and everything else kept: the same architecture (DANN's bottleneck and its
BatchNorm), the same mixed source+target batches, the same hyperparameters otherwise. It separates what
the alignment adds from what the architecture and target BatchNorm statistics add. A suite gets a twin of
each adaptation method with ``controls: [weight_zero]``, or names one (``dann@w0``) in a task.

Usage::

    base_algorithm("dann@w0")                    # 'dann'
    variant_hparams("dann@w0", DANN)             # {'weight': 0.0}
    twins(["source_only", "dann"], ALGORITHMS)   # ['source_only', 'dann', 'dann@w0']
"""

from __future__ import annotations

from typing import Any

from zoo.errors import ConfigError

WEIGHT_ZERO = "w0"


def base_algorithm(name: str) -> str:
    """The registered algorithm a (possibly variant) name runs: ``dann@w0`` -> ``dann``."""
    return name.partition("@")[0]


def variant_hparams(name: str, cls) -> dict[str, Any]:
    """The hyperparameters a variant name fixes (``{}`` for a plain name); a one-line error if it cannot apply."""
    base, at, variant = name.partition("@")
    if not at:
        return {}
    if variant != WEIGHT_ZERO:
        raise ConfigError(f"unknown algorithm variant '{name}': the only variant is {base}@{WEIGHT_ZERO} "
                          "(its weight-0 twin)")
    weight = getattr(cls, "ALIGNMENT_WEIGHT", None)
    if weight is None:
        raise ConfigError(f"'{name}': {base} has no alignment term to switch off (it declares no ALIGNMENT_WEIGHT); "
                          "weight-0 twins exist for adaptation methods such as dann, cdan, coral, dan, mcc")
    return {weight: 0.0}


def twins(algorithms: list[str], registry) -> list[str]:
    """``algorithms`` with the weight-0 twin of each adaptation method placed right after it."""
    out: list[str] = []
    for name in algorithms:
        out.append(name)
        twin = f"{name}@{WEIGHT_ZERO}"
        if "@" not in name and twin not in algorithms and getattr(registry.get(name), "ALIGNMENT_WEIGHT", None):
            out.append(twin)
    return out
