"""How long a run will take, from a few real training steps (``medzoo run SUITE --plan``).

The probe trains the run itself (its data, backbone, algorithm and every stage, on this machine's device)
for ``PROBE_STEPS`` optimizer steps per stage and one epoch, evaluating as the run does, and scales:

    seconds ~= step_s * steps_per_epoch * sum(stage epochs) + eval_s_per_epoch * evaluated epochs
               + step_s * pretraining steps (once per task and seed: later runs reuse the checkpoint)

The first steps carry one-time costs (allocations, kernel selection), so a probe errs long; the plan
prefers the timings of finished runs of the same configuration when a results folder has them.

Usage::

    estimate = probe_run(run, make_accelerator(cpu=True), data_dir=None)
    estimate.seconds, estimate.pretrain_s
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

from zoo.bench.run_config import RunConfig
from zoo.bench.run_spec import RunSpec

PROBE_STEPS = 5


@dataclass(frozen=True)
class ProbeEstimate:
    """Seconds of one run without its pretraining (``seconds``) and of its task's pretraining (``pretrain_s``)."""

    seconds: float
    pretrain_s: float
    probe_s: float  # what the probe itself took


def stage_epochs(config) -> list[int]:
    """Epochs of each stage of ``config``'s algorithm (a stage's own ``epochs``, else ``train.epochs``)."""
    from zoo.algorithms import ALGORITHMS
    from zoo.algorithms.base import stages_of
    from zoo.algorithms.variants import base_algorithm

    cls = ALGORITHMS.get(base_algorithm(config["algorithm"]))
    stages = stages_of(cls, dict(config["hparams"]), config["task"]["target_budget"])  # no model needed
    stages = [s for s in stages if s.name in config["stages"]]  # a source-free run leaves the source stage out
    return [s.epochs or config["train"]["epochs"] for s in stages]


def _steps(n_images: int, train) -> int:
    """Optimizer steps of one epoch over ``n_images`` (full batches unless one batch is all there is), clamped."""
    batch = train["batch_size"]
    steps = n_images // batch if train.get("drop_last", True) and n_images >= batch else math.ceil(n_images / batch)
    return min(steps, train["max_steps_per_epoch"]) if train["max_steps_per_epoch"] else steps


def probe_run(run: RunSpec, accelerator, data_dir: Path | None = None, download: bool = False,
              steps: int = PROBE_STEPS) -> ProbeEstimate:
    """Time ``steps`` real training steps per stage of ``run`` and scale them to the whole run."""
    from zoo.bench.task_data import build_task_data
    from zoo.runner.epoch_eval import evaluations
    from zoo.runner.loop import train_run

    started = time.perf_counter()
    config, train = run.config, run.config["train"]
    data = build_task_data(config, data_dir, download)
    short = {**train, "epochs": 1, "max_steps_per_epoch": steps, "eval_every": 1}
    # the run's algorithm from initial weights: pretraining happens outside train_run, and is scaled below
    probe_config = RunConfig.from_dict({**config.to_dict(), "train": short})
    quiet = logging.getLogger("zoo.runner")  # no per-epoch log lines of the probe's epochs
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        outcome = train_run(replace(run, config=probe_config), data, accelerator, show_progress=False)
    finally:
        quiet.setLevel(level)
    probe_steps = steps * sum(stage_epochs(probe_config))
    step_s = outcome.timings["train_s"] / max(probe_steps, 1)
    evaluated = sum(1 for h in outcome.history if h["val"] is not None)
    eval_s = outcome.timings["eval_s"] / max(evaluated, 1)

    epoch_split = (data.source.splits["train"] if data.source is not None else data.target_labeled
                   or data.target.splits["train"])
    epochs = stage_epochs(config)
    run_steps = _steps(len(epoch_split), train) * sum(epochs)
    run_evaluations = evaluations(epochs, train.get("eval_every", 1), train.get("stage_curves", False))
    pretrain_steps = 0
    for step in config["task"].get("pretrain") or []:
        domain_train = _pretrain_split(data_dir, download, config, step, data)
        pretrain_steps += _steps(len(domain_train), train) * (step.get("epochs") or train["epochs"])
    return ProbeEstimate(seconds=step_s * run_steps + eval_s * run_evaluations, pretrain_s=step_s * pretrain_steps,
                         probe_s=time.perf_counter() - started)


def _pretrain_split(data_dir, download, config, step, data):
    """The training split of a pretraining step's domain (built and cached by ``build_task_data`` already)."""
    from zoo.bench.task_data import build_matching_domain

    (name, spec), = step["domain"].items()
    return build_matching_domain(name, spec, data.target, config, data_dir, download).splits["train"]
