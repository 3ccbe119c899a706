"""CORAL for domain generalization: align the feature means and covariances of every pair of source domains.

Sun & Saenko, "Deep CORAL: Correlation Alignment for Deep Domain Adaptation", ECCV 2016 Workshops, in the
multi-domain form of DomainBed (Gulrajani & Lopez-Paz, "In Search of Lost Domain Generalization", ICLR 2021,
``algorithms.CORAL``, i.e. ``AbstractMMD`` with ``gaussian=False``). With ``f_d`` the backbone features of
source domain ``d`` in the batch, ``m_d`` (D,) their mean and ``C_d`` (D, D) their unbiased covariance:

    loss = mean_d CE_d + weight * mean_{d < e} [ (m_d - m_e)^2.mean() + (C_d - C_e)^2.mean() ]

``weight`` is DomainBed's ``mmd_gamma``. Unlike Deep CORAL's source-target loss (``zoo.algorithms.coral``,
``||C_s - C_t||_F^2 / 4d^2``) this matches the means too and averages over entries, and it aligns the sources
with each other: the target is never read. With one domain in the batch there is no penalty (ERM); a domain
with a single sample in the batch has no covariance and is left out of the penalty (DomainBed would divide
by zero). ``ALIGNMENT_WEIGHT = "weight"``: ``weight: 0`` is its ERM twin (same batches, per-domain mean CE).

Difference from DomainBed: one forward pass over the mixed batch (DomainBed runs the featurizer once per
domain, so its BatchNorm statistics are per domain), and a batch may hold any subset of the sources.

Usage::

    algo = CORALDG(zoo.create_backbone("resnet18_28", in_chans=3), num_classes=7, hparams={"weight": 1.0})
    out = algo.training_step((x, y, d), None)     # d (N,) long source index; {"loss", "ce", "coral", ...}
"""

from __future__ import annotations

import torch

from zoo.algorithms.base import Algorithm, Batch, HParam
from zoo.losses.domain_groups import coral_pair_penalty, per_domain_cross_entropy, unpack_domains
from zoo.losses.moment_matching import split_by_domain


class CORALDG(Algorithm):
    """Mean per-domain cross-entropy + weight x DomainBed's mean/covariance distance between source pairs."""

    PAPER = ("Sun & Saenko, Deep CORAL: Correlation Alignment for Deep Domain Adaptation, ECCV-W 2016 "
             "(DomainBed's multi-domain CORAL)")
    SOURCE_DOMAINS = True
    SETTINGS = ("generalization", "transfer")
    ALIGNMENT_WEIGHT = "weight"
    HPARAMS = {
        "weight": HParam(1.0, ("log", 1e-1, 1e1), "weight of the mean/covariance distance between source domains "
                                                  "(DomainBed's mmd_gamma)", low=0),
    }

    def training_step(self, source_batch: Batch | None, target_batch: Batch | None) -> dict[str, torch.Tensor]:
        x, y, d = unpack_domains(source_batch)  # (N, C, H, W), (N,), (N,)
        features = self.features(x)  # (N, D)
        logits = self.classifier(features)  # (N, K)
        present, losses = per_domain_cross_entropy(logits, y, d, self.class_weights)  # (G,), (G,)
        ce = losses.mean()  # DomainBed's objective / nmb
        penalty = coral_pair_penalty(split_by_domain(features, d))  # [(n_g, D)] -> scalar
        return {
            "loss": ce + self.hparams["weight"] * penalty,
            "ce": ce.detach(),
            "coral": penalty.detach(),
            "domains_in_batch": ce.new_tensor(float(len(present))),
            "acc": (logits.argmax(1) == y).float().mean().detach(),
        }
