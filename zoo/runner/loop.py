"""Train one run on Accelerate: stages, epochs, evaluation each epoch, every selection rule from one training.

The loop never mentions a specific algorithm (docs/architecture.md, principle 1). It owns the device, the optimizer
and schedule of each stage, mixed precision, gathering and the selected weights; the algorithm only
returns losses from ``training_step``. An epoch is one pass over the source training split; stages that
see only a small labeled target set cycle it for the same number of steps. ``train.augment`` augments
training image batches, ``train.imbalance`` reweights, resamples or rebalances the labeled data, and a
``features`` stage trains the head on cached backbone features (``zoo.runner.features``).

Each stage's batches, optimizer, schedule and epochs are ``zoo.runner.stage_loop``'s (shared with the
pretraining steps); this module keeps what is a run's: the model, the stages' order, the imbalance method's
class weights and feature cache, per-epoch evaluation, the selection rules' tracker, timings, ``RunOutcome``.

Usage::

    outcome = train_run(run_spec, task_data, Accelerator(cpu=True))
    outcome.metrics["target_test"]["accuracy"], outcome.selection, outcome.selections["last"]
"""

from __future__ import annotations

import logging
import resource
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from accelerate.utils import set_seed

from zoo.algorithms import ALGORITHMS, Algorithm
from zoo.algorithms.base import stages_of
from zoo.algorithms.variants import base_algorithm
from zoo.backbones import create_backbone, declares_option
from zoo.backbones.normalize import Normalizer
from zoo.bench.init_from import load_init
from zoo.bench.resolve import setting_stages
from zoo.bench.run_spec import RunSpec
from zoo.bench.task_data import TaskData
from zoo.errors import ConfigError
from zoo.imbalance import loss_weights_for
from zoo.imbalance_methods import ImbalanceMethod, imbalance_method
from zoo.runner.compiled import compile_as_configured
from zoo.runner.evaluate import isolated_rng
from zoo.runner.pretrain import HEAD_PREFIX
from zoo.runner.selection_tracker import SelectionTracker, selection_set
from zoo.runner.stage_loop import (  # noqa: F401
    BatchFeeder,
    StageRunner,
    TrainingDiverged,
    progress_bar,
    snapshot,
    stage_inputs,  # BatchFeeder, TrainingDiverged, train_epoch: re-exported
    to_channels_last,
    train_epoch,
)
from zoo.runner.streams import labeled_split
from zoo.selection import reads_dev

logger = logging.getLogger(__name__)


@dataclass
class RunOutcome:
    """What a finished run produced; ``selection``, ``metrics`` and ``best_state`` are the reported rule's.

    ``selections``: every recorded rule's choice (``SelectionTracker.selections``, plus ``selection_set``);
    ``kept``: history index -> (weights, per-split probabilities) of each epoch some rule selected.
    """

    history: list[dict[str, Any]]
    selection: dict[str, Any]
    metrics: dict[str, dict[str, Any]]
    best_state: dict[str, torch.Tensor] | None
    timings: dict[str, float]
    stages: list[dict[str, Any]] = field(default_factory=list)
    backbone_config: dict[str, Any] = field(default_factory=dict)
    selections: dict[str, dict[str, Any]] = field(default_factory=dict)
    kept: dict[int, tuple] = field(default_factory=dict)
    datasets: dict[str, dict[str, str]] = field(default_factory=dict)  # domain -> {dataset, licence, citation}


def build_model(config: dict[str, Any], data: TaskData, backbone_state: dict[str, torch.Tensor] | None = None
                ) -> tuple[Algorithm, Normalizer]:
    """The algorithm (with its backbone and head) and the batch normaliser the backbone expects.

    ``backbone_state``: weights from the task's pretraining steps (``zoo.runner.pretrain``), loaded before
    the algorithm is built, so that what it snapshots at construction (L2-SP's anchor) is the pretrained net.
    """
    options = {k: v for k, v in config["backbone"].items() if k != "name"}
    options.setdefault("in_chans", data.target.channels)
    if declares_option(config["backbone"]["name"], "image_size"):  # e.g. simple_cnn's dense layer
        options.setdefault("image_size", data.target.image_size)
    backbone = create_backbone(config["backbone"]["name"], **options)
    head = None
    if backbone_state is not None:  # a source model's head (source-free tasks) comes under HEAD_PREFIX
        head = {k[len(HEAD_PREFIX):]: v for k, v in backbone_state.items() if k.startswith(HEAD_PREFIX)} or None
        backbone.load_state_dict({k: v for k, v in backbone_state.items() if not k.startswith(HEAD_PREFIX)})
    algorithm = ALGORITHMS.get(base_algorithm(config["algorithm"]))(backbone, data.num_classes, config["hparams"])
    if head is not None:
        try:
            algorithm.classifier.load_state_dict(head)
        except RuntimeError as err:
            raise ConfigError(f"{config['algorithm']}: its head does not take the source model's linear head "
                              f"({str(err).splitlines()[0]}); use an algorithm with the base linear head") from None
    load_init(algorithm, config.get("init"))
    cfg = backbone.config
    return algorithm, Normalizer(cfg.mean, cfg.std, cfg.in_chans)


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _stage_class_weights(data: TaskData, stage, device, method: ImbalanceMethod) -> torch.Tensor | None:
    """(K,) class weights of ``method`` from ``stage``'s labeled (N,) labels, on ``device``; None if the stage
    has no labeled data or the method leaves the loss unweighted."""
    split = labeled_split(data, stage.data)
    weights = None if split is None else loss_weights_for(method, split.labels, data.num_classes)
    return None if weights is None else weights.to(device)


def train_run(run: RunSpec, data: TaskData, accelerator, show_progress: bool = True,
              backbone_state: dict[str, torch.Tensor] | None = None, on_epoch_end=None) -> RunOutcome:
    """Train ``run`` on ``data`` once; every recorded selection rule then picks its epoch from the history.

    After each epoch's training steps and before its evaluation, the algorithm's ``on_epoch_end(epoch, stage)``
    hook runs, then ``on_epoch_end(stage_name, epoch, algorithm)`` if given (the trajectory test compares
    weights there).
    """
    from zoo.runner.epoch_eval import EpochEvaluator, stage_eval_every
    from zoo.runner.features import feature_stream

    config, train = run.config, run.config["train"]
    set_seed(run.seed)  # same initial weights in every process
    algorithm, normalizer = build_model(config, data, backbone_state)
    normalizer = normalizer.to(accelerator.device)
    channels_last = to_channels_last(algorithm)  # conv nets in NHWC (why: stage_loop.to_channels_last)
    # train.compile: the backbone under torch.compile (CUDA graphs on CUDA); each algorithm's own Python stays eager
    compile_as_configured(algorithm, train, accelerator.device)
    model = accelerator.prepare_model(algorithm)
    imbalance = imbalance_method(train["imbalance"])  # what it changes: the loss, the sampler, cached features
    # One set of streams and one augmentation generator for all stages: each stage goes on where the last stopped.
    inputs = stage_inputs(accelerator, data, train, run.seed, "augment", normalizer,
                          source_domains=algorithm.SOURCE_DOMAINS, balanced=imbalance.balances_sampler,
                          channels_last=channels_last)
    # per epoch the cheap report (what selection and curves read); the selected epochs' full one after training
    evaluate = EpochEvaluator(accelerator, data, normalizer, train["eval_batch_size"], run.seed,
                              metric=config["selection"]["metric"], test_curves=train.get("test_curves", False),
                              stage_curves=train.get("stage_curves", False))
    kept_outputs: dict[int, dict[str, tuple]] = {}  # history index -> {split: (logits, labels)}, as tracker.kept
    stages = setting_stages(stages_of(type(algorithm), algorithm.hparams, config["task"]["target_budget"]), run.task,
                            run.algorithm)
    stage_epochs = [s.epochs or train["epochs"] for s in stages]
    selection = config["selection"]
    rules = list(selection.get("rules") or [selection["rule"]])
    tracker = SelectionTracker(rules, selection["metric"])

    history: list[dict[str, Any]] = []
    eval_s = 0.0
    label = f"{run.task.name}/{run.algorithm}/s{run.seed}"
    bar = progress_bar(accelerator, inputs.steps * sum(stage_epochs), label, show_progress)
    runner = StageRunner(accelerator, model, inputs, train, bar, label=label)
    for stage, epochs in zip(stages, stage_epochs):
        algorithm.set_stage(stage)
        if imbalance.weights_loss:
            algorithm.set_class_weights(_stage_class_weights(data, stage, accelerator.device, imbalance))
        features = None
        started = time.perf_counter()
        if stage.features:  # the backbone is frozen from here on: its features are computed once
            features = feature_stream(accelerator, model, labeled_split(data, stage.data), normalizer,
                                      train["batch_size"], run.seed, train["eval_batch_size"], imbalance,
                                      data.num_classes)
        runner.add_train_time(time.perf_counter() - started)
        selected_stage = stage is stages[-1]  # select among the last stage only: earlier ones are a means to it
        first_index = len(history)

        def record(epoch: int, train_log: dict[str, float], stage=stage) -> None:
            if on_epoch_end is not None:
                on_epoch_end(stage.name, epoch, algorithm)
            history.append({"stage": stage.name, "epoch": epoch, "train": train_log, "val": None, "test": None})

        def evaluate_epoch(epoch: int, train_log: dict[str, float], selected_stage=selected_stage,
                           first_index=first_index) -> None:
            nonlocal eval_s, kept_outputs
            started = time.perf_counter()
            entry = history[-1]
            entry["val"], entry["test"], probs, outputs = evaluate(model, with_dev=selected_stage and reads_dev(rules))
            eval_s += time.perf_counter() - started
            if selected_stage:
                tracker.update(history, first_index, lambda: snapshot(accelerator.unwrap_model(model)), probs)
                kept_outputs = {i: kept_outputs.get(i, outputs) for i in tracker.kept}  # only the newest can be new

        # an earlier stage is evaluated at its last epoch only, unless train.stage_curves (EpochEvaluator)
        every = stage_eval_every(selected_stage, epochs, train.get("eval_every", 1), evaluate.stage_curves)
        runner.run(stage, epochs, features=features, evaluate=evaluate_epoch, eval_every=every, after_epoch=record,
                   diverged_as=f"run {run.run_id} ({run.algorithm}, seed {run.seed})")
    if not stages:  # source-free without training (source_only, adabn, tent): the source model, evaluated once
        history.append({"stage": "source_model", "epoch": 0, "train": {}, "val": None, "test": None})
        started = time.perf_counter()
        history[-1]["val"], history[-1]["test"], probs, outputs = evaluate(model, with_dev=False)
        eval_s += time.perf_counter() - started
        tracker.update(history, 0, lambda: snapshot(accelerator.unwrap_model(model)), probs)
        kept_outputs = {i: outputs for i in tracker.kept}
    bar.close()
    started = time.perf_counter()
    evaluate.finish(model, history, tracker.kept, kept_outputs)  # selected epochs: test splits, full report
    eval_s += time.perf_counter() - started
    selections = tracker.selections(history)
    for rule, chosen in selections.items():
        chosen["selection_set"] = selection_set(data, rule)
    primary = selections[selection["rule"]]
    best_state = tracker.kept[primary["index"]][0]
    # Metrics beyond classification (e.g. CCSA's pair verification), on the reported rule's weights.
    from zoo.runner.extra_eval import extra_metrics

    algorithm.load_state_dict(best_state)
    with isolated_rng(accelerator):
        extras = extra_metrics(algorithm, data, normalizer, run.seed)
    accelerator.free_memory()
    return RunOutcome(
        history=history,
        selection={k: primary[k] for k in ("rule", "metric", "stage", "epoch", "score")},
        metrics={**primary["metrics"], **extras},
        best_state=best_state,
        timings={
            "train_s": round(runner.train_s, 3),
            "eval_s": round(eval_s, 3),
            "dev_s": round(evaluate.dev_s, 3),  # DEV's part of eval_s
            "images_per_s": round(runner.images_seen / runner.train_s, 1) if runner.train_s else 0.0,
            "peak_memory_mb": round(_peak_memory_mb(accelerator.device), 1),
        },
        stages=[{"name": s.name, "data": s.data, "epochs": e, "lr_mult": s.lr_mult, "features": s.features}
                for s, e in zip(stages, stage_epochs)],
        backbone_config=algorithm.backbone.config.to_dict(),
        selections=selections,
        kept=tracker.kept,
        datasets=dict(data.terms),
    )
