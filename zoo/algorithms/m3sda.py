"""M3SDA: moment matching for multi-source domain adaptation.

Peng, Bai, Xia, Huang, Saenko & Wang, "Moment Matching for Multi-Source Domain Adaptation", ICCV 2019.
Loss: ``CE(all sources) + weight * MD^2``, the moment distance over the first ``moments`` moments between
each source and the target and between every pair of sources (``zoo.losses.moment_matching``). The source
of each sample comes from the batch: ``SOURCE_DOMAINS = True`` makes the runner pass ``(x, y, d)``. This is
the moment-matching component of the paper with one shared classifier: the per-source classifiers, their
weighted combination and the M3SDA-beta classifier-discrepancy step are not implemented. With one source it
is moment matching between source and target. Unsupervised: target labels are never used.

Usage::

    algo = M3SDA(backbone, num_classes=3, hparams={"moments": 2})
    out = algo.training_step((x_s, y_s, d_s), (x_t, None))     # d_s (N,) long source index
"""

from __future__ import annotations

from typing import Any

import torch

from zoo.algorithms.base import HParam
from zoo.algorithms.uda import UDA_HPARAMS, AdaptationAlgorithm
from zoo.losses import MomentDistance, split_by_domain


class M3SDA(AdaptationAlgorithm):
    """Source cross-entropy + moment distance among the sources and the target."""

    PAPER = "Peng et al., Moment Matching for Multi-Source Domain Adaptation, ICCV 2019"
    SOURCE_DOMAINS = True
    HPARAMS = {
        **UDA_HPARAMS,
        "moments": HParam(2, ("int", 1, 5), "number of moments matched (k): mean, then central moments",
                          low=1),
    }

    def __init__(self, backbone, num_classes: int, hparams: dict[str, Any] | None = None) -> None:
        super().__init__(backbone, num_classes, hparams)
        self.moment_distance = MomentDistance(self.hparams["moments"])

    def alignment(self, f_s, logits_s, f_t, logits_t, source_batch) -> dict[str, torch.Tensor]:
        # (x, y, d) from the runner; a plain (x, y) batch is one source domain
        domains = (source_batch[2] if len(source_batch) > 2
                   else torch.zeros(len(f_s), dtype=torch.long, device=f_s.device))  # (N_s,)
        sources = split_by_domain(f_s, domains)  # list of (n_i, D)
        return {"loss": self.moment_distance(sources, f_t), "sources_in_batch": f_s.new_tensor(float(len(sources)))}
