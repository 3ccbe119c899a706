"""CCSA losses (zoo.losses.contrastive) against hand computations, and pair verification (zoo.metrics_pairs)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from zoo.errors import ConfigError
from zoo.losses.contrastive import (
    ContrastiveSemanticAlignment,
    check_margin,
    contrastive_terms,
    cross_domain_pairs,
    pair_distances,
)
from zoo.metrics_pairs import _holdout, best_threshold, pair_verification_metrics, sample_pairs

# Two source and two target embeddings in 2-D (not normalised, so distances are read off by hand):
#   a0 = (0, 0) class 0, a1 = (3, 0) class 1;   b0 = (0, 0.5) class 0, b1 = (3, 2) class 1
Z_S, Y_S = torch.tensor([[0.0, 0.0], [3.0, 0.0]]), torch.tensor([0, 1])
Z_T, Y_T = torch.tensor([[0.0, 0.5], [3.0, 2.0]]), torch.tensor([0, 1])
D_SAME = [0.5, 2.0]  # (a0, b0), (a1, b1)
D_DIFF = [math.sqrt(3.0**2 + 2.0**2), math.sqrt(3.0**2 + 0.5**2)]  # (a0, b1) = 3.606, (a1, b0) = 3.041


def _terms(margin: float, normalize: bool = False):
    return contrastive_terms(Z_S, Y_S, Z_T, Y_T, margin=margin, normalize=normalize)


def test_alignment_is_half_the_mean_squared_distance_of_same_class_pairs():
    expected = sum(0.5 * d**2 for d in D_SAME) / 2  # (0.125 + 2.0) / 2
    assert float(_terms(1.0)["alignment"]) == pytest.approx(expected, abs=1e-5)
    assert float(_terms(1.0)["same_pair_fraction"]) == pytest.approx(0.5)


def test_separation_hinge_is_inactive_beyond_the_margin():
    assert float(_terms(1.0)["separation"]) == 0.0  # both different-class pairs are > 3 apart


def test_separation_hinge_is_active_inside_the_margin():
    margin = 4.0  # both different-class pairs closer than 4
    expected = sum(0.5 * (margin - d) ** 2 for d in D_DIFF) / 2
    assert float(_terms(margin)["separation"]) == pytest.approx(expected, abs=1e-5)
    margin = 3.3  # only (a1, b0) at 3.041 is inside; the mean is still over both different-class pairs
    assert float(_terms(margin)["separation"]) == pytest.approx(0.5 * (margin - D_DIFF[1]) ** 2 / 2, abs=1e-5)


def test_normalised_embeddings_ignore_scale():
    scaled = contrastive_terms(Z_S * 7 + 1, Y_S, Z_T * 7 + 1, Y_T, margin=1.5, normalize=True)
    plain = contrastive_terms(Z_S + 1 / 7, Y_S, Z_T + 1 / 7, Y_T, margin=1.5, normalize=True)
    for key in ("alignment", "separation"):
        assert float(scaled[key]) == pytest.approx(float(plain[key]), abs=1e-5)
    # unit vectors (1, 0) and (0, 1) of one class: distance sqrt(2), alignment 0.5 * 2 = 1
    one = contrastive_terms(torch.tensor([[5.0, 0.0]]), torch.tensor([0]), torch.tensor([[0.0, 0.1]]),
                            torch.tensor([0]), margin=1.0, normalize=True)
    assert float(one["alignment"]) == pytest.approx(1.0, abs=1e-5)


def test_matches_a_per_pair_loop_on_random_embeddings():
    g = torch.Generator().manual_seed(0)
    z_a, z_b = torch.randn(5, 8, generator=g), torch.randn(4, 8, generator=g)
    y_a, y_b = torch.tensor([0, 1, 2, 0, 1]), torch.tensor([2, 0, 0, 1])
    margin = 4.0
    same, diff = [], []
    for i in range(5):
        for j in range(4):
            d = float(torch.linalg.vector_norm(z_a[i].double() - z_b[j].double()))
            (same if y_a[i] == y_b[j] else diff).append(d)
    terms = contrastive_terms(z_a, y_a, z_b, y_b, margin=margin, normalize=False)
    assert float(terms["alignment"]) == pytest.approx(np.mean([0.5 * d**2 for d in same]), rel=1e-4)
    assert float(terms["separation"]) == pytest.approx(np.mean([0.5 * max(0, margin - d) ** 2 for d in diff]), rel=1e-4)


def test_gradients_pull_same_class_together_and_push_others_apart():
    z_s, z_t = Z_S.clone().requires_grad_(True), Z_T.clone().requires_grad_(True)
    terms = contrastive_terms(z_s, Y_S, z_t, Y_T, margin=4.0, normalize=False)
    (terms["alignment"] + terms["separation"]).backward()
    lr = 0.01
    with torch.no_grad():
        after = contrastive_terms(z_s - lr * z_s.grad, Y_S, z_t - lr * z_t.grad, Y_T, margin=4.0, normalize=False)
    assert float(after["alignment"]) < float(terms["alignment"].detach())
    assert float(after["separation"]) < float(terms["separation"].detach())


def test_a_batch_without_same_class_pairs_has_zero_alignment_and_still_backpropagates():
    z_s = torch.randn(3, 4, requires_grad=True)
    terms = contrastive_terms(z_s, torch.zeros(3, dtype=torch.long), torch.randn(2, 4), torch.ones(2, dtype=torch.long))
    assert float(terms["alignment"].detach()) == 0.0 and float(terms["same_pair_fraction"]) == 0.0
    (terms["alignment"] + terms["separation"]).backward()
    assert torch.isfinite(z_s.grad).all()


def test_identical_embeddings_of_different_classes_give_finite_gradients():
    z = torch.ones(2, 3, requires_grad=True)
    terms = contrastive_terms(z[:1], torch.tensor([0]), z[1:], torch.tensor([1]), margin=1.0, normalize=True)
    assert float(terms["separation"].detach()) == pytest.approx(0.5, abs=1e-3)  # distance 0: 0.5 * (1 - 0)^2
    terms["separation"].backward()
    assert torch.isfinite(z.grad).all()


def test_all_pairs_cover_every_source_target_combination_once():
    y_a, y_b = torch.tensor([0, 1, 1]), torch.tensor([1, 0])
    i, j, same = cross_domain_pairs(y_a, y_b)
    assert sorted(zip(i.tolist(), j.tolist())) == [(a, b) for a in range(3) for b in range(2)]
    assert same.tolist() == [bool(y_a[a] == y_b[b]) for a, b in zip(i.tolist(), j.tolist())]
    assert same.tolist() == [False, True, True, False, True, False]


def test_sampled_pairs_are_distinct_valid_pairs():
    torch.manual_seed(0)
    y_a, y_b = torch.arange(6) % 2, torch.arange(5) % 2
    i, j, same = cross_domain_pairs(y_a, y_b, max_pairs=7)
    pairs = list(zip(i.tolist(), j.tolist()))
    assert len(pairs) == 7 == len(set(pairs))
    assert all(0 <= a < 6 and 0 <= b < 5 for a, b in pairs)
    assert torch.equal(same, y_a[i] == y_b[j])
    assert len(cross_domain_pairs(y_a, y_b, max_pairs=100)[0]) == 30  # more than exist: all of them


@pytest.mark.parametrize("margin", [-0.1, float("nan"), float("inf"), "1", True])
def test_bad_margin_is_a_one_line_config_error(margin):
    with pytest.raises(ConfigError, match="margin") as info:
        ContrastiveSemanticAlignment(margin=margin)
    assert "\n" not in str(info.value)
    assert check_margin(0) == 0.0  # margin 0 is allowed: separation then never acts


def test_module_equals_the_function():
    csa = ContrastiveSemanticAlignment(margin=4.0, normalize=False)
    assert float(csa(Z_S, Y_S, Z_T, Y_T)["separation"]) == float(_terms(4.0)["separation"])
    assert pair_distances(torch.zeros(1, 2), torch.tensor([[3.0, 4.0]])).item() == pytest.approx(5.0)


# -- pair verification metrics ---------------------------------------------------------------------
class Embedder(nn.Module):
    """A stand-in model whose embedding is its input (N, D), optionally scaled."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(scale))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


def _clusters(n_per_class: int, classes: int, dim: int, spread: float, noise: float, seed: int):
    """(x (N, dim) float, y (N,)): class k around spread * e_k."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(classes).repeat_interleave(n_per_class)
    x = spread * torch.eye(dim)[y] + noise * torch.randn(len(y), dim, generator=g)
    return x, y


def test_separable_embeddings_verify_almost_perfectly():
    a, b = _clusters(60, 3, 8, 3.0, 0.2, seed=0), _clusters(60, 3, 8, 3.0, 0.2, seed=1)
    m = pair_verification_metrics(Embedder(), a, b, threshold=2.0, n_pairs=1000, seed=0)
    assert m["accuracy"] > 0.99 and m["auroc"] > 0.99 and m["accuracy_at_best_threshold"] > 0.99
    assert m["mean_distance_same"] < 1.0 < 3.0 < m["mean_distance_different"]
    assert m["n_pairs"] == 1000


def test_random_embeddings_verify_at_chance():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(3).repeat_interleave(100)
    a, b = (torch.randn(300, 8, generator=g), y), (torch.randn(300, 8, generator=g), y)
    m = pair_verification_metrics(Embedder(), a, b, threshold=2.0, n_pairs=2000, seed=0)
    assert abs(m["auroc"] - 0.5) < 0.05
    assert abs(m["accuracy_at_best_threshold"] - 0.5) < 0.06


def test_best_threshold_is_chosen_on_validation_pairs_not_test_pairs():
    # validation clusters are tight and close (best threshold ~0.7); test clusters are 10x larger
    val = (_clusters(40, 2, 4, 1.0, 0.01, seed=2), _clusters(40, 2, 4, 1.0, 0.01, seed=3))
    a, b = _clusters(40, 2, 4, 10.0, 0.5, seed=4), _clusters(40, 2, 4, 10.0, 0.5, seed=5)
    m = pair_verification_metrics(Embedder(), a, b, threshold=7.0, n_pairs=400, seed=0, val=val)
    assert 0.05 < m["best_threshold"] < 1.4, m
    assert m["val_accuracy_at_best_threshold"] == 1.0
    assert m["accuracy"] > 0.99  # the test pairs are separable at 7 ...
    assert m["accuracy_at_best_threshold"] < 0.8  # ... but the validation threshold does not fit them


def test_holdout_halves_are_disjoint_and_stratified():
    labels = np.array([0] * 10 + [1] * 6)
    val, test = _holdout(labels, np.random.default_rng(0))
    assert not set(val) & set(test) and sorted([*val, *test]) == list(range(16))
    assert np.bincount(labels[val]).tolist() == [5, 3]


def test_sample_pairs_are_balanced_and_labelled_correctly():
    y_a, y_b = np.array([0, 0, 1, 2]), np.array([1, 2, 2, 0])
    ia, ib, same = sample_pairs(y_a, y_b, 101, np.random.default_rng(0))
    assert same.sum() == 50 and len(same) == 101
    assert np.array_equal(same, y_a[ia] == y_b[ib])
    with pytest.raises(ConfigError, match="class present in both"):
        sample_pairs(np.array([0, 0]), np.array([1, 1]), 10, np.random.default_rng(0))


def test_best_threshold_maximises_accuracy():
    assert best_threshold(np.array([0.1, 0.2, 0.9]), np.array([True, True, False])) == pytest.approx((0.55, 1.0))
    threshold, acc = best_threshold(np.array([0.5, 0.5, 0.1]), np.array([False, True, True]))
    assert acc == pytest.approx(2 / 3) and (threshold <= 0.5)  # ties at 0.5 cannot be split
    threshold, acc = best_threshold(np.array([0.3, 0.4]), np.array([True, True]))
    assert acc == 1.0 and threshold > 0.4
