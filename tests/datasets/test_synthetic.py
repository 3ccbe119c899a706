"""The synthetic domain: shapes, determinism, a real appearance shift, and learnability."""

from __future__ import annotations

import pytest
import torch

from zoo.datasets.synthetic import synthetic_domain
from zoo.errors import ConfigError


def test_shapes_and_metadata():
    dom = synthetic_domain(num_classes=3, n_per_class=20, image_size=32, channels=3, appearance=0.5, seed=1)
    assert [len(dom.splits[s]) for s in ("train", "val", "test")] == [36, 12, 12]
    assert dom.splits["train"].images.shape == (36, 3, 32, 32) and dom.splits["train"].images.dtype == torch.uint8
    assert dom.label_names == ["class_0", "class_1", "class_2"] and dom.modality == "synthetic"
    assert dom.name == "synthetic_appearance0.5" and dom.info["generator"]["seed"] == 1


def test_deterministic_by_seed():
    a, b, c = synthetic_domain(seed=0), synthetic_domain(seed=0), synthetic_domain(seed=1)
    assert torch.equal(a.splits["train"].images, b.splits["train"].images)
    assert not torch.equal(a.splits["train"].images, c.splits["train"].images)


def _centroid_accuracy(train, test) -> float:
    x = train.images.float().flatten(1)
    centroids = torch.stack([x[train.labels == k].mean(0) for k in range(int(train.labels.max()) + 1)])
    pred = torch.cdist(test.images.float().flatten(1), centroids).argmin(1)
    return (pred == test.labels).float().mean().item()


def test_learnable_and_shift_hurts_a_source_only_classifier():
    source = synthetic_domain(num_classes=4, n_per_class=60, seed=0)
    target = synthetic_domain(num_classes=4, n_per_class=60, seed=1, appearance=1.0)
    assert _centroid_accuracy(source.splits["train"], source.splits["test"]) > 0.9
    assert _centroid_accuracy(target.splits["train"], target.splits["test"]) > 0.8  # still learnable in-domain
    assert _centroid_accuracy(source.splits["train"], target.splits["test"]) < 0.75  # but shifted
    s, t = source.splits["train"].images.float(), target.splits["train"].images.float()
    assert abs(s.mean() - t.mean()) > 20  # a visible intensity change, not just noise


@pytest.mark.parametrize("kwargs", [{"num_classes": 1}, {"n_per_class": 2}, {"channels": 2}, {"appearance": -1},
                                    {"image_size": 4}])
def test_bad_arguments(kwargs):
    with pytest.raises(ConfigError, match="synthetic"):
        synthetic_domain(**kwargs)
