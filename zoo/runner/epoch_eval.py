"""The evaluation of one epoch: every validation and test split, DEV when asked, with training untouched.

Splits are evaluated domain by domain (``source_*``, then ``target_*``) inside the algorithm's
``evaluation_state(domain, unlabeled)`` hook, so a method that adapts at test time (AdaBN re-estimates its
BatchNorm statistics on the domain's unlabeled training images) is evaluated as its paper states, while
the runner never names it. Everything runs inside ``isolated_rng``: the global RNG is restored afterwards,
so evaluating every epoch, every other epoch or with DEV gives the same training trajectory.

Usage::

    evaluate = EpochEvaluator(accelerator, data, normalizer, batch_size=512, seed=0)
    val, test, probs = evaluate(model, with_dev=True)     # {split: metrics}, ..., {split: (N, K) float32}
"""

from __future__ import annotations

from typing import Any, Iterator

import torch

from zoo.bench.task_data import TaskData
from zoo.runner.evaluate import evaluate_splits, isolated_rng
from zoo.runner.streams import eval_loaders

DOMAINS = ("source", "target")


class EpochEvaluator:
    """Evaluates a model on a task's validation and test splits (see the module docstring)."""

    def __init__(self, accelerator, data: TaskData, normalizer, batch_size: int, seed: int) -> None:
        self.accelerator, self.data, self.normalizer = accelerator, data, normalizer
        self.batch_size, self.seed = batch_size, seed
        self.val_loaders, self.test_loaders = eval_loaders(accelerator, data, batch_size)

    def unlabeled(self, domain: str) -> Iterator[torch.Tensor]:
        """The domain's training images, normalised, on the device, in order: (B, C, H, W) float batches.

        Every process reads all of them (not a shard), so statistics estimated from them agree everywhere.
        """
        split = (self.data.source if domain == "source" else self.data.target).splits["train"]
        for start in range(0, len(split), self.batch_size):
            images = split.images[start:start + self.batch_size].to(self.accelerator.device)  # (B, C, H, W) uint8
            yield self.normalizer(images)

    def __call__(self, model, with_dev: bool = False) -> tuple[dict[str, Any], dict[str, Any], dict[str, torch.Tensor]]:
        """``(val, test, probs)``: metrics per validation and test split, and each split's probabilities."""
        algorithm = self.accelerator.unwrap_model(model)
        val: dict[str, Any] = {}
        test: dict[str, Any] = {}
        probs: dict[str, torch.Tensor] = {}
        with isolated_rng(self.accelerator):
            for domain in DOMAINS:
                if domain == "source" and self.data.source is None:
                    continue
                loaders = {**{k: v for k, v in self.val_loaders.items() if k.startswith(domain)},
                           **{k: v for k, v in self.test_loaders.items() if k.startswith(domain)}}
                with algorithm.evaluation_state(domain, lambda d=domain: self.unlabeled(d)):
                    metrics, domain_probs = evaluate_splits(self.accelerator, model, loaders, self.normalizer,
                                                            self.data.label_names)
                probs.update(domain_probs)
                for name, value in metrics.items():
                    (val if name in self.val_loaders else test)[name] = value
            if with_dev:  # label-free selection: DEV's estimate of the target risk
                from zoo.runner.dev import dev_evaluation

                val["dev"] = dev_evaluation(self.accelerator, model, self.data, self.normalizer, self.batch_size,
                                            self.seed)
        order = [*self.val_loaders, *(["dev"] if with_dev else [])]
        return {k: val[k] for k in order}, {k: test[k] for k in self.test_loaders}, probs
