"""Named random streams of a run: each consumer of randomness seeds its own generator, by name, from the run's seed.

A run's data order, augmentation and pretraining draw from separate generators, so that turning one of
them on (augmentation, say) never changes what another draws (the batches' order). Their seeds are the
run's seed plus a fixed offset per stream. The offsets are historical: they are the numbers the runner has
always added (``run.seed + 10_000`` for augmentation, ...), kept as they were because a run's trajectory,
and so every recorded metric, depends on them. Changing an offset changes every result of that stream's
runs without changing their run ids: add a new name instead, never renumber an old one.

Data order (``zoo.runner.streams.TrainStreams``: source ``seed``, unlabeled target ``seed + 1``, labeled
target ``seed + 2``) and a pretraining step's initial head and order (``seed + k`` for step ``k``) are listed
here too, so that the table shows every stream a run's seed feeds.

Usage::

    seed_stream(run.seed, "augment")                     # run.seed + 10_000
    seed_stream(config["seed"], "pretrain_step", k)     # config["seed"] + k
    generator = stream_generator(run.seed, "augment")    # torch.Generator seeded with the above
"""

from __future__ import annotations

from typing import Any

# name -> offset added to the run's seed. Historical values: never change one (see the module docstring).
SEED_OFFSETS: dict[str, int] = {
    "source_order": 0,  # labeled source batches (TrainStreams)
    "target_unlabeled_order": 1,  # unlabeled target batches (TrainStreams)
    "target_labeled_order": 2,  # the labeled target budget's batches (TrainStreams)
    "pretrain_step": 0,  # + the step's index: global RNG before a pretraining step (its head, its order)
    "augment": 10_000,  # train.augment's per-sample draws in train_run (its own stream: data order unchanged)
    "pretrain_augment": 20_000,  # train.augment's draws in every pretraining step
}


def seed_stream(seed: int, name: str, index: int = 0) -> int:
    """The seed of stream ``name`` (plus ``index``, e.g. a pretraining step's) for a run seeded ``seed``."""
    if name not in SEED_OFFSETS:
        raise KeyError(f"unknown seed stream {name!r}; declared: {', '.join(SEED_OFFSETS)} (zoo.runner.seed_streams)")
    return seed + SEED_OFFSETS[name] + index


def stream_generator(seed: int, name: str, index: int = 0) -> Any:
    """A CPU ``torch.Generator`` seeded with ``seed_stream(seed, name, index)``."""
    import torch

    return torch.Generator().manual_seed(seed_stream(seed, name, index))


__all__ = ["SEED_OFFSETS", "seed_stream", "stream_generator"]
