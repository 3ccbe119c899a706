"""The algorithm contract (DESIGN.md "Contracts" and principle 6), generated from the registry.

Every usable entry of ``zoo.algorithms.ALGORITHMS`` (built-ins and any installed plugin) is built on a
real ``simple_cnn`` backbone and driven the way the runner drives it: ``set_stage`` for each stage of
``stages(0.5)``, ``training_step`` with the batches that stage's ``data`` implies, a plain Adam step.
"""

from __future__ import annotations

import math

import pytest
import torch

import zoo
from zoo.algorithms import ALGORITHMS, Algorithm, HParam, Stage
from zoo.errors import ConfigError

NAMES = ALGORITHMS.names()
NUM_CLASSES = 3
N = 12
BUDGET = 0.5
STAGE_DATA = {"source", "target_labeled", "source+target_unlabeled", "source+target_labeled"}


def _batch(channels: int, seed: int, shift: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed, learnable batch: (N, C, 28, 28) float, (N,) long; class k brightens band k of the image."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(N) % NUM_CLASSES
    x = torch.randn(N, channels, 28, 28, generator=g) * 0.3 + shift
    for i, label in enumerate(y.tolist()):
        x[i, :, label * 9:(label + 1) * 9, :] += 1.5
    return x, y


def _batches_for(stage: Stage, channels: int):
    """(source_batch, target_batch) as the runner builds them for ``stage.data``."""
    source = _batch(channels, seed=1)
    target_x, target_y = _batch(channels, seed=2, shift=0.4)  # a shifted domain
    return {
        "source": (source, None),
        "target_labeled": (None, (target_x, target_y)),
        "source+target_unlabeled": (source, (target_x, None)),
        "source+target_labeled": (source, (target_x, target_y)),
    }[stage.data]


def _build(name: str, channels: int, seed: int = 0) -> Algorithm:
    torch.manual_seed(seed)
    backbone = zoo.create_backbone("simple_cnn", in_chans=channels)
    return ALGORITHMS.get(name)(backbone, NUM_CLASSES)


def _optimizer(algo: Algorithm) -> torch.optim.Optimizer:
    groups = [{"params": g["params"], "lr": 1e-3 * g["lr_mult"]} for g in algo.param_groups() if g["params"]]
    return torch.optim.Adam(groups, lr=1e-3)


def _as_runner_feeds(algo: Algorithm, stage: Stage, source, target):
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


def _step(algo: Algorithm, stage: Stage, channels: int) -> dict[str, torch.Tensor]:
    source, target = _as_runner_feeds(algo, stage, *_batches_for(stage, channels))
    return algo.training_step(source, target)


def _devices(algo: Algorithm) -> set[torch.device]:
    return {t.device for t in [*algo.parameters(), *algo.buffers()]}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # Tiny tensors: extra intra-op threads only fight over the (shared) cores and make this 5x slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(params=NAMES)
def name(request) -> str:
    return request.param


def test_registry_has_the_builtins():
    assert {"source_only", "finetune"} <= set(NAMES)


@pytest.mark.parametrize("channels", [1, 3])
def test_training_step_of_every_stage_returns_a_finite_scalar_loss(name, channels):
    algo = _build(name, channels)
    stages = algo.stages(BUDGET)
    assert stages and all(isinstance(s, Stage) for s in stages)
    assert len({s.name for s in stages}) == len(stages), "stage names must be unique"
    for stage in stages:
        assert stage.data in STAGE_DATA, stage
        assert stage.epochs is None or (isinstance(stage.epochs, int) and stage.epochs >= 1), stage
        assert stage.lr_mult > 0, stage
        algo.set_stage(stage)
        algo.train()
        before = {k: v.detach().clone() for k, v in algo.state_dict().items()}
        out = _step(algo, stage, channels)
        assert isinstance(out, dict) and "loss" in out, out
        loss = out["loss"]
        assert isinstance(loss, torch.Tensor) and loss.dim() == 0, loss
        assert loss.requires_grad and torch.isfinite(loss), (stage, loss)
        for key, value in out.items():  # the runner logs every entry as ``value.detach().float()``
            assert isinstance(value, torch.Tensor) and value.numel() == 1, (key, value)
        # The runner owns backward and the optimizer: a training step leaves no gradients and no updates.
        assert all(p.grad is None for p in algo.parameters()), f"{name} called backward() in training_step"
        after = algo.state_dict()
        changed = [k for k, v in before.items() if after[k].is_floating_point() and not torch.equal(v, after[k])]
        assert not [k for k in changed if "running" not in k], f"{name} changed weights in training_step: {changed}"


@pytest.mark.parametrize("channels", [1, 3])
def test_a_few_adam_steps_lower_the_loss_of_each_stage(name, channels):
    algo = _build(name, channels)
    for stage in algo.stages(BUDGET):
        algo.set_stage(stage)
        optimizer = _optimizer(algo)

        def eval_loss() -> float:  # dropout off, so the comparison is not noise
            algo.eval()
            with torch.no_grad():
                return float(_step(algo, stage, channels)["loss"])

        start = eval_loss()
        algo.train()
        # A head-only stage moves one linear layer on small random-network features: more (cheap) steps.
        for _ in range(60 if stage.features else 15):
            optimizer.zero_grad(set_to_none=True)
            _step(algo, stage, channels)["loss"].backward()
            optimizer.step()
        end = eval_loss()
        assert math.isfinite(end) and end < start * 0.9, f"{name} stage {stage.name}: loss {start:.4f} -> {end:.4f}"


@pytest.mark.parametrize("channels", [1, 3])
def test_predict_returns_logits_of_every_class(name, channels):
    algo = _build(name, channels).eval()
    x, _ = _batch(channels, seed=3)
    with torch.no_grad():
        logits = algo.predict(x)
        assert logits.shape == (N, NUM_CLASSES) and logits.dtype == torch.float32
        assert torch.isfinite(logits).all()
        assert torch.equal(algo(x), logits)  # forward(x) predicts (what DDP-wrapped evaluation calls)


def test_forward_with_training_step_flag_is_the_training_step(name):
    # The runner calls ``model(src, tgt, training_step=True)`` so that a DDP wrapper sees the step.
    algo = _build(name, 1)
    stage = algo.stages(BUDGET)[0]
    algo.set_stage(stage)
    torch.manual_seed(5)
    direct = _step(algo, stage, 1)["loss"]
    torch.manual_seed(5)
    through_forward = algo(*_as_runner_feeds(algo, stage, *_batches_for(stage, 1)), training_step=True)["loss"]
    assert torch.equal(direct, through_forward)


def test_same_seed_gives_identical_loss_and_weights(name):
    def one_step(seed: int):
        algo = _build(name, 1, seed=seed)
        stage = algo.stages(BUDGET)[-1]
        algo.set_stage(stage)
        optimizer = _optimizer(algo)
        torch.manual_seed(seed + 100)  # dropout masks
        loss = _step(algo, stage, 1)["loss"]
        loss.backward()
        optimizer.step()
        return loss.detach(), {k: v.detach().clone() for k, v in algo.state_dict().items()}

    loss_a, weights_a = one_step(0)
    loss_b, weights_b = one_step(0)
    assert torch.equal(loss_a, loss_b)
    assert weights_a.keys() == weights_b.keys()
    assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)
    loss_c, weights_c = one_step(1)
    assert not all(torch.equal(weights_a[k], weights_c[k]) for k in weights_a), "the seed has no effect"


def test_never_moves_tensors_to_another_device(name):
    algo = _build(name, 3)
    assert _devices(algo) == {torch.device("cpu")}
    for stage in algo.stages(BUDGET):
        algo.set_stage(stage)
        out = _step(algo, stage, 3)
        assert {v.device for v in out.values()} == {torch.device("cpu")}, stage
        assert _devices(algo) == {torch.device("cpu")}, stage
    assert algo.predict(_batch(3, seed=4)[0]).device == torch.device("cpu")


def test_param_groups_cover_the_trainable_parameters_once(name):
    algo = _build(name, 1)
    for stage in algo.stages(BUDGET):
        algo.set_stage(stage)
        groups = algo.param_groups()
        in_groups = [id(p) for g in groups for p in g["params"]]
        assert len(in_groups) == len(set(in_groups)), f"{name}: a parameter is in two groups"
        trainable = {id(p) for p in algo.parameters() if p.requires_grad}
        assert set(in_groups) == trainable, f"{name} stage {stage.name}: groups != trainable parameters"
        for group in groups:
            assert isinstance(group["lr_mult"], (int, float)) and group["lr_mult"] > 0, group


def test_stages_need_no_model(name):
    # The suite resolver calls stages() on a bare instance holding only hparams, before any model is built.
    cls = ALGORITHMS.get(name)
    probe = cls.__new__(cls)
    probe.hparams = {k: hp.default for k, hp in cls.HPARAMS.items()}
    built = _build(name, 1).stages(BUDGET)
    assert cls.stages(probe, BUDGET) == built
    try:
        unsupervised = cls.stages(probe, 0.0)
    except ConfigError:
        pass  # a method that needs target labels refuses budget 0 with a one-line error
    else:
        assert all(s.data in ("source", "source+target_unlabeled") for s in unsupervised), unsupervised


def _check_space(space, default) -> None:
    if isinstance(space, list):
        assert space, "an empty list of choices"
        assert default in space, f"default {default!r} not among the choices {space}"
        return
    assert isinstance(space, tuple) and len(space) == 3, f"malformed space {space!r}"
    kind, lo, hi = space
    assert kind in ("log", "uniform", "int"), f"unknown space kind {kind!r}"
    if kind == "int":
        assert all(isinstance(v, int) and not isinstance(v, bool) for v in (lo, hi)), space
        assert isinstance(default, int) and not isinstance(default, bool), default
    else:
        assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi)), space
    assert lo < hi, f"empty range {space!r}"
    if kind == "log":
        assert lo > 0, f"log range must be positive: {space!r}"
    assert lo <= default <= hi, f"default {default!r} outside {space!r}"


def test_hparams_are_well_formed(name):
    cls = ALGORITHMS.get(name)
    assert isinstance(cls.HPARAMS, dict)
    for hp_name, hp in cls.HPARAMS.items():
        assert isinstance(hp, HParam), hp_name
        assert hp.check(hp_name, hp.default, name) == hp.default, hp_name
        assert hp.help, f"{name}.{hp_name} has no help text"
        _check_space(hp.space, hp.default)
        if isinstance(hp.default, (int, float, str)) and not isinstance(hp.default, bool):
            with pytest.raises(ConfigError, match=hp_name):
                hp.check(hp_name, [hp.default], name)  # a list is never a valid scalar hyperparameter
    algo = _build(name, 1)
    assert algo.hparams == {k: hp.default for k, hp in cls.HPARAMS.items()}


def test_check_space_rejects_malformed_spaces():
    # The checker above must be able to fail.
    for space, default in [(("log", 1.0, 0.1), 0.5), (("log", 0.0, 1.0), 0.5), (("beta", 0, 1), 0.5),
                           (("int", 0.5, 3), 1), ([], 1), (["a", "b"], "c"), (("uniform", 0, 1), 2.0), (None, 1)]:
        with pytest.raises(AssertionError):
            _check_space(space, default)
