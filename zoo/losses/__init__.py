"""Reusable loss modules that algorithms are built from; each module documents its paper, formula and shapes.

- ``grl``: gradient reversal, with DANN's warm-start schedule.
- ``discriminator``: the domain discriminator MLP and the domain-adversarial loss (DANN).
- ``mmd``: multi-kernel MMD with Gaussian kernels (DAN).
- ``coral``: Deep CORAL covariance alignment.
- ``cdan``: multilinear conditioning (and its randomized variant), entropy weights (CDAN, CDAN+E).
- ``mcc``: minimum class confusion.
- ``moment_matching``: M3SDA's moment distance among several sources and the target.
- ``contrastive``: contrastive semantic alignment (CCSA).
- ``pseudo_label``: agreement-and-confidence pseudo-labels, cross-teaching, head diversity (co-training).

Usage::

    from zoo.losses import MultipleKernelMMD, CorrelationAlignmentLoss
    loss = ce + 1.0 * MultipleKernelMMD()(f_s, f_t)
"""

from zoo.losses.cdan import (
    ConditionalDomainAdversarialLoss,
    RandomizedMultilinearMap,
    entropy,
    entropy_weights,
    multilinear_map,
    use_randomized_map,
)
from zoo.losses.coral import CorrelationAlignmentLoss, covariance
from zoo.losses.discriminator import DomainAdversarialLoss, DomainDiscriminator
from zoo.losses.grl import GradientReverseLayer, WarmStartGradientReverseLayer, reverse_gradient, warm_start_coeff
from zoo.losses.mcc import MinimumClassConfusionLoss
from zoo.losses.mmd import MultipleKernelMMD
from zoo.losses.moment_matching import MomentDistance, moments, split_by_domain

__all__ = [
    "ConditionalDomainAdversarialLoss", "CorrelationAlignmentLoss", "DomainAdversarialLoss", "DomainDiscriminator",
    "GradientReverseLayer", "MinimumClassConfusionLoss", "MomentDistance", "MultipleKernelMMD",
    "RandomizedMultilinearMap", "WarmStartGradientReverseLayer", "covariance", "entropy", "entropy_weights",
    "moments", "multilinear_map", "reverse_gradient", "split_by_domain", "use_randomized_map", "warm_start_coeff",
]
