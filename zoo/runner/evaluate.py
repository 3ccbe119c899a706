"""Evaluation from gathered predictions, so metrics are exact under any number of processes.

Each process predicts its shard; ``accelerator.gather_for_metrics`` collects logits and labels and drops
the samples Accelerate duplicated to even out the last batch. Metrics are computed on the full arrays.

Usage::

    logits, labels = predict(accelerator, model, loader, normalizer)       # (N, K) float32, (N,)
    metrics = evaluate_loaders(accelerator, model, loaders, normalizer, label_names)
"""

from __future__ import annotations

from typing import Any

import torch

from zoo.metrics import classification_metrics


@torch.no_grad()
def predict(accelerator, model, loader, normalizer) -> tuple[torch.Tensor, torch.Tensor]:
    """All logits and labels of a prepared loader, gathered from every process, in loader order."""
    was_training = model.training
    model.eval()
    all_logits, all_labels = [], []
    for images, labels in loader:
        x = normalizer(images)  # (B, C, H, W) float
        with accelerator.autocast():
            logits = model(x)  # (B, K)
        logits, labels = accelerator.gather_for_metrics((logits.float().contiguous(), labels.contiguous()))
        all_logits.append(logits.cpu())
        all_labels.append(labels.cpu())
    model.train(was_training)
    return torch.cat(all_logits), torch.cat(all_labels)


def evaluate_loaders(accelerator, model, loaders: dict[str, Any], normalizer, label_names: list[str]) -> dict[str, dict]:
    """``{split: metrics}`` for each prepared loader (accuracy, balanced accuracy, P/R/F1, AUROC, per class)."""
    results = {}
    for name, loader in loaders.items():
        logits, labels = predict(accelerator, model, loader, normalizer)
        results[name] = classification_metrics(
            logits, labels, num_classes=len(label_names), label_names=label_names, from_logits=True
        )
    return results
