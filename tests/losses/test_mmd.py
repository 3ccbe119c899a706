"""Multi-kernel MMD (zoo.losses.mmd): ~0 for one distribution, growing with a mean shift, matches the formula."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zoo.losses import MultipleKernelMMD

SHIFTS = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0]


def _samples(seed: int, n: int = 200, d: int = 8):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)


@pytest.mark.parametrize("linear", [False, True])
def test_two_samples_of_one_distribution_give_near_zero(linear):
    mmd = MultipleKernelMMD(linear=linear)
    values = [float(mmd(*_samples(seed, n=256))) for seed in range(12)]
    shifted = float(mmd(_samples(0, n=256)[0], _samples(0, n=256)[1] + 1.0))
    # zero in expectation (the bandwidth is estimated from the batch, so only nearly for the linear one)
    assert abs(np.mean(values)) < 0.1 * shifted, (np.mean(values), shifted)
    if not linear:
        assert abs(np.mean(values)) < 1e-3 and max(abs(v) for v in values) < 0.01, values


@pytest.mark.parametrize("linear", [False, True])
def test_grows_monotonically_with_a_mean_shift(linear):
    x, y = _samples(1)
    mmd = MultipleKernelMMD(linear=linear)
    values = [float(mmd(x, y + shift)) for shift in SHIFTS]
    assert all(a < b for a, b in zip(values, values[1:])), values


def test_quadratic_estimator_matches_an_independent_numpy_computation():
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(7, 3, generator=g), torch.randn(5, 3, generator=g) + 0.5
    mults = (0.5, 1.0, 2.0)
    z = np.concatenate([x.numpy(), y.numpy()]).astype(np.float64)
    d2 = ((z[:, None, :] - z[None, :, :]) ** 2).sum(-1)
    k = np.mean([np.exp(-d2 / (2 * m * d2.mean())) for m in mults], axis=0)
    m, n = 7, 5
    kxx, kyy, kxy = k[:m, :m], k[m:, m:], k[:m, m:]
    expected = ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                - 2 * kxy.mean())
    assert float(MultipleKernelMMD(mults)(x, y)) == pytest.approx(expected, rel=1e-4, abs=1e-6)


def test_gradient_pulls_the_target_towards_the_source():
    x, y = _samples(3, n=64)
    y = (y + 1.0).requires_grad_(True)
    MultipleKernelMMD()(x, y).backward()
    # moving y against its gradient lowers the MMD: the mean gradient points along +shift
    assert float(y.grad.mean()) > 0


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        MultipleKernelMMD(kernel_mults=())
    with pytest.raises(ValueError):
        MultipleKernelMMD(kernel_mults=(1.0, -1.0))
    with pytest.raises(ValueError):
        MultipleKernelMMD()(torch.zeros(1, 3), torch.zeros(4, 3))
