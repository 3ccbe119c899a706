"""Train one run on Accelerate: stages, epochs, evaluation each epoch, every selection rule from one training.

The loop never mentions a specific algorithm (DESIGN.md principle 1). It owns the device, the optimizer
and schedule of each stage, mixed precision, gathering and the selected weights; the algorithm only
returns losses from ``training_step``. An epoch is one pass over the source training split; stages that
see only a small labeled target set cycle it for the same number of steps. ``train.augment`` augments
training image batches, ``train.imbalance`` reweights, resamples or rebalances the labeled data, and a
``features`` stage trains the head on cached backbone features (``zoo.runner.features``).

Usage::

    outcome = train_run(run_spec, task_data, Accelerator(cpu=True))
    outcome.metrics["target_test"]["accuracy"], outcome.selection, outcome.selections["last"]
"""

from __future__ import annotations

import logging
import math
import resource
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from accelerate.utils import set_seed

from zoo.algorithms import ALGORITHMS, Algorithm
from zoo.algorithms.variants import base_algorithm
from zoo.backbones import create_backbone, declares_option
from zoo.bench.suite import RunSpec
from zoo.bench.task_data import TaskData
from zoo.errors import MedzooError
from zoo.runner.batches import Normalizer
from zoo.runner.evaluate import isolated_rng
from zoo.runner.init_from import load_init
from zoo.runner.optim import build_optimizer, build_scheduler, prepare_optimizer, step_functions
from zoo.runner.selection_tracker import SelectionTracker, selection_set
from zoo.runner.streams import TrainStreams, labeled_split, stage_streams

logger = logging.getLogger(__name__)


class TrainingDiverged(MedzooError):
    """The loss became NaN or infinite."""


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
    if backbone_state is not None:
        backbone.load_state_dict(backbone_state)
    algorithm = ALGORITHMS.get(base_algorithm(config["algorithm"]))(backbone, data.num_classes, config["hparams"])
    load_init(algorithm, config.get("init"))
    cfg = backbone.config
    return algorithm, Normalizer(cfg.mean, cfg.std, cfg.in_chans)


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


class BatchFeeder:
    """The ``(source_batch, target_batch)`` of each step of one stage: on the device, augmented, normalised.

    Image stages draw uint8 batches from the run's ``TrainStreams`` (already on the device), augment them
    (``train.augment``, training batches only) and normalise them there; a ``features`` stage draws
    ``(features, labels)`` from its cache. ``channels_last``: batches in the memory format of a conv net
    converted to it (CUDA only, see ``train_run``).
    """

    def __init__(self, streams: TrainStreams, stage, normalizer, augment=None, generator=None, features=None,
                 channels_last: bool = False) -> None:
        self.streams, self.normalizer, self.augment, self.generator = streams, normalizer, augment, generator
        self.source, self.target = stage_streams(stage.data)
        self.target_labeled = self.target == "target_labeled"
        self.features = features
        self.channels_last = channels_last

    def _images(self, images: torch.Tensor) -> torch.Tensor:
        if self.augment is not None:
            images = self.augment(images, self.generator)  # (B, C, H, W) uint8 -> same, per-sample random
        x = self.normalizer(images)  # (B, C, H, W) float
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def __call__(self):
        if self.features is not None:  # head-only stage: (B, D) features, (B,) labels
            batch = next(self.features)
            return (batch, None) if self.source else (None, batch)
        src = tgt = None
        if self.source:
            images, labels, *domains = self.streams.next(self.source)  # domains: [(B,)] only with SOURCE_DOMAINS
            src = (self._images(images), labels, *domains)  # (B, C, H, W) float, (B,)[, (B,)]
        if self.target:
            images, labels = self.streams.next(self.target)
            tgt = (self._images(images), labels if self.target_labeled else None)
        return src, tgt


def train_epoch(accelerator, model, feeder: BatchFeeder, optimizer, scheduler, steps: int, bar=None,
                first_step: int = 0, total_steps: int | None = None):
    """``steps`` optimizer steps of one stage; returns (summed step outputs, images seen by all processes).

    Step outputs are summed as detached tensors and read once per epoch: no per-step host sync. Before each
    step the algorithm's ``set_progress(first_step + i, total_steps)`` is called (``total_steps``: the
    stage's, default ``steps``), e.g. for DANN's warm-start schedule.
    """
    algorithm = accelerator.unwrap_model(model)
    total_steps = total_steps or steps
    autocast, backward = step_functions(accelerator)  # Accelerate's only where they do something
    model.train()
    sums: dict[str, torch.Tensor] = {}
    images_seen = 0
    for i in range(steps):
        algorithm.set_progress(first_step + i, total_steps)
        src, tgt = feeder()
        with autocast():
            out = model(src, tgt, training_step=True)
        backward(out["loss"])
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        for key, value in out.items():
            sums[key] = sums.get(key, 0.0) + value.detach().float()
        images_seen += len((src or tgt)[0]) * accelerator.num_processes
        if bar is not None:
            bar.update(1)
    return sums, images_seen


def _stage_class_weights(data: TaskData, stage, device) -> torch.Tensor | None:
    from zoo.imbalance import class_weights

    split = labeled_split(data, stage.data)
    return None if split is None else class_weights(split.labels, data.num_classes).to(device)


def _compile_networks(algorithm) -> None:
    """``train.compile``: the backbone's ``forward_features`` (what algorithms call: (N, C, H, W) -> (N, D),
    where a step's compute is) replaced on the instance by its ``torch.compile``d form: same parameters,
    same state-dict keys; evaluation runs it too, in its eval-mode graph. Losses match eager to float
    tolerance (``tests/test_step_overhead.py``).

    The rest of ``training_step`` stays eager: its Python reads per-step state (DANN's gradient-reversal
    coefficient, a float set by ``set_progress``) that a whole-step graph specialises on, recompiling at
    every step (measured: 126 s for a 10-step DANN run).
    """
    backbone = algorithm.backbone
    # fallback_random: dropout draws from the eager RNG stream, so compiled and eager runs see the same masks
    # (inductor's own Philox stream would give a different, equally valid, loss curve).
    backbone.forward_features = torch.compile(backbone.forward_features, options={"fallback_random": True})


def _snapshot(accelerator, model) -> dict[str, torch.Tensor]:
    state = accelerator.unwrap_model(model).state_dict()
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in state.items()}


def train_run(run: RunSpec, data: TaskData, accelerator, show_progress: bool = True,
              backbone_state: dict[str, torch.Tensor] | None = None, on_epoch_end=None) -> RunOutcome:
    """Train ``run`` on ``data`` once; every recorded selection rule then picks its epoch from the history.

    After each epoch's training steps and before its evaluation, the algorithm's ``on_epoch_end(epoch, stage)``
    hook runs, then ``on_epoch_end(stage_name, epoch, algorithm)`` if given (the trajectory test compares
    weights there).
    """
    from tqdm.auto import tqdm

    from zoo.runner.epoch_eval import EpochEvaluator
    from zoo.runner.features import feature_stream

    config, train = run.config, run.config["train"]
    set_seed(run.seed)  # same initial weights in every process
    algorithm, normalizer = build_model(config, data, backbone_state)
    normalizer = normalizer.to(accelerator.device)
    # Conv nets run in channels_last (NHWC) on every device: tensor-core friendly on CUDA, and on CPU oneDNN's
    # NHWC convolution and pooling kernels are faster (simple_cnn at 28 px: training 1.2x, evaluation 2.5x;
    # resnet18_28: 1.13x, 1.5x). Logits differ from NCHW's at float rounding (~3e-8), like another CPU would.
    channels_last = any(isinstance(m, torch.nn.Conv2d) for m in algorithm.modules())
    if channels_last:
        algorithm.to(memory_format=torch.channels_last)
    if train.get("compile"):  # the networks under torch.compile; each algorithm's own Python stays eager
        _compile_networks(algorithm)
    model = accelerator.prepare_model(algorithm)
    imbalance = train["imbalance"]
    batches = TrainStreams(accelerator, data, train["batch_size"], run.seed, source_domains=algorithm.SOURCE_DOMAINS,
                           balanced=imbalance == "balanced_sampler", drop_last=train["drop_last"])
    augment = None
    if train["augment"] != "none":
        from zoo.augment import build_augment

        augment = build_augment(train["augment"])
    augment_generator = torch.Generator().manual_seed(run.seed + 10_000)  # its own stream: data order unchanged
    # per epoch the cheap report (what selection and curves read); the selected epochs' full one after training
    evaluate = EpochEvaluator(accelerator, data, normalizer, train["eval_batch_size"], run.seed,
                              metric=config["selection"]["metric"], test_curves=train.get("test_curves", False))
    kept_outputs: dict[int, dict[str, tuple]] = {}  # history index -> {split: (logits, labels)}, as tracker.kept
    steps = batches.steps_per_epoch
    if train["max_steps_per_epoch"]:
        steps = min(steps, train["max_steps_per_epoch"])
    stages = algorithm.stages(config["task"]["target_budget"])
    stage_epochs = [s.epochs or train["epochs"] for s in stages]
    selection = config["selection"]
    rules = list(selection.get("rules") or [selection["rule"]])
    tracker = SelectionTracker(rules, selection["metric"])
    eval_every = train.get("eval_every", 1)

    history: list[dict[str, Any]] = []
    train_s = eval_s = 0.0
    images_seen = 0
    bar = tqdm(total=steps * sum(stage_epochs), desc=f"{run.task.name}/{run.algorithm}/s{run.seed}", leave=False,
               disable=not (show_progress and accelerator.is_main_process), unit="step")
    for stage, epochs in zip(stages, stage_epochs):
        algorithm.set_stage(stage)
        if imbalance == "class_weight":
            algorithm.set_class_weights(_stage_class_weights(data, stage, accelerator.device))
        features = None
        started = time.perf_counter()
        if stage.features:  # the backbone is frozen from here on: its features are computed once
            features = feature_stream(accelerator, model, labeled_split(data, stage.data), normalizer,
                                      train["batch_size"], run.seed, train["eval_batch_size"], imbalance, data.num_classes)
        train_s += time.perf_counter() - started
        feeder = BatchFeeder(batches, stage, normalizer, augment, augment_generator, features, channels_last)
        optimizer = prepare_optimizer(accelerator, build_optimizer(algorithm.param_groups(), train, stage.lr_mult))
        scheduler = build_scheduler(optimizer, train, steps, epochs)  # stepped per process step, not prepared
        selected_stage = stage is stages[-1]  # select among the last stage only: earlier ones are a means to it
        first_index = len(history)
        for epoch in range(epochs):
            started = time.perf_counter()
            sums, images = train_epoch(accelerator, model, feeder, optimizer, scheduler, steps, bar,
                                       first_step=epoch * steps, total_steps=epochs * steps)
            images_seen += images
            train_s += time.perf_counter() - started
            train_log = {k: float(v) / steps for k, v in sums.items()}
            if not math.isfinite(train_log["loss"]):
                raise TrainingDiverged(
                    f"run {run.run_id} ({run.algorithm}, seed {run.seed}): loss is {train_log['loss']} in stage "
                    f"'{stage.name}' epoch {epoch + 1}; lower train.lr"
                )
            with torch.no_grad():  # the algorithm's hook (a no-op by default): weight averaging, statistics
                algorithm.on_epoch_end(epoch + 1, stage)
            if on_epoch_end is not None:
                on_epoch_end(stage.name, epoch + 1, algorithm)
            entry = {"stage": stage.name, "epoch": epoch + 1, "train": train_log, "val": None, "test": None}
            history.append(entry)
            if (epoch + 1) % eval_every and epoch + 1 != epochs:
                continue  # not evaluated: no rule can pick this epoch
            started = time.perf_counter()
            entry["val"], entry["test"], probs, outputs = evaluate(model, with_dev=selected_stage and "dev" in rules)
            eval_s += time.perf_counter() - started
            bar.set_postfix(loss=f"{train_log['loss']:.3f}", stage=stage.name)
            if selected_stage:
                tracker.update(history, first_index, lambda: _snapshot(accelerator, model), probs)
                kept_outputs = {i: kept_outputs.get(i, outputs) for i in tracker.kept}  # only the newest can be new
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
            "train_s": round(train_s, 3),
            "eval_s": round(eval_s, 3),
            "dev_s": round(evaluate.dev_s, 3),  # DEV's part of eval_s
            "images_per_s": round(images_seen / train_s, 1) if train_s else 0.0,
            "peak_memory_mb": round(_peak_memory_mb(accelerator.device), 1),
        },
        stages=[{"name": s.name, "data": s.data, "epochs": e, "lr_mult": s.lr_mult, "features": s.features}
                for s, e in zip(stages, stage_epochs)],
        backbone_config=algorithm.backbone.config.to_dict(),
        selections=selections,
        kept=tracker.kept,
        datasets=dict(data.terms),
    )
