"""The plugin guide's test-time BatchNorm example (TENT) is real code: the kit passes it and the runner applies it.

The code block marked ``<!-- tested: tests/conformance/test_plugin_guide.py -->`` in docs/writing-a-plugin.md
is executed as written, so the guide cannot drift from what works. Through the runner, TENT trains exactly
as ``source_only`` (same loss, same seed, same batches) and differs only where its ``evaluation_state`` hook
acts: the target's splits, never the source's, and never training.
"""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest
import torch

from zoo.algorithms import ALGORITHMS
from zoo.testing import check_algorithm, check_runs_one_epoch

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "writing-a-plugin.md"
MARK = "<!-- tested: tests/conformance/test_plugin_guide.py -->"


def guide_module() -> types.ModuleType:
    """The guide's marked code block, executed as a module of its own."""
    text = GUIDE.read_text(encoding="utf-8")
    assert text.count(MARK) == 1, "the guide must mark exactly one tested block"
    code = re.match(r"\s*```python\n(.*?)```", text.split(MARK, 1)[1], flags=re.S).group(1)
    module = types.ModuleType("guide_tent")
    exec(compile(code, str(GUIDE), "exec"), module.__dict__)  # noqa: S102 - our own documentation
    return module


@pytest.fixture(scope="module")
def tent() -> type:
    return guide_module().TENT


def test_the_guide_example_passes_every_check_of_the_kit(tent):
    check_algorithm(tent)
    check_algorithm(tent, hparams={"tta_passes": 2, "tta_lr": 0.01})


def test_the_guide_example_adapts_target_predictions_and_restores_the_model(tent):
    from zoo.backbones import create_backbone
    from zoo.testing.algorithm_training import make_batch

    torch.manual_seed(0)
    model = tent(create_backbone("simple_cnn", in_chans=1, norm="batch"), 3, {"tta_passes": 2})
    model.train()
    target = [make_batch(1, seed=s, shift=1.5)[0] for s in (2, 6)]  # (12, 1, 28, 28) each, a shifted domain
    before = {k: v.clone() for k, v in model.state_dict().items()}
    outside = model.eval().predict(target[0]).detach()
    model.train()
    with model.evaluation_state("target", lambda: iter(target)):
        inside = model.eval().predict(target[0]).detach()
    assert not torch.allclose(inside, outside, atol=1e-4)  # adapted: target statistics and affine parameters
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before) and model.training  # restored on exit
    assert all(p.grad is None for p in model.parameters())
    with model.evaluation_state("source", lambda: iter(target)):
        assert torch.equal(model.eval().predict(target[0]), outside)  # source splits: evaluated as trained


def test_through_the_runner_only_target_evaluation_changes(tent, tmp_path):
    ALGORITHMS.register("guide_tent", dist="guide-tests", version="0")(tent)
    try:
        options = {"backbone_options": {"norm": "batch"}, "shift": {"name": "contrast", "severity": 4}}
        adapted = check_runs_one_epoch(algorithm="guide_tent", output_dir=tmp_path / "tent", **options)
        plain = check_runs_one_epoch(algorithm="source_only", output_dir=tmp_path / "source_only", **options)
    finally:
        ALGORITHMS.remove("guide_tent")
    assert adapted["curves"]["train_loss"] == plain["curves"]["train_loss"]  # training is source_only's
    assert adapted["metrics"]["source_test"] == plain["metrics"]["source_test"]
    assert adapted["metrics"]["target_test"] != plain["metrics"]["target_test"]  # the hook acted on the target
