"""Deep CORAL (zoo.losses.coral) against the paper's formula computed independently with numpy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zoo.losses import CorrelationAlignmentLoss, covariance


def _coral_numpy(xs: np.ndarray, xt: np.ndarray) -> float:
    d = xs.shape[1]
    c_s, c_t = np.cov(xs, rowvar=False), np.cov(xt, rowvar=False)  # unbiased (n - 1)
    return float(((c_s - c_t) ** 2).sum() / (4 * d * d))


def test_equals_the_formula_computed_with_numpy():
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(32, 6))
    xt = rng.normal(size=(20, 6)) @ rng.normal(size=(6, 6)) + 3.0  # other covariance and mean
    value = CorrelationAlignmentLoss()(torch.tensor(xs, dtype=torch.float32), torch.tensor(xt, dtype=torch.float32))
    assert float(value) == pytest.approx(_coral_numpy(xs, xt), rel=1e-4)


def test_covariance_is_the_unbiased_sample_covariance():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(10, 4))
    assert np.allclose(covariance(torch.tensor(x)).numpy(), np.cov(x, rowvar=False))


def test_zero_for_equal_covariances_and_blind_to_the_mean():
    x = torch.randn(16, 5, generator=torch.Generator().manual_seed(2))
    coral = CorrelationAlignmentLoss()
    assert float(coral(x, x)) == 0.0
    assert float(coral(x, x + 10.0)) == pytest.approx(0.0, abs=1e-6)  # second order only, as the paper
    assert float(coral(x, 3.0 * x)) > 0


def test_gradient_flows_to_both_domains_and_one_sample_is_refused():
    x = torch.randn(8, 3, requires_grad=True)
    y = (2.0 * torch.randn(8, 3)).requires_grad_(True)
    CorrelationAlignmentLoss()(x, y).backward()
    assert x.grad.abs().sum() > 0 and y.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="at least 2 samples"):
        covariance(torch.zeros(1, 3))
