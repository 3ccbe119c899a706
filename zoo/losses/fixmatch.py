"""FixMatch's consistency term: confident pseudo-labels from a weak view teach the strong view.

Sohn, Berthelot, Li, Zhang, Carlini, Cubuk, Kurakin, Zhang & Raffel, "FixMatch: Simplifying Semi-Supervised
Learning with Consistency and Confidence", NeurIPS 2020 (Eq. 4). For an unlabeled batch of ``N`` images seen
under a weak augmentation (logits ``w``) and a strong one (logits ``s``), both (N, K):

    q_i      = softmax(w_i)              no gradient: the weak view only labels (stop_gradient in the paper)
    yhat_i   = argmax_k q_ik             hard pseudo-label
    mask_i   = [max_k q_ik >= tau]       confident samples only
    loss     = (1 / N) sum_i mask_i * CE(s_i, yhat_i)

The sum is divided by the whole unlabeled batch ``N``, not by the number of confident samples (as the
paper's Eq. 4 and both reference implementations, google-research/fixmatch and kekmodel/FixMatch-pytorch):
the term grows with the share of confident samples. ``mask_rate`` = ``mean_i mask_i`` is returned for
logging. ``tau = 1`` masks every sample: ``max q = 1`` is impossible for finite logits, but float32 softmax
rounds saturated rows to exactly 1.0, so the threshold 1 is treated as "nothing is confident" (a clean
off switch), not left to rounding.

Shapes: ``weak_logits`` (N, K), ``strong_logits`` (N, K) -> ``(loss, mask_rate)``, two scalars; ``mask_rate``
is detached.

Usage::

    logits_w, logits_s = model(torch.cat([x_weak, x_strong])).chunk(2)      # (N, K) each
    loss_u, mask_rate = fixmatch_consistency(logits_w, logits_s, threshold=0.95)
    loss = ce_labeled + 1.0 * loss_u
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def confident_pseudo_labels(weak_logits: torch.Tensor, threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Hard pseudo-labels and the confidence mask of the weak view: (N, K) -> (N,) long, (N,) float in {0, 1}.

    Computed without gradient. ``threshold >= 1`` gives an all-zero mask (see the module docstring).

    Usage::

        labels, mask = confident_pseudo_labels(logits_w, 0.95)
    """
    with torch.no_grad():
        probs = weak_logits.detach().float().softmax(1)  # (N, K)
        confidence, labels = probs.max(1)  # (N,), (N,)
        mask = (confidence >= threshold) & (threshold < 1.0)  # (N,) bool
    return labels, mask.float()


def fixmatch_consistency(weak_logits: torch.Tensor, strong_logits: torch.Tensor,
                         threshold: float = 0.95) -> tuple[torch.Tensor, torch.Tensor]:
    """``mean_i mask_i * CE(strong_i, argmax softmax(weak_i))`` over the whole batch, and the mask rate.

    Usage::

        loss_u, mask_rate = fixmatch_consistency(logits_w, logits_s, threshold=0.95)
    """
    if weak_logits.shape != strong_logits.shape:
        raise ValueError(f"fixmatch_consistency: weak logits {tuple(weak_logits.shape)} and strong logits "
                         f"{tuple(strong_logits.shape)} must have the same shape (N, K)")
    labels, mask = confident_pseudo_labels(weak_logits, threshold)  # (N,), (N,)
    per_sample = F.cross_entropy(strong_logits, labels, reduction="none")  # (N, K), (N,) -> (N,)
    loss = (per_sample * mask.to(per_sample.dtype)).mean()  # divided by N, not by mask.sum()
    return loss, mask.mean()
