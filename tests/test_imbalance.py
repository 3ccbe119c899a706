"""Class imbalance on the real BreastMNIST train split (147 malignant vs 399 normal/benign).

Features are a fixed seeded random projection of the flattened images (546, 8): the resamplers only see
feature vectors, and a projection keeps the real data's neighbourhood structure at no cost.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.utils.class_weight import compute_class_weight
from torch.utils.data import WeightedRandomSampler

from zoo.datasets.medmnist import load_medmnist
from zoo.errors import ConfigError
from zoo.imbalance import (
    IMBALANCE_METHODS,
    balanced_sample_weights,
    check_imbalance_method,
    class_weights,
    resample_features,
)

MINORITY, MAJORITY = 0, 1  # malignant: 147, normal/benign: 399
K = 5


@pytest.fixture(scope="module")
def breast(data_dir) -> tuple[torch.Tensor, torch.Tensor]:
    """(546, 8) float32 features and (546,) int64 labels of the BreastMNIST train split."""
    train = load_medmnist("breastmnist", size=28, data_dir=data_dir).splits["train"]
    projection = torch.randn(28 * 28, 8, generator=torch.Generator().manual_seed(0)) / 28
    features = (train.images.float() / 255).flatten(1) @ projection  # (546, 784) @ (784, 8)
    assert torch.bincount(train.labels).tolist() == [147, 399]
    return features, train.labels


def _knn(points: torch.Tensor, queries: torch.Tensor, k: int, skip_self: bool) -> torch.Tensor:
    """(Q, k) indices into ``points`` of each query's k nearest points (the query itself excluded if asked)."""
    d = torch.cdist(queries.double(), points.double())  # (Q, P)
    return d.topk(k + int(skip_self), largest=False).indices[:, int(skip_self):]


def _segment_residual(synthetic: torch.Tensor, starts: torch.Tensor, ends: torch.Tensor) -> torch.Tensor:
    """(M,) distance of each synthetic point to the nearest of the segments starts[p] -> ends[p]."""
    s, a, b = synthetic.double()[:, None], starts.double()[None], ends.double()[None]  # (M,1,D), (1,P,D), (1,P,D)
    t = (((s - a) * (b - a)).sum(-1) / ((b - a) ** 2).sum(-1)).clamp(0, 1)  # (M, P)
    return (s - a - t[..., None] * (b - a)).norm(dim=-1).min(dim=1).values


def _segments(minority: torch.Tensor, seeds: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Segments from each seed (row index into ``minority``) to each of its K nearest minority neighbours."""
    nn = _knn(minority, minority[seeds], K, skip_self=True)  # (S, K)
    return minority[seeds].repeat_interleave(K, 0), minority[nn.flatten()]


def _danger(features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Minority rows "in danger" (Han et al. 2005): 5 <= majority among the 10 nearest neighbours < 10."""
    minority = (labels == MINORITY).nonzero().flatten()
    nn = _knn(features, features[minority], 10, skip_self=True)  # (147, 10) over the whole set
    n_majority = (labels[nn] != MINORITY).sum(1)
    return ((n_majority >= 5) & (n_majority < 10)).nonzero().flatten()  # rows of the minority subset


def test_smote_balances_and_interpolates_between_minority_neighbours(breast):
    features, labels = breast
    x, y = resample_features(features, labels, "smote", seed=0)
    assert torch.bincount(y).tolist() == [399, 399]
    assert x.dtype == features.dtype and y.dtype == labels.dtype and x.device == features.device
    assert torch.equal(x[:546], features) and torch.equal(y[:546], labels)  # originals kept, first
    synthetic = x[546:]
    assert bool((y[546:] == MINORITY).all()) and len(synthetic) == 399 - 147
    minority = features[labels == MINORITY]  # (147, 8)
    starts, ends = _segments(minority, torch.arange(len(minority)))
    scale = float(torch.cdist(minority, minority).median())
    assert float(_segment_residual(synthetic, starts, ends).max()) < 1e-5 * scale  # on a neighbour segment
    lo, hi = minority.min(0).values, minority.max(0).values
    assert bool(((synthetic >= lo - 1e-6) & (synthetic <= hi + 1e-6)).all())
    assert len(torch.unique(synthetic, dim=0)) == len(synthetic)  # new points, not copies


def test_borderline_smote_only_seeds_from_danger_points(breast):
    features, labels = breast
    x, y = resample_features(features, labels, "borderline_smote", seed=0)
    assert torch.bincount(y).tolist() == [399, 399]
    assert torch.equal(x[:546], features)
    minority = features[labels == MINORITY]
    danger = _danger(features, labels)
    assert 0 < len(danger) < len(minority)  # the test discriminates: some minority points are safe or noise
    starts, ends = _segments(minority, danger)
    scale = float(torch.cdist(minority, minority).median())
    assert float(_segment_residual(x[546:], starts, ends).max()) < 1e-5 * scale
    # plain SMOTE also seeds from safe points: its samples do not all lie on danger segments
    smote_x, _ = resample_features(features, labels, "smote", seed=0)
    assert float(_segment_residual(smote_x[546:], starts, ends).max()) > 1e-2 * scale


def _tomek_links(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Rows that belong to a Tomek link: mutual nearest neighbours with different labels."""
    nn = _knn(x, x, 1, skip_self=True)[:, 0]  # (N,)
    mutual = nn[nn] == torch.arange(len(x))
    return (mutual & (y[nn] != y)).nonzero().flatten()


def test_smote_tomek_removes_the_tomek_links_of_the_smote_set(breast):
    features, labels = breast
    smote_x, smote_y = resample_features(features, labels, "smote", seed=0)
    links = _tomek_links(smote_x, smote_y)
    assert len(links) > 0  # SMOTE created class overlap to clean on this data
    x, y = resample_features(features, labels, "smote_tomek", seed=0)
    keep = torch.ones(len(smote_x), dtype=torch.bool)
    keep[links] = False
    assert len(x) == 2 * 399 - len(links) < 2 * 399
    assert torch.equal(x, smote_x[keep]) and torch.equal(y, smote_y[keep])  # both ends of each link removed
    assert len(_tomek_links(x, y)) == 0  # and (here) no new link formed: one cleaning pass was enough


@pytest.mark.parametrize("method", ["smote", "borderline_smote", "smote_tomek"])
def test_resampling_is_deterministic_per_seed(breast, method):
    features, labels = breast
    a = resample_features(features, labels, method, seed=3)
    b = resample_features(features, labels, method, seed=3)
    c = resample_features(features, labels, method, seed=4)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_keeps_the_input_dtype(breast):
    features, labels = breast
    x, y = resample_features(features.double(), labels, "smote", seed=0)
    assert x.dtype == torch.float64 and y.dtype == torch.int64


def test_tiny_budget_reduces_k_and_still_interpolates(breast):
    features, labels = breast
    minority = (labels == MINORITY).nonzero().flatten()[:2]  # a 1% budget: 2 malignant, 4 benign
    majority = (labels == MAJORITY).nonzero().flatten()[:4]
    idx = torch.cat([minority, majority])
    x, y = resample_features(features[idx], labels[idx], "smote", seed=0)  # k=5 would need 6 minority samples
    assert torch.bincount(y).tolist() == [4, 4]
    a, b = features[minority[0]], features[minority[1]]
    assert float(_segment_residual(x[6:], a[None], b[None]).max()) < 1e-5 * float((a - b).norm())


@pytest.mark.parametrize("method", ["smote", "borderline_smote", "smote_tomek"])
def test_single_sample_class_is_a_one_line_config_error(breast, method):
    features, labels = breast
    idx = torch.cat([(labels == MINORITY).nonzero().flatten()[:1], (labels == MAJORITY).nonzero().flatten()[:20]])
    with pytest.raises(ConfigError) as info:
        resample_features(features[idx], labels[idx], method, seed=0)
    message = str(info.value)
    assert "\n" not in message and "class 0 has 1" in message
    assert "target_budget" in message and "class_weight" in message


def test_non_resampling_methods_are_rejected(breast):
    features, labels = breast
    with pytest.raises(ConfigError, match="does not resample"):
        resample_features(features, labels, "class_weight", seed=0)
    with pytest.raises(ConfigError, match="did you mean 'smote'"):
        resample_features(features, labels, "smoot", seed=0)


def test_class_weights_equal_sklearn_balanced(breast):
    _, labels = breast
    expected = compute_class_weight("balanced", classes=np.arange(2), y=labels.numpy())
    assert torch.allclose(class_weights(labels, 2), torch.tensor(expected, dtype=torch.float32))
    assert torch.allclose(class_weights(labels, 2), torch.tensor([546 / (2 * 147), 546 / (2 * 399)]))


def test_class_weights_give_an_absent_class_zero():
    labels = torch.tensor([0, 0, 0, 2])
    assert torch.allclose(class_weights(labels, 3), torch.tensor([4 / 9, 0.0, 4 / 3]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        class_weights(labels, 2)


def test_balanced_sampler_draws_classes_equally(breast):
    _, labels = breast
    weights = balanced_sample_weights(labels, 2)
    assert weights.shape == (546,)
    assert torch.allclose(weights[labels == MINORITY], torch.tensor(1 / 147, dtype=weights.dtype))
    sampler = WeightedRandomSampler(weights, 20_000, replacement=True, generator=torch.Generator().manual_seed(0))
    drawn = labels[torch.tensor(list(sampler))]
    share = torch.bincount(drawn, minlength=2).double() / 20_000
    assert bool(((share - 0.5).abs() < 0.02).all()), share.tolist()


def test_method_names_and_did_you_mean():
    assert IMBALANCE_METHODS == ("none", "class_weight", "balanced_sampler", "smote", "borderline_smote",
                                 "smote_tomek")
    for name in IMBALANCE_METHODS:
        assert check_imbalance_method(name) == name
    with pytest.raises(ConfigError) as info:
        check_imbalance_method("class_weights")
    message = str(info.value)
    assert "\n" not in message and "did you mean 'class_weight'" in message
    assert all(name in message for name in IMBALANCE_METHODS)


def test_methods_are_declared_once_and_everything_reads_the_declaration():
    """suite.py's allowed values, zoo.imbalance's names and the runner's behaviour all come from METHODS."""
    from pathlib import Path

    import zoo
    from zoo.bench.suite import TRAIN_CHOICES
    from zoo.imbalance import RESAMPLING_METHODS
    from zoo.imbalance_methods import IMBALANCE_NAMES, METHODS, imbalance_method

    assert TRAIN_CHOICES["imbalance"] == set(IMBALANCE_NAMES) == {m.name for m in METHODS}
    assert IMBALANCE_METHODS == IMBALANCE_NAMES
    assert RESAMPLING_METHODS == tuple(m.name for m in METHODS if m.resamples_features)
    for method in METHODS:  # each changes at most one part of training; "none" changes nothing
        assert imbalance_method(method.name) is method and imbalance_method(method) is method
        assert method.weights_loss + method.balances_sampler + method.resamples_features == (method.name != "none")
        assert (method.refusal(False, "full_ft") is not None) == method.resamples_features
        assert method.refusal(True, "linear_probe") is None
    # The modules that act on the method never branch on one of its names (they read its flags).
    root = Path(zoo.__file__).parent
    for module in ("runner/loop.py", "runner/features.py", "runner/stage_loop.py", "bench/resolve.py",
                   "bench/suite.py"):
        source = (root / module).read_text()
        named = [name for name in IMBALANCE_NAMES[1:] if f'"{name}"' in source or f"'{name}'" in source]
        assert not named, f"zoo/{module} names imbalance methods {named}; read ImbalanceMethod's flags instead"


def test_per_method_functions_give_what_the_functions_give():
    from zoo.imbalance import loss_weights_for, resample_for, sample_weights_for
    from zoo.imbalance_methods import IMBALANCE

    labels = torch.tensor([0, 0, 0, 1])
    torch.testing.assert_close(loss_weights_for(IMBALANCE["class_weight"], labels, 2), class_weights(labels, 2))
    torch.testing.assert_close(sample_weights_for("balanced_sampler", labels, 2), balanced_sample_weights(labels, 2))
    assert loss_weights_for("none", labels, 2) is None and sample_weights_for(IMBALANCE["smote"], labels, 2) is None
    features = torch.randn(4, 3)
    same = resample_for(IMBALANCE["class_weight"], features, labels, seed=0)
    assert same[0] is features and same[1] is labels  # only a resampling method touches the features


def test_borderline_smote_warns_when_a_class_has_no_danger_point(breast, caplog):
    features, labels = breast
    idx = torch.cat([(labels == MINORITY).nonzero().flatten()[:2], (labels == MAJORITY).nonzero().flatten()[:50]])
    with caplog.at_level("WARNING", logger="zoo.imbalance"):
        _, y = resample_features(features[idx], labels[idx], "borderline_smote", seed=0)
    danger = _danger(features[idx], labels[idx])
    assert len(danger) == 0 and torch.bincount(y).tolist() == [2, 50]  # nothing near the border to seed from
    assert "class 0 has no sample in danger" in caplog.text
