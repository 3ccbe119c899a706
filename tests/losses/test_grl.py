"""Gradient reversal (zoo.losses.grl): identity forward, gradient x (-lambda) backward, DANN's warm start."""

from __future__ import annotations

import math

import pytest
import torch

from zoo.losses.grl import GradientReverseLayer, WarmStartGradientReverseLayer, reverse_gradient, warm_start_coeff


def _grad_through(layer, x: torch.Tensor, upstream: torch.Tensor) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    out = layer(x)
    assert torch.equal(out, x.detach()), "forward must be the identity"
    (out * upstream).sum().backward()  # d(sum(out * u))/d out = u
    return x.grad


@pytest.mark.parametrize("coeff", [0.0, 0.3, 1.0, 2.5])
def test_reverse_gradient_multiplies_the_gradient_by_minus_lambda(coeff):
    g = torch.Generator().manual_seed(0)
    x, upstream = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    grad = _grad_through(lambda t: reverse_gradient(t, coeff), x, upstream)
    assert torch.allclose(grad, -coeff * upstream)
    grad = _grad_through(GradientReverseLayer(coeff), x, upstream)
    assert torch.allclose(grad, -coeff * upstream)


def test_reversal_composes_with_a_real_loss():
    # The discriminator-side parameters descend, the features below the layer ascend the same loss.
    w = torch.tensor([0.5, -1.0], requires_grad=True)
    f = torch.tensor([[1.0, 2.0]], requires_grad=True)
    loss = (GradientReverseLayer(1.0)(f) @ w).pow(2).sum()
    loss.backward()
    plain_f = torch.tensor([[1.0, 2.0]], requires_grad=True)
    (plain_f @ w.detach()).pow(2).sum().backward()
    assert torch.allclose(f.grad, -plain_f.grad)
    assert w.grad is not None and torch.all(w.grad != 0)  # the layer above still learns normally


@pytest.mark.parametrize("progress, expected", [
    (0.0, 0.0),
    (0.5, 2.0 / (1.0 + math.exp(-5.0)) - 1.0),  # gamma = 10: 0.98661
    (1.0, 2.0 / (1.0 + math.exp(-10.0)) - 1.0),  # 0.99991
])
def test_warm_start_coefficient_follows_the_dann_schedule(progress, expected):
    assert warm_start_coeff(progress, gamma=10.0) == pytest.approx(expected, abs=1e-12)
    assert warm_start_coeff(progress, gamma=10.0) == pytest.approx(math.tanh(5.0 * progress), abs=1e-12)


def test_warm_start_coefficient_is_monotone_and_maps_to_lo_hi():
    values = [warm_start_coeff(p / 20, gamma=10.0) for p in range(21)]
    assert all(a < b for a, b in zip(values, values[1:]))
    assert warm_start_coeff(0.0, lo=0.2, hi=0.7) == pytest.approx(0.2)
    assert warm_start_coeff(1.0, gamma=10.0, lo=0.2, hi=0.7) == pytest.approx(0.2 + 0.5 * math.tanh(5.0))
    assert warm_start_coeff(-3.0) == 0.0 and warm_start_coeff(7.0) == warm_start_coeff(1.0)  # clamped


@pytest.mark.parametrize("progress", [0.0, 0.5, 1.0])
def test_warm_start_layer_reverses_with_the_current_coefficient(progress):
    layer = WarmStartGradientReverseLayer(gamma=10.0)
    layer.set_progress(progress)
    upstream = torch.tensor([[1.0, -2.0, 3.0]])
    grad = _grad_through(layer, torch.zeros(1, 3), upstream)
    lam = 2.0 / (1.0 + math.exp(-10.0 * progress)) - 1.0
    assert torch.allclose(grad, -lam * upstream)
    assert layer.coeff == pytest.approx(lam)


def test_warm_start_layer_counts_steps_when_asked():
    layer = WarmStartGradientReverseLayer(gamma=10.0, max_iters=4, auto_step=True)
    x = torch.zeros(2, 2)
    layer.eval()
    layer(x)
    assert layer.iters == 0  # evaluation does not advance the schedule
    layer.train()
    for _ in range(2):
        layer(x)
    assert layer.progress == pytest.approx(0.5)
    assert layer.coeff == pytest.approx(math.tanh(2.5))
