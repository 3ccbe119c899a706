"""The kit drives an algorithm's hooks as the runner does, takes hyperparameters, and gives datasets a real folder.

Each broken algorithm below is real code breaking one rule of a runner hook (``set_progress``,
``on_epoch_end``, ``evaluation_state``) or refusing its hyperparameters; the kit must stop on that rule
in one line. The runner itself must call ``on_epoch_end`` after every epoch, in order, without gradients.
The fixture ``medzoo_kit`` used here comes from medzoo's ``pytest11`` entry point (no conftest loads it).
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from zoo.algorithms import ALGORITHMS, Algorithm, HParam
from zoo.datasets import DATASETS
from zoo.errors import ConfigError
from zoo.testing import ConformanceError, check_algorithm


class Good(Algorithm):
    """Cross-entropy on the labeled source; ``weight`` scales it (so given hparams reach the loss)."""

    HPARAMS = {"weight": HParam(1.0, ("log", 0.1, 10.0), "scale of the loss")}

    @classmethod
    def validate_hparams(cls, hparams):
        if not math.isfinite(hparams["weight"]) or hparams["weight"] <= 0:
            raise ConfigError(f"hyperparameter 'weight' must be > 0, got {hparams['weight']!r}")

    def training_step(self, source_batch, target_batch):
        x, y = source_batch[0], source_batch[1]
        return {"loss": self.hparams["weight"] * self.cross_entropy(self.predict(x), y)}


class ProgressMovesWeights(Good):
    def set_progress(self, step, total_steps):
        with torch.no_grad():
            self.classifier.bias.add_(step / total_steps)


class ProgressRaises(Good):
    def set_progress(self, step, total_steps):
        self.ramp = 1.0 / (total_steps - step - 1)  # ZeroDivisionError at the last step of a stage


class EpochEndRaises(Good):
    def on_epoch_end(self, epoch, stage):
        raise RuntimeError("no statistics yet")


class EpochEndLeavesGradients(Good):
    def on_epoch_end(self, epoch, stage):
        with torch.enable_grad():
            self.classifier.weight.sum().backward()


class EpochEndAddsALayer(Good):
    def on_epoch_end(self, epoch, stage):
        self.extra = nn.Linear(2, 2)


class EvaluationStateNotAContext(Good):
    def evaluation_state(self, domain, unlabeled):
        for _ in unlabeled():
            pass  # adapts, but returns None


class EvaluationStateKeepsTargetStatistics(Good):
    """AdaBN without the restore: target statistics leak into training."""

    @contextlib.contextmanager
    def evaluation_state(self, domain, unlabeled):
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.train()
        with torch.no_grad():
            for x in unlabeled():
                self.predict(x)
        yield


class EvaluationStateLeavesEvalMode(Good):
    @contextlib.contextmanager
    def evaluation_state(self, domain, unlabeled):
        yield
        self.eval()


class EvaluationStateLeavesGradients(Good):
    @contextlib.contextmanager
    def evaluation_state(self, domain, unlabeled):
        for x in unlabeled():
            self.predict(x).sum().backward()
        yield


BROKEN = [
    (ProgressMovesWeights, ["set_progress changed classifier.bias", "it is a schedule hook"]),
    (ProgressRaises, ["set_progress raised ZeroDivisionError at set_progress(0, 1) in stage 'train'",
                      "float division by zero"]),
    (EpochEndRaises, ["on_epoch_end raised RuntimeError after epoch 1 of stage 'train': no statistics yet"]),
    (EpochEndLeavesGradients, ["on_epoch_end left gradients on classifier.weight"]),
    (EpochEndAddsALayer, ["on_epoch_end added or removed weights", "extra.weight", "create them in __init__"]),
    (EvaluationStateNotAContext, ["evaluation_state must return a context manager", "got NoneType"]),
    (EvaluationStateKeepsTargetStatistics, ["evaluation_state('source', ...) left",
                                            "backbone.conv_blocks.0.1.running_mean", "restore it on exit"]),
    (EvaluationStateLeavesEvalMode, ["evaluation_state('source', ...) left the model in eval mode"]),
    (EvaluationStateLeavesGradients, ["evaluation_state('source', ...) left gradients on", "zero_grad"]),
]


@pytest.mark.parametrize("cls, fragments", BROKEN, ids=[cls.__name__ for cls, _ in BROKEN])
def test_the_kit_names_a_broken_hook_in_one_line(cls, fragments):
    with pytest.raises(ConformanceError) as caught:
        check_algorithm(cls)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"algorithm {cls.__qualname__}"), message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in: {message}"


def test_hparams_reach_the_model_and_refused_ones_are_one_line(medzoo_kit):
    medzoo_kit.check_algorithm(Good, hparams={"weight": 0.5})
    for hparams, fragment in [({"weight": -1.0}, "hyperparameter 'weight' must be > 0, got -1.0"),
                              ({"wieght": 0.5}, "unknown hyperparameter(s) wieght for Good; it declares: weight")]:
        with pytest.raises(ConformanceError) as caught:
            check_algorithm(Good, hparams=hparams)
        assert str(caught.value).startswith(f"algorithm Good refused hparams {hparams}: "), caught.value
        assert fragment in str(caught.value) and "\n" not in str(caught.value)


@pytest.fixture
def registered():
    added = []

    def add(registry, name, obj):
        registry.register(name, dist="kit-tests", version="0")(obj)
        added.append((registry, name))

    yield add
    for registry, name in added:
        registry.remove(name)


class CountsEpochs(Good):
    calls: list = []

    def on_epoch_end(self, epoch, stage):
        CountsEpochs.calls.append((stage.name, epoch, torch.is_grad_enabled(), self.training))


def test_the_runner_calls_on_epoch_end_after_every_epoch(registered, tmp_path):
    from zoo.bench.suite import load_suite
    from zoo.runner.suite_runner import run_suite
    from zoo.testing.smoke import SYNTHETIC, smoke_suite

    registered(ALGORITHMS, "kit_counts_epochs", CountsEpochs)
    suite = smoke_suite("kit_counts_epochs", "simple_cnn", "synthetic", SYNTHETIC, max_steps=2)
    suite["defaults"]["train"]["epochs"] = 3
    (tmp_path / "suite.yaml").write_text(yaml.safe_dump(suite))
    CountsEpochs.calls.clear()
    (record,) = run_suite(load_suite(str(tmp_path / "suite.yaml")), tmp_path / "runs", cpu=True, show_progress=False)
    # after the training steps (training mode), without gradients, before each evaluation; the calls before
    # these are the pre-flight conformance check's (a registered non-built-in is checked before training)
    assert CountsEpochs.calls[-3:] == [("train", 1, False, True), ("train", 2, False, True), ("train", 3, False, True)]
    assert record["curves"]["epoch"] == [1, 2, 3]


def writes_into_its_folder(path: str, n_per_class: int = 8) -> "object":
    """A loader of one .npz file (labels 0/1), like a plugin reading users' files."""
    from zoo.datasets.arrays import load_npz_domain

    return load_npz_domain(path, modality="synthetic", license="CC0-1.0", citation="generated by this test")


def _writes_example(tmp_dir: Path) -> dict:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(48, 16, 16), dtype=np.uint8)
    labels = np.arange(48) % 2
    images[labels == 1, :8] //= 3  # learnable: class 1 is darker on top
    np.savez(tmp_dir / "example.npz", images=images, labels=labels)  # no mkdir: the folder is the kit's to make
    return {"path": str(tmp_dir / "example.npz")}


writes_into_its_folder.conformance_kwargs = _writes_example


def test_the_kit_hands_conformance_kwargs_an_existing_folder(registered, medzoo_kit):
    registered(DATASETS, "kit_writes_example", writes_into_its_folder)
    assert not (medzoo_kit.tmp_path / "data").exists()
    domain = medzoo_kit.check_dataset("kit_writes_example")  # tmp_path / "data", created by the kit
    assert domain.terms() == {"licence": "CC0-1.0", "citation": "generated by this test"}
    record = medzoo_kit.check_runs_one_epoch(dataset="kit_writes_example", max_steps=2)  # tmp_path / "smoke" / "data"
    assert record["datasets"]["target"] == {"dataset": "kit_writes_example", "licence": "CC0-1.0",
                                            "citation": "generated by this test"}
