"""Minimum class confusion (zoo.losses.mcc): low for confident, diverse predictions; equals Eq. 1-6."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zoo.losses import MinimumClassConfusionLoss

K = 4


def _mcc_numpy(logits: np.ndarray, temperature: float) -> float:
    z = logits / temperature
    y = np.exp(z - z.max(1, keepdims=True))
    y /= y.sum(1, keepdims=True)
    h = -(y * np.log(y + 1e-8)).sum(1)
    w = 1 + np.exp(-h)
    w = len(y) * w / w.sum()
    c = y.T @ np.diag(w) @ y
    c = c / c.sum(0, keepdims=True)
    return float((c.sum() - np.trace(c)) / y.shape[1])


def test_confident_diverse_predictions_score_lower_than_confused_ones():
    mcc = MinimumClassConfusionLoss(temperature=2.5)
    confident = 20.0 * torch.eye(K).repeat(2, 1)  # 8 samples, each sure of a different class in turn
    confused = torch.zeros(8, K)  # every sample spreads its mass evenly
    partly = confident.clone()
    partly[:4] = torch.tensor([2.0, 2.0, 0.0, 0.0])  # half the samples torn between classes 0 and 1
    values = {k: float(mcc(v)) for k, v in
              {"confident": confident, "partly": partly, "confused": confused}.items()}
    assert values["confident"] < 0.01
    assert values["confident"] < values["partly"] < values["confused"]
    assert values["confused"] == pytest.approx((K - 1) / K, abs=1e-6)  # the maximum: uniform predictions


def test_matches_an_independent_numpy_computation():
    logits = torch.randn(16, K, generator=torch.Generator().manual_seed(0)) * 3
    assert float(MinimumClassConfusionLoss(2.5)(logits)) == pytest.approx(_mcc_numpy(logits.numpy(), 2.5), rel=1e-5)


def test_gradient_descent_lowers_confusion():
    logits = torch.randn(16, K, generator=torch.Generator().manual_seed(1)).requires_grad_(True)
    mcc = MinimumClassConfusionLoss(2.5)
    start = float(mcc(logits.detach()))
    opt = torch.optim.Adam([logits], lr=0.3)
    for _ in range(30):
        opt.zero_grad()
        mcc(logits).backward()
        opt.step()
    assert float(mcc(logits.detach())) < 0.2 * start


def test_temperature_must_be_positive():
    with pytest.raises(ValueError):
        MinimumClassConfusionLoss(0.0)
