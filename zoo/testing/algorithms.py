"""Conformance checks of an algorithm, driven the way the runner drives it (DESIGN.md "Contracts").

The algorithm is built on a real ``simple_cnn`` backbone (any backbone taking 28 px inputs may be named)
with 3 classes; each stage of ``stages(0.5)`` gets ``set_stage`` and the batches its ``data`` implies
(a ``features`` stage gets cached backbone features, as the runner computes them), and training uses a
plain Adam step. Each ``check_*`` takes a registered name or an ``Algorithm`` subclass and raises
``ConformanceError`` with the entry, the broken rule and the fix.

Usage::

    from zoo.testing.algorithms import ALGORITHM_CHECKS, check_algorithm
    check_algorithm("bnm")                       # every check below, in order
    ALGORITHM_CHECKS["loss_decreases[3ch]"]("bnm")
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import torch

from zoo.algorithms import ALGORITHMS, Algorithm, HParam, Stage
from zoo.errors import ConfigError
from zoo.testing.core import ConformanceError, label_of, one_thread, require
from zoo.testing.devices import DeviceGuard

NUM_CLASSES = 3
N = 12
BUDGET = 0.5  # a labeled target budget, so stages of every kind of method show up
STAGE_DATA = {"source", "target_labeled", "source+target_unlabeled", "source+target_labeled"}
CPU = torch.device("cpu")


def algorithm_class(algo: str | type) -> type:
    """The class of a registered name (a broken plugin raises its one-line ``PluginError``) or the class itself."""
    cls = ALGORITHMS.get(algo) if isinstance(algo, str) else algo
    require(isinstance(cls, type) and issubclass(cls, Algorithm),
            f"{label_of('algorithm', algo)} is {cls!r}, not a subclass of zoo.algorithms.Algorithm")
    return cls


def make_batch(channels: int, seed: int, shift: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed, learnable batch: (N, C, 28, 28) float, (N,) long; class k brightens band k of the image."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(N) % NUM_CLASSES
    x = torch.randn(N, channels, 28, 28, generator=g) * 0.3 + shift
    for i, label in enumerate(y.tolist()):
        x[i, :, label * 9:(label + 1) * 9, :] += 1.5
    return x, y


def batches_for(stage: Stage, channels: int):
    """(source_batch, target_batch) as the runner builds them for ``stage.data``."""
    source = make_batch(channels, seed=1)
    target_x, target_y = make_batch(channels, seed=2, shift=0.4)  # a shifted domain
    return {
        "source": (source, None),
        "target_labeled": (None, (target_x, target_y)),
        "source+target_unlabeled": (source, (target_x, None)),
        "source+target_labeled": (source, (target_x, target_y)),
    }[stage.data]


def build(algo: str | type, channels: int, seed: int = 0, backbone: str = "simple_cnn") -> Algorithm:
    """The algorithm with default hyperparameters on a freshly seeded backbone taking ``channels`` inputs."""
    cls = algorithm_class(algo)
    torch.manual_seed(seed)
    from zoo.backbones import create_backbone

    return cls(create_backbone(backbone, in_chans=channels), NUM_CLASSES)


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


def step(algo: Algorithm, stage: Stage, channels: int, what: str, forward: bool = False) -> dict[str, torch.Tensor]:
    """One ``training_step`` (or ``model(..., training_step=True)``) on the stage's batches, under the device guard."""
    source, target = runner_feeds(algo, stage, *batches_for(stage, channels))
    try:
        with DeviceGuard(what, CPU):
            out = algo(source, target, training_step=True) if forward else algo.training_step(source, target)
    except ConformanceError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of the code under test becomes a clear check failure
        raise ConformanceError(f"{what}: training_step raised {type(exc).__name__} in stage '{stage.name}' (data "
                               f"'{stage.data}', {channels}-channel 28 px batches of {N}): {exc}") from exc
    return _check_output(what, stage, out)


def _with_label(check: Callable) -> Callable:
    """Give a check the ``what`` of its entry and the kit's one-thread setting."""

    @functools.wraps(check)
    def run(algo: str | type, *args: Any, **kwargs: Any) -> Any:
        with one_thread():
            return check(algo, label_of("algorithm", algo), *args, **kwargs)

    return run


@_with_label
def check_training_step(algo, what: str, channels: int = 1) -> None:
    """Every stage is well formed; its ``training_step`` returns a finite scalar loss, no backward, no update."""
    model = build(algo, channels)
    stages = model.stages(BUDGET)
    require(stages and all(isinstance(s, Stage) for s in stages), f"{what}: stages() must return a non-empty list "
                                                                  f"of zoo.algorithms.Stage, got {stages!r}")
    require(len({s.name for s in stages}) == len(stages), f"{what}: stage names must be unique, got {stages}")
    for stage in stages:
        require(stage.data in STAGE_DATA,
                f"{what}: stage '{stage.name}' has data {stage.data!r}; one of {sorted(STAGE_DATA)}")
        require(stage.epochs is None or (isinstance(stage.epochs, int) and stage.epochs >= 1),
                f"{what}: stage '{stage.name}' has epochs {stage.epochs!r}; None (the run's epochs) or an int >= 1")
        require(stage.lr_mult > 0, f"{what}: stage '{stage.name}' has lr_mult {stage.lr_mult!r}; it must be > 0")
        model.set_stage(stage)
        model.train()
        before = {k: v.detach().clone() for k, v in model.state_dict().items()}
        loss = step(model, stage, channels, what)["loss"]
        require(loss.requires_grad and torch.isfinite(loss),
                f"{what}: stage '{stage.name}' loss is {loss!r}; it must be finite and depend on trainable parameters")
        require(all(p.grad is None for p in model.parameters()),
                f"{what} called backward() in training_step (parameters have gradients after stage '{stage.name}'); "
                "return the loss instead: the runner calls backward, with mixed precision and gradient accumulation")
        after = model.state_dict()
        changed = [k for k, v in before.items() if after[k].is_floating_point() and not torch.equal(v, after[k])]
        changed = [k for k in changed if "running" not in k]  # BatchNorm statistics may move
        require(not changed, f"{what} changed weights in training_step ({', '.join(changed[:5])}); the runner steps "
                             "the optimizer: never call optimizer.step() or edit parameters there")


@_with_label
def check_loss_decreases(algo, what: str, channels: int = 1) -> None:
    """A few Adam steps on a fixed learnable batch lower every stage's loss by 10%."""
    model = build(algo, channels)
    for stage in model.stages(BUDGET):
        model.set_stage(stage)
        optimizer = optimizer_for(model)

        def eval_loss() -> float:  # dropout off, so the comparison is not noise
            model.eval()
            with torch.no_grad():
                return float(step(model, stage, channels, what)["loss"])

        start = eval_loss()
        model.train()
        # A head-only stage moves one linear layer on small random-network features: more (cheap) steps.
        steps = 60 if stage.features else 15
        for _ in range(steps):
            optimizer.zero_grad(set_to_none=True)
            step(model, stage, channels, what)["loss"].backward()
            optimizer.step()
        end = eval_loss()
        # 10% of |start| lower (start * 0.9 for a positive loss; a loss may be negative, e.g. a maximised norm)
        require(math.isfinite(end) and end < start - 0.1 * abs(start),
                f"{what} stage '{stage.name}': the loss did not go down over {steps} Adam steps on a fixed learnable "
                f"batch ({start:.4f} -> {end:.4f}); it must depend on the parameters param_groups() lists")


@_with_label
def check_predict(algo, what: str, channels: int = 1) -> None:
    """``predict(x)`` gives finite float32 logits (N, num_classes), and ``model(x)`` is ``predict(x)``."""
    model = build(algo, channels).eval()
    x, _ = make_batch(channels, seed=3)
    with torch.no_grad(), DeviceGuard(what, CPU, where="predict"):
        logits = model.predict(x)
        require(isinstance(logits, torch.Tensor) and logits.shape == (N, NUM_CLASSES) and logits.dtype == torch.float32,
                f"{what}: predict(x) must return float32 logits of shape {(N, NUM_CLASSES)}, got "
                f"{getattr(logits, 'dtype', type(logits).__name__)} {tuple(getattr(logits, 'shape', ()))}")
        require(torch.isfinite(logits).all(), f"{what}: predict(x) returned non-finite logits")
        require(torch.equal(model(x), logits), f"{what}: model(x) must equal predict(x) (DDP-wrapped evaluation "
                                               "calls forward); do not override forward")


@_with_label
def check_forward_is_training_step(algo, what: str) -> None:
    """``model(src, tgt, training_step=True)`` is ``training_step(src, tgt)`` (how the runner calls it, for DDP)."""
    model = build(algo, 1)
    stage = model.stages(BUDGET)[0]
    model.set_stage(stage)
    torch.manual_seed(5)
    direct = step(model, stage, 1, what)["loss"]
    torch.manual_seed(5)
    through_forward = step(model, stage, 1, what, forward=True)["loss"]
    require(torch.equal(direct, through_forward),
            f"{what}: model(src, tgt, training_step=True) must run training_step ({float(direct.detach())} != "
            f"{float(through_forward.detach())}); do not override forward")


@_with_label
def check_deterministic(algo, what: str) -> None:
    """One seed gives identical losses and weights after a step; another seed gives other weights."""

    def one_step(seed: int):
        model = build(algo, 1, seed=seed)
        stage = model.stages(BUDGET)[-1]
        model.set_stage(stage)
        optimizer = optimizer_for(model)
        torch.manual_seed(seed + 100)  # dropout masks
        loss = step(model, stage, 1, what)["loss"]
        loss.backward()
        optimizer.step()
        return loss.detach(), {k: v.detach().clone() for k, v in model.state_dict().items()}

    loss_a, weights_a = one_step(0)
    loss_b, weights_b = one_step(0)
    require(torch.equal(loss_a, loss_b),
            f"{what}: two runs with seed 0 gave losses {float(loss_a)} and {float(loss_b)}; draw randomness from "
            "torch's generators only (no time- or id-based seeds)")
    require(weights_a.keys() == weights_b.keys(), f"{what}: the state_dict keys differ between two builds")
    differ = [k for k in weights_a if not torch.equal(weights_a[k], weights_b[k])]
    require(not differ, f"{what}: two runs with seed 0 gave different weights ({', '.join(differ[:5])})")
    _, weights_c = one_step(1)
    require(not all(torch.equal(weights_a[k], weights_c[k]) for k in weights_a),
            f"{what}: seeds 0 and 1 gave identical weights; the seed has no effect (do not reseed inside the "
            "algorithm)")


@_with_label
def check_no_device_moves(algo, what: str) -> None:
    """Parameters, outputs and predictions stay on the batches' device; no torch call targets another one."""
    model = build(algo, 3)
    devices = lambda: {t.device for t in [*model.parameters(), *model.buffers()]}  # noqa: E731
    require(devices() == {CPU},
            f"{what}: built on the CPU, its tensors are on {devices()}; never move them in __init__")
    for stage in model.stages(BUDGET):
        model.set_stage(stage)
        out = step(model, stage, 3, what)
        on = {k: str(v.device) for k, v in out.items()}
        require(set(on.values()) == {"cpu"},
                f"{what}: training_step outputs left the CPU in stage '{stage.name}': {on}")
        require(devices() == {CPU}, f"{what} moved its parameters to {devices()} in stage '{stage.name}'")
    with DeviceGuard(what, CPU, where="predict"):
        require(model.predict(make_batch(3, seed=4)[0]).device == CPU, f"{what}: predict(x) left the CPU")


@_with_label
def check_param_groups(algo, what: str) -> None:
    """In every stage, ``param_groups()`` lists each trainable parameter exactly once, with ``lr_mult > 0``."""
    model = build(algo, 1)
    for stage in model.stages(BUDGET):
        model.set_stage(stage)
        groups = model.param_groups()
        in_groups = [id(p) for g in groups for p in g["params"]]
        require(len(in_groups) == len(set(in_groups)), f"{what}: a parameter is in two groups in stage '{stage.name}'")
        trainable = {id(p) for p in model.parameters() if p.requires_grad}
        require(set(in_groups) == trainable,
                f"{what} stage '{stage.name}': param_groups() must list exactly the trainable parameters "
                f"({len(set(in_groups))} listed, {len(trainable)} trainable)")
        for group in groups:
            lr_mult = group.get("lr_mult")
            require(isinstance(lr_mult, (int, float)) and lr_mult > 0,
                    f"{what}: every parameter group needs a number lr_mult > 0, got {lr_mult!r} in group "
                    f"{group.get('name')!r}")


@_with_label
def check_stages_need_no_model(algo, what: str) -> None:
    """``stages()`` reads only ``self.hparams`` (the suite resolver calls it before building any model)."""
    cls = algorithm_class(algo)
    probe = cls.__new__(cls)
    probe.hparams = {k: hp.default for k, hp in cls.HPARAMS.items()}
    try:
        without_model = cls.stages(probe, BUDGET)
    except Exception as exc:  # noqa: BLE001 - reported as the rule it breaks
        raise ConformanceError(f"{what}: stages() must depend only on self.hparams and the budget, but on a bare "
                               f"instance it raised {type(exc).__name__}: {exc}") from exc
    built = build(algo, 1).stages(BUDGET)
    require(without_model == built, f"{what}: stages() differs with and without a model ({without_model} != {built})")
    try:
        unsupervised = cls.stages(probe, 0.0)
    except ConfigError:
        return  # a method that needs target labels refuses budget 0 with a one-line error
    wrong = [s for s in unsupervised if s.data not in ("source", "source+target_unlabeled")]
    require(not wrong, f"{what}: with target_budget 0 no stage may read target labels, got {wrong}; raise ConfigError "
                       "from stages() if the method needs them")


def check_space(space: Any, default: Any, what: str = "hyperparameter") -> None:
    """A search space is a non-empty list holding the default, or ``(log|uniform|int, lo, hi)`` around it."""
    if isinstance(space, list):
        require(space, f"{what}: an empty list of choices")
        require(default in space, f"{what}: default {default!r} not among the choices {space}")
        return
    require(isinstance(space, tuple) and len(space) == 3,
            f"{what}: malformed space {space!r}; use [choices] or ('log'|'uniform'|'int', lo, hi)")
    kind, lo, hi = space
    require(kind in ("log", "uniform", "int"), f"{what}: unknown space kind {kind!r}; one of log, uniform, int")
    if kind == "int":
        require(all(isinstance(v, int) and not isinstance(v, bool) for v in (lo, hi)),
                f"{what}: int bounds in {space!r}")
        require(isinstance(default, int) and not isinstance(default, bool),
                f"{what}: default {default!r} of an int space")
    else:
        require(all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi)),
                f"{what}: number bounds in {space!r}")
    require(lo < hi, f"{what}: empty range {space!r}")
    if kind == "log":
        require(lo > 0, f"{what}: a log range must be positive: {space!r}")
    require(lo <= default <= hi, f"{what}: default {default!r} outside {space!r}")


@_with_label
def check_hparams(algo, what: str) -> None:
    """``HPARAMS`` maps names to ``HParam`` with a help text and a valid space; defaults are what gets built."""
    cls = algorithm_class(algo)
    require(isinstance(cls.HPARAMS, dict), f"{what}: HPARAMS must be a dict of name -> HParam")
    for name, hp in cls.HPARAMS.items():
        require(isinstance(hp, HParam), f"{what}: HPARAMS['{name}'] must be a zoo.algorithms.HParam, got {hp!r}")
        require(hp.check(name, hp.default, what) == hp.default, f"{what}: the default of '{name}' fails its own check")
        require(hp.help, f"{what}: hyperparameter '{name}' has no help text; HParam(default, space, 'what it does')")
        check_space(hp.space, hp.default, f"{what}: hyperparameter '{name}'")
        if isinstance(hp.default, (int, float, str)) and not isinstance(hp.default, bool):
            try:  # a list is never a valid scalar hyperparameter: it must be refused in one line naming it
                hp.check(name, [hp.default], what)
            except ConfigError as err:
                require(name in str(err), f"{what}: the type error of '{name}' does not name it: {err}")
            else:
                raise ConformanceError(f"{what}: hyperparameter '{name}' accepted a list for a scalar default")
    got = build(algo, 1).hparams
    want = {k: hp.default for k, hp in cls.HPARAMS.items()}
    require(got == want, f"{what}: built with no hparams it has {got}, expected the declared defaults {want}")


# In the order check_algorithm runs them: simple rules first, so a failure names the most basic broken rule.
ALGORITHM_CHECKS: dict[str, Callable[[str | type], None]] = {
    "hparams": check_hparams,
    "stages_need_no_model": check_stages_need_no_model,
    **{f"predict[{c}ch]": functools.partial(check_predict, channels=c) for c in (1, 3)},
    **{f"training_step[{c}ch]": functools.partial(check_training_step, channels=c) for c in (1, 3)},
    "no_device_moves": check_no_device_moves,
    "param_groups": check_param_groups,
    "deterministic": check_deterministic,
    "forward_is_training_step": check_forward_is_training_step,
    **{f"loss_decreases[{c}ch]": functools.partial(check_loss_decreases, channels=c) for c in (1, 3)},
}


def check_algorithm(algo: str | type) -> None:
    """Run every algorithm check on a registered name or an ``Algorithm`` subclass; the first failure raises.

    Usage::

        check_algorithm("bnm")
    """
    for check in ALGORITHM_CHECKS.values():
        check(algo)
