"""Shared fixture for the results tests: a factory of valid result records."""

from __future__ import annotations

import pytest

from zoo.results import make_record


def build_record(run_id: str = "run-0", *, task_name: str = "pneu->pneu_blur", algorithm: str = "source_then_target",
                 backbone_name: str = "simple_cnn", seed: int = 0, suite: str = "quick", rule: str = "source_val",
                 metrics: dict | None = None, **overrides) -> dict:
    """A valid record with small, explicit defaults; ``metrics`` replaces the whole metrics object."""
    fields = dict(
        run_id=run_id,
        suite={"name": suite, "version": 1},
        task={"name": task_name, "source": ["pneumoniamnist"], "target": "pneumoniamnist_blur", "target_budget": 0},
        algorithm=algorithm,
        backbone={"name": backbone_name, "options": {}},
        hparams={"lr_mult_head": 10.0},
        train={"epochs": 2, "batch_size": 32, "lr": 1e-3, "optimizer": "adamw"},
        seed=seed,
        selection={"rule": rule, "epoch": 1, "stage": None, "score": 0.9},
        metrics=metrics if metrics is not None else {
            "target_test": {"accuracy": 0.9, "balanced_accuracy": 0.85, "f1": 0.8, "auroc": 0.95}},
        timings={"train_s": 1.0, "eval_s": 0.5, "total_s": 1.6, "images_per_s": 1000.0, "peak_memory_mb": None},
        provenance={"medzoo_version": "0.1.0"},
    )
    fields.update(overrides)
    return make_record(**fields)


@pytest.fixture
def record_factory():
    """``record_factory(run_id, seed=..., metrics=..., **fields)`` -> a valid record."""
    return build_record
