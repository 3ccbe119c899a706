"""Domain discriminator and adversarial loss (zoo.losses.discriminator).

The eval-mode test is the regression test of the CDAN/DANN contract failure: with running BatchNorm
statistics the eval-mode domain loss rose (0.69 -> 5.8) while the trained (train-mode) loss fell.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from zoo.losses import DomainAdversarialLoss, DomainDiscriminator, GradientReverseLayer


def _features(seed: int = 0, n: int = 16, d: int = 8, gap: float = 2.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g) + gap, torch.randn(n, d, generator=g)


def test_shapes_and_an_uninformed_discriminator_scores_log_2():
    torch.manual_seed(0)
    disc = DomainDiscriminator(8, hidden=16)
    f_s, f_t = _features()
    assert disc(torch.cat([f_s, f_t])).shape == (32,)
    torch.nn.init.zeros_(disc.net[-1].weight)
    torch.nn.init.zeros_(disc.net[-1].bias)  # logits 0: p = 1/2 for every sample
    out = DomainAdversarialLoss(disc, GradientReverseLayer(1.0))(f_s, f_t)
    assert float(out["loss"].detach()) == pytest.approx(math.log(2.0), abs=1e-6)


def test_loss_is_the_mean_of_the_two_domain_bce_terms_with_weights():
    torch.manual_seed(0)
    disc = DomainDiscriminator(8, hidden=16)
    adv = DomainAdversarialLoss(disc, GradientReverseLayer(1.0))
    f_s, f_t = _features()
    w_s, w_t = torch.rand(16), torch.rand(16)
    logits = disc(torch.cat([f_s, f_t]))
    expected = 0.5 * (F.binary_cross_entropy_with_logits(logits[:16], torch.ones(16), weight=w_s)
                      + F.binary_cross_entropy_with_logits(logits[16:], torch.zeros(16), weight=w_t))
    assert torch.allclose(adv(f_s, f_t, w_s, w_t)["loss"], expected)


def test_training_separates_domains_and_eval_mode_scores_what_was_trained():
    torch.manual_seed(0)
    disc = DomainDiscriminator(8, hidden=32)
    adv = DomainAdversarialLoss(disc, GradientReverseLayer(0.0))
    opt = torch.optim.Adam(disc.parameters(), lr=1e-2)
    f_s, f_t = _features(gap=1.0)
    for step in range(30):
        f_s_step, f_t_step = f_s * (1 + step), f_t * (1 + step)  # features whose scale keeps growing
        opt.zero_grad()
        adv(f_s_step, f_t_step)["loss"].backward()
        opt.step()
    disc.train()
    train_out = adv(f_s_step, f_t_step)
    disc.eval()
    eval_out = adv(f_s_step, f_t_step)
    assert float(train_out["domain_acc"]) > 0.9
    assert torch.allclose(eval_out["loss"], train_out["loss"], atol=1e-6)  # batch statistics in both modes
    assert not [name for name, _ in disc.named_buffers() if "running" in name]


def test_features_below_the_reversal_receive_the_negated_domain_gradient():
    torch.manual_seed(0)
    disc = DomainDiscriminator(8, hidden=16)
    f_s, f_t = (t.requires_grad_(True) for t in _features())
    DomainAdversarialLoss(disc, GradientReverseLayer(0.7))(f_s, f_t)["loss"].backward()
    reversed_grad = f_s.grad.clone()
    f_s2, f_t2 = (t.detach().clone().requires_grad_(True) for t in (f_s, f_t))
    disc.zero_grad()
    DomainAdversarialLoss(disc, torch.nn.Identity())(f_s2, f_t2)["loss"].backward()
    assert torch.allclose(reversed_grad, -0.7 * f_s2.grad, atol=1e-7)
