"""One epoch of a tiny suite through the real runner: the end-to-end check of a plugin entry.

``check_runs_one_epoch`` writes a one-task suite (source and target: two disjoint halves of one dataset,
the target optionally shifted), runs it with ``zoo.runner.suite_runner.run_suite`` on the CPU, and checks
the result record: the named algorithm, backbone and dataset ran, the training loss is finite, every
split was scored and the checkpoint exists. A budget of target labels is given only to a method whose
``stages(0)`` refuses to run without them.

Usage::

    from zoo.testing.smoke import check_runs_one_epoch
    record = check_runs_one_epoch(algorithm="bnm", backbone="tiny_cnn", dataset="toy_lesions",
                                  output_dir=tmp_path)
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from zoo.errors import ConfigError
from zoo.testing.core import ConformanceError, one_thread, require

# Options of the built-in synthetic dataset that make a domain big enough to halve, in milliseconds.
SYNTHETIC = {"num_classes": 2, "n_per_class": 24, "image_size": 28}


def needs_target_labels(algorithm: str) -> bool:
    """True when the algorithm's ``stages(0)`` raises ``ConfigError`` (it cannot run unsupervised)."""
    from zoo.algorithms import ALGORITHMS
    from zoo.algorithms.base import stages_of

    cls = ALGORITHMS.get(algorithm)
    try:
        stages_of(cls, {k: hp.default for k, hp in cls.HPARAMS.items()}, 0.0)
    except ConfigError:
        return True
    return False


def smoke_suite(algorithm: str, backbone: str, dataset: str, dataset_kwargs: dict[str, Any],
                backbone_options: dict[str, Any] | None = None, hparams: dict[str, Any] | None = None,
                target_budget: float | None = None, shift: dict[str, Any] | None = None,
                max_steps: int = 8) -> dict[str, Any]:
    """The suite (as a dict, ready for YAML) that ``check_runs_one_epoch`` runs."""
    if target_budget is None:
        target_budget = 0.5 if needs_target_labels(algorithm) else 0
    spec = {"dataset": dataset, **{k: str(v) if isinstance(v, os.PathLike) else v for k, v in dataset_kwargs.items()}}
    target = {**spec, "partition": {"part": 1, "of": 2, "seed": 0}}
    if shift:
        target["shift"] = dict(shift)
    return {
        "suite": "medzoo-kit-smoke",
        "version": 1,
        "description": f"conformance smoke run of {algorithm} on {backbone} with {dataset}",
        "defaults": {
            "backbone": {"name": backbone, **(backbone_options or {})},
            "train": {"epochs": 1, "batch_size": 16, "eval_batch_size": 64, "lr": 0.001,
                      "max_steps_per_epoch": max_steps},
            "seeds": [0],
            "hparams": {algorithm: dict(hparams)} if hparams else {},
        },
        "domains": {"source": {**spec, "partition": {"part": 0, "of": 2, "seed": 0}}, "target": target},
        "tasks": [{"name": "smoke", "source": "source", "target": "target", "target_budget": target_budget,
                   "algorithms": [algorithm]}],
    }


def check_runs_one_epoch(
    algorithm: str = "source_only",
    backbone: str = "simple_cnn",
    dataset: str = "synthetic",
    *,
    dataset_kwargs: dict[str, Any] | None = None,
    backbone_options: dict[str, Any] | None = None,
    hparams: dict[str, Any] | None = None,
    target_budget: float | None = None,
    shift: dict[str, Any] | None = None,
    output_dir: str | os.PathLike | None = None,
    max_steps: int = 8,
) -> dict[str, Any]:
    """Run one epoch (at most ``max_steps`` steps per stage) of a tiny suite; return its result record.

    ``dataset_kwargs`` default to the factory's ``conformance_kwargs(output_dir / "data")`` when it has
    them (small synthetic options for ``synthetic``). Everything is written under ``output_dir`` (a new
    temporary folder if None). Names are registered names: a plugin's entries as installed.

    Usage::

        record = check_runs_one_epoch(algorithm="my_algo", output_dir=tmp_path)
        record["metrics"]["target_test"]["accuracy"]
    """
    from zoo.bench.suite import load_suite
    from zoo.runner.suite_runner import run_suite
    from zoo.testing.datasets import dataset_factory

    root = Path(output_dir) if output_dir is not None else Path(tempfile.mkdtemp(prefix="medzoo-kit-"))
    root.mkdir(parents=True, exist_ok=True)
    if dataset_kwargs is None:
        make = getattr(dataset_factory(dataset), "conformance_kwargs", None)
        data = root / "data"
        data.mkdir(exist_ok=True)  # as the runner's data folder, it exists: a factory may write its examples there
        dataset_kwargs = SYNTHETIC if dataset == "synthetic" else dict(make(data)) if make else {}
    suite = smoke_suite(algorithm, backbone, dataset, dataset_kwargs, backbone_options, hparams, target_budget,
                        shift, max_steps)
    suite_file = root / "smoke-suite.yaml"
    suite_file.write_text(yaml.safe_dump(suite, sort_keys=False))
    what = f"algorithm '{algorithm}' on backbone '{backbone}' with dataset '{dataset}'"
    try:
        with one_thread():
            records = run_suite(load_suite(str(suite_file)), output_dir=root / "runs", cpu=True, show_progress=False)
    except ConformanceError:
        raise
    except Exception as exc:  # noqa: BLE001 - the runner's own error, with the suite that produced it
        raise ConformanceError(
            f"{what}: the one-epoch run of {suite_file} failed: {type(exc).__name__}: {exc}") from exc
    require(len(records) == 1, f"{what}: expected one result record, got {len(records)}")
    record = records[0]
    require(record["algorithm"] == algorithm and record["backbone"]["name"] == backbone,
            f"{what}: the record names {record['algorithm']} on {record['backbone']['name']}")
    losses = record["curves"]["train_loss"]
    require(losses and all(math.isfinite(v) for v in losses), f"{what}: training losses {losses} are not finite")
    for split in ("source_test", "target_val_oracle", "target_test"):
        accuracy = record["metrics"].get(split, {}).get("accuracy")
        require(accuracy is not None and 0.0 <= accuracy <= 1.0, f"{what}: {split} accuracy is {accuracy!r}")
    require((root / "runs" / record["checkpoint"]).is_file(), f"{what}: no checkpoint at {record['checkpoint']}")
    return record
