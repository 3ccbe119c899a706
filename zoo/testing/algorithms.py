"""Conformance checks of an algorithm, driven the way the runner drives it (docs/architecture.md, "Contracts").

The algorithm is built on a real ``simple_cnn`` backbone with 3 classes and the given hyperparameters
(``hparams=``, over the declared defaults); each stage of ``stages(0.5)`` gets ``set_stage``, then every
step ``set_progress(step, total_steps)`` and the batches its ``data`` implies, as the runner does
(``zoo.testing.algorithm_training``); training uses a plain Adam step. The runner's other hooks
(``on_epoch_end``, ``evaluation_state``) are checked by ``zoo.testing.algorithm_hooks``. Each ``check_*``
takes a registered name or an ``Algorithm`` subclass and raises ``ConformanceError`` with the entry, the
broken rule and the fix.

Usage::

    from zoo.testing.algorithms import ALGORITHM_CHECKS, check_algorithm
    check_algorithm("bnm")                       # every check below, in order
    check_algorithm("bnm", hparams={"weight": 0.3})
    ALGORITHM_CHECKS["loss_decreases[3ch]"]("bnm", hparams={"weight": 0.3})
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from typing import Any

import torch

from zoo.algorithms import HParam, Stage
from zoo.algorithms.base import resolve_hparams, stages_of
from zoo.errors import ConfigError
from zoo.testing.algorithm_hooks import check_hooks
from zoo.testing.algorithm_training import (  # noqa: F401 - make_batch, N, NUM_CLASSES: for tests written before the split
    BUDGET,
    CPU,
    NUM_CLASSES,
    STAGE_DATA,
    N,
    algorithm_class,
    build,
    make_batch,
    model_stages,
    optimizer_for,
    step,
)
from zoo.testing.algorithm_training import with_label as _with_label
from zoo.testing.core import ConformanceError, require
from zoo.testing.devices import DeviceGuard

Hparams = dict[str, Any] | None

@_with_label
def check_training_step(algo, what: str, channels: int = 1, hparams: Hparams = None) -> None:
    """Every stage is well formed; its ``training_step`` returns a finite scalar loss, no backward, no update."""
    model = build(algo, channels, hparams=hparams)
    stages = model_stages(model)
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
def check_loss_decreases(algo, what: str, channels: int = 1, hparams: Hparams = None) -> None:
    """A few Adam steps on a fixed learnable batch lower every stage's loss by 10%; ``set_progress`` runs the
    stage's schedule from step 0 to its last, as over a stage of the runner."""
    model = build(algo, channels, hparams=hparams)
    for stage in model_stages(model):
        model.set_stage(stage)
        optimizer = optimizer_for(model)

        # A head-only stage moves one linear layer on small random-network features: more (cheap) steps.
        steps = 60 if stage.features else 15

        def eval_loss(at: int) -> float:  # dropout off, so the comparison is not noise
            model.eval()
            with torch.no_grad():
                return float(step(model, stage, channels, what, progress=(at, steps))["loss"])

        start = eval_loss(0)
        model.train()
        for i in range(steps):
            optimizer.zero_grad(set_to_none=True)
            step(model, stage, channels, what, progress=(i, steps))["loss"].backward()
            optimizer.step()
        end = eval_loss(steps - 1)
        # 10% of |start| lower (start * 0.9 for a positive loss; a loss may be negative, e.g. a maximised norm)
        require(math.isfinite(end) and end < start - 0.1 * abs(start),
                f"{what} stage '{stage.name}': the loss did not go down over {steps} Adam steps on a fixed learnable "
                f"batch ({start:.4f} -> {end:.4f}); it must depend on the parameters param_groups() lists")


@_with_label
def check_predict(algo, what: str, channels: int = 1, hparams: Hparams = None) -> None:
    """``predict(x)`` gives finite float32 logits (N, num_classes), and ``model(x)`` is ``predict(x)``."""
    model = build(algo, channels, hparams=hparams).eval()
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
def check_forward_is_training_step(algo, what: str, hparams: Hparams = None) -> None:
    """``model(src, tgt, training_step=True)`` is ``training_step(src, tgt)`` (how the runner calls it, for DDP)."""
    model = build(algo, 1, hparams=hparams)
    stage = model_stages(model)[0]
    model.set_stage(stage)
    torch.manual_seed(5)
    direct = step(model, stage, 1, what)["loss"]
    torch.manual_seed(5)
    through_forward = step(model, stage, 1, what, forward=True)["loss"]
    require(torch.equal(direct, through_forward),
            f"{what}: model(src, tgt, training_step=True) must run training_step ({float(direct.detach())} != "
            f"{float(through_forward.detach())}); do not override forward")


@_with_label
def check_deterministic(algo, what: str, hparams: Hparams = None) -> None:
    """One seed gives identical losses and weights after a step; another seed gives other weights."""

    def one_step(seed: int):
        model = build(algo, 1, seed=seed, hparams=hparams)
        stage = model_stages(model)[-1]
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
def check_no_device_moves(algo, what: str, hparams: Hparams = None) -> None:
    """Parameters, outputs and predictions stay on the batches' device; no torch call targets another one."""
    model = build(algo, 3, hparams=hparams)
    devices = lambda: {t.device for t in [*model.parameters(), *model.buffers()]}  # noqa: E731
    require(devices() == {CPU},
            f"{what}: built on the CPU, its tensors are on {devices()}; never move them in __init__")
    for stage in model_stages(model):
        model.set_stage(stage)
        out = step(model, stage, 3, what)
        on = {k: str(v.device) for k, v in out.items()}
        require(set(on.values()) == {"cpu"},
                f"{what}: training_step outputs left the CPU in stage '{stage.name}': {on}")
        require(devices() == {CPU}, f"{what} moved its parameters to {devices()} in stage '{stage.name}'")
    with DeviceGuard(what, CPU, where="predict"):
        require(model.predict(make_batch(3, seed=4)[0]).device == CPU, f"{what}: predict(x) left the CPU")


@_with_label
def check_param_groups(algo, what: str, hparams: Hparams = None) -> None:
    """In every stage, ``param_groups()`` lists each trainable parameter exactly once, with ``lr_mult > 0``."""
    model = build(algo, 1, hparams=hparams)
    for stage in model_stages(model):
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
def check_stages_need_no_model(algo, what: str, hparams: Hparams = None) -> None:
    """``stages(hparams, target_budget)`` needs no model (the suite resolver calls it before building any).

    A classmethod cannot read the model; the old instance-method form ``stages(self, target_budget)`` still
    runs (on a bare instance holding only ``hparams``, as the resolver calls it), so it is checked there and
    against the built model.
    """
    cls = algorithm_class(algo)
    built = build(algo, 1, hparams=hparams)  # first: hparams it refuses fail here, in one line
    resolved = resolve_hparams(cls.HPARAMS, hparams, cls.__name__)
    try:
        without_model = stages_of(cls, resolved, BUDGET)
    except Exception as exc:  # noqa: BLE001 - reported as the rule it breaks
        raise ConformanceError(f"{what}: stages() must depend only on self.hparams and the budget, but on a bare "
                               f"instance it raised {type(exc).__name__}: {exc}; make it a classmethod "
                               "stages(cls, hparams, target_budget)") from exc
    if inspect.isfunction(inspect.getattr_static(cls, "stages", None)):  # the old form could read the model
        with_model = built.stages(BUDGET)
        require(without_model == with_model,
                f"{what}: stages() differs with and without a model ({without_model} != {with_model})")
    try:
        unsupervised = stages_of(cls, resolved, 0.0)
    except ConfigError:
        return  # a method that needs target labels refuses budget 0 with a one-line error
    wrong = [s for s in unsupervised if s.data not in ("source", "target_unlabeled", "source+target_unlabeled")]
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
def check_hparams(algo, what: str, hparams: Hparams = None) -> None:
    """``HPARAMS`` maps names to ``HParam`` with a help text and a valid space; defaults are what gets built, and
    given ``hparams`` are accepted and kept (over the defaults)."""
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
    if hparams:
        got = build(algo, 1, hparams=hparams).hparams
        want = resolve_hparams(cls.HPARAMS, hparams, cls.__name__)
        require(got == want, f"{what}: built with hparams {hparams} it has {got}, expected {want}; keep the "
                             "hparams the base class resolves (pass them to super().__init__)")


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
    "hooks": check_hooks,
    **{f"loss_decreases[{c}ch]": functools.partial(check_loss_decreases, channels=c) for c in (1, 3)},
}


def check_algorithm(algo: str | type, hparams: Hparams = None) -> None:
    """Run every algorithm check on a registered name or an ``Algorithm`` subclass; the first failure raises.

    ``hparams`` (name -> value, over the declared defaults) configure the algorithm as a suite's
    ``hparams: {my_algo: {...}}`` would.

    Usage::

        check_algorithm("bnm")
        check_algorithm("bnm", hparams={"weight": 0.3})
    """
    for check in ALGORITHM_CHECKS.values():
        check(algo, hparams=hparams)
