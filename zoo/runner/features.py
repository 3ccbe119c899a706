"""Head-only stages on cached features: the backbone runs once per stage, every epoch costs only the head.

A stage with ``features=True`` (linear probe, the first stage of LP-FT) trains the classifier on a frozen
backbone. Recomputing the same features every epoch would dominate its cost, so the runner computes
them once, in eval mode (BatchNorm statistics and dropout frozen, no augmentation), gathers them from
every process, optionally resamples them (SMOTE and friends, ``train.imbalance``), and serves seeded,
sharded batches of ``(features (B, D), labels (B,))``.

Usage::

    stream = feature_stream(accelerator, model, split, normalizer, batch_size=128, seed=0, eval_batch_size=512)
    f, y = next(stream)                                   # (128, D) float32, (128,) int64
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Iterator

import torch

from zoo.datasets.base import Split
from zoo.imbalance import resample_for, sample_weights_for
from zoo.imbalance_methods import ImbalanceMethod, imbalance_method
from zoo.runner.batches import TensorBatches, cycle, keep_batch


@torch.no_grad()
def compute_features(accelerator, model, split: Split, normalizer,
                     batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Backbone features of every image of ``split`` on every process: (N, D) float32, (N,) int64, in order."""
    from zoo.runner.batches import make_loader
    from zoo.runner.evaluate import forward_chunked

    algorithm = accelerator.unwrap_model(model)
    was_training = algorithm.training
    algorithm.eval()
    loader = accelerator.prepare_data_loader(make_loader(split, batch_size, shuffle=False))
    feats, labels = [], []
    for images, y in loader:
        with accelerator.autocast():
            f = forward_chunked(algorithm.features, normalizer(images))  # (B, C, H, W) -> (B, D)
        f, y = accelerator.gather_for_metrics((f.float().contiguous(), y.contiguous()))  # every process: all rows
        feats.append(f)
        labels.append(y)
    algorithm.train(was_training)
    return torch.cat(feats), torch.cat(labels)


def feature_stream(accelerator, model, split: Split, normalizer, batch_size: int, seed: int, eval_batch_size: int,
                   imbalance: str | ImbalanceMethod = "none", num_classes: int | None = None
                   ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """An endless, seeded, sharded stream of ``(features, labels)`` batches over ``split``'s cached features.

    ``imbalance`` (a name or an ``ImbalanceMethod`` of ``zoo.imbalance_methods``): a method that resamples
    features (the SMOTE family) resamples them first; one that balances the sampler draws classes equally
    often. The features are computed and gathered on the training device, then served from the host through a
    seeded DataLoader that Accelerate shards and moves per batch (a head's step is tiny). With a balancing
    sampler that loader has no generator of its own, so each pass draws its base seed from the global RNG
    (whatever draws from it afterwards, in this stage or a later one, sees it); ``DeviceBatches`` would not,
    but moving to it changes those runs' results under the same run ids, so it waits for a new id policy.
    """
    from torch.utils.data import DataLoader, WeightedRandomSampler

    method = imbalance_method(imbalance)
    feats, labels = compute_features(accelerator, model, split, normalizer, eval_batch_size)  # (N, D), (N,)
    feats, labels = resample_for(method, feats, labels, seed)  # (N', D), (N',): unchanged unless it resamples
    generator = torch.Generator().manual_seed(seed)
    sampler = None
    if method.balances_sampler:
        weights = sample_weights_for(method, labels.cpu(), num_classes or int(labels.max()) + 1)  # (N',) float64
        sampler = WeightedRandomSampler(weights.double(), len(labels), replacement=True, generator=generator)
    rows = SimpleNamespace(images=feats.cpu(), labels=labels.cpu(), domains=None)  # indexed like a Split
    small = len(labels) < batch_size * accelerator.num_processes
    loader = DataLoader(TensorBatches(rows), batch_size=batch_size, shuffle=sampler is None, sampler=sampler,
                        drop_last=not small, collate_fn=keep_batch, generator=generator if sampler is None else None)
    return cycle(accelerator.prepare_data_loader(loader))
