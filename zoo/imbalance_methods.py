"""The ``train.imbalance`` methods, declared once: each one's name, what it does, and which part of training it changes.

Every place that needs to know about imbalance methods reads these objects, never a method's name: the
suite's allowed values (``zoo.bench.suite.TRAIN_CHOICES``), resolution's check that a feature-resampling
method has a feature stage to resample for (``zoo.bench.resolve``), the loop's class-weighted loss and
class-balanced sampler (``zoo.runner.loop``, ``zoo.runner.streams``) and the cached-feature stream
(``zoo.runner.features``). A new method is one more entry in ``METHODS`` with its behaviour flags (and, for
a new way of resampling features, its sampler in ``zoo.imbalance``).

This module imports neither torch nor numpy (suite parsing stays light), nor ``zoo.imbalance``: the
computations live there (``loss_weights_for``, ``sample_weights_for``, ``resample_for``) and read these
declarations, never the other way round.

Usage::

    method = imbalance_method("smote")        # an unknown name: one-line ConfigError with did-you-mean
    method.resamples_features, method.weights_loss, method.balances_sampler      # True, False, False
    IMBALANCE_NAMES                           # ('none', 'class_weight', 'balanced_sampler', 'smote', ...)
    loss_weights_for(imbalance_method("class_weight"), labels, 2)   # zoo.imbalance: (2,) float32 tensor
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from zoo.errors import ConfigError


@dataclass(frozen=True)
class ImbalanceMethod:
    """One way of handling class imbalance, and which part of training it changes (at most one here).

    ``weights_loss``: the supervised cross-entropy is weighted per class (``zoo.imbalance.loss_weights_for``,
    set on the algorithm before each stage); ``balances_sampler``: labeled training streams draw each class
    equally often (``sample_weights_for``, for a ``WeightedRandomSampler``); ``resamples_features``: cached
    features of a head-only stage are oversampled (``resample_for``), so the method needs such a stage
    (``refusal``).
    """

    name: str
    summary: str
    weights_loss: bool = False
    balances_sampler: bool = False
    resamples_features: bool = False

    def refusal(self, has_feature_stage: bool, algorithm: str) -> str | None:
        """Why ``algorithm`` (with or without a feature stage) cannot train with this method, or ``None``."""
        if self.resamples_features and not has_feature_stage:
            return (f"train.imbalance '{self.name}' resamples cached features for head training, and {algorithm} "
                    "has no feature stage; use it with linear_probe or lp_ft, or use class_weight / balanced_sampler")
        return None


METHODS: tuple[ImbalanceMethod, ...] = (
    ImbalanceMethod("none", "train on the data as it is"),
    ImbalanceMethod("class_weight", "cross-entropy weighted n / (K * n_k) per class", weights_loss=True),
    ImbalanceMethod("balanced_sampler", "draw samples with probability 1 / n_y: classes equally often",
                    balances_sampler=True),
    ImbalanceMethod("smote", "SMOTE on cached features (Chawla et al. 2002)", resamples_features=True),
    ImbalanceMethod("borderline_smote", "Borderline-SMOTE-1 on cached features (Han et al. 2005)",
                    resamples_features=True),
    ImbalanceMethod("smote_tomek", "SMOTE, then Tomek links removed, on cached features (Batista et al. 2004)",
                    resamples_features=True),
)
IMBALANCE: dict[str, ImbalanceMethod] = {m.name: m for m in METHODS}
IMBALANCE_NAMES: tuple[str, ...] = tuple(IMBALANCE)
RESAMPLING_NAMES: tuple[str, ...] = tuple(m.name for m in METHODS if m.resamples_features)


def imbalance_method(name: str | ImbalanceMethod) -> ImbalanceMethod:
    """The declared method called ``name`` (an ``ImbalanceMethod`` is returned as is); an unknown name is a
    one-line ``ConfigError`` with did-you-mean and the available names."""
    if isinstance(name, ImbalanceMethod):
        return name
    if name in IMBALANCE:
        return IMBALANCE[name]
    close = difflib.get_close_matches(str(name), IMBALANCE_NAMES, n=2, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise ConfigError(f"unknown imbalance method {name!r}{hint} available: {', '.join(IMBALANCE_NAMES)}")


__all__ = ["IMBALANCE", "IMBALANCE_NAMES", "METHODS", "RESAMPLING_NAMES", "ImbalanceMethod", "imbalance_method"]
