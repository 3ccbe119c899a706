"""The conformance kit: the checks medzoo runs on its built-ins, for plugin authors' own test suites.

Every registered backbone, algorithm and dataset of medzoo passes these checks (docs/architecture.md, principle 10);
a plugin's test suite runs the very same functions on its own entries. A check that fails raises
``ConformanceError`` (an ``AssertionError``, so pytest reports it as a test failure) whose message says
which entry broke which rule and how to fix it.

- ``check_algorithm(name_or_cls, hparams=None)``: stages, a scalar ``loss`` from ``training_step``, no
  ``backward()``, no optimizer step, no device moves, a few Adam steps lower the loss, ``predict`` shapes,
  determinism under a seed, 1- and 3-channel inputs, parameter groups, hyperparameter spaces, and the
  runner's hooks (``set_progress`` before every step, ``on_epoch_end``, ``evaluation_state``), all with the
  given hyperparameters over the defaults.
- ``check_backbone(name)``: ``(N, D)`` finite features for 1 and 3 channels, config fields, determinism,
  gradients reaching every trainable parameter, no network access while building.
- ``check_dataset(name_or_factory, tmp_dir, **kwargs)``: a ``Domain`` with train/val/test splits of uint8
  images, labels within the label names, a licence and a citation, the same result twice.
- ``check_runs_one_epoch(algorithm=..., backbone=..., dataset=...)``: one epoch of a tiny suite through the
  real runner (``zoo.runner.suite_runner.run_suite``); returns the result record.

For finer test reports, ``ALGORITHM_CHECKS``, ``BACKBONE_CHECKS`` and ``DATASET_CHECKS`` map a check id
to a function of the entry. ``import zoo.testing`` is light: torch is imported on first use.

Usage::

    import pytest
    from zoo.testing import ALGORITHM_CHECKS, check_runs_one_epoch

    @pytest.mark.parametrize("check", sorted(ALGORITHM_CHECKS))
    def test_conformance(check):
        ALGORITHM_CHECKS[check]("my_algo", hparams={"lambda": 0.3})

    def test_one_epoch_through_the_runner(tmp_path):
        check_runs_one_epoch(algorithm="my_algo", output_dir=tmp_path)
"""

from __future__ import annotations

import importlib
from typing import Any

from zoo.testing.core import ConformanceError

# public name -> submodule defining it (imported on first access: those modules import torch)
_LAZY = {
    "ALGORITHM_CHECKS": "algorithms",
    "check_algorithm": "algorithms",
    "BACKBONE_CHECKS": "backbones",
    "backbone_cases": "backbones",
    "check_backbone": "backbones",
    "DATASET_CHECKS": "datasets",
    "check_dataset": "datasets",
    "check_runs_one_epoch": "smoke",
}

__all__ = ["ConformanceError", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"zoo.testing.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'zoo.testing' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
