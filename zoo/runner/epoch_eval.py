"""The evaluation of one epoch: the validation splits (and DEV when asked), with training untouched; the
test splits of the epochs some rule selects, once, after training.

Splits are evaluated domain by domain (``source_*``, then ``target_*``) inside the algorithm's
``evaluation_state(domain, unlabeled)`` hook, so a method that adapts at test time (AdaBN re-estimates its
BatchNorm statistics on the domain's unlabeled training images) is evaluated as its paper states, while
the runner never names it. Everything runs inside ``isolated_rng``: the global RNG is restored afterwards,
so evaluating every epoch, every other epoch or with DEV gives the same training trajectory.

What each epoch costs is what selection reads: the validation splits (a budget task's ``target_val``, a
subset of the target validation images, sliced from ``target_val_oracle``'s logits), with the cheap report of
``zoo.runner.epoch_metrics`` (bit-identical to the full one for the selection metric and the curves).
No rule reads a test split, so by default the test splits are evaluated only for the epochs some rule
selected, after training, from the weights the selection tracker kept of them (``finish``), which are
the weights saved as the run's checkpoints: a reported test number is, by construction, the one those
files give. ``train.test_curves: true`` evaluates the test splits at every evaluated epoch instead (the
record's test curves are then complete; otherwise they hold the selected epochs only). ``finish`` then
replaces the selected epochs' entries with the full ``classification_metrics`` report. A run's selections
and metrics are the same as with the full report of every split at every epoch (``FULL_EVERY_EPOCH =
True``, the reference that ``tests/e2e/test_cheap_evaluation.py`` compares with).

Selection reads the last stage only, so a stage before it (source_then_target's source stage, lp_ft's
probe, gradual_unfreeze's earlier stages, a warm-up) is evaluated once, at its last epoch: the model the
next stage starts from (``stage_eval_every``). ``train.stage_curves: true`` evaluates its epochs as the
last stage's are (every ``train.eval_every``-th and its last: its validation curves); the training,
selections and metrics are the same either way.

Usage::

    evaluate = EpochEvaluator(accelerator, data, normalizer, batch_size=512, seed=0, metric="accuracy")
    val, test, probs, outputs = evaluate(model, with_dev=True)   # {split: metrics}, {} (or the test
                                                                 # splits' metrics), {split: (N, K) float32},
                                                                 # {split: ((N, K) logits, (N,) labels)}
    evaluate.finish(model, history, tracker.kept, {index: outputs})   # selected epochs: test splits and
                                                                      # the full report, in place
"""

from __future__ import annotations

import math
import time
from typing import Any, Iterator

import torch

from zoo.bench.task_data import TaskData
from zoo.errors import ConfigError
from zoo.runner.epoch_metrics import epoch_metrics, full_report
from zoo.runner.evaluate import isolated_rng, predict
from zoo.runner.streams import eval_loaders
from zoo.task_settings import TASK_SETTINGS

DOMAINS = ("source", "target")
# True: every split's full report at every epoch (the reference the cheap one is tested against)
FULL_EVERY_EPOCH = False


def stage_eval_every(selected_stage: bool, epochs: int, eval_every: int, stage_curves: bool) -> int:
    """Evaluate every how many epochs of a stage of ``epochs`` epochs (``StageRunner.run`` always evaluates
    the last one too): ``eval_every`` in the selected (last) stage or with ``stage_curves``, else ``epochs``.

    Usage::

        runner.run(stage, 4, evaluate=..., eval_every=stage_eval_every(stage is stages[-1], 4, 1, False))
    """
    return eval_every if selected_stage or stage_curves else max(epochs, 1)


def evaluations(stage_epochs: list[int], eval_every: int, stage_curves: bool) -> int:
    """How many epochs a run of stages of ``stage_epochs`` epochs evaluates (the last stage is the selected one):
    each stage's every ``stage_eval_every``-th epoch and its last.

    Usage::

        evaluations([4, 4], eval_every=1, stage_curves=False)    # 1 + 4 = 5
    """
    if not stage_epochs:  # a source-free run without training: its source model is evaluated once
        return 1
    last = len(stage_epochs) - 1
    return sum(math.ceil(e / stage_eval_every(i == last, e, max(eval_every, 1), stage_curves))
               for i, e in enumerate(stage_epochs))


class EpochEvaluator:
    """Evaluates a model on a task's validation and test splits (see the module docstring)."""

    def __init__(self, accelerator, data: TaskData, normalizer, batch_size: int, seed: int,
                 metric: str | None = None, test_curves: bool = False, stage_curves: bool = False) -> None:
        """``metric``: the selection metric, ``None`` for the full report every epoch; ``test_curves``: the
        test splits at every evaluated epoch, not only the selected ones; ``stage_curves``: the epochs of
        earlier stages evaluated as the last stage's (a ``None`` metric implies both)."""
        self.accelerator, self.data, self.normalizer = accelerator, data, normalizer
        self.batch_size, self.seed, self.metric = batch_size, seed, metric
        self.test_every_epoch = test_curves or metric is None or FULL_EVERY_EPOCH
        self.stage_curves = stage_curves or metric is None or FULL_EVERY_EPOCH
        self.dev_s = 0.0  # seconds spent in DEV, part of the evaluation time (the run's timings report it)
        self.val_loaders, self.test_loaders = eval_loaders(accelerator, data, batch_size)

    def unlabeled(self, domain: str) -> Iterator[torch.Tensor]:
        """The domain's training images, normalised, on the device, in order: (B, C, H, W) float batches.

        Every process reads all of them (not a shard), so statistics estimated from them agree everywhere.
        A generalization task's target images are never handed out: its run must not adapt to them.
        """
        if domain == "target" and not TASK_SETTINGS[self.data.setting].reads_target_in_training:
            raise ConfigError("this algorithm adapts to the target's unlabeled images at evaluation, which a "
                              "generalization task never reads; use it on a transfer or source_free task")
        split = (self.data.source if domain == "source" else self.data.target).splits["train"]
        for start in range(0, len(split), self.batch_size):
            images = split.images[start:start + self.batch_size].to(self.accelerator.device)  # (B, C, H, W) uint8
            yield self.normalizer(images)

    def _split_metrics(self, logits: torch.Tensor, labels: torch.Tensor) -> dict[str, Any]:
        if self.metric is None or FULL_EVERY_EPOCH:
            return full_report(logits, labels, self.data.label_names)
        return epoch_metrics(logits, labels, self.data.label_names, self.metric)

    def _evaluate_splits(self, model, names: list[str]) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """``{split: (logits (N, K), labels (N,))}`` of the named splits, each domain in its evaluation state."""
        algorithm = self.accelerator.unwrap_model(model)
        loaders = {**self.val_loaders, **self.test_loaders}
        rows = self.data.target_val_rows  # (M,): the budgeted target_val images are rows of target_val_oracle
        from_oracle = rows is not None and {"target_val", "target_val_oracle"} <= set(names)
        outputs: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        for domain in DOMAINS:
            mine = [name for name in names if name.startswith(domain) and not (from_oracle and name == "target_val")]
            if not mine:
                continue
            with algorithm.evaluation_state(domain, lambda d=domain: self.unlabeled(d)):
                for name in mine:
                    outputs[name] = predict(self.accelerator, model, loaders[name], self.normalizer)
        if from_oracle:  # the same images in the same evaluation state: their logits, not a second forward pass
            logits, labels = outputs["target_val_oracle"]  # (N, K), (N,) in split order
            outputs["target_val"] = (logits[rows], labels[rows])  # (M, K), (M,)
        return {name: outputs[name] for domain in DOMAINS for name in names if name.startswith(domain)}

    def __call__(self, model, with_dev: bool = False
                 ) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, torch.Tensor], dict[str, tuple]]:
        """``(val, test, probs, outputs)``: metrics per validation split (and test split, or ``None`` when the
        test splits wait for ``finish``), each split's probabilities (N, K) float32, and its
        ``(logits (N, K), labels (N,))`` for ``finish``."""
        names = [*self.val_loaders, *(self.test_loaders if self.test_every_epoch else [])]
        with isolated_rng(self.accelerator):
            outputs = self._evaluate_splits(model, names)
            val = {name: self._split_metrics(*outputs[name]) for name in self.val_loaders}
            if with_dev:  # label-free selection: DEV's estimate of the target risk
                from zoo.runner.dev import dev_evaluation

                started = time.perf_counter()
                val["dev"] = dev_evaluation(self.accelerator, model, self.data, self.normalizer, self.batch_size,
                                            self.seed)
                self.dev_s += time.perf_counter() - started
        probs = {name: torch.softmax(logits.float(), dim=1) for name, (logits, _) in outputs.items()}  # (N, K)
        test = {name: self._split_metrics(*outputs[name]) for name in self.test_loaders} \
            if self.test_every_epoch else None
        return val, test, probs, outputs

    def finish(self, model, history: list[dict[str, Any]], kept: dict[int, tuple[dict, dict]],
               outputs: dict[int, dict[str, tuple]]) -> None:
        """After training: give each kept epoch (``kept``: history index -> ``(state, probs)``, the selection
        tracker's snapshots) its test splits, evaluated from its kept weights, and every split the full
        report; ``history``, ``kept``'s probabilities and ``outputs`` are completed in place. The model is
        left with the weights it had."""
        if not self.test_every_epoch and kept:
            algorithm = self.accelerator.unwrap_model(model)
            final = {k: v.detach().clone() for k, v in algorithm.state_dict().items()}
            with isolated_rng(self.accelerator):
                for index, (state, probs) in sorted(kept.items()):
                    algorithm.load_state_dict(state)
                    tested = self._evaluate_splits(model, list(self.test_loaders))
                    outputs[index] = {**outputs[index], **tested}
                    probs.update({name: torch.softmax(logits.float(), dim=1) for name, (logits, _) in tested.items()})
                    history[index]["test"] = {name: self._split_metrics(*tested[name]) for name in self.test_loaders}
            algorithm.load_state_dict(final)
        self.report(history, outputs)

    def report(self, history: list[dict[str, Any]], outputs: dict[int, dict[str, tuple]]) -> None:
        """Give each epoch in ``outputs`` (history index -> the ``outputs`` of its evaluation) the full
        report of every split, in place and in the same key order; DEV's entry is kept as it is."""
        if self.metric is None or FULL_EVERY_EPOCH:
            return  # every epoch has it already
        for index, splits in outputs.items():
            entry = history[index]
            for part in ("val", "test"):
                if entry[part] is not None:
                    entry[part] = {name: full_report(*splits[name], self.data.label_names) if name in splits
                                   else value for name, value in entry[part].items()}
