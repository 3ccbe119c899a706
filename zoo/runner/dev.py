"""Deep Embedded Validation: a label-free model-selection score for unsupervised domain adaptation.

You, Wang, Long & Jordan, "Towards Accurate Model Selection in Deep Unsupervised Domain Adaptation",
ICML 2019. The target risk of a model is estimated from *labeled source validation* samples, importance-
weighted by the density ratio w(x) = p_target(f(x)) / p_source(f(x)) of their features, with a control
variate that cuts the variance of the weighted mean:

    w_i    = (n_s / n_t) * d(f_i) / (1 - d(f_i))           d: a logistic domain classifier, target = 1,
                                                            fitted on source-train vs target-train features
    L_i    = w_i * loss_i                                   loss_i: cross-entropy on source-val sample i
    eta    = -Cov(L, w) / Var(w)
    risk   = mean(L) + eta * mean(w) - eta                  (lower is better; score = -risk)

No target label is read: the target contributes unlabeled features only. Shapes: features (N, D) float,
losses (N,) float.

The domain classifier is scikit-learn's ``LogisticRegression(C=1)`` on standardised features (the L2
penalty on the weights, not the intercept), fitted to convergence by Newton's method (``fit_logistic``:
about eight iterations for D = 512, each one Cholesky solve; tested against scikit-learn's solution). Its
objective is strictly convex, so any solver has the same answer; L-BFGS at scikit-learn's default
tolerance stopped short of it (density ratios up to 79% off the converged ones on these features) and
took eight times longer, and scikit-learn's import alone costs a short run a second. The source-val features
and the source-val losses come from one forward pass (the logits are the classifier applied to those
features, which is what the algorithm's ``predict`` computes).

Usage::

    out = dev_risk(f_source_train, f_target, f_source_val, losses_source_val, seed=0)
    out["risk"], out["weights_mean"]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

MAX_FIT_SAMPLES = 2000  # per domain for the domain classifier: enough for a linear model, cheap every epoch


def _subset(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return x if len(x) <= n else x[rng.choice(len(x), n, replace=False)]


def control_variate_risk(weights: np.ndarray, losses: np.ndarray) -> tuple[float, float]:
    """``(risk, eta)``: the importance-weighted mean loss with DEV's control variate (module docstring).

    Usage::

        risk, eta = control_variate_risk(np.array([0.5, 1.5]), np.array([1.0, 2.0]))
    """
    weighted = weights * losses  # (N,)
    var_w = float(np.var(weights, ddof=1)) if len(weights) > 1 else 0.0
    eta = -float(np.cov(weighted, weights, ddof=1)[0, 1]) / var_w if var_w > 1e-12 else 0.0
    return float(weighted.mean() + eta * weights.mean() - eta), eta


def standardize(fit: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Each array centred and scaled by ``fit``'s column means and standard deviations (``ddof=0``; a
    constant column keeps scale 1, as scikit-learn's ``StandardScaler`` does). Shapes (N, D) -> (N, D)."""
    mean, std = fit.mean(axis=0), fit.std(axis=0)  # (D,), (D,)
    std = np.where(std < 10 * np.finfo(std.dtype).eps, 1.0, std)
    return [(x - mean) / std for x in (fit, *others)]


def fit_logistic(x: np.ndarray, y: np.ndarray, c: float = 1.0, tol: float = 1e-10, max_iter: int = 50) -> np.ndarray:
    """``(D + 1,)`` weights then intercept minimising ``c * sum(log-loss) + ||w||^2 / 2`` (scikit-learn's
    ``LogisticRegression(C=c)`` objective: the intercept is not penalised), by damped Newton steps.

    ``x``: (N, D) float64, ``y``: (N,) in {0, 1}. Stops when the largest gradient entry per sample is below
    ``tol`` (Newton converges quadratically: one or two steps past scikit-learn's default tolerance).

    Usage::

        theta = fit_logistic(x, y)                   # P(y=1 | x) = sigmoid(x @ theta[:-1] + theta[-1])
    """
    xa = np.hstack([x, np.ones((len(x), 1))])  # (N, D + 1): the intercept as a last, constant feature
    xa32 = xa.astype(np.float32)
    penalty = np.ones(xa.shape[1])
    penalty[-1] = 0.0  # (D + 1,): the ridge on the weights only

    def objective(theta: np.ndarray) -> float:
        z = xa @ theta  # (N,)
        return float(c * np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * np.sum(penalty * theta * theta))

    theta = np.zeros(xa.shape[1])
    value = objective(theta)
    for _ in range(max_iter):
        p = 0.5 * (1.0 + np.tanh(0.5 * (xa @ theta)))  # (N,) sigmoid, overflow-free
        grad = c * (xa.T @ (p - y)) + penalty * theta  # (D + 1,)
        if np.abs(grad).max() <= tol * len(x):
            break
        # (D + 1, D + 1), positive definite; the product in float32 (3.5x faster): an inexact Hessian only
        # bends the path, the float64 gradient decides where it ends
        hessian = c * (xa32.T * (p * (1.0 - p)).astype(np.float32)) @ xa32 + np.diag(penalty)
        chol = np.linalg.cholesky(hessian)
        step = np.linalg.solve(chol.T, np.linalg.solve(chol, grad))
        t = 1.0  # backtracking (Armijo): a full Newton step is taken once close to the optimum
        while True:
            candidate = objective(theta - t * step)
            if candidate <= value - 1e-4 * t * float(grad @ step) or t < 1e-8:
                break
            t *= 0.5
        theta, value = theta - t * step, candidate
    return theta


def dev_risk(f_source_train, f_target, f_source_val, losses_source_val, seed: int = 0) -> dict[str, float]:
    """The DEV estimate of the target risk (see the module docstring) and diagnostics of its weights."""
    as_np = lambda t: t.detach().cpu().double().numpy() if isinstance(t, torch.Tensor) else np.asarray(t, float)  # noqa: E731
    fs, ft, fv, loss = as_np(f_source_train), as_np(f_target), as_np(f_source_val), as_np(losses_source_val)
    rng = np.random.default_rng(seed)
    fs, ft = _subset(fs, MAX_FIT_SAMPLES, rng), _subset(ft, MAX_FIT_SAMPLES, rng)
    x, xv = standardize(np.concatenate([fs, ft]), fv)  # (n_s + n_t, D), (N_val, D)
    y = np.concatenate([np.zeros(len(fs)), np.ones(len(ft))])
    theta = fit_logistic(x, y, c=1.0)
    z = xv @ theta[:-1] + theta[-1]  # (N_val,) logit of P(target | f)
    d = np.clip(0.5 * (1.0 + np.tanh(0.5 * z)), 1e-6, 1 - 1e-6)  # (N_val,) P(target | f)
    w = (len(fs) / len(ft)) * d / (1 - d)  # (N_val,) density ratio p_t / p_s
    risk, eta = control_variate_risk(w, loss)
    return {"risk": risk, "score": -risk, "eta": eta, "weights_mean": float(w.mean()), "weights_max": float(w.max()),
            "source_val_loss": float(loss.mean())}


def dev_evaluation(accelerator, model, data, normalizer, batch_size: int, seed: int) -> dict[str, Any]:
    """DEV of the current model on a task: features of source train / target train / source val, and the
    per-sample cross-entropy on source val, gathered from every process (so every process agrees)."""
    import torch.nn.functional as F

    from zoo.algorithms.base import Algorithm
    from zoo.runner.batches import make_loader
    from zoo.runner.evaluate import predict
    from zoo.runner.features import compute_features

    g = torch.Generator().manual_seed(seed)

    def capped(split):  # a fixed random subset: the classifier needs no more, and it keeps epochs cheap
        if len(split) <= MAX_FIT_SAMPLES:
            return split
        return split.subset(torch.randperm(len(split), generator=g)[:MAX_FIT_SAMPLES])

    source_val = data.source.splits["val"]
    f_s, _ = compute_features(accelerator, model, capped(data.source.splits["train"]), normalizer, batch_size)
    f_t, _ = compute_features(accelerator, model, capped(data.target.splits["train"]), normalizer, batch_size)
    f_v, labels = compute_features(accelerator, model, source_val, normalizer, batch_size)  # (N_val, D), (N_val,)
    algorithm = accelerator.unwrap_model(model)
    if type(algorithm).predict is Algorithm.predict:  # predict = classifier(features): reuse the features
        with torch.no_grad(), accelerator.autocast():
            logits = algorithm.classifier(f_v).float()  # (N_val, D) -> (N_val, K)
    else:  # an algorithm with its own predict: its own forward pass
        loader = accelerator.prepare_data_loader(make_loader(source_val, batch_size, shuffle=False))
        logits, labels = predict(accelerator, model, loader, normalizer)  # (N_val, K), (N_val,)
    losses = F.cross_entropy(logits.cpu(), labels.cpu(), reduction="none")  # (N_val,)
    return dev_risk(f_s, f_t, f_v, losses, seed)
