"""Conformance check of an algorithm's runner hooks: ``set_progress``, ``on_epoch_end``, ``evaluation_state``.

The runner (``zoo.runner.loop`` and ``zoo.runner.epoch_eval``) calls, for each stage: ``set_stage``; before
every training step ``set_progress(step, total_steps)``; after each epoch's steps ``on_epoch_end(epoch,
stage)`` (no gradients); then, at each evaluated epoch, for each domain, it evaluates that domain's splits inside
``evaluation_state(domain, unlabeled)``. ``check_hooks`` makes the same calls on a real model and holds each
hook to its rule, so a broken hook fails in one line here rather than as a traceback mid-suite. The model's
``simple_cnn`` has BatchNorm layers here (``norm: batch``), so that a test-time method really adapts:

- ``set_progress`` is a schedule: it may set attributes, never weights or buffers;
- ``on_epoch_end`` may update weights or buffers (weight averaging, statistics) but adds or removes no
  parameter and leaves no gradient (the next step would add to it);
- ``evaluation_state`` is a context manager; inside it ``predict`` still gives (N, K) logits, and on exit
  every weight and buffer, and the train/eval mode, are what they were, and no gradient is left (evaluation
  never changes training).

Usage::

    from zoo.testing.algorithm_hooks import check_hooks
    check_hooks("my_tta_algo", hparams={"steps": 2})
"""

from __future__ import annotations

from typing import Any

import torch

from zoo.testing.algorithm_training import (
    NUM_CLASSES,
    N,
    build,
    call_hook,
    changed_entries,
    make_batch,
    model_stages,
    optimizer_for,
    state_of,
    step,
    target_images,
    with_label,
)
from zoo.testing.core import require


def _check_set_progress(model, stage, what: str) -> None:
    before = state_of(model)
    total = 4
    for i in (0, 1, total - 1):
        call_hook(what, "set_progress", lambda i=i: model.set_progress(i, total),
                  f"at set_progress({i}, {total}) in stage '{stage.name}' (step index, total steps of the stage)")
    changed = changed_entries(before, model)
    require(not changed, f"{what}: set_progress changed {', '.join(changed[:5])} in stage '{stage.name}'; it is a "
                         "schedule hook: store the progress, change weights only through the loss")


def _check_on_epoch_end(model, stage, channels: int, what: str) -> None:
    keys = set(model.state_dict())
    optimizer = optimizer_for(model)
    model.train()
    step(model, stage, channels, what, progress=(0, 1))["loss"].backward()  # an epoch of one step, as the runner
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    with torch.no_grad():  # the runner calls it without gradients, between training and evaluation
        call_hook(what, "on_epoch_end", lambda: model.on_epoch_end(1, stage),
                  f"after epoch 1 of stage '{stage.name}'")
    require(set(model.state_dict()) == keys,
            f"{what}: on_epoch_end added or removed weights or buffers in stage '{stage.name}' "
            f"({sorted(keys ^ set(model.state_dict()))[:5]}); the optimizer would not see them: "
            "create them in __init__")
    with_grad = [name for name, p in model.named_parameters() if p.grad is not None]
    require(not with_grad, f"{what}: on_epoch_end left gradients on {', '.join(with_grad[:5])} in stage "
                           f"'{stage.name}'; the next training step would add to them: set them to None")


def _check_evaluation_state(model, channels: int, what: str) -> None:
    images = target_images(channels)
    x, _ = make_batch(channels, seed=3)
    for domain in ("source", "target"):
        model.train()  # the runner evaluates right after training steps
        before = state_of(model)

        def unlabeled():
            yield from images  # (B, C, 28, 28) normalised, no labels: a fresh iterator per call

        def evaluate() -> Any:
            context = model.evaluation_state(domain, unlabeled)
            require(hasattr(context, "__enter__") and hasattr(context, "__exit__"),
                    f"{what}: evaluation_state must return a context manager (e.g. @contextlib.contextmanager), "
                    f"got {type(context).__name__}")
            with context:
                was_training = model.training
                model.eval()  # as zoo.runner.evaluate.predict, which then restores the mode it found
                with torch.no_grad():
                    logits = model.predict(x)
                model.train(was_training)
                return logits

        logits = call_hook(what, "evaluation_state", evaluate, f"for domain '{domain}'")
        require(isinstance(logits, torch.Tensor) and logits.shape == (N, NUM_CLASSES) and torch.isfinite(logits).all(),
                f"{what}: inside evaluation_state('{domain}', ...) predict(x) gave "
                f"{tuple(getattr(logits, 'shape', ()))} logits; expected finite {(N, NUM_CLASSES)}")
        require(model.training, f"{what}: evaluation_state('{domain}', ...) left the model in eval mode; restore "
                                "the mode it found (training continues after evaluation)")
        with_grad = [name for name, p in model.named_parameters() if p.grad is not None]
        require(not with_grad, f"{what}: evaluation_state('{domain}', ...) left gradients on "
                               f"{', '.join(with_grad[:5])}; the next training step would add to them: "
                               "zero_grad(set_to_none=True) on exit")
        model.train()  # the runner's next epoch starts with model.train()
        changed = changed_entries(before, model)
        require(not changed, f"{what}: evaluation_state('{domain}', ...) left {', '.join(changed[:5])} changed after "
                             "evaluation; save what the adaptation changes on entry and restore it on exit (evaluation "
                             "must never change training)")


@with_label
def check_hooks(algo, what: str, hparams: dict[str, Any] | None = None) -> None:
    """The runner's hooks on every stage: ``set_progress``, ``on_epoch_end`` and ``evaluation_state`` keep their
    rules (see the module docstring), on 1- and 3-channel inputs."""
    for channels in (1, 3):
        model = build(algo, channels, hparams=hparams, backbone_options={"norm": "batch"})
        for stage in model_stages(model):
            model.set_stage(stage)
            _check_set_progress(model, stage, what)
            _check_on_epoch_end(model, stage, channels, what)
        _check_evaluation_state(model, channels, what)
