"""M3SDA's moment distance (zoo.losses.moment_matching): zero for identical moments, positive otherwise."""

from __future__ import annotations

import itertools

import pytest
import torch

from zoo.losses import MomentDistance, moments, split_by_domain


def _x(seed: int, n: int = 12, d: int = 5, scale: float = 1.0, shift: float = 0.0) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed)) * scale + shift


def test_zero_when_every_domain_has_the_same_moments():
    x = _x(0)
    md = MomentDistance(k=3)
    assert float(md([x], x)) == 0.0
    assert float(md([x, x[torch.randperm(len(x))]], x.flip(0))) == pytest.approx(0.0, abs=1e-6)  # same rows


@pytest.mark.parametrize("k", [1, 2, 3])
def test_positive_when_a_moment_differs(k):
    x = _x(0)
    md = MomentDistance(k=k)
    assert float(md([x], x + 1.0)) > 0.5  # mean differs
    assert float(md([x, x + 1.0], x)) > 0.0  # the two sources differ from each other
    if k >= 2:
        centred = x - x.mean(0)
        assert float(md([centred], 2.0 * centred)) > 0.5  # same mean, different variance


def test_equals_the_formula_of_the_paper():
    s1, s2, t = _x(1), _x(2, scale=2.0), _x(3, shift=0.5)
    k = 2
    m1, m2, mt = moments(s1, k), moments(s2, k), moments(t, k)
    expected = sum(
        ((m1[o] - mt[o]).norm() + (m2[o] - mt[o]).norm()) / 2 + (m1[o] - m2[o]).norm()  # C(2, 2) = 1 pair
        for o in range(k)
    )
    assert float(MomentDistance(k)([s1, s2], t)) == pytest.approx(float(expected), rel=1e-6)
    assert torch.allclose(m1[1], ((s1 - s1.mean(0)) ** 2).mean(0))  # the second moment is central


def test_three_sources_average_every_pair():
    sources, t = [_x(i, shift=i) for i in range(3)], _x(9)
    ms, mt = [moments(s, 1)[0] for s in sources], moments(t, 1)[0]
    pairs = list(itertools.combinations(range(3), 2))
    expected = sum((m - mt).norm() for m in ms) / 3 + sum((ms[i] - ms[j]).norm() for i, j in pairs) / len(pairs)
    assert float(MomentDistance(1)(sources, t)) == pytest.approx(float(expected), rel=1e-6)


def test_split_by_domain_groups_rows_in_domain_order():
    f = torch.arange(10.0).view(5, 2)
    parts = split_by_domain(f, torch.tensor([1, 0, 1, 0, 1]))
    assert [p.tolist() for p in parts] == [[[2.0, 3.0], [6.0, 7.0]], [[0.0, 1.0], [4.0, 5.0], [8.0, 9.0]]]


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        MomentDistance(k=0)
    with pytest.raises(ValueError):
        MomentDistance()([], _x(0))
