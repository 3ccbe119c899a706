"""Evaluation from gathered predictions, so metrics are exact under any number of processes.

Each process predicts its shard; ``accelerator.gather_for_metrics`` collects logits and labels and drops
the samples Accelerate duplicated to even out the last batch. Metrics are computed on the full arrays.

Usage::

    logits, labels = predict(accelerator, model, loader, normalizer)       # (N, K) float32, (N,)
    metrics = evaluate_loaders(accelerator, model, loaders, normalizer, label_names)
    metrics, probs = evaluate_splits(accelerator, model, loaders, normalizer, label_names)  # + (N, K) per split
    with isolated_rng(accelerator):      # evaluation draws nothing that training will see
        ...
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch



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


@contextlib.contextmanager
def isolated_rng(accelerator) -> Iterator[None]:
    """Run the block with the global torch RNG (CPU and the accelerator's device) restored afterwards.

    Evaluation, DEV and extra metrics run inside it, so however often a run is evaluated, the dropout masks,
    data order and augmentations of its training steps are the same (a run's trajectory
    never depends on how it is evaluated). Loaders of evaluation also carry their own generator
    (``zoo.runner.batches.make_loader``); this is the guarantee for everything else.
    """
    device = accelerator.device
    devices = [device.index if device.index is not None else 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        yield


def evaluate_splits(accelerator, model, loaders: dict[str, Any], normalizer, label_names: list[str]
                    ) -> tuple[dict[str, dict], dict[str, torch.Tensor]]:
    """``({split: metrics}, {split: probabilities})``: the metrics of ``evaluate_loaders`` and, for each
    split, the softmax probabilities (N, K) float32 in the split's own order (index i = image i)."""
    from zoo.runner.epoch_metrics import full_report

    results, probs = {}, {}
    for name, loader in loaders.items():
        logits, labels = predict(accelerator, model, loader, normalizer)  # (N, K), (N,)
        results[name] = full_report(logits, labels, label_names)  # with predicted_classes
        probs[name] = torch.softmax(logits.float(), dim=1)
    return results, probs


def evaluate_loaders(accelerator, model, loaders: dict[str, Any], normalizer, label_names: list[str]) -> dict[str, dict]:
    """``{split: metrics}`` for each prepared loader (accuracy, balanced accuracy, P/R/F1, AUROC, per class)."""
    return evaluate_splits(accelerator, model, loaders, normalizer, label_names)[0]
