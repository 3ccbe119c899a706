"""Class imbalance: weighted losses, class-balanced sampling and SMOTE-family oversampling of features.

The runner accepts one of ``IMBALANCE_METHODS`` per task (declared, with what each changes in training, in
``zoo.imbalance_methods``):

- ``none``: train on the data as it is.
- ``class_weight``: a weighted cross-entropy with ``class_weights(labels, K)``, the "balanced" heuristic
  ``n / (K * n_k)`` (King & Zeng 2001; scikit-learn's ``compute_class_weight('balanced')``).
- ``balanced_sampler``: draw training samples with probability ``1 / n_{y_i}`` (``balanced_sample_weights``
  for a ``torch.utils.data.WeightedRandomSampler``), so every class is seen equally often in expectation.
- ``smote``, ``borderline_smote``, ``smote_tomek``: synthesise minority samples in FEATURE space with
  imbalanced-learn (``resample_features``), for training a head on frozen or cached backbone features
  (interpolating raw images would make implausible images; interpolating features is what these methods
  were designed for):

  * SMOTE (Chawla, Bowyer, Hall & Kegelmeyer, "SMOTE: Synthetic Minority Over-sampling Technique", JAIR 16,
    2002): each synthetic sample is ``x + u * (x_nn - x)``, ``u ~ U(0, 1)``, for a random minority sample ``x``
    and one of its ``k_neighbors`` nearest minority neighbours ``x_nn``, until every class has as many samples
    as the largest one. Original samples are kept, first, in their order.
  * Borderline-SMOTE (Han, Wang & Mao, "Borderline-SMOTE: A New Over-Sampling Method in Imbalanced Data Sets
    Learning", ICIC 2005; variant borderline-1): only minority samples "in danger" seed new samples: those
    with at least half, but not all, of their ``m_neighbors = 10`` nearest neighbours (in the whole set) from
    other classes; samples far inside their class (safe) and isolated ones (noise) are not used as seeds.
  * SMOTE + Tomek links (Batista, Prati & Monard, "A Study of the Behavior of Several Methods for Balancing
    Machine Learning Training Data", SIGKDD Explorations 6(1), 2004): SMOTE, then one pass that removes both
    samples of every Tomek link (two samples of different classes that are each other's nearest neighbour),
    cleaning the class overlap SMOTE can create. The result is no longer exactly balanced.

Small label budgets (e.g. 1% of a target set) leave minority classes with a handful of samples:
``k_neighbors`` is reduced to (smallest class count - 1) when needed, and a class with a single sample is a
``ConfigError`` (nothing to interpolate with).

Usage::

    from zoo.imbalance import class_weights, balanced_sample_weights, resample_features
    loss = F.cross_entropy(logits, y, weight=class_weights(train_labels, K).to(logits.device))
    sampler = WeightedRandomSampler(balanced_sample_weights(train_labels, K), len(train_labels))
    feats, labels = resample_features(feats, labels, "smote", seed=0)      # (N', D), (N',)
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from zoo.errors import ConfigError
from zoo.imbalance_methods import IMBALANCE_NAMES, RESAMPLING_NAMES, ImbalanceMethod, imbalance_method

# The methods themselves (names, behaviour flags) are declared once in zoo.imbalance_methods; these names stay.
IMBALANCE_METHODS: tuple[str, ...] = IMBALANCE_NAMES
RESAMPLING_METHODS: tuple[str, ...] = RESAMPLING_NAMES
logger = logging.getLogger(__name__)

BORDERLINE_M_NEIGHBORS = 10  # imbalanced-learn's default: neighbours (whole set) that decide "in danger"


def check_imbalance_method(name: str) -> str:
    """Return ``name`` if it is one of ``IMBALANCE_METHODS``, else a one-line ConfigError with did-you-mean.

    Usage::

        check_imbalance_method("smote")          # 'smote'
        check_imbalance_method("smoet")          # ConfigError: ... did you mean 'smote'? ...
    """
    return imbalance_method(name).name


def loss_weights_for(method: str | ImbalanceMethod, labels: torch.Tensor, num_classes: int) -> torch.Tensor | None:
    """(K,) float32 class weights for the cross-entropy under ``method`` (a name or an ``ImbalanceMethod``) from
    (N,) ``labels``, or ``None`` when the method leaves the loss unweighted."""
    return class_weights(labels, num_classes) if imbalance_method(method).weights_loss else None


def sample_weights_for(method: str | ImbalanceMethod, labels: torch.Tensor, num_classes: int) -> torch.Tensor | None:
    """(N,) float64 per-sample draw weights ``1 / n_{y_i}`` under ``method``, or ``None`` (uniform draws)."""
    return balanced_sample_weights(labels, num_classes) if imbalance_method(method).balances_sampler else None


def resample_for(method: str | ImbalanceMethod, features: torch.Tensor, labels: torch.Tensor,
                 seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, D), (N,) -> (N', D), (N',): features oversampled by ``method``, or the inputs unchanged (the same
    objects) when it does not resample."""
    method = imbalance_method(method)
    if not method.resamples_features:
        return features, labels
    return resample_features(features, labels, method.name, seed=seed)


def _counts(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(K,) int64 samples per class; labels outside [0, K) are a ValueError (a caller bug, not a user error)."""
    labels = labels.reshape(-1).long()
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}), got values in "
                         f"[{int(labels.min())}, {int(labels.max())}]")
    return torch.bincount(labels.cpu(), minlength=num_classes)


def class_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(K,) float32 "balanced" class weights ``n / (K * n_k)`` for a weighted cross-entropy.

    Equal to scikit-learn's ``compute_class_weight('balanced', ...)`` when every class occurs, with ``K`` the
    number of classes and ``n`` the number of labels. A class with no samples gets weight 0 (it contributes
    no loss term anyway; scikit-learn would raise). Returned on the CPU: move it with the logits.

    Usage::

        weight = class_weights(train.labels, 2)          # BreastMNIST train: tensor([1.857, 0.684])
        loss = F.cross_entropy(logits, y, weight=weight.to(logits.device))
    """
    counts = _counts(labels, num_classes).double()  # (K,)
    n = counts.sum()
    weights = torch.where(counts > 0, n / (num_classes * counts.clamp(min=1)), torch.zeros_like(counts))
    return weights.float()


def balanced_sample_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(N,) float64 per-sample weights ``1 / n_{y_i}``: each class gets the same total weight.

    For a ``torch.utils.data.WeightedRandomSampler`` (with replacement), which then draws every class
    equally often in expectation. Returned on the CPU (the sampler's home).

    Usage::

        sampler = WeightedRandomSampler(balanced_sample_weights(y, K), num_samples=len(y), generator=g)
    """
    counts = _counts(labels, num_classes).double()  # (K,)
    return 1.0 / counts[labels.reshape(-1).long().cpu()]  # (N,): every sample's class occurs, so counts > 0


def resample_features(features: torch.Tensor, labels: torch.Tensor, method: str, seed: int,
                      k_neighbors: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """Oversample minority classes in feature space: (N, D), (N,) -> (N', D), (N',) on the input's device/dtype.

    ``method`` is one of ``RESAMPLING_METHODS`` (``smote``, ``borderline_smote``, ``smote_tomek``; see the module
    docstring). Every class is brought up to the size of the largest (``smote_tomek`` then removes Tomek links;
    ``borderline_smote`` leaves a class with no sample "in danger" as it is, and logs a warning).
    ``k_neighbors`` is lowered to (smallest class count - 1) if that is smaller. Deterministic for a ``seed``.
    The original samples come first, unchanged, for ``smote`` and ``borderline_smote``.

    Usage::

        feats, labels = resample_features(feats, labels, "smote", seed=0)   # (N, D) -> (N', D)
    """
    if method not in RESAMPLING_METHODS:
        check_imbalance_method(method)  # an unknown name gets the did-you-mean error
        raise ConfigError(f"imbalance method {method!r} does not resample; resample_features takes "
                          f"{', '.join(RESAMPLING_METHODS)}")
    if features.dim() != 2 or labels.dim() != 1 or len(features) != len(labels):
        raise ValueError(f"expected features (N, D) and labels (N,), got {tuple(features.shape)} and "
                         f"{tuple(labels.shape)}")
    x = features.detach().cpu()
    x = (x if x.dtype in (torch.float32, torch.float64) else x.float()).numpy()  # (N, D); fp16/bf16 -> float32
    y = labels.detach().cpu().numpy().astype(np.int64)  # (N,)
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise ConfigError(f"imbalance method {method!r} needs labelled samples of at least 2 classes, got only "
                          f"class {classes.tolist()}; use a larger target_budget or imbalance method 'none'")
    if counts.min() < 2:
        lonely = int(classes[counts.argmin()])
        raise ConfigError(f"imbalance method {method!r} needs at least 2 samples per class to interpolate, but class "
                          f"{lonely} has 1; use a larger target_budget or imbalance method 'class_weight' or "
                          "'balanced_sampler'")
    k = max(1, min(int(k_neighbors), int(counts.min()) - 1))
    x_res, y_res = _sampler(method, k, seed, len(y)).fit_resample(x, y)  # (N', D), (N',)
    if method == "borderline_smote":
        res_classes, res_counts = np.unique(y_res, return_counts=True)
        for cls, count in zip(res_classes, res_counts):
            if count < counts.max():
                logger.warning("borderline_smote: class %d has no sample in danger (near another class); it stays at "
                               "%d samples (the largest class has %d); use 'smote' to balance it anyway",
                               cls, count, counts.max())
    out_x = torch.as_tensor(np.ascontiguousarray(x_res)).to(device=features.device, dtype=features.dtype)
    out_y = torch.as_tensor(np.ascontiguousarray(y_res)).to(device=labels.device, dtype=labels.dtype)
    return out_x, out_y


def _sampler(method: str, k: int, seed: int, n: int):
    """The imbalanced-learn resampler for ``method`` (imported here: only these methods need the package)."""
    from imblearn.combine import SMOTETomek
    from imblearn.over_sampling import SMOTE, BorderlineSMOTE
    from imblearn.under_sampling import TomekLinks

    if method == "smote":
        return SMOTE(k_neighbors=k, random_state=seed)
    if method == "borderline_smote":
        # m_neighbors looks at the whole set, so it only needs n > m; k (minority neighbours) as for SMOTE.
        return BorderlineSMOTE(k_neighbors=k, m_neighbors=min(BORDERLINE_M_NEIGHBORS, n - 1), random_state=seed,
                               kind="borderline-1")
    return SMOTETomek(smote=SMOTE(k_neighbors=k, random_state=seed), tomek=TomekLinks(sampling_strategy="all"))
