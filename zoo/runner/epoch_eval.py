"""The evaluation of one epoch: every validation and test split, DEV when asked, with training untouched.

Splits are evaluated domain by domain (``source_*``, then ``target_*``) inside the algorithm's
``evaluation_state(domain, unlabeled)`` hook, so a method that adapts at test time (AdaBN re-estimates its
BatchNorm statistics on the domain's unlabeled training images) is evaluated as its paper states, while
the runner never names it. Everything runs inside ``isolated_rng``: the global RNG is restored afterwards,
so evaluating every epoch, every other epoch or with DEV gives the same training trajectory.

Given the selection metric, each epoch gets the cheap report of ``zoo.runner.epoch_metrics`` (what the
rules and a record's curves read, bit-identical to the full one); ``report`` then replaces the entries of
the selected epochs with the full ``classification_metrics`` report, from the logits kept for them. So a
run's record is the same as with the full report every epoch (``FULL_EVERY_EPOCH = True``, the reference
that ``tests/e2e/test_cheap_evaluation.py`` compares with).

Usage::

    evaluate = EpochEvaluator(accelerator, data, normalizer, batch_size=512, seed=0, metric="accuracy")
    val, test, probs, outputs = evaluate(model, with_dev=True)   # {split: metrics}, ..., {split: (N, K) float32},
                                                                 # {split: ((N, K) logits, (N,) labels)}
    evaluate.report(history, {index: outputs})   # selected epochs: the full report, in place
"""

from __future__ import annotations

from typing import Any, Iterator

import torch

from zoo.bench.task_data import TaskData
from zoo.runner.epoch_metrics import epoch_metrics, full_report
from zoo.runner.evaluate import isolated_rng, predict
from zoo.runner.streams import eval_loaders

DOMAINS = ("source", "target")
FULL_EVERY_EPOCH = False  # True: the full report at every epoch (the reference the cheap one is tested against)


class EpochEvaluator:
    """Evaluates a model on a task's validation and test splits (see the module docstring)."""

    def __init__(self, accelerator, data: TaskData, normalizer, batch_size: int, seed: int,
                 metric: str | None = None) -> None:
        """``metric``: the selection metric; ``None`` gives the full report every epoch."""
        self.accelerator, self.data, self.normalizer = accelerator, data, normalizer
        self.batch_size, self.seed, self.metric = batch_size, seed, metric
        self.val_loaders, self.test_loaders = eval_loaders(accelerator, data, batch_size)

    def unlabeled(self, domain: str) -> Iterator[torch.Tensor]:
        """The domain's training images, normalised, on the device, in order: (B, C, H, W) float batches.

        Every process reads all of them (not a shard), so statistics estimated from them agree everywhere.
        """
        split = (self.data.source if domain == "source" else self.data.target).splits["train"]
        for start in range(0, len(split), self.batch_size):
            images = split.images[start:start + self.batch_size].to(self.accelerator.device)  # (B, C, H, W) uint8
            yield self.normalizer(images)

    def _split_metrics(self, logits: torch.Tensor, labels: torch.Tensor) -> dict[str, Any]:
        if self.metric is None or FULL_EVERY_EPOCH:
            return full_report(logits, labels, self.data.label_names)
        return epoch_metrics(logits, labels, self.data.label_names, self.metric)

    def __call__(self, model, with_dev: bool = False
                 ) -> tuple[dict[str, Any], dict[str, Any], dict[str, torch.Tensor], dict[str, tuple]]:
        """``(val, test, probs, outputs)``: metrics per validation and test split, each split's probabilities
        (N, K) float32, and its ``(logits (N, K), labels (N,))`` for ``report``."""
        algorithm = self.accelerator.unwrap_model(model)
        val: dict[str, Any] = {}
        test: dict[str, Any] = {}
        probs: dict[str, torch.Tensor] = {}
        outputs: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        with isolated_rng(self.accelerator):
            for domain in DOMAINS:
                if domain == "source" and self.data.source is None:
                    continue
                loaders = {**{k: v for k, v in self.val_loaders.items() if k.startswith(domain)},
                           **{k: v for k, v in self.test_loaders.items() if k.startswith(domain)}}
                with algorithm.evaluation_state(domain, lambda d=domain: self.unlabeled(d)):
                    for name, loader in loaders.items():
                        logits, labels = predict(self.accelerator, model, loader, self.normalizer)  # (N, K), (N,)
                        outputs[name] = (logits, labels)
                        probs[name] = torch.softmax(logits.float(), dim=1)  # (N, K)
                        (val if name in self.val_loaders else test)[name] = self._split_metrics(logits, labels)
            if with_dev:  # label-free selection: DEV's estimate of the target risk
                from zoo.runner.dev import dev_evaluation

                val["dev"] = dev_evaluation(self.accelerator, model, self.data, self.normalizer, self.batch_size,
                                            self.seed)
        order = [*self.val_loaders, *(["dev"] if with_dev else [])]
        return {k: val[k] for k in order}, {k: test[k] for k in self.test_loaders}, probs, outputs

    def report(self, history: list[dict[str, Any]], outputs: dict[int, dict[str, tuple]]) -> None:
        """Give each epoch in ``outputs`` (history index -> the ``outputs`` of its evaluation) the full
        report of every split, in place and in the same key order; DEV's entry is kept as it is."""
        if self.metric is None or FULL_EVERY_EPOCH:
            return  # every epoch has it already
        for index, splits in outputs.items():
            entry = history[index]
            for part in ("val", "test"):
                entry[part] = {name: full_report(*splits[name], self.data.label_names) if name in splits else value
                               for name, value in entry[part].items()}
