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
took eight times longer, and scikit-learn's import alone costs a short run a second. It runs in torch, on the
threads torch already trains with: numpy's OpenBLAS keeps its own threads spinning after each call, and on a
2-core machine the forward passes right after a numpy fit ran 2.2x slower (simple_cnn, 312 images: 23 ->
52 ms); the torch fit is also 1.8x faster (4,000 x 513 features: 0.108 -> 0.059 s). The source-val features
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


def _as_float64(x) -> torch.Tensor:
    """A CPU float64 tensor of ``x`` (a tensor on any device, or an array)."""
    tensor = x.detach() if isinstance(x, torch.Tensor) else torch.as_tensor(np.ascontiguousarray(x))
    return tensor.to("cpu", torch.float64)


def _subset(x: torch.Tensor, n: int, rng: np.random.Generator) -> torch.Tensor:
    return x if len(x) <= n else x[torch.from_numpy(rng.choice(len(x), n, replace=False))]


def control_variate_risk(weights, losses) -> tuple[float, float]:
    """``(risk, eta)``: the importance-weighted mean loss with DEV's control variate (module docstring).

    Usage::

        risk, eta = control_variate_risk(torch.tensor([0.5, 1.5]), torch.tensor([1.0, 2.0]))
    """
    weights, losses = _as_float64(weights), _as_float64(losses)  # (N,), (N,)
    weighted = weights * losses  # (N,)
    var_w = float(weights.var(correction=1)) if len(weights) > 1 else 0.0
    if not var_w > 1e-12:  # (NaN too: no control variate, as before)
        return float(weighted.mean()), 0.0
    covariance = float(((weighted - weighted.mean()) * (weights - weights.mean())).sum()) / (len(weights) - 1)
    eta = -covariance / var_w
    return float(weighted.mean() + eta * weights.mean() - eta), eta


def standardize(fit, *others) -> list[torch.Tensor]:
    """Each array centred and scaled by ``fit``'s column means and standard deviations (``ddof=0``; a
    constant column keeps scale 1, as scikit-learn's ``StandardScaler`` does). Shapes (N, D) -> (N, D),
    float64 tensors."""
    fit = _as_float64(fit)
    mean, std = fit.mean(dim=0), fit.std(dim=0, correction=0)  # (D,), (D,)
    std = torch.where(std < 10 * torch.finfo(std.dtype).eps, torch.ones_like(std), std)
    return [(x - mean) / std for x in (fit, *map(_as_float64, others))]


def fit_logistic(x, y, c: float = 1.0, tol: float = 1e-10, max_iter: int = 50) -> torch.Tensor:
    """``(D + 1,)`` float64 weights then intercept minimising ``c * sum(log-loss) + ||w||^2 / 2`` (scikit-learn's
    ``LogisticRegression(C=c)`` objective: the intercept is not penalised), by damped Newton steps.

    ``x``: (N, D), ``y``: (N,) in {0, 1}, tensors or arrays (computed in float64). Stops when the largest
    gradient entry per sample is below ``tol`` (Newton converges quadratically: one or two steps past
    scikit-learn's default tolerance).

    Usage::

        theta = fit_logistic(x, y)                   # P(y=1 | x) = sigmoid(x @ theta[:-1] + theta[-1])
    """
    x, y = _as_float64(x), _as_float64(y)
    xa = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)  # (N, D + 1): the intercept as a last feature
    xa32 = xa.float()
    penalty = torch.ones(xa.shape[1], dtype=x.dtype)
    penalty[-1] = 0.0  # (D + 1,): the ridge on the weights only
    zero = torch.zeros((), dtype=x.dtype)

    def objective(theta: torch.Tensor) -> float:
        z = xa @ theta  # (N,)
        return float(c * (torch.logaddexp(zero, z) - y * z).sum() + 0.5 * (penalty * theta * theta).sum())

    theta = torch.zeros(xa.shape[1], dtype=x.dtype)
    value = objective(theta)
    for _ in range(max_iter):
        p = torch.sigmoid(xa @ theta)  # (N,)
        grad = c * (xa.T @ (p - y)) + penalty * theta  # (D + 1,)
        if float(grad.abs().max()) <= tol * len(x):
            break
        # (D + 1, D + 1), positive definite; the product in float32 (3.5x faster): an inexact Hessian only
        # bends the path, the float64 gradient decides where it ends
        hessian = (c * (xa32.T * (p * (1.0 - p)).float()) @ xa32).double() + torch.diag(penalty)
        step = torch.cholesky_solve(grad[:, None], torch.linalg.cholesky(hessian))[:, 0]  # (D + 1,)
        t = 1.0  # backtracking (Armijo): a full Newton step is taken once close to the optimum
        while True:
            candidate = objective(theta - t * step)
            if candidate <= value - 1e-4 * t * float(grad @ step) or t < 1e-8:
                break
            t *= 0.5
        theta, value = theta - t * step, candidate
    return theta


def dev_risk(f_source_train, f_target, f_source_val, losses_source_val, seed: int = 0) -> dict[str, float]:
    """The DEV estimate of the target risk (see the module docstring) and diagnostics of its weights.
    Features (N, D) and losses (N,): tensors on any device, or arrays."""
    fs, ft = _as_float64(f_source_train), _as_float64(f_target)
    rng = np.random.default_rng(seed)
    fs, ft = _subset(fs, MAX_FIT_SAMPLES, rng), _subset(ft, MAX_FIT_SAMPLES, rng)
    x, xv = standardize(torch.cat([fs, ft]), f_source_val)  # (n_s + n_t, D), (N_val, D)
    y = torch.cat([torch.zeros(len(fs)), torch.ones(len(ft))])
    theta = fit_logistic(x, y, c=1.0)
    z = xv @ theta[:-1] + theta[-1]  # (N_val,) logit of P(target | f)
    d = torch.sigmoid(z).clamp(1e-6, 1 - 1e-6)  # (N_val,) P(target | f)
    w = (len(fs) / len(ft)) * d / (1 - d)  # (N_val,) density ratio p_t / p_s
    risk, eta = control_variate_risk(w, losses_source_val)
    return {"risk": risk, "score": -risk, "eta": eta, "weights_mean": float(w.mean()), "weights_max": float(w.max()),
            "source_val_loss": float(_as_float64(losses_source_val).mean())}


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
