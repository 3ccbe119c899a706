"""``train.augment`` and ``train.imbalance`` as the runner applies them: on real batches, through real runs."""

from __future__ import annotations

import json
import textwrap

import pytest
import torch

from zoo.algorithms.base import Stage
from zoo.backbones.normalize import Normalizer
from zoo.bench.task_data import TaskData
from zoo.datasets.synthetic import synthetic_domain
from zoo.imbalance_methods import IMBALANCE, METHODS
from zoo.runner.loop import BatchFeeder, _stage_class_weights
from zoo.runner.streams import TrainStreams


@pytest.fixture(scope="module")
def accelerator():
    from accelerate import Accelerator

    return Accelerator(cpu=True)


def _imbalanced(n_major: int = 90, n_minor: int = 10):
    domain = synthetic_domain(n_per_class=n_major, seed=0)
    train = domain.splits["train"]
    keep = torch.cat([torch.nonzero(train.labels == 0).flatten(),
                      torch.nonzero(train.labels == 1).flatten()[:n_minor]])
    return domain, train.subset(keep)


def test_augmentation_changes_training_batches_only_when_asked(accelerator):
    from zoo.augment import build_augment

    domain = synthetic_domain(n_per_class=40, seed=0)
    data = TaskData(source=domain, target=domain, target_labeled=None, target_val_labeled=None)
    stage = Stage("train", "source")
    normalizer = Normalizer((0.5,), (0.5,), 1)

    def first_batch(augment):
        streams = TrainStreams(accelerator, data, 16, seed=0)
        feeder = BatchFeeder(streams, stage, normalizer, augment, torch.Generator().manual_seed(0))
        (x, y), _ = feeder()
        return x, y

    plain_x, plain_y = first_batch(None)
    aug_x, aug_y = first_batch(build_augment("standard"))
    assert torch.equal(plain_y, aug_y)  # the same samples, in the same order: augmentation has its own RNG
    assert aug_x.shape == plain_x.shape and not torch.allclose(aug_x, plain_x)
    assert torch.equal(first_batch(build_augment("none"))[0], plain_x)


def test_balanced_sampler_draws_the_minority_as_often_as_the_majority(accelerator):
    domain, train = _imbalanced()
    source = domain.with_splits({**domain.splits, "train": train})
    data = TaskData(source=source, target=domain, target_labeled=None, target_val_labeled=None)
    counts = {False: torch.zeros(2), True: torch.zeros(2)}
    for balanced in (False, True):
        streams = TrainStreams(accelerator, data, 32, seed=0, balanced=balanced)
        for _ in range(60):
            _, y = streams.next("source")
            counts[balanced] += torch.bincount(y, minlength=2)
    natural = counts[False] / counts[False].sum()
    balanced = counts[True] / counts[True].sum()
    assert natural[1] < 0.2  # the split really is imbalanced
    assert abs(float(balanced[1]) - 0.5) < 0.05, balanced


def test_drop_last_false_trains_on_the_last_partial_batch(accelerator):
    """``train.drop_last: false`` (the MedMNIST v2 code's DataLoader): every image once per epoch."""
    domain = synthetic_domain(n_per_class=45, seed=0)
    data = TaskData(source=domain, target=domain, target_labeled=None, target_val_labeled=None)
    n = len(domain.splits["train"])
    assert n % 16, "the split must not divide into whole batches for this test to mean anything"
    full_only = TrainStreams(accelerator, data, 16, seed=0)
    every_image = TrainStreams(accelerator, data, 16, seed=0, drop_last=False)
    assert full_only.steps_per_epoch == n // 16 and every_image.steps_per_epoch == n // 16 + 1
    sizes = [len(every_image.next("source")[1]) for _ in range(every_image.steps_per_epoch)]
    assert sum(sizes) == n and sizes[-1] == n % 16
    assert {len(full_only.next("source")[1]) for _ in range(full_only.steps_per_epoch)} == {16}


def test_class_weights_come_from_the_stage_labels(accelerator):
    domain, train = _imbalanced()
    data = TaskData(source=domain.with_splits({**domain.splits, "train": train}), target=domain,
                    target_labeled=train, target_val_labeled=None)
    weights = _stage_class_weights(data, Stage("t", "target_labeled"), torch.device("cpu"), IMBALANCE["class_weight"])
    n = len(train)
    counts = torch.bincount(train.labels, minlength=2).float()
    torch.testing.assert_close(weights, n / (2 * counts))
    assert weights[1] > weights[0]
    for method in METHODS:  # only a method that weights the loss gives weights
        found = _stage_class_weights(data, Stage("t", "target_labeled"), torch.device("cpu"), method)
        assert (found is not None) == method.weights_loss


@pytest.mark.slow
def test_every_imbalance_method_and_augmentation_runs_through_the_cli(tmp_path):
    from helpers.cli import run_medzoo

    tasks = "\n".join(
        f"  - {{name: {name}, source: a, target: b, target_budget: 0.5, algorithms: [{algo}], "
        f"train: {{imbalance: {method}, augment: {augment}}}}}"
        for name, algo, method, augment in [
            ("cw", "full_ft", "class_weight", "standard"), ("bs", "lp_ft", "balanced_sampler", "intensity"),
            ("smote", "linear_probe", "smote", "trivialaugment"), ("bsmote", "lp_ft", "borderline_smote", "none"),
            ("tomek", "gradual_unfreeze", "smote_tomek", "randaugment")])
    (tmp_path / "s.yaml").write_text(textwrap.dedent("""\
        suite: options
        version: 1
        defaults: {train: {epochs: 1, batch_size: 16, max_steps_per_epoch: 3}, seeds: [0]}
        domains:
          a: {dataset: synthetic, seed: 0, n_per_class: 40}
          b: {dataset: synthetic, seed: 1, n_per_class: 40, appearance: 1.0}
        tasks:
        """) + tasks + "\n")
    proc = run_medzoo(["run", "s.yaml", "-o", "out", "--no-progress"], cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert {(r["task"]["name"], r["train"]["imbalance"], r["train"]["augment"]) for r in records} == {
        ("cw", "class_weight", "standard"), ("bs", "balanced_sampler", "intensity"),
        ("smote", "smote", "trivialaugment"), ("bsmote", "borderline_smote", "none"),
        ("tomek", "smote_tomek", "randaugment")}
