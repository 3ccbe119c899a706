"""CDAN pieces (zoo.losses.cdan): multilinear map, its randomized variant, entropy weights, the loss."""

from __future__ import annotations

import math

import pytest
import torch

from zoo.losses import (
    ConditionalDomainAdversarialLoss,
    GradientReverseLayer,
    RandomizedMultilinearMap,
    entropy,
    entropy_weights,
    multilinear_map,
    use_randomized_map,
)


def test_multilinear_map_is_the_flattened_outer_product():
    g = torch.Generator().manual_seed(0)
    f, p = torch.randn(5, 4, generator=g), torch.randn(5, 3, generator=g).softmax(1)  # (N, D), (N, K)
    t = multilinear_map(f, p)
    assert t.shape == (5, 4 * 3)
    for n in range(5):
        for d in range(4):
            for k in range(3):
                assert t[n, d * 3 + k] == f[n, d] * p[n, k]
    assert torch.allclose(t.view(5, 4, 3), torch.einsum("nd,nk->ndk", f, p))


def test_randomized_map_has_the_requested_shape_and_fixed_buffers():
    torch.manual_seed(0)
    rmap = RandomizedMultilinearMap(6, 3, output_dim=32)
    f, p = torch.randn(7, 6), torch.rand(7, 3)
    assert rmap(f, p).shape == (7, 32)
    assert {name for name, _ in rmap.named_buffers()} == {"r_f", "r_g"} and not list(rmap.parameters())
    assert torch.equal(rmap(f, p), rmap(f, p))


def test_randomized_map_preserves_inner_products_in_expectation():
    # E_R <T(f, g), T(f', g')> = <f, f'> <g, g'> = <f ⊗ g, f' ⊗ g'>  (CDAN, Eq. 5 and its theorem)
    g = torch.Generator().manual_seed(1)
    f, f2 = torch.randn(2, 6, generator=g).double()
    p, p2 = torch.rand(2, 3, generator=g).double()
    exact = float(multilinear_map(f[None], p[None]) @ multilinear_map(f2[None], p2[None]).T)
    assert exact == pytest.approx(float((f @ f2) * (p @ p2)))
    torch.manual_seed(2)
    estimates = []
    for _ in range(400):
        rmap = RandomizedMultilinearMap(6, 3, output_dim=256).double()
        estimates.append(float(rmap(f[None], p[None]) @ rmap(f2[None], p2[None]).T))
    mean = sum(estimates) / len(estimates)
    spread = (sum((e - mean) ** 2 for e in estimates) / len(estimates)) ** 0.5
    assert abs(mean - exact) < 4 * spread / math.sqrt(len(estimates)) + 1e-9, (mean, exact, spread)
    squared = float(rmap(f[None], p[None]).pow(2).sum())  # one map: roughly ||f||^2 ||g||^2
    assert squared == pytest.approx(float(f @ f * (p @ p)), rel=0.5)


def test_map_choice_follows_eq_6():
    assert not use_randomized_map(512, 8)  # 4096: full
    assert use_randomized_map(512, 9)  # 4608 > 4096: randomized
    assert use_randomized_map(16, 2, randomized=True) and not use_randomized_map(4096, 9, randomized=False)
    grl = GradientReverseLayer(1.0)
    assert ConditionalDomainAdversarialLoss(512, 9, grl, hidden=8).map is not None
    assert ConditionalDomainAdversarialLoss(512, 8, grl, hidden=8).map is None
    full = ConditionalDomainAdversarialLoss(512, 8, grl, hidden=8)
    assert full.adversarial.discriminator.net[0].in_features == 512 * 8


def test_entropy_weights_favour_confident_predictions():
    probs = torch.tensor([[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0.0]])
    assert torch.allclose(entropy(probs), torch.tensor([0.0, math.log(3), math.log(2)]), atol=1e-6)
    w = entropy_weights(probs)
    assert torch.allclose(w, torch.tensor([2.0, 1 + 1 / 3, 1.5]), atol=1e-6)  # 1 + exp(-H)


def test_loss_reaches_features_not_predictions_and_weights_confident_samples():
    torch.manual_seed(0)
    cdan = ConditionalDomainAdversarialLoss(4, 3, GradientReverseLayer(1.0), hidden=8)
    g = torch.Generator().manual_seed(3)
    f_s, f_t = torch.randn(6, 4, generator=g).requires_grad_(True), torch.randn(6, 4, generator=g).requires_grad_(True)
    l_s, l_t = torch.randn(6, 3, generator=g).requires_grad_(True), torch.randn(6, 3, generator=g).requires_grad_(True)
    out = cdan(f_s, l_s, f_t, l_t)
    out["loss"].backward()
    assert f_s.grad.abs().sum() > 0 and f_t.grad.abs().sum() > 0
    assert l_s.grad is None and l_t.grad is None  # g = softmax(logits) is detached
    # entropy conditioning = the plain adversarial loss with weights 1 + exp(-H), mean 1 per domain
    with torch.no_grad():
        p_s, p_t = l_s.softmax(1), l_t.softmax(1)
        w_s, w_t = entropy_weights(p_s), entropy_weights(p_t)
        expected = cdan.adversarial(multilinear_map(f_s, p_s), multilinear_map(f_t, p_t), w_s / w_s.mean(),
                                    w_t / w_t.mean())["loss"]
        plain = cdan.adversarial(multilinear_map(f_s, p_s), multilinear_map(f_t, p_t))["loss"]
    assert torch.allclose(out["loss"].detach(), expected)
    assert not torch.allclose(expected, plain)
