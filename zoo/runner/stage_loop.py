"""One training stage, the same for a run's stages and for every pretraining step: batches, optimizer, epochs.

A run (``zoo.runner.loop.train_run``) and a pretraining step (``zoo.runner.pretrain``) train the same way:
batches drawn from ``TrainStreams`` (augmented from their own seed stream, normalised on the device), a
number of optimizer steps per epoch clamped by ``train.max_steps_per_epoch``, an optimizer built from the
algorithm's parameter groups and the stage's learning-rate multiplier (always through
``zoo.runner.optim.prepare_optimizer``) with its per-step schedule, and epochs of ``train_epoch`` with a
progress bar, a divergence check, the algorithm's ``on_epoch_end`` hook and an evaluation hook. Only what
is evaluated, which epoch is kept and what is recorded differ; the callers pass those in as hooks.

``StageInputs`` is built once per training (a run's streams and augmentation generator run on across its
stages, so that a stage starts where the previous one left the data order); ``StageRunner.run`` trains one
stage and adds up the training seconds and images seen over stages.

Usage::

    inputs = stage_inputs(accelerator, data, train, seed, "augment", normalizer)
    runner = StageRunner(accelerator, model, inputs, train, bar=progress_bar(accelerator, inputs.steps * 5, "run"))
    runner.run(stage, epochs=5, evaluate=lambda epoch, train_log: print(epoch, train_log["loss"]))
    runner.train_s, runner.images_seen
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import torch

from zoo.errors import MedzooError
from zoo.runner.optim import build_optimizer, build_scheduler, prepare_optimizer, step_functions
from zoo.runner.seed_streams import stream_generator
from zoo.runner.streams import TrainStreams, stage_streams

logger = logging.getLogger(__name__)

class TrainingDiverged(MedzooError):
    """The loss became NaN or infinite."""


class BatchFeeder:
    """The ``(source_batch, target_batch)`` of each step of one stage: on the device, augmented, normalised.

    Image stages draw uint8 batches from the run's ``TrainStreams`` (already on the device), augment them
    (``train.augment``, training batches only) and normalise them there; a ``features`` stage draws
    ``(features, labels)`` from its cache. ``channels_last``: batches in the memory format of a conv net
    converted to it (see ``train_run``).
    """

    def __init__(self, streams: TrainStreams, stage, normalizer, augment=None, generator=None, features=None,
                 channels_last: bool = False) -> None:
        self.streams, self.normalizer, self.augment, self.generator = streams, normalizer, augment, generator
        self.source, self.target = stage_streams(stage.data)
        self.target_labeled = self.target == "target_labeled"
        self.semi = stage.data == "source+target_semi"  # target batch (x_l, y_l, x_u[, x_u_strong])
        self.strong = None
        if getattr(stage, "strong_augment", None):
            from zoo.augment import build_augment

            self.strong = build_augment(stage.strong_augment)
        self.features = features
        self.channels_last = channels_last

    def _images(self, images: torch.Tensor, augment=None) -> torch.Tensor:
        augment = augment or self.augment
        if augment is not None:
            images = augment(images, self.generator)  # (B, C, H, W) uint8 -> same, per-sample random
        x = self.normalizer(images)  # (B, C, H, W) float
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def _unlabeled(self) -> tuple[torch.Tensor, ...]:
        """A semi-supervised stage's unlabeled target batch: the weak view (``train.augment``) and, when the
        stage names ``strong_augment``, the strong view of the same images (weak policy, then strong one)."""
        images, _ = self.streams.next("target_unlabeled")  # labels never passed on
        if self.strong is None:
            return (self._images(images),)
        weak = self.augment(images, self.generator) if self.augment is not None else images
        return self._images(weak, augment=_identity), self._images(weak, augment=self.strong)

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
            if self.semi:
                tgt = (*tgt, *self._unlabeled())
        return src, tgt


def _identity(images: torch.Tensor, generator) -> torch.Tensor:
    return images


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
            sums[key] = sums.get(key, 0.0) + value.detach().float()  # () per key, summed on the device
        images_seen += len((src or tgt)[0]) * accelerator.num_processes
        if bar is not None:
            bar.update(1)
    return sums, images_seen


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of ``module``'s state dict (contiguous, detached): kept weights outlive later steps."""
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in module.state_dict().items()}


def to_channels_last(module: torch.nn.Module) -> bool:
    """Put a conv net in channels_last (NHWC) in place and say whether it is one (then its batches go NHWC too).

    Why on every device: tensor-core friendly on CUDA, and on CPU oneDNN's NHWC convolution and pooling kernels
    are faster (simple_cnn at 28 px: training 1.2x, evaluation 2.5x; resnet18_28: 1.13x, 1.5x). Logits differ
    from NCHW's at float rounding (~3e-8), as on another CPU. A run's model and a pretraining step both use it.

    Usage::

        inputs = stage_inputs(..., channels_last=to_channels_last(model))
    """
    if not any(isinstance(m, torch.nn.Conv2d) for m in module.modules()):
        return False
    module.to(memory_format=torch.channels_last)
    return True


def progress_bar(accelerator, total: int, desc: str, show: bool = True):
    """A tqdm bar of ``total`` steps, shown on the main process only (and only when ``show``)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False, unit="step", disable=not (show and accelerator.is_main_process))


@dataclass
class StageInputs:
    """What feeds the stages of one training: its streams, augmentation (and that's generator), normaliser.

    ``steps``: optimizer steps per epoch, the epoch stream's batches clamped by ``train.max_steps_per_epoch``.
    """

    streams: TrainStreams
    normalizer: Any
    augment: Callable | None
    generator: torch.Generator
    steps: int
    channels_last: bool = False

    def feeder(self, stage, features=None) -> BatchFeeder:
        """The batches of ``stage`` (from cached ``features`` for a head-only stage)."""
        return BatchFeeder(self.streams, stage, self.normalizer, self.augment, self.generator, features,
                           self.channels_last)


def stage_inputs(accelerator, data, train: dict[str, Any], seed: int, augment_stream: str, normalizer, *,
                 source_domains: bool = False, balanced: bool = False, channels_last: bool = False) -> StageInputs:
    """Streams over ``data`` seeded ``seed``, ``train.augment`` drawing from seed stream ``augment_stream``
    (``zoo.runner.seed_streams``), steps per epoch clamped; ``balanced``: labeled streams draw classes equally
    often (an ``ImbalanceMethod`` that ``balances_sampler``)."""
    streams = TrainStreams(accelerator, data, train["batch_size"], seed, source_domains=source_domains,
                           balanced=balanced, drop_last=train["drop_last"])
    augment = None
    if train["augment"] != "none":
        from zoo.augment import build_augment

        augment = build_augment(train["augment"])
    generator = stream_generator(seed, augment_stream)  # its own stream: data order unchanged by augmentation
    steps = streams.steps_per_epoch
    if train["max_steps_per_epoch"]:
        steps = min(steps, train["max_steps_per_epoch"])
    return StageInputs(streams, normalizer, augment, generator, steps, channels_last)


class StageRunner:
    """Trains stages of one model, one after another, from the same ``StageInputs``.

    ``bar``: one progress bar for all the stages run (or ``None``); without a shown bar, ``label`` (the run)
    gets one log line per epoch. ``train_s`` and ``images_seen`` add up
    the training steps' seconds and images over stages; ``add_train_time`` counts other training work
    (computing a feature cache) in ``train_s`` too.
    """

    def __init__(self, accelerator, model, inputs: StageInputs, train: dict[str, Any], bar=None,
                 label: str | None = None) -> None:
        self.accelerator, self.model, self.inputs, self.train, self.bar = accelerator, model, inputs, train, bar
        self.label = label  # names the run in the per-epoch log line written when no bar is shown
        self.train_s = 0.0
        self.images_seen = 0

    def add_train_time(self, seconds: float) -> None:
        self.train_s += seconds

    def run(self, stage, epochs: int, *, features=None, evaluate=None, eval_every: int = 1, after_epoch=None,
            diverged_as: str | None = None) -> None:
        """Train ``stage`` for ``epochs`` epochs of ``inputs.steps`` optimizer steps.

        After each epoch's steps: the divergence check (``diverged_as``: who the one-line ``TrainingDiverged``
        names, e.g. ``"run ab12 (dann, seed 0)"``; ``None``: no check), the algorithm's ``on_epoch_end(epoch,
        stage)`` hook, ``after_epoch(epoch, train_log)``, then, every ``eval_every``-th epoch and at the last,
        ``evaluate(epoch, train_log)`` (epochs 1-based; ``train_log``: the epoch's mean step outputs, floats).
        """
        accelerator, model, steps = self.accelerator, self.model, self.inputs.steps
        algorithm = accelerator.unwrap_model(model)
        feeder = self.inputs.feeder(stage, features)
        optimizer = prepare_optimizer(accelerator, build_optimizer(algorithm.param_groups(), self.train, stage.lr_mult))
        scheduler = build_scheduler(optimizer, self.train, steps, epochs)  # stepped per process step, not prepared
        for epoch in range(1, epochs + 1):
            started = time.perf_counter()
            sums, images = train_epoch(accelerator, model, feeder, optimizer, scheduler, steps, self.bar,
                                       first_step=(epoch - 1) * steps, total_steps=epochs * steps)
            self.images_seen += images
            self.train_s += time.perf_counter() - started
            train_log = {k: float(v) / steps for k, v in sums.items()}  # the epoch's one host sync
            if diverged_as is not None and not math.isfinite(train_log["loss"]):
                raise TrainingDiverged(f"{diverged_as}: loss is {train_log['loss']} in stage '{stage.name}' epoch "
                                       f"{epoch}; lower train.lr")
            with torch.no_grad():  # the algorithm's hook (a no-op by default): weight averaging, statistics
                algorithm.on_epoch_end(epoch, stage)
            if after_epoch is not None:
                after_epoch(epoch, train_log)
            if self.label and (self.bar is None or self.bar.disable) and accelerator.is_main_process:
                # no bar shown (--no-progress, a job's log): one line per epoch, so a long run is not silent
                logger.info("%s: stage '%s' epoch %d/%d, loss %.4f (%.1f s)", self.label, stage.name, epoch, epochs,
                            train_log["loss"], time.perf_counter() - started)
            if self.bar is not None:
                self.bar.set_postfix(loss=f"{train_log['loss']:.3f}", stage=stage.name)
            if evaluate is None or (epoch % eval_every and epoch != epochs):
                continue  # not evaluated: nothing can select this epoch
            evaluate(epoch, train_log)


__all__ = ["BatchFeeder", "StageInputs", "StageRunner", "TrainingDiverged", "progress_bar", "snapshot",
           "stage_inputs", "train_epoch"]
