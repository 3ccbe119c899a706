"""Evaluation cannot touch training: the same run evaluated every epoch, every other epoch, with DEV on or
off, has bit-identical weights after every epoch (CPU).

Before this was guaranteed, evaluation loaders drew their base seed from the global torch RNG that dropout
and sampling use, so the selection rule (DEV evaluates more) changed epoch 2 onwards in every pair tried.
The run here has what such a leak would touch: simple_cnn's dropout, DANN's mixed batches and an
augmentation policy, on real PneumoniaMNIST halves.
"""

from __future__ import annotations

import pytest
import torch

SUITE = """\
suite: isolation
version: 1
defaults:
  backbone: {name: simple_cnn}
  train: {epochs: 4, batch_size: 32, max_steps_per_epoch: 3, augment: standard}
  seeds: [0]
  selection: {rule: source_val, rules: all}
domains:
  xray: {dataset: pneumoniamnist, partition: {part: 0, of: 2, seed: 0}}
  xray_noise: {dataset: pneumoniamnist, partition: {part: 1, of: 2, seed: 0}, \
shift: {name: gaussian_noise, severity: 3}}
tasks:
  - {name: t, source: xray, target: xray_noise, target_budget: 0, algorithms: [dann]}
"""


def _trajectory(tmp_path, data_dir, overrides: list[str]) -> list[dict[str, torch.Tensor]]:
    from accelerate import Accelerator

    from zoo.bench.suite import load_suite
    from zoo.bench.task_data import build_task_data
    from zoo.runner.loop import train_run

    path = tmp_path / "suite.yaml"
    path.write_text(SUITE)
    run, = load_suite(str(path), overrides=overrides).runs()
    weights = []

    def keep(stage, epoch, algorithm):
        weights.append({k: v.detach().clone() for k, v in algorithm.state_dict().items()})

    outcome = train_run(run, build_task_data(run.config, data_dir), Accelerator(cpu=True), show_progress=False,
                        on_epoch_end=keep)
    return weights, outcome


def test_weights_after_each_epoch_do_not_depend_on_evaluation(tmp_path, data_dir):
    reference, every = _trajectory(tmp_path, data_dir, [])
    assert len(reference) == 4 and "dev" in every.history[-1]["val"]
    variants = {
        "every other epoch": ["train.eval_every=2"],
        "without DEV": ["selection.rules=[source_val,last]"],
        "DEV reported, every other epoch": ["selection.rule=dev", "train.eval_every=2"],
    }
    for name, overrides in variants.items():
        weights, outcome = _trajectory(tmp_path, data_dir, overrides)
        for epoch, (a, b) in enumerate(zip(reference, weights), start=1):
            for key in a:
                assert torch.equal(a[key], b[key]), f"{name}: '{key}' differs after epoch {epoch}"
        evaluated = [h["epoch"] for h in outcome.history if h["val"] is not None]
        assert evaluated == ([2, 4] if "train.eval_every=2" in overrides else [1, 2, 3, 4]), name
    # the check can fail: a different seed gives other weights
    other, _ = _trajectory(tmp_path, data_dir, ["seeds=[1]"])
    assert not torch.equal(reference[0]["classifier.weight"], other[0]["classifier.weight"])


def test_an_evaluation_pass_leaves_the_global_rng_as_it_was(data_dir):
    from accelerate import Accelerator

    from zoo.runner.evaluate import isolated_rng

    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    with isolated_rng(Accelerator(cpu=True)):
        torch.rand(100)  # anything evaluation might draw
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("shuffle", [False, True])
def test_loaders_never_draw_from_the_global_rng(shuffle):
    from zoo.datasets.base import Split
    from zoo.runner.batches import make_loader

    split = Split(torch.zeros(10, 1, 4, 4, dtype=torch.uint8), torch.zeros(10, dtype=torch.long))
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    for _ in make_loader(split, 4, shuffle, seed=3):
        pass
    assert torch.equal(torch.rand(1), expected)
