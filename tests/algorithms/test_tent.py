"""TENT (Wang et al. ICLR 2021): inside ``evaluation_state("target", ...)`` only the BatchNorm scale/shift and
statistics change, the mean target entropy goes down, evaluation is deterministic and per-image, and on exit
the model is the source model again bit for bit (weights, buffers, flags, gradients, modes)."""

from __future__ import annotations

import pytest
import torch

from zoo.algorithms.adabn import AdaBN
from zoo.algorithms.tent import TENT, softmax_entropy
from zoo.backbones import create_backbone
from zoo.testing import check_algorithm
from zoo.testing.core import one_thread

_BN = torch.nn.modules.batchnorm._BatchNorm


@pytest.fixture(autouse=True)
def _one_thread():
    with one_thread():  # tiny tensors: more threads only fight for the shared cores
        yield
G = torch.Generator().manual_seed(0)
Y_S = torch.arange(24) % 2
X_S = torch.randn(24, 1, 28, 28, generator=G) * 0.5
X_S[:, :, :14] += 1.0 * (Y_S == 0).float()[:, None, None, None]  # class 0: bright top half
X_S[:, :, 14:] += 1.0 * (Y_S == 1).float()[:, None, None, None]  # class 1: bright bottom half
SHIFT = lambda x: 2.5 * x + 1.5  # noqa: E731 - another "scanner": brighter, more contrast
X_T = SHIFT(X_S + 0.2 * torch.randn(X_S.shape, generator=G))
TARGET = [X_T[:12], X_T[12:]]  # the target's unlabeled training images, as the runner yields them


def _model(backbone: str = "simple_cnn", steps: int = 6, **hparams) -> TENT:
    """A source model: a few Adam steps of source-only training on the learnable source batch."""
    torch.manual_seed(0)
    options = {"norm": "batch"} if backbone == "simple_cnn" else {}
    model = TENT(create_backbone(backbone, in_chans=1, **options), num_classes=2, hparams=hparams)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        model.training_step((X_S, Y_S), None)["loss"].backward()
        optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return model


def _state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _bn_names(model) -> tuple[set[str], set[str]]:
    """State-dict names of the BatchNorm affine parameters and of the BatchNorm statistics buffers."""
    affine, stats = set(), set()
    for name, m in model.named_modules():
        if isinstance(m, _BN):
            affine |= {f"{name}.weight", f"{name}.bias"}
            stats |= {f"{name}.running_mean", f"{name}.running_var", f"{name}.num_batches_tracked"}
    return affine, stats


def _predict(model, x):
    model.eval()  # as the runner's predict
    with torch.no_grad():
        return model.predict(x)


@pytest.mark.parametrize("backbone", ["simple_cnn", "resnet18_28"])
def test_only_batchnorm_scale_shift_and_statistics_change_and_everything_comes_back(backbone):
    model = _model(backbone, steps=0)
    target = [X_T[:3], X_T[3:6]]  # small batches: resnet18_28 keeps 28 px maps in its first stages, slow on a CPU
    model.classifier.weight.requires_grad_(False)  # a frozen parameter: must stay frozen
    model.classifier.bias.grad = torch.ones_like(model.classifier.bias)  # a gradient: must come back as is
    grad = model.classifier.bias.grad
    model.train()
    next(m for m in model.backbone.modules() if isinstance(m, _BN)).eval()  # mixed modes: must come back as they are
    modes = [m.training for m in model.modules()]
    flags = [p.requires_grad for p in model.parameters()]
    before = _state(model)
    affine, stats = _bn_names(model)
    buffers = {name for name, _ in model.named_buffers()}
    with model.evaluation_state("target", lambda: iter(target)):
        assert [m.training for m in model.modules()] == modes  # as the runner left it, until it predicts
        inside = model.state_dict()
        changed = {k for k, v in before.items() if not torch.equal(v, inside[k])}
        assert changed - buffers <= affine and changed & affine  # only BN scale/shift, and they did move
        assert changed & buffers <= stats and changed & stats  # only BN statistics, re-estimated on the target
        _predict(model, target[0])
    after = model.state_dict()
    assert all(torch.equal(after[k], v) for k, v in before.items())  # bit for bit
    assert [p.requires_grad for p in model.parameters()] == flags
    assert [m.training for m in model.modules()] == modes
    assert model.classifier.bias.grad is grad and all(
        p.grad is None for n, p in model.named_parameters() if n != "classifier.bias")


def test_target_entropy_goes_down_and_evaluation_is_deterministic_and_per_image():
    model = _model(tent_lr=1e-2, tent_steps=3)
    source_entropy = softmax_entropy(_predict(model, X_T)).mean()
    runs = []
    for _ in range(2):
        with model.evaluation_state("target", lambda: iter(TARGET)):
            runs.append(_predict(model, X_T))
            alone = _predict(model, X_T[:3])  # an image's logits do not depend on its evaluation batch
    assert torch.equal(runs[0], runs[1])  # no randomness: two evaluations, identical logits
    assert torch.allclose(alone, runs[0][:3], atol=1e-5)
    tent_entropy = softmax_entropy(runs[0]).mean()
    assert tent_entropy < source_entropy

    adabn = AdaBN(model.backbone, num_classes=2)  # the same network, statistics re-estimated only
    adabn.classifier = model.classifier
    with adabn.evaluation_state("target", lambda: iter(TARGET)):
        adabn_entropy = softmax_entropy(_predict(adabn, X_T)).mean()
    assert tent_entropy < adabn_entropy  # lower than the statistics alone give: the entropy steps did it


def test_zero_steps_is_adabn_and_source_splits_change_nothing():
    model = _model(tent_steps=0)
    adabn = AdaBN(model.backbone, num_classes=2)
    adabn.classifier = model.classifier
    before = _state(model)
    plain = _predict(model, X_T)
    with model.evaluation_state("target", lambda: iter(TARGET)):
        tent = _predict(model, X_T)
    with adabn.evaluation_state("target", lambda: iter(TARGET)):
        assert torch.equal(tent, _predict(adabn, X_T))
    assert not torch.allclose(tent, plain)
    with model.evaluation_state("source", lambda: iter(TARGET)):
        assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
        assert torch.equal(_predict(model, X_T), plain)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_without_batchnorm_it_adapts_nothing():
    torch.manual_seed(0)
    model = TENT(create_backbone("simple_cnn", in_chans=1), num_classes=2)  # norm: none
    plain = _predict(model, X_T)
    with model.evaluation_state("target", lambda: iter(TARGET)):
        assert torch.equal(_predict(model, X_T), plain)


def test_tent_passes_the_conformance_kit():
    check_algorithm(TENT)
