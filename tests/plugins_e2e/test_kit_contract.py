"""The conformance kit fails, with a clear one-line message, on entries that break medzoo's contract.

Each broken entry below is real code breaking one rule (moving tensors to a device, returning no loss,
calling backward, stepping its own optimizer, ...); the kit's all-in-one check must stop on that rule and
say what is wrong and how to fix it. A well-behaved entry passes the same checks.
"""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from zoo.algorithms import ALGORITHMS, Algorithm, HParam, Stage
from zoo.backbones import BACKBONES, Backbone, BackboneConfig
from zoo.datasets import Domain, Split
from zoo.testing import ConformanceError, check_algorithm, check_backbone, check_dataset, check_runs_one_epoch


class GoodAlgo(Algorithm):
    """Cross-entropy on the labeled source: follows the contract."""

    def training_step(self, source_batch, target_batch):
        x, y = source_batch
        return {"loss": self.cross_entropy(self.predict(x), y)}


class MovesToCuda(GoodAlgo):
    def training_step(self, source_batch, target_batch):
        x, y = source_batch
        return {"loss": self.cross_entropy(self.predict(x.cuda()), y.cuda())}


class MovesHeadToMeta(GoodAlgo):
    def training_step(self, source_batch, target_batch):
        self.classifier.to("meta")  # a device every machine has: the kit must not rely on CUDA being absent
        return super().training_step(source_batch, target_batch)


class CreatesOnOtherDevice(GoodAlgo):
    def training_step(self, source_batch, target_batch):
        out = super().training_step(source_batch, target_batch)
        return {**out, "zero": torch.zeros((), device="meta")}


class ReturnsNoLoss(GoodAlgo):
    def training_step(self, source_batch, target_batch):
        return {"total": super().training_step(source_batch, target_batch)["loss"]}


class ReturnsBareTensor(GoodAlgo):
    def training_step(self, source_batch, target_batch):
        return super().training_step(source_batch, target_batch)["loss"]


class CallsBackward(GoodAlgo):
    def training_step(self, source_batch, target_batch):
        out = super().training_step(source_batch, target_batch)
        out["loss"].backward()
        return out


class StepsItsOwnOptimizer(GoodAlgo):
    def training_step(self, source_batch, target_batch):
        out = super().training_step(source_batch, target_batch)
        with torch.no_grad():
            self.classifier.bias.sub_(0.01)
        return out


class ConstantLoss(GoodAlgo):
    def training_step(self, source_batch, target_batch):
        x, _ = source_batch
        return {"loss": self.predict(x).sum() * 0.0 + 1.0}


class Unseeded(GoodAlgo):
    def training_step(self, source_batch, target_batch):
        out = super().training_step(source_batch, target_batch)
        return {"loss": out["loss"] + random.random()}  # Python's RNG: not seeded by the runner


class LogRangeFromZero(GoodAlgo):
    HPARAMS = {"weight": HParam(1.0, ("log", 0.0, 2.0), "weight of something")}


class NoHelpText(GoodAlgo):
    HPARAMS = {"weight": HParam(1.0, ("log", 0.1, 2.0))}


class StagesReadTheModel(GoodAlgo):
    def stages(self, target_budget):
        return [Stage(f"train-{self.num_classes}", "source")]


class OneLogit(GoodAlgo):
    def predict(self, x):
        return super().predict(x)[:, :1]


BROKEN = [
    (MovesToCuda, ["moves tensors to a device itself", "Tensor.cuda()", "create new tensors with device=x.device"]),
    (MovesHeadToMeta, ["moves tensors to a device itself", "Tensor.to(meta)"]),
    (CreatesOnOtherDevice, ["moves tensors to a device itself", "zeros(device='meta')"]),
    (ReturnsNoLoss, ["returns no loss", "keys ['total']", "return {'loss': <scalar tensor>"]),
    (ReturnsBareTensor, ["training_step must return a dict holding a scalar 'loss' tensor, got Tensor"]),
    (CallsBackward, ["called backward() in training_step", "the runner calls backward"]),
    (StepsItsOwnOptimizer, ["changed weights in training_step (classifier.bias)", "never call optimizer.step()"]),
    (ConstantLoss, ["the loss did not go down over 15 Adam steps", "1.0000 -> 1.0000"]),
    (Unseeded, ["two runs with seed 0 gave losses", "torch's generators only"]),
    (LogRangeFromZero, ["hyperparameter 'weight'", "a log range must be positive"]),
    (NoHelpText, ["hyperparameter 'weight' has no help text"]),
    (StagesReadTheModel, ["stages() must depend only on self.hparams", "AttributeError"]),
    (OneLogit, ["predict(x) must return float32 logits of shape (12, 3)", "(12, 1)"]),
]


@pytest.mark.parametrize("cls, fragments", BROKEN, ids=[cls.__name__ for cls, _ in BROKEN])
def test_kit_names_the_broken_rule_in_one_line(cls, fragments):
    with pytest.raises(ConformanceError) as caught:
        check_algorithm(cls)
    message = str(caught.value)
    assert "\n" not in message, message
    assert message.startswith(f"algorithm {cls.__qualname__}"), message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in: {message}"


def test_a_well_behaved_algorithm_passes_every_check():
    check_algorithm(GoodAlgo)


@pytest.fixture
def registered():
    """Register entries for one test, in the real registries, and forget them afterwards."""
    added = []

    def add(registry, name, obj):
        registry.register(name, dist="kit-tests", version="0")(obj)
        added.append((registry, name))

    yield add
    for registry, name in added:
        registry.remove(name)


class FlatBackbone(Backbone):
    """Forgets to pool: forward_features returns (N, D, 1, 1)."""

    def __init__(self, in_chans=1, pretrained=False):
        super().__init__()
        self.conv = nn.Conv2d(in_chans, 8, 3, padding=1)
        self.num_features = 8
        self.config = BackboneConfig("flat", (in_chans, 28, 28), in_chans, (0.5,) * in_chans, (0.5,) * in_chans,
                                     "Apache-2.0", "random init")

    def forward_features(self, x):
        return F.adaptive_avg_pool2d(self.conv(x), 1)  # (N, 8, 1, 1): not flattened


class UnusedLayerBackbone(FlatBackbone):
    """Flattens, but holds a layer no input reaches."""

    def __init__(self, in_chans=1, pretrained=False):
        super().__init__(in_chans, pretrained)
        self.unused = nn.Linear(8, 8)

    def forward_features(self, x):
        return super().forward_features(x).flatten(1)


def test_kit_rejects_backbones_that_break_the_contract(registered):
    registered(BACKBONES, "kit_flat", FlatBackbone)
    registered(BACKBONES, "kit_unused", UnusedLayerBackbone)
    with pytest.raises(ConformanceError, match=r"backbone 'kit_flat': forward_features .* must be \(2, num_features\) "
                                               r"= \(2, 8\), got \(2, 8, 1, 1\)"):
        check_backbone("kit_flat")
    with pytest.raises(ConformanceError, match=r"backbone 'kit_unused': no gradient reaches \['unused.weight', "
                                               r"'unused.bias'\]"):
        check_backbone("kit_unused")


def _domain(labels_of, seed=None, splits=("train", "val", "test")) -> Domain:
    g = torch.Generator().manual_seed(seed) if seed is not None else None
    made = {}
    for split in splits:
        labels = labels_of(split)
        made[split] = Split(torch.randint(0, 256, (len(labels), 1, 8, 8), dtype=torch.uint8, generator=g), labels)
    return Domain("kit", made, ["a", "b"], "synthetic", "CC0-1.0", "generated by this test")


def labels_beyond_names():
    """Labels 0..2 for two label names."""
    return _domain(lambda split: torch.tensor([0, 1, 2, 0]), seed=0)


def unseeded_images():
    """Draws new images on every call."""
    return _domain(lambda split: torch.tensor([0, 1, 0, 1]))


def no_val_split():
    """Only train and test."""
    return _domain(lambda split: torch.tensor([0, 1, 0, 1]), seed=0, splits=("train", "test"))


def no_citation():
    """Says nothing of where the images come from."""
    domain = _domain(lambda split: torch.tensor([0, 1, 0, 1]), seed=0)
    return domain.with_splits(domain.splits, citation="")


def unknown_licence():
    """Leaves a loader's default licence."""
    domain = _domain(lambda split: torch.tensor([0, 1, 0, 1]), seed=0)
    return domain.with_splits(domain.splits, license="unknown")


@pytest.mark.parametrize("factory, pattern", [
    (no_citation, r"dataset no_citation: Domain.citation is ''; every result record states the data's licence and "
                  r"citation: set it \(e.g. the paper or DOI of the data\), or, for a loader of users' files, take "
                  r"citation= and give one in conformance_kwargs"),
    (unknown_licence, r"dataset unknown_licence: Domain.license is 'unknown'; .* \(e.g. 'CC BY 4.0'\)"),
    (labels_beyond_names, r"dataset labels_beyond_names: split '\w+': labels span 0..2 but there are 2 label names"),
    (unseeded_images, r"dataset unseeded_images: split 'train' differs between two builds .* seed every random"),
    (no_val_split, r"dataset no_val_split: splits must be exactly \['train', 'val', 'test'\], got \['test', 'train'\]"),
])
def test_kit_rejects_datasets_that_break_the_contract(factory, pattern):
    with pytest.raises(ConformanceError, match=pattern):
        check_dataset(factory)


def test_one_epoch_through_the_runner_passes_a_good_entry_and_reports_a_failing_run(registered, tmp_path):
    registered(ALGORITHMS, "kit_good", GoodAlgo)
    record = check_runs_one_epoch(algorithm="kit_good", output_dir=tmp_path / "good")
    assert record["algorithm"] == "kit_good" and record["curves"]["train_loss"]
    with pytest.raises(ConformanceError, match=r"one-epoch run of .*smoke-suite.yaml failed: ConfigError: .*colour"):
        check_runs_one_epoch(dataset_kwargs={"num_classes": 2, "n_per_class": 24, "colour": 3},
                             output_dir=tmp_path / "bad")
