"""The math under the shared-test-set statistics, checked against independent computations.

- weighted metrics: integer image weights equal the metric of the test set with each image repeated that
  many times (sklearn / zoo.metrics on the explicit resample), ties and 3 classes included;
- Holm and Benjamini-Hochberg against their definitions on hand-worked values;
- Friedman's statistic against scipy.stats.friedmanchisquare, Nemenyi's CD against Demšar's table;
- the variance-components interval is exact on an additive layout where the answer is known.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import friedmanchisquare
from sklearn.metrics import balanced_accuracy_score, f1_score, roc_auc_score

from zoo.metrics import auroc
from zoo.results.friedman import friedman_statistic, nemenyi_cd
from zoo.results.multiplicity import adjust
from zoo.results.shared_test import combine
from zoo.results.weighted_metrics import weighted_metric


@pytest.mark.parametrize("n_classes", [2, 3])
def test_weighted_metrics_equal_the_metrics_of_the_resampled_test_set(n_classes):
    rng = np.random.default_rng(n_classes)
    labels = rng.integers(0, n_classes, 300)
    probs = rng.dirichlet(np.ones(n_classes), size=(2, 300))  # (S=2, N, K)
    probs[:, :40] = np.round(probs[:, :40], 1)  # tied scores, as a real classifier's saturated outputs give
    weights = rng.multinomial(300, np.full(300, 1 / 300), size=4).astype(float)  # (B=4, N)
    for b in range(4):
        idx = np.repeat(np.arange(300), weights[b].astype(int))  # the explicit resample
        for s in range(2):
            y, p = labels[idx], probs[s, idx]
            pred = p.argmax(axis=1)
            expected = {"accuracy": np.mean(pred == y), "balanced_accuracy": balanced_accuracy_score(y, pred),
                        "f1": f1_score(y, pred, average="macro", labels=np.unique(np.r_[y, pred])),
                        "auroc": auroc(p, y, n_classes)}
            for metric, value in expected.items():
                got = weighted_metric(labels, probs, weights[b:b + 1], metric)[0, s]
                assert got == pytest.approx(value, abs=1e-12), metric
    if n_classes == 2:  # at weight 1, sklearn's own binary AUROC on the positive column
        got = weighted_metric(labels, probs, np.ones((1, 300)), "auroc")[0]
        assert got == pytest.approx([roc_auc_score(labels, probs[s, :, 1]) for s in range(2)])


def test_holm_and_benjamini_hochberg_by_hand():
    p = [0.01, 0.04, 0.03, 0.005, math.nan]
    # Holm: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 -> 0.02, 0.03, 0.06, 0.04 -> monotone 0.06 for 0.04
    assert adjust(p, "holm")[:4] == pytest.approx([0.03, 0.06, 0.06, 0.02]) and math.isnan(adjust(p, "holm")[4])
    # BH: sorted times 4/1, 4/2, 4/3, 4/4 -> 0.02, 0.02, 0.04, 0.04, then the running minimum from the top
    assert adjust(p, "bh")[:4] == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert adjust(p, "none")[:4] == p[:4]
    with pytest.raises(Exception, match="unknown correction 'bonferoni'; use one of: holm, bh, none"):
        adjust(p, "bonferoni")


def test_friedman_statistic_and_critical_difference():
    rng = np.random.default_rng(0)
    scores = rng.random((12, 5))  # 12 blocks x 5 methods, no ties
    assert friedman_statistic(scores) == pytest.approx(friedmanchisquare(*scores.T).statistic)
    # Demšar 2006, Table 5: q_0.05 = 2.850 for k = 6; CD = q sqrt(k (k + 1) / (6 N))
    assert nemenyi_cd(6, 20) == pytest.approx(2.850 * math.sqrt(6 * 7 / 120), abs=2e-3)
    assert nemenyi_cd(2, 10) == pytest.approx(1.960 * math.sqrt(2 * 3 / 60), abs=2e-3)


def test_variance_components_recover_a_known_additive_layout():
    # y[s, i] = a_s + b_i exactly (no interaction): Var(mean) estimate = s_a^2 / S + V_img, and the
    # replicate matrix of an additive layout has every run's image variance equal to the mean's
    point = np.array([0.70, 0.72, 0.74])
    shift = np.random.default_rng(1).normal(0, 0.01, 500)  # (B,) the image resample's effect, shared
    boot = point[None, :] + shift[:, None]  # (B, S)
    found = combine(point, boot, n_images=300)
    expected = np.var(point, ddof=1) / 3 + np.var(shift, ddof=1)
    assert found["se"] ** 2 == pytest.approx(expected)
    assert found["var_seeds"] == pytest.approx(np.var(point, ddof=1) / 3)
    assert found["mean"] == pytest.approx(0.72) and found["ci_low"] < 0.72 < found["ci_high"]
    one_seed = combine(point[:1], boot[:, :1], n_images=300)
    assert math.isnan(one_seed["ci_low"])  # no seed spread to estimate: no interval, as for the t-interval
