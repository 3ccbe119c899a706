"""How the conformance kit builds and drives an algorithm: the runner's calls, in the runner's order.

The algorithm is built on a real ``simple_cnn`` backbone (any backbone taking 28 px inputs may be named)
with 3 classes and the hyperparameters a test gives (defaults otherwise). A training step is what
``zoo.runner.stage_loop.train_epoch`` does: ``set_progress(step, total_steps)``, then ``training_step`` on the
batches the stage's ``data`` implies (a ``features`` stage gets cached backbone features, as
``zoo.runner.features`` computes them). Training uses a plain Adam step over ``param_groups()``.

Usage::

    from zoo.testing.algorithm_training import build, step
    model = build("bnm", channels=1, hparams={"weight": 0.3})
    stage = model_stages(model)[0]
    model.set_stage(stage)
    out = step(model, stage, 1, "algorithm 'bnm'", progress=(0, 10))   # {"loss": scalar tensor, ...}
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch

from zoo.algorithms import ALGORITHMS, Algorithm, Stage
from zoo.algorithms.base import stages_of
from zoo.errors import ConfigError
from zoo.testing.core import ConformanceError, label_of, one_thread, require
from zoo.testing.devices import DeviceGuard

NUM_CLASSES = 3
N = 12
BUDGET = 0.5  # a labeled target budget, so stages of every kind of method show up
STAGE_DATA = {"source", "target_labeled", "target_unlabeled", "source+target_unlabeled", "source+target_labeled",
              "source+target_semi"}
CPU = torch.device("cpu")


def algorithm_class(algo: str | type) -> type:
    """The class of a registered name (a broken plugin raises its one-line ``PluginError``) or the class itself."""
    cls = ALGORITHMS.get(algo) if isinstance(algo, str) else algo
    require(isinstance(cls, type) and issubclass(cls, Algorithm),
            f"{label_of('algorithm', algo)} is {cls!r}, not a subclass of zoo.algorithms.Algorithm")
    return cls


def model_stages(model: Algorithm, target_budget: float = BUDGET) -> list[Stage]:
    """The stages the runner gives a built ``model`` (from its class and resolved hparams, either form)."""
    return stages_of(type(model), model.hparams, target_budget)


def make_batch(channels: int, seed: int, shift: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed, learnable batch: (N, C, 28, 28) float, (N,) long; class k brightens band k of the image."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(N) % NUM_CLASSES
    x = torch.randn(N, channels, 28, 28, generator=g) * 0.3 + shift
    for i, label in enumerate(y.tolist()):
        x[i, :, label * 9:(label + 1) * 9, :] += 1.5
    return x, y


def target_images(channels: int) -> list[torch.Tensor]:
    """The shifted domain's unlabeled training images as the runner hands them to ``evaluation_state``:
    normalised (B, C, 28, 28) float batches, no labels."""
    return [make_batch(channels, seed=seed, shift=0.4)[0] for seed in (2, 6)]


def batches_for(stage: Stage, channels: int, source_domains: bool = False):
    """(source_batch, target_batch) as the runner builds them for ``stage.data``.

    ``source_domains`` (an algorithm declaring ``SOURCE_DOMAINS``): source batches are ``(x, y, d)`` from two
    source domains. ``source+target_semi``: the target batch is ``(x_l, y_l, x_u)``, plus a strong view of
    ``x_u`` (here: the same images with noise added) when the stage names a ``strong_augment`` policy.
    """
    source = make_batch(channels, seed=1)
    if source_domains:
        source = (*source, torch.arange(N) % 2)  # (N,) source-domain index
    target_x, target_y = make_batch(channels, seed=2, shift=0.4)  # a shifted domain
    if stage.data == "source+target_semi":
        unlabeled = make_batch(channels, seed=3, shift=0.4)[0]  # (N, C, 28, 28), labels never passed
        strong = (unlabeled + 0.3 * torch.randn(unlabeled.shape, generator=torch.Generator().manual_seed(4)),)
        return source, (target_x, target_y, unlabeled, *(strong if stage.strong_augment else ()))
    return {
        "source": (source, None),
        "target_labeled": (None, (target_x, target_y)),
        "target_unlabeled": (None, (target_x, None)),
        "source+target_unlabeled": (source, (target_x, None)),
        "source+target_labeled": (source, (target_x, target_y)),
    }[stage.data]


def build(algo: str | type, channels: int, seed: int = 0, backbone: str = "simple_cnn",
          hparams: dict[str, Any] | None = None, backbone_options: dict[str, Any] | None = None) -> Algorithm:
    """The algorithm with ``hparams`` over its defaults, on a freshly seeded backbone taking ``channels`` inputs.

    Hyperparameters the algorithm refuses (unknown name, wrong type, ``validate_hparams``) fail the check in
    one line: the kit tests the configuration it was given, as a suite would run it.
    """
    cls = algorithm_class(algo)
    torch.manual_seed(seed)
    from zoo.backbones import create_backbone

    try:
        return cls(create_backbone(backbone, in_chans=channels, **(backbone_options or {})), NUM_CLASSES, hparams)
    except ConfigError as err:
        raise ConformanceError(f"{label_of('algorithm', algo)} refused hparams {hparams or {}}: {err}") from None


def optimizer_for(algo: Algorithm) -> torch.optim.Optimizer:
    """Adam over ``param_groups()`` with each group's ``lr_mult``, as the runner builds it."""
    groups = [{"params": g["params"], "lr": 1e-3 * g["lr_mult"]} for g in algo.param_groups() if g["params"]]
    return torch.optim.Adam(groups, lr=1e-3)


def runner_feeds(algo: Algorithm, stage: Stage, source, target):
    """A ``features`` stage gets (N, D) backbone features instead of images, computed as the runner does."""
    if not stage.features:
        return source, target
    was_training = algo.training
    algo.eval()
    with torch.no_grad():
        to_features = lambda batch: None if batch is None else (algo.features(batch[0]), batch[1])  # noqa: E731
        source, target = to_features(source), to_features(target)
    algo.train(was_training)
    return source, target


def _check_output(what: str, stage: Stage, out: Any) -> dict[str, torch.Tensor]:
    require(isinstance(out, dict), f"{what}: training_step must return a dict holding a scalar 'loss' tensor, got "
                                   f"{type(out).__name__} (stage '{stage.name}')")
    require("loss" in out, f"{what} returns no loss: training_step gave keys {sorted(out)} in stage '{stage.name}'; "
                           "return {'loss': <scalar tensor>, ...}, the runner calls backward on it")
    loss = out["loss"]
    require(isinstance(loss, torch.Tensor) and loss.dim() == 0,
            f"{what}: 'loss' must be a scalar (0-dim) tensor, got {type(loss).__name__} "
            f"{tuple(getattr(loss, 'shape', ()))} in stage '{stage.name}'; reduce it, e.g. with .mean()")
    for key, value in out.items():  # the runner logs every entry as ``value.detach().float()``
        require(isinstance(value, torch.Tensor) and value.numel() == 1,
                f"{what}: training_step entry '{key}' must be a one-element tensor (it is logged as is), got {value!r}")
    return out


def call_hook(what: str, hook: str, call: Callable[[], Any], when: str) -> Any:
    """Run one of the algorithm's hooks under the device guard; an exception becomes a one-line failure."""
    try:
        with DeviceGuard(what, CPU, where=hook):
            return call()
    except ConformanceError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of the code under test becomes a clear check failure
        raise ConformanceError(f"{what}: {hook} raised {type(exc).__name__} {when}: {exc}") from exc


def step(algo: Algorithm, stage: Stage, channels: int, what: str, forward: bool = False,
         progress: tuple[int, int] = (0, 1)) -> dict[str, torch.Tensor]:
    """One runner step on the stage's batches: ``set_progress(*progress)``, then ``training_step`` (or
    ``model(..., training_step=True)``), under the device guard."""
    call_hook(what, "set_progress", lambda: algo.set_progress(*progress),
              f"at set_progress{progress} in stage '{stage.name}' (step index, total steps of the stage)")
    from zoo.algorithms.base import Algorithm

    if type(algo).training_step is Algorithm.training_step:  # inherited: the base raises NotImplementedError
        raise ConformanceError(f"{what}: defines no training_step(source_batch, target_batch); the runner calls it "
                               "every step: return {'loss': <scalar tensor>, ...}")
    source, target = runner_feeds(algo, stage, *batches_for(stage, channels, algo.SOURCE_DOMAINS))
    try:
        with DeviceGuard(what, CPU):
            out = algo(source, target, training_step=True) if forward else algo.training_step(source, target)
    except ConformanceError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of the code under test becomes a clear check failure
        raise ConformanceError(f"{what}: training_step raised {type(exc).__name__} in stage '{stage.name}' (data "
                               f"'{stage.data}', {channels}-channel 28 px batches of {N}): {exc}") from exc
    return _check_output(what, stage, out)


def with_label(check: Callable) -> Callable:
    """Give a check the ``what`` of its entry and the kit's one-thread setting; ``hparams=`` reaches the check."""

    @functools.wraps(check)
    def run(algo: str | type, *args: Any, **kwargs: Any) -> Any:
        with one_thread():
            return check(algo, label_of("algorithm", algo), *args, **kwargs)

    return run


def state_of(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A copy of every weight and buffer, to compare before and after a hook."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def changed_entries(before: dict[str, torch.Tensor], model: torch.nn.Module) -> list[str]:
    """Names of the state-dict entries of ``model`` that differ from ``before`` (added or removed ones too)."""
    after = model.state_dict()
    if before.keys() != after.keys():
        return sorted(set(before) ^ set(after))
    return [k for k, v in before.items() if not torch.equal(v, after[k])]
