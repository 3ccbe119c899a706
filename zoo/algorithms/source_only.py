"""Source-only (ERM): supervised training on the labeled source, evaluated on the target as is.

The baseline every transfer method is compared with (Vapnik 1998; DomainBed's ERM, Gulrajani & Lopez-Paz
2021). It ignores target data, whatever the task's label budget. It runs in every setting: in a
source-free task it is the shipped source model evaluated as it is (its source stage is the source model's
training), in a generalization task it is DomainBed's ERM on the concatenated sources.

Usage::

    algo = SourceOnly(zoo.create_backbone("simple_cnn", in_chans=1), num_classes=2)
    out = algo.training_step((x, y), None)      # {"loss": tensor(...), "acc": tensor(...)}
"""

from __future__ import annotations

import torch

from zoo.algorithms.base import Algorithm, Batch


class SourceOnly(Algorithm):
    """Cross-entropy on labeled source batches."""

    PAPER = "Gulrajani & Lopez-Paz, In Search of Lost Domain Generalization, ICLR 2021 (ERM baseline)"
    SETTINGS = ("transfer", "source_free", "semi_supervised", "generalization")

    def training_step(self, source_batch: Batch | None, target_batch: Batch | None) -> dict[str, torch.Tensor]:
        x, y = source_batch  # x (N, C, H, W), y (N,)
        logits = self.predict(x)  # (N, K)
        loss = self.cross_entropy(logits, y)
        return {"loss": loss, "acc": (logits.argmax(1) == y).float().mean().detach()}
