"""The algorithm contract (docs/architecture.md, "Contracts"): an ``nn.Module`` built from a backbone, a class
count and hparams.

An algorithm computes losses; the runner owns everything else (devices, optimizers, schedulers, mixed
precision, accumulation, gathering, checkpoints). So an algorithm never calls ``.to(device)``,
``backward()`` or ``optimizer.step()``.

- ``training_step(source_batch, target_batch) -> dict``: ``"loss"`` is a scalar tensor, other entries are
  logged as they are. A batch is ``(x, y)``: ``x`` (N, C, H, W) float, already normalised; ``y`` (N,) long,
  or ``None`` for unlabeled target data. A batch the current stage does not use is ``None``.
  Stage data ``target_unlabeled`` (source-free adaptation) gives ``(None, (x_t, None))``; stage data
  ``source+target_semi`` (semi-supervised adaptation) gives the target batch ``(x_l, y_l, x_u)``: the labeled
  budget's images and labels and a batch of unlabeled target images, plus ``x_u_strong`` (the same unlabeled
  images under the stage's ``strong_augment`` policy, before normalisation) when the stage names one.
  Multi-source: a task with several sources trains on their concatenation. An algorithm that needs to know
  which source each sample came from sets ``SOURCE_DOMAINS = True`` and then always gets source batches
  ``(x, y, d)``, ``d`` (N,) long in ``[0, number of sources)`` (all zeros for a single source); every other
  algorithm gets ``(x, y)`` whatever the number of sources.
- ``predict(x) -> logits`` (N, num_classes).
- ``param_groups()``: ``[{"params": [...], "lr_mult": float}, ...]``; the runner multiplies its lr.
- ``HPARAMS``: name -> ``HParam(default, space, help, low=..., high=..., choices=...)``, declared next to the
  code: the default, what sweeps draw from, and which values are valid (``zoo.algorithms.hparams``, where
  every value is checked).
- ``stages(hparams, target_budget)``, a classmethod: the training stages and which data each stage sees
  (``features=True``: a head-only stage on cached backbone features, see ``Stage``). Callers use
  ``stages_of(cls, hparams, budget)``, which also runs the old instance-method form ``stages(self, budget)``.
- ``cross_entropy(logits, y)``: the supervised loss to use, so that ``train.imbalance: class_weight`` applies.
- Optional hooks, no-ops by default, in the order the runner calls them: ``validate_hparams(hparams)`` (a
  classmethod, called before any model is built, for rules one ``HParam`` cannot declare: raise a one-line
  ``ConfigError``); ``set_stage(stage)``
  before each stage; ``set_progress(step, total_steps)`` before every training step (the step index within
  the stage and the stage's total, e.g. for schedules); ``on_epoch_end(epoch, stage)`` after each epoch's
  training steps, before its evaluation (no gradients; e.g. weight averaging, recalibrating statistics);
  ``evaluation_state(domain, unlabeled)``, the before-evaluation hook: a context the runner evaluates one
  domain's splits in, for test-time adaptation such as AdaBN or TENT (it must restore the model on exit).
- ``SETTINGS``: the task settings (``TASK_SETTINGS``) the method can run in: ``transfer`` (labeled source,
  target images, optional budget), ``source_free`` (a source model and unlabeled target images only; stages
  that train on the labeled source alone are the source model's and are left out), ``semi_supervised``
  (labeled source, a target label budget and the unlabeled rest) and ``generalization`` (several labeled
  sources; the target is never read in training). A suite running it elsewhere is refused in one line.
- ``ALIGNMENT_WEIGHT``: the hyperparameter that scales an adaptation method's alignment term (``None`` for
  the others). A suite with ``controls: [weight_zero]`` runs its weight-0 twin beside it (same architecture
  and batches, alignment off).

Usage::

    @ALGORITHMS.register("my_algo")       # or an entry point in your package's pyproject.toml
    class MyAlgo(Algorithm):
        HPARAMS = {"weight": HParam(1.0, ("log", 0.01, 10.0), "weight of my loss", low=0)}
        @classmethod
        def stages(cls, hparams, target_budget):
            return [Stage("train", "source")]
        def training_step(self, source_batch, target_batch):
            x, y = source_batch
            return {"loss": F.cross_entropy(self.predict(x), y)}
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import warnings
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, ContextManager, Iterator, Literal

import torch
import torch.nn.functional as F
from torch import nn

from zoo.algorithms.hparams import HParam, resolve_hparams  # noqa: F401 - the contract's names, importable from here
from zoo.backbones.base import Backbone
from zoo.task_settings import setting_names

logger = logging.getLogger(__name__)

Batch = tuple[torch.Tensor, torch.Tensor | None]
StageData = Literal["source", "target_labeled", "target_unlabeled", "source+target_unlabeled", "source+target_labeled",
                    "source+target_semi"]
# The task settings a suite can state (``setting:`` of a task) and an algorithm can declare (``SETTINGS``).
TASK_SETTINGS = tuple(setting_names())


@dataclass(frozen=True)
class Stage:
    """One training stage: its name, the data it sees, and an lr multiplier for the whole stage.

    ``epochs`` of ``None`` means the run's ``train.epochs``. An epoch is always as many steps as one pass
    over the source training split (the labeled target split when the task has no source), so stages on a
    small labeled target budget still get enough steps.

    ``features=True`` (labeled ``source`` or ``target_labeled`` data only): the backbone is frozen and the
    runner computes its features once, in eval mode and without augmentation, then feeds ``(f, y)`` batches
    with ``f`` (N, D) instead of images, so every epoch costs only the head. Imbalance resampling in
    feature space (SMOTE) applies to these stages.
    """

    name: str
    data: StageData
    epochs: int | None = None
    lr_mult: float = 1.0
    features: bool = False  # head-only stage on cached backbone features: batches are ((N, D) features, labels)
    strong_augment: str | None = None  # source+target_semi only: a policy giving the unlabeled batch a strong view


class Algorithm(nn.Module):
    """Base class with a linear head on the backbone's features; subclasses write ``training_step``."""

    HPARAMS: ClassVar[dict[str, HParam]] = {}
    PAPER: ClassVar[str] = ""  # the reference the method implements
    SOURCE_DOMAINS: ClassVar[bool] = False  # True: source batches are (x, y, d), d = index of the source domain
    ALIGNMENT_WEIGHT: ClassVar[str | None] = None  # the hparam scaling the alignment term (weight-0 twin control)
    SETTINGS: ClassVar[tuple[str, ...]] = ("transfer", "semi_supervised")  # task settings it can run in

    def __init__(self, backbone: Backbone, num_classes: int, hparams: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.hparams = resolve_hparams(self.HPARAMS, hparams, type(self).__name__)
        self.validate_hparams(self.hparams)
        self.backbone = backbone
        self.num_classes = num_classes
        self.classifier = nn.Linear(backbone.num_features, num_classes)
        self.stage: Stage | None = None
        self.class_weights: torch.Tensor | None = None  # (K,) set by the runner for imbalance: class_weight

    # -- the contract -----------------------------------------------------------------------------
    @classmethod
    def validate_hparams(cls, hparams: dict[str, Any]) -> None:
        """Rules that no single ``HParam`` can declare (one hyperparameter against another, the grammar of a
        string); raise a one-line ``ConfigError``. Types, bounds and choices are checked before, by ``HParam``.

        Called by the suite resolver and by ``__init__``, so a bad value fails before any training starts.
        """

    def set_progress(self, step: int, total_steps: int) -> None:
        """Called by the runner before each training step: ``step`` in ``[0, total_steps)`` of this stage."""

    def on_epoch_end(self, epoch: int, stage: Stage) -> None:
        """Called by the runner after the training steps of epoch ``epoch`` (1-based, within ``stage``), before
        that epoch is evaluated, under ``torch.no_grad()`` and on every process.

        It may update weights or buffers (an average of weights, recalibrated statistics): what it leaves is
        what the epoch's evaluation and the next epoch see. It must not add parameters or leave gradients.
        """

    def evaluation_state(self, domain: str, unlabeled: Callable[[], Iterator[torch.Tensor]]) -> ContextManager[None]:
        """The before-evaluation hook: the context in which the runner evaluates ``domain``'s splits
        (``"source"`` or ``"target"``), after every evaluated epoch.

        ``unlabeled()`` yields that domain's training images, normalised, on the device, (B, C, H, W), no
        labels (a fresh pass per call). The runner enters it with the model as training left it and calls
        ``predict`` in eval mode inside; gradients are enabled, so a method may also take optimizer steps of
        its own (TENT). Default: nothing changes. A test-time method adapts on entry and restores every
        weight and buffer on exit: evaluation must never change training. Inside one entry an image's
        prediction must not depend on the other images of its batch: a budget task's ``target_val`` images
        are read from ``target_val_oracle``'s predictions (the same images), not predicted again.
        """
        return contextlib.nullcontext()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = cls.__dict__.get("stages")
        if isinstance(declared, classmethod):  # see _old_super_call: super().stages(budget) of an old subclass
            cls.stages = classmethod(_old_super_call(declared.__func__))  # type: ignore[assignment]

    @classmethod
    def stages(cls, hparams: dict[str, Any], target_budget: float) -> list[Stage]:
        """Default: one stage of supervised training on the labeled source.

        A classmethod of the resolved ``hparams`` and the task's ``target_budget``: the suite resolver calls
        it before any model is built. Raise ``ConfigError`` if the method cannot run on such a task.
        """
        return [Stage("train", "source")]

    def set_stage(self, stage: Stage) -> None:
        """Called by the runner before each stage (freeze/unfreeze here, never move devices)."""
        self.stage = stage

    def training_step(self, source_batch: Batch | None, target_batch: Batch | None) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def set_class_weights(self, weights: torch.Tensor | None) -> None:
        """Per-class weights (K,) of the supervised cross-entropy (``train.imbalance: class_weight``), or None.

        The runner sets them, on the training device, before each stage from that stage's labeled data.
        """
        self.class_weights = weights

    def cross_entropy(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The supervised loss every built-in uses: cross-entropy, class-weighted when weights are set."""
        return F.cross_entropy(logits, labels, weight=self.class_weights)  # (N, K), (N,) -> scalar

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone.forward_features(x)  # (N, C, H, W) -> (N, D)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))  # (N, D) -> (N, num_classes)

    def forward(self, *inputs: Any, training_step: bool = False) -> Any:
        """``model(x)`` predicts; ``model(src, tgt, training_step=True)`` runs ``training_step``.

        The runner calls training through ``forward`` so that a DistributedDataParallel wrapper sees it.
        """
        if training_step:
            return self.training_step(*inputs)
        return self.predict(inputs[0])

    def param_groups(self) -> list[dict[str, Any]]:
        """Backbone and head as separate groups, both at the base learning rate by default."""
        return [
            {"params": [p for p in self.backbone.parameters() if p.requires_grad], "lr_mult": 1.0, "name": "backbone"},
            {"params": [p for p in self.classifier.parameters() if p.requires_grad], "lr_mult": 1.0, "name": "head"},
        ]


_WARNED: set[tuple[type, str]] = set()
_NO_BUDGET = object()


def _old_super_call(stages: Callable) -> Callable:
    """``stages(cls, hparams, target_budget)`` that also answers ``super().stages(target_budget)``, the call a
    plugin's old instance-method ``stages(self, target_budget)`` makes to extend its parent's stages.

    Why the caller's frame: that call passes the budget alone, and a classmethod reached through ``super()`` gets
    the class, not the instance; the hyperparameters are those of the ``self`` making the call.
    """
    @functools.wraps(stages)
    def wrapper(cls, hparams, target_budget=_NO_BUDGET):
        if target_budget is _NO_BUDGET:
            caller = inspect.currentframe().f_back.f_locals.get("self")  # type: ignore[union-attr]
            if not isinstance(getattr(caller, "hparams", None), dict):
                raise TypeError(f"{cls.__qualname__}.stages takes (hparams, target_budget); got one argument")
            hparams, target_budget = caller.hparams, hparams
        return stages(cls, hparams, target_budget)

    return wrapper


Algorithm.stages = classmethod(_old_super_call(Algorithm.__dict__["stages"].__func__))  # type: ignore[assignment]


def call_with_hparams(cls: type, name: str, hparams: dict[str, Any], *args: Any) -> Any:
    """``cls.<name>(hparams, *args)``, a classmethod of the hyperparameters (``stages``, a strategy's
    ``target_stages``); the old instance-method form ``<name>(self, *args)`` is called on a bare instance
    holding only ``hparams``, with a one-line ``DeprecationWarning`` (and log line) once per class.

    Why a bare instance: no model exists yet when the resolver plans a suite; an old method that reads
    more than ``self.hparams`` fails there, as it always did.
    """
    if not inspect.isfunction(inspect.getattr_static(cls, name, None)):
        return getattr(cls, name)(hparams, *args)
    if (cls, name) not in _WARNED:
        _WARNED.add((cls, name))
        message = (f"{cls.__qualname__}.{name}(self, ...) is the old instance-method form; make it a classmethod "
                   f"{name}(cls, hparams, ...) that reads hparams[...] instead of self.hparams")
        warnings.warn(message, DeprecationWarning, stacklevel=3)
        logger.warning(message)
    probe = cls.__new__(cls)  # no __init__: no backbone, no modules, only the hyperparameters
    probe.hparams = dict(hparams)
    return getattr(probe, name)(*args)


def stages_of(cls: type, hparams: dict[str, Any], target_budget: float) -> list[Stage]:
    """The stages of algorithm class ``cls`` with resolved ``hparams`` on a task with ``target_budget``.

    What every caller uses (suite resolver, runner, probe, ``medzoo info``, the conformance kit), so an
    algorithm written against the old ``stages(self, target_budget)`` keeps working everywhere.

    Usage::

        stages_of(LPFT, resolve_hparams(LPFT.HPARAMS, {}, "lp_ft"), 0.1)   # [Stage('probe', ...), ...]
    """
    return list(call_with_hparams(cls, "stages", hparams, target_budget))


def check_algorithm(obj: Any) -> str | None:
    """Registry check: an entry of ``medzoo.algorithms`` must be an ``Algorithm`` subclass."""
    if isinstance(obj, type) and issubclass(obj, Algorithm):
        return None
    return f"expected a subclass of zoo.algorithms.base.Algorithm, got {obj!r}"
