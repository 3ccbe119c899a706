"""Deep Embedded Validation (label-free model selection): its math on simulated shifts, and a real run."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
import torch

from zoo.runner.dev import control_variate_risk, dev_risk, fit_logistic, standardize


def _loss(x: np.ndarray) -> np.ndarray:
    return np.log1p(np.exp(2.0 * x[:, 0]))  # grows with the first feature: the risk depends on where data lie


def test_without_a_shift_the_weights_are_near_one_and_risk_is_the_source_loss():
    rng = np.random.default_rng(0)
    fs, ft, fv = (rng.normal(size=(2000, 4)) for _ in range(3))
    out = dev_risk(fs, ft, fv, _loss(fv), seed=0)
    assert out["weights_mean"] == pytest.approx(1.0, abs=0.05)
    assert out["risk"] == pytest.approx(_loss(fv).mean(), rel=0.05)


def test_under_a_covariate_shift_dev_estimates_the_target_risk_better_than_source_val():
    errors_dev, errors_src = [], []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        fs, fv = rng.normal(size=(2000, 4)), rng.normal(size=(1000, 4))
        ft = rng.normal(loc=[0.6, 0, 0, 0], size=(2000, 4))  # the target sits where the loss is higher
        true_target_risk = _loss(rng.normal(loc=[0.6, 0, 0, 0], size=(200_000, 4))).mean()
        out = dev_risk(fs, ft, fv, _loss(fv), seed=seed)
        errors_dev.append(abs(out["risk"] - true_target_risk))
        errors_src.append(abs(_loss(fv).mean() - true_target_risk))
    assert np.mean(errors_dev) < 0.5 * np.mean(errors_src), (np.mean(errors_dev), np.mean(errors_src))


@pytest.mark.parametrize("separation", [0.0, 0.3, 2.0])
def test_the_domain_classifier_is_scikit_learns_logistic_regression_at_convergence(separation):
    """``fit_logistic`` + ``standardize`` against scikit-learn's StandardScaler and LogisticRegression(C=1),
    solved to a tight tolerance: the same weights, intercept and probabilities (a constant feature and a
    nearly separable shift included)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(1)
    x = rng.normal(size=(1500, 64))
    y = (rng.random(1500) < 0.4).astype(float)
    x[y == 1, :4] += separation
    x[:, 5] = 3.0  # a dead unit: constant, scale 1
    held_out = rng.normal(size=(200, 64))
    mine, mine_held = standardize(x, held_out)
    scaler = StandardScaler().fit(x)
    np.testing.assert_allclose(mine, scaler.transform(x), atol=1e-12)
    np.testing.assert_allclose(mine_held, scaler.transform(held_out), atol=1e-12)
    mine, mine_held = mine.numpy(), mine_held.numpy()  # float64 tensors
    theta = fit_logistic(mine, y, c=1.0).numpy()
    reference = LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-12, max_iter=500).fit(mine, y)
    np.testing.assert_allclose(theta[:-1], reference.coef_[0], atol=1e-7)
    assert theta[-1] == pytest.approx(reference.intercept_[0], abs=1e-7)
    probs = 1.0 / (1.0 + np.exp(-(mine_held @ theta[:-1] + theta[-1])))
    np.testing.assert_allclose(probs, reference.predict_proba(mine_held)[:, 1], atol=1e-9)


def test_control_variate_matches_its_formula():
    rng = np.random.default_rng(3)
    w, loss = rng.gamma(2.0, 0.5, size=400), rng.exponential(size=400)
    risk, eta = control_variate_risk(w, loss)
    reversed_view = np.ascontiguousarray(loss[::-1])[::-1]  # equal to loss, with a negative stride
    as_tensors = control_variate_risk(torch.from_numpy(w).float(), reversed_view)
    assert as_tensors == pytest.approx((risk, eta), rel=1e-5)  # a float32 tensor, a strided view: computed in float64
    L = w * loss
    expected_eta = (-(np.sum((L - L.mean()) * (w - w.mean())) / (len(w) - 1))
                    / (np.sum((w - w.mean()) ** 2) / (len(w) - 1)))
    assert eta == pytest.approx(expected_eta, rel=1e-9)
    assert risk == pytest.approx(L.mean() + expected_eta * (w.mean() - 1), rel=1e-9)
    # With weights that average exactly 1 the control variate changes nothing.
    w1 = w / w.mean()
    assert control_variate_risk(w1, loss)[0] == pytest.approx((w1 * loss).mean(), rel=1e-9)


@pytest.mark.slow
def test_a_run_selected_by_dev_records_the_rule_and_its_scores(tmp_path):
    from helpers.cli import run_medzoo

    (tmp_path / "s.yaml").write_text(textwrap.dedent("""\
        suite: dev-check
        version: 1
        defaults:
          train: {epochs: 3, batch_size: 16, max_steps_per_epoch: 4}
          seeds: [0]
          selection: deep_embedded_validation
        domains:
          a: {dataset: synthetic, seed: 0, n_per_class: 40}
          b: {dataset: synthetic, seed: 1, n_per_class: 40, appearance: 1.0}
        tasks:
          - {name: t, source: a, target: b, target_budget: 0, algorithms: [coral]}
        """))
    proc = run_medzoo(["run", "s.yaml", "-o", "out", "--no-progress"], cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads((tmp_path / "out" / "results.jsonl").read_text())
    assert record["selection"]["rule"] == "deep_embedded_validation" and record["selection"]["metric"] == "score"
    dev = record["metrics"]["dev"]
    assert record["selection"]["score"] == dev["score"] == -dev["risk"]
    assert dev["weights_mean"] > 0
    assert record["curves"]["dev_score"][record["selection"]["epoch"] - 1] == dev["score"]
    assert max(record["curves"]["dev_score"]) == dev["score"]  # the epoch with the best DEV score was kept
    # per-epoch curves: accuracy and AUROC of every split, the selected epoch's equal to the recorded metrics
    chosen = record["selection"]["epoch"] - 1
    for split in ("source_val", "target_val_oracle", "target_test"):
        for metric in ("accuracy", "auroc"):
            curve = record["curves"][f"{split}_{metric}"]
            assert len(curve) == 3 and curve[chosen] == record["metrics"][split][metric], (split, metric)
