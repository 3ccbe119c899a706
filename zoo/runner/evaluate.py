"""Evaluation from gathered predictions, so metrics are exact under any number of processes.

Each process predicts its shard; ``accelerator.gather_for_metrics`` collects logits and labels and drops
the samples Accelerate duplicated to even out the last batch. Metrics are computed on the full arrays.

On a CPU each evaluation batch goes through the network in near-equal chunks of at most ``CPU_CHUNK``
images (``forward_chunked``): the activations of 128 images at 28 px stay in cache, where those of a whole
512-image batch do not (simple_cnn's forward pass: 1.75x faster). Each image's logits are its own: the
same as in one pass up to float rounding (a matrix product of another height may sum in another order;
``tests/runner/test_eval_chunks.py`` bounds it) and deterministic, so ``train.eval_batch_size`` keeps its meaning.

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

CPU_CHUNK = 128  # images per forward pass of evaluation on a CPU (module docstring)


def forward_chunked(fn, x: torch.Tensor) -> torch.Tensor:
    """``fn(x)`` for a (B, ...) batch, computed at most ``CPU_CHUNK`` rows at a time on a CPU (at once elsewhere).

    Usage::

        logits = forward_chunked(model, images)     # (B, C, H, W) -> (B, K), as model(images)
    """
    if x.device.type != "cpu" or len(x) <= CPU_CHUNK:
        return fn(x)
    # Chunks whose sizes differ by at most one, none above CPU_CHUNK: 263 images as 88 + 88 + 87, not
    # 128 + 128 + 7 (a chunk of a few images costs about twice as much per image: the kernels' fixed cost is
    # shared by too few).
    return torch.cat([fn(chunk) for chunk in torch.tensor_split(x, -(-len(x) // CPU_CHUNK))])


@torch.no_grad()
def predict(accelerator, model, loader, normalizer) -> tuple[torch.Tensor, torch.Tensor]:
    """All logits and labels of a prepared loader, gathered from every process, in loader order."""
    was_training = model.training
    model.eval()
    all_logits, all_labels = [], []
    for images, labels in loader:
        x = normalizer(images)  # (B, C, H, W) float
        with accelerator.autocast():
            logits = forward_chunked(model, x)  # (B, K)
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


def evaluate_loaders(accelerator, model, loaders: dict[str, Any], normalizer,
                     label_names: list[str]) -> dict[str, dict]:
    """``{split: metrics}`` for each prepared loader (accuracy, balanced accuracy, P/R/F1, AUROC, per class)."""
    return evaluate_splits(accelerator, model, loaders, normalizer, label_names)[0]
