"""Per-domain losses and the penalties of the domain-generalization methods built on them.

DomainBed (Gulrajani & Lopez-Paz, "In Search of Lost Domain Generalization", ICLR 2021) trains on one
minibatch per source domain. Here the runner hands one batch ``(x, y, d)`` of the concatenated sources,
``d`` (N,) long the source index of each sample, and a batch may hold any subset of the sources. These
helpers group by ``d`` and compute, for the domains present only (in increasing domain order):

- ``per_domain_cross_entropy``: each domain's mean cross-entropy, ``F.cross_entropy`` of its rows alone
  (class-weighted means when class weights are given), as DomainBed's per-minibatch losses.
- ``variance_penalty``: V-REx's penalty, the *biased* variance of the per-domain losses
  (``((losses - losses.mean()) ** 2).mean()``, exactly DomainBed's ``VREx.update``).
- ``coral_pair_penalty``: DomainBed's CORAL penalty (``AbstractMMD.mmd`` with ``gaussian=False``), the mean
  over pairs of domains of ``(mean_i - mean_j)^2.mean() + (cov_i - cov_j)^2.mean()`` with unbiased (n-1)
  covariances. A domain with fewer than 2 samples has no covariance and is left out (DomainBed would divide
  by zero); fewer than two usable domains: 0.
- ``group_dro_step``: GroupDRO's exponentiated-gradient update of the group weights (Sagawa et al., ICLR
  2020, Algorithm 1), ``q_d <- q_d * exp(eta * loss_d)`` then normalised, kept in log space (see there).

Shapes: ``logits`` (N, K), ``labels`` (N,), ``domains`` (N,) long, features (N, D); per-domain results are
(G,) for the G domains present, with ``present`` (G,) long their indices.

Usage::

    present, losses = per_domain_cross_entropy(logits, y, d)       # (G,), (G,)
    loss = losses.mean() + lam * variance_penalty(losses)           # V-REx
    loss = losses.mean() + gamma * coral_pair_penalty(split_by_domain(f, d))   # CORAL (DomainBed)
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F


def unpack_domains(batch: tuple) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(x, y, d)`` of a ``SOURCE_DOMAINS`` batch; a plain ``(x, y)`` batch is one domain (d all zeros)."""
    x, y = batch[0], batch[1]  # (N, C, H, W), (N,)
    d = batch[2] if len(batch) > 2 else torch.zeros(len(x), dtype=torch.long, device=x.device)  # (N,)
    return x, y, d


def domain_means(values: torch.Tensor, domains: torch.Tensor,
                 weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-domain means of ``values`` (N,): ``sum_{i in g} values_i / sum_{i in g} weights_i`` (weights 1 by
    default) -> (present (G,) long, means (G,)), differentiable in ``values``."""
    present, inverse = torch.unique(domains, return_inverse=True)  # (G,) sorted, (N,) in [0, G)
    w = torch.ones_like(values) if weights is None else weights.to(values.dtype)  # (N,)
    sums = values.new_zeros(len(present)).index_add(0, inverse, values)  # (G,)
    totals = w.new_zeros(len(present)).index_add(0, inverse, w)  # (G,)
    return present, sums / totals


def per_domain_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, domains: torch.Tensor,
                             class_weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Each present domain's mean cross-entropy: (N, K), (N,), (N,) -> (present (G,), losses (G,)).

    With ``class_weights`` (K,) each entry is ``F.cross_entropy(logits_g, labels_g, weight=class_weights)``,
    the class-weighted mean of the domain's rows (``train.imbalance: class_weight``).
    """
    losses = F.cross_entropy(logits.float(), labels, weight=class_weights, reduction="none")  # (N,) w_y * CE
    weights = None if class_weights is None else class_weights[labels]  # (N,) w_y: the weighted mean's denominator
    return domain_means(losses, domains, weights)


def variance_penalty(losses: torch.Tensor) -> torch.Tensor:
    """V-REx's penalty: the biased variance of the per-domain losses (G,) -> scalar (0 for one domain)."""
    return (losses - losses.mean()).pow(2).mean()


def coral_pair_penalty(groups: list[torch.Tensor]) -> torch.Tensor:
    """DomainBed's CORAL penalty over the feature groups ``[(n_g, D), ...]`` -> scalar, in float32.

    Mean over pairs ``g < h`` of ``(m_g - m_h)^2.mean() + (C_g - C_h)^2.mean()``, ``m`` (D,) the mean and ``C``
    (D, D) the unbiased covariance; groups of fewer than 2 rows are left out; 0 with fewer than two left.
    """
    usable = [g.float() for g in groups if len(g) >= 2]
    if len(usable) < 2:
        ref = groups[0] if groups else torch.zeros(())
        return ref.new_zeros((), dtype=torch.float32)
    means = [g.mean(0) for g in usable]  # each (D,)
    covs = [(g - m).T @ (g - m) / (len(g) - 1) for g, m in zip(usable, means)]  # each (D, D)
    pairs = list(itertools.combinations(range(len(usable)), 2))
    total = sum((means[i] - means[j]).pow(2).mean() + (covs[i] - covs[j]).pow(2).mean() for i, j in pairs)
    return total / len(pairs)


def group_dro_step(log_q: torch.Tensor, seen: torch.Tensor, present: torch.Tensor, losses: torch.Tensor,
                   eta: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One GroupDRO update of the group weights -> (new ``log_q`` (S,), new ``seen`` (S,), weights ``q`` (S,)).

    ``log_q`` (S,) float holds ``log q`` up to a constant for S domain slots, ``seen`` (S,) bool the domains
    met so far, ``present`` (G,) and ``losses`` (G,) this batch's domains and their mean losses (detached here).
    The update is ``q_d <- q_d * exp(eta * loss_d)`` for each present ``d``, i.e. ``log q_d += eta * loss_d``;
    a domain absent from the batch keeps its unnormalised weight (Sagawa et al.'s own code counts an absent
    group's loss as 0). ``q`` is ``softmax(log_q)`` over the seen slots, 0 elsewhere: with every domain in
    every batch it is exactly DomainBed's ``q``. Log space because DomainBed's float32 ``q`` underflows to
    exactly 0 for a domain whose loss stays lower (after ~100/eta steps of loss gap 1), and a zero weight
    never recovers; the shift by the max keeps ``log_q`` bounded and changes no weight.
    """
    new_log_q = log_q.clone()
    new_log_q[present] += eta * losses.detach().to(log_q.dtype)  # (G,) into their slots
    new_log_q = new_log_q - new_log_q.max()
    new_seen = seen.clone()
    new_seen[present] = True
    return new_log_q, new_seen, masked_softmax(new_log_q, new_seen)


def masked_softmax(log_q: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``softmax`` of ``log_q`` (S,) over the slots where ``mask`` (S,) is True, 0 elsewhere (all 0 if none)."""
    if not bool(mask.any()):
        return torch.zeros_like(log_q)
    return torch.softmax(log_q.masked_fill(~mask, float("-inf")), dim=0)
