"""Co-training pieces (zoo.losses.pseudo_label): agreement mask, cross-teaching, head diversity, tau check."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from zoo.errors import ConfigError
from zoo.losses.pseudo_label import agreement_pseudo_labels, check_tau, cross_teaching_loss, head_diversity

TAU = 0.9


def _logits_with_confidence(cls: int, conf: float, k: int = 3) -> list[float]:
    """Logits whose softmax gives ``conf`` to ``cls`` and splits the rest evenly."""
    other = (1.0 - conf) / (k - 1)
    return [math.log(conf if j == cls else other) for j in range(k)]


def test_mask_only_where_both_heads_agree_and_are_confident():
    # sample: (head 1 class, conf), (head 2 class, conf) -> masked?
    cases = [
        ((0, 0.95), (0, 0.97), True),  # agree, both confident
        ((1, 0.95), (1, 0.80), False),  # agree, head 2 unsure
        ((1, 0.80), (1, 0.95), False),  # agree, head 1 unsure
        ((0, 0.99), (2, 0.99), False),  # both confident, disagree
        ((2, 0.60), (2, 0.60), False),  # agree, both unsure
        ((2, 0.91), (2, 0.90001), True),  # just above tau on both
    ]
    l1 = torch.tensor([_logits_with_confidence(*a) for a, _, _ in cases])
    l2 = torch.tensor([_logits_with_confidence(*b) for _, b, _ in cases])
    pl = agreement_pseudo_labels(l1, l2, TAU)
    assert pl.mask.tolist() == [m for _, _, m in cases]
    assert pl.agree.tolist() == [a[0] == b[0] for a, b, _ in cases]
    assert pl.target_for_1.tolist() == [b[0] for _, b, _ in cases]  # each head is taught the other's label
    assert pl.target_for_2.tolist() == [a[0] for a, _, _ in cases]
    assert not pl.mask.requires_grad


def test_cross_teaching_sums_masked_cross_entropies_over_the_whole_batch():
    l1 = torch.tensor([_logits_with_confidence(0, 0.95), _logits_with_confidence(1, 0.5)], requires_grad=True)
    l2 = torch.tensor([_logits_with_confidence(0, 0.99), _logits_with_confidence(1, 0.99)], requires_grad=True)
    pl = agreement_pseudo_labels(l1, l2, TAU)
    assert pl.mask.tolist() == [True, False]
    loss = cross_teaching_loss(l1, l2, pl)
    expected = (F.cross_entropy(l1[:1], torch.tensor([0])) + F.cross_entropy(l2[:1], torch.tensor([0]))) / 2
    assert float(loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-6)
    loss.backward()
    assert l1.grad[1].abs().sum() == 0 and l1.grad[0].abs().sum() > 0  # the unmasked sample teaches nothing


def test_no_pseudo_label_gives_zero_loss_that_still_backpropagates():
    l1, l2 = torch.zeros(4, 3, requires_grad=True), torch.zeros(4, 3, requires_grad=True)
    loss = cross_teaching_loss(l1, l2, agreement_pseudo_labels(l1, l2, TAU))
    assert float(loss.detach()) == 0.0
    loss.backward()
    assert l1.grad is not None


def test_head_diversity_is_zero_for_orthogonal_and_one_for_identical_heads():
    eye = torch.eye(4)
    assert float(head_diversity(eye[:2], eye[2:])) == 0.0
    w = torch.randn(3, 4)
    assert float(head_diversity(w, 5.0 * w).max()) <= 1.0 + 1e-6
    assert float(head_diversity(eye[:1], 3.0 * eye[:1])) == pytest.approx(1.0)


@pytest.mark.parametrize("tau", [0.0, 1.0, -0.1, 1.5, float("nan"), True])
def test_tau_outside_the_open_unit_interval_is_a_config_error(tau):
    with pytest.raises(ConfigError, match="tau must be in \\(0, 1\\)"):
        check_tau(tau)
    assert check_tau(0.9) == 0.9
