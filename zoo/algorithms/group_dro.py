"""GroupDRO: minimise the worst source domain's loss through adaptive weights on the domains.

Sagawa, Koh, Hashimoto & Liang, "Distributionally Robust Neural Networks for Group Shifts: On the Importance
of Regularization for Worst-Case Generalization", ICLR 2020, Algorithm 1 (online group DRO), in DomainBed's
form (Gulrajani & Lopez-Paz, ICLR 2021, ``algorithms.GroupDRO``): the groups are the source domains. Each
training step computes each domain's mean cross-entropy ``loss_d``, updates the group weights
``q_d <- q_d * exp(eta * loss_d)``, normalises them, and returns ``sum_d q_d * loss_d`` with the updated
``q`` (weights treated as constants). The target is never read.

The weights live in a buffer of fixed size (``MAX_DOMAINS`` slots, initialised uniform) because the number
of sources is not known at construction, and a checkpoint must load into a freshly built model (a buffer
that grew would not fit it). It is kept in log space (``running_log_q``; the property ``q`` gives the
weights): the same update, but a weight cannot underflow to an exact 0 that never recovers (see
``zoo.losses.domain_groups.group_dro_step``). ``q`` is normalised over the domains seen so far. A batch
holding only some sources updates those; the absent ones keep their unnormalised weight and add no loss
(as in Sagawa et al.'s code), and a domain first met late enters with the weight of a group whose loss was
0 until then. The buffer's name holds "running": like BatchNorm's running statistics it moves during
training steps, not through the optimizer. It moves only in training mode (an eval-mode ``training_step``
leaves it), and once per step the runner numbers with ``set_progress``: ``training_step`` run twice for one
step (the same step index) starts both times from the weights before that step, so it gives the same loss
(buffers ``running_log_q_prior``, ``last_update_step``). Under DistributedDataParallel the buffers are
broadcast from rank 0 before each forward, so rank 0's update (on its share of the batch) wins.

Differences from DomainBed: one forward pass over the mixed batch (DomainBed runs one per domain, so
BatchNorm statistics there are per domain); domains absent from a batch are handled as above (DomainBed's
batches always hold all of them).

Usage::

    algo = GroupDRO(zoo.create_backbone("resnet18_28", in_chans=1), num_classes=2, hparams={"eta": 0.01})
    out = algo.training_step((x, y, d), None)     # d (N,) long source index; {"loss", "q_max", "q_entropy", ...}
    algo.q                                        # (MAX_DOMAINS,) weights of the domains seen, 0 elsewhere
"""

from __future__ import annotations

from typing import Any

import torch

from zoo.algorithms.base import Algorithm, Batch, HParam
from zoo.errors import ConfigError
from zoo.losses.domain_groups import group_dro_step, masked_softmax, per_domain_cross_entropy, unpack_domains

MAX_DOMAINS = 32  # slots of the group weights: source domains a GroupDRO model can weigh


class GroupDRO(Algorithm):
    """Exponentiated-gradient weights on the source domains; loss = sum_d q_d * CE_d."""

    PAPER = ("Sagawa, Koh, Hashimoto & Liang, Distributionally Robust Neural Networks for Group Shifts, ICLR 2020 "
             "(DomainBed's GroupDRO)")
    SOURCE_DOMAINS = True
    SETTINGS = ("generalization", "transfer")
    HPARAMS = {
        "eta": HParam(1e-2, ("log", 1e-3, 1e-1), "step size of the group weights' update q_d *= exp(eta * loss_d)",
                      low=0),
    }

    def __init__(self, backbone, num_classes: int, hparams: dict[str, Any] | None = None) -> None:
        super().__init__(backbone, num_classes, hparams)
        # log q up to a constant, one slot per possible source (MAX_DOMAINS,): all 0 = uniform
        self.register_buffer("running_log_q", torch.zeros(MAX_DOMAINS))
        self.register_buffer("domains_seen", torch.zeros(MAX_DOMAINS, dtype=torch.bool))  # (MAX_DOMAINS,)
        # the same before the latest update, and that update's step: a step run twice is updated once
        self.register_buffer("running_log_q_prior", torch.zeros(MAX_DOMAINS))
        self.register_buffer("domains_seen_prior", torch.zeros(MAX_DOMAINS, dtype=torch.bool))
        self.register_buffer("last_update_step", torch.tensor(-1))
        self._progress_step: int | None = None  # from set_progress: optimizer steps done in this stage

    def set_progress(self, step: int, total_steps: int) -> None:
        self._progress_step = int(step)

    @property
    def q(self) -> torch.Tensor:
        """The group weights (MAX_DOMAINS,): normalised over the domains seen so far, 0 for the others."""
        return masked_softmax(self.running_log_q, self.domains_seen)

    def _update(self, present: torch.Tensor, losses: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """This step's weights and seen domains, both (MAX_DOMAINS,), committed to the buffers in training mode
        only (as DomainBed's ``update``). A step the runner numbers (``set_progress``) is updated once: run again
        with the same step index, it starts over from the weights before its first run. Without
        ``set_progress`` every training-mode call is a new step."""
        step = self._progress_step
        rerun = step is not None and step == int(self.last_update_step)
        log_q = self.running_log_q_prior if rerun else self.running_log_q  # (MAX_DOMAINS,) before this step
        seen = self.domains_seen_prior if rerun else self.domains_seen
        new_log_q, new_seen, q = group_dro_step(log_q, seen, present, losses, self.hparams["eta"])
        if self.training:
            if not rerun:
                self.running_log_q_prior.copy_(self.running_log_q)
                self.domains_seen_prior.copy_(self.domains_seen)
            self.running_log_q.copy_(new_log_q)
            self.domains_seen.copy_(new_seen)
            self.last_update_step.fill_(-1 if step is None else step)
        return q, new_seen

    def training_step(self, source_batch: Batch | None, target_batch: Batch | None) -> dict[str, torch.Tensor]:
        x, y, d = unpack_domains(source_batch)  # (N, C, H, W), (N,), (N,)
        logits = self.predict(x)  # (N, K)
        present, losses = per_domain_cross_entropy(logits, y, d, self.class_weights)  # (G,), (G,)
        first, last = present[[0, -1]].tolist()  # sorted: the smallest and largest index present
        if first < 0 or last >= MAX_DOMAINS:
            raise ConfigError(f"GroupDRO weighs at most {MAX_DOMAINS} source domains (indices 0..{MAX_DOMAINS - 1}), "
                              f"got domain index {first if first < 0 else last}")
        with torch.no_grad():
            q, seen = self._update(present, losses)  # (MAX_DOMAINS,) this step's weights, domains seen
        loss = (q[present] * losses).sum()  # (G,) . (G,) -> scalar; q constant, as DomainBed's q (a buffer)
        weights = q[seen]  # (domains seen,) sums to 1
        entropy = -(weights * weights.clamp_min(1e-12).log()).sum()
        return {
            "loss": loss,
            "ce": losses.mean().detach(),  # mean over the domains present (ERM's objective over the groups)
            "worst_domain_ce": losses.max().detach(),
            "q_max": weights.max(),
            "q_entropy": entropy,  # log(#domains) when uniform, 0 when all weight is on one domain
            "acc": (logits.argmax(1) == y).float().mean().detach(),
        }
