"""The stage loop shared by a run's stages and the pretraining steps, and the named seed streams it draws from.

Usage::

    python -m pytest tests/runner/test_stage_loop.py -q
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import zoo
from zoo.algorithms.base import Stage
from zoo.algorithms.source_only import SourceOnly
from zoo.backbones import create_backbone
from zoo.backbones.normalize import Normalizer
from zoo.bench.suite import TRAIN_DEFAULTS
from zoo.bench.task_data import TaskData
from zoo.datasets.synthetic import synthetic_domain
from zoo.runner import stage_loop
from zoo.runner.seed_streams import SEED_OFFSETS, seed_stream, stream_generator

TRAIN = {**TRAIN_DEFAULTS, "epochs": 1, "batch_size": 16, "max_steps_per_epoch": 2}


@pytest.fixture(scope="module")
def accelerator():
    from accelerate import Accelerator

    return Accelerator(cpu=True)


def test_seed_streams_are_the_historical_offsets():
    """Run trajectories (and so recorded metrics) depend on these numbers: they must never change."""
    assert SEED_OFFSETS["augment"] == 10_000 and SEED_OFFSETS["pretrain_augment"] == 20_000
    assert SEED_OFFSETS["source_order"] == 0 and SEED_OFFSETS["target_unlabeled_order"] == 1
    assert SEED_OFFSETS["target_labeled_order"] == 2 and SEED_OFFSETS["pretrain_step"] == 0
    assert seed_stream(7, "augment") == 10_007 and seed_stream(7, "pretrain_augment") == 20_007
    assert seed_stream(3, "pretrain_step", 2) == 5
    assert stream_generator(7, "augment").initial_seed() == 10_007
    with pytest.raises(KeyError, match="unknown seed stream 'augmentation'"):
        seed_stream(0, "augmentation")
    root = Path(zoo.__file__).parent / "runner"
    for module in ("loop.py", "pretrain.py", "stage_loop.py"):  # no magic offsets left where they were
        source = (root / module).read_text()
        assert "10_000" not in source and "20_000" not in source, module


def _pretrain_args(n_per_class=24):
    domain = synthetic_domain(n_per_class=n_per_class, seed=0, name="synthetic")
    backbone = create_backbone("simple_cnn", in_chans=1, image_size=28)
    step = {"epochs": 2, "lr_mult": 1.0, "train": "all"}
    return step, domain, backbone, {"train": TRAIN, "seed": 0}


def test_pretraining_steps_prepare_their_optimizer_as_runs_do(accelerator, monkeypatch):
    """Through ``zoo.runner.optim.prepare_optimizer``, never ``accelerator.prepare_optimizer`` directly."""
    from zoo.runner import pretrain

    prepared, direct = [], []
    real = stage_loop.prepare_optimizer
    monkeypatch.setattr(stage_loop, "prepare_optimizer", lambda acc, opt: prepared.append(opt) or real(acc, opt))
    monkeypatch.setattr(type(accelerator), "prepare_optimizer", lambda self, opt, *a, **k: direct.append(opt) or opt)
    step, domain, backbone, config = _pretrain_args()
    best, summary = pretrain._train_step(step, domain, backbone, config, accelerator, show_progress=False)
    assert len(prepared) == 1 and not direct  # CPU, no scaler: Accelerate's wrapper would only add cost
    assert summary["epochs"] == 2 and len(summary["val_accuracy_curve"]) == 2
    assert set(best) == set(backbone.state_dict())  # the backbone only, on the CPU
    assert all(v.device.type == "cpu" for v in best.values())



def test_a_pretraining_step_runs_a_conv_net_in_channels_last_with_the_nchw_result(accelerator, monkeypatch):
    """As a run's model: NHWC batches and weights, the same curve and backbone as NCHW to float rounding."""
    from zoo.runner import pretrain

    layouts = []
    real_step = stage_loop.StageRunner.run

    def recording_run(self, *args, **kwargs):  # the layout the step's network and batches really have
        conv = [m for m in self.model.modules() if isinstance(m, torch.nn.Conv2d)][-1]  # C_in > 1: unambiguous
        layouts.append((conv.weight.is_contiguous(memory_format=torch.channels_last), self.inputs.channels_last))
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(stage_loop.StageRunner, "run", recording_run)
    torch.manual_seed(0)
    step, domain, backbone, config = _pretrain_args(n_per_class=48)
    nhwc_best, nhwc = pretrain._train_step(step, domain, backbone, config, accelerator, show_progress=False)
    monkeypatch.setattr(pretrain, "to_channels_last", lambda module: False)  # the step as it was: NCHW
    torch.manual_seed(0)
    step, domain, backbone, config = _pretrain_args(n_per_class=48)
    nchw_best, nchw = pretrain._train_step(step, domain, backbone, config, accelerator, show_progress=False)
    assert layouts == [(True, True), (False, False)]
    assert nhwc["val_accuracy_curve"] == nchw["val_accuracy_curve"]
    for key, value in nhwc_best.items():
        assert value.is_contiguous()  # snapshots are plain contiguous tensors, whatever the layout trained
        torch.testing.assert_close(value, nchw_best[key], rtol=1e-3, atol=1e-4)  # Adam: rounding grows a little


def _runner(accelerator, train=TRAIN):
    domain = synthetic_domain(n_per_class=64, seed=0)  # 76 training images: 4 batches of 16
    data = TaskData(source=domain, target=domain, target_labeled=None, target_val_labeled=None)
    model = SourceOnly(create_backbone("simple_cnn", in_chans=1, image_size=28), 2)
    model.set_stage(Stage("train", "source"))
    prepared = accelerator.prepare_model(model)
    inputs = stage_loop.stage_inputs(accelerator, data, train, 0, "augment", Normalizer((0.5,), (0.5,), 1))
    return stage_loop.StageRunner(accelerator, prepared, inputs, train), inputs


def test_a_stage_runs_its_epochs_evaluates_every_kth_and_the_last(accelerator):
    runner, inputs = _runner(accelerator)
    assert inputs.steps == 2  # max_steps_per_epoch clamps the stream's 4 batches
    assert inputs.generator.initial_seed() == seed_stream(0, "augment")
    seen, evaluated = [], []
    runner.run(Stage("train", "source"), 5, eval_every=2, after_epoch=lambda e, log: seen.append((e, log["loss"])),
               evaluate=lambda e, log: evaluated.append(e))
    assert [e for e, _ in seen] == [1, 2, 3, 4, 5] and evaluated == [2, 4, 5]
    assert all(isinstance(loss, float) for _, loss in seen)
    assert runner.images_seen == 5 * 2 * 16 and runner.train_s > 0


def test_a_diverged_loss_is_one_line_naming_the_run_or_ignored_when_asked(accelerator, monkeypatch):
    runner, _ = _runner(accelerator)
    monkeypatch.setattr(stage_loop, "train_epoch", lambda *a, **k: ({"loss": torch.tensor(float("nan"))}, 16))
    with pytest.raises(stage_loop.TrainingDiverged) as info:
        runner.run(Stage("train", "source"), 2, diverged_as="run ab12 (dann, seed 0)")
    message = str(info.value)
    assert "\n" not in message and message.startswith("run ab12 (dann, seed 0): loss is nan in stage 'train' epoch 1")
    assert message.endswith("lower train.lr")
    evaluated = []
    runner.run(Stage("train", "source"), 2, evaluate=lambda e, log: evaluated.append(e), diverged_as=None)
    assert evaluated == [1, 2]


def test_without_a_progress_bar_each_epoch_is_one_log_line(accelerator, caplog):
    """--no-progress (or a job's log): a long run still says where it is, one line per epoch."""
    import logging

    runner, _ = _runner(accelerator)
    runner.label = "task/source_only/s0"
    runner.bar = stage_loop.progress_bar(accelerator, 6, runner.label, show=False)
    with caplog.at_level(logging.INFO, logger="zoo.runner.stage_loop"):
        runner.run(Stage("train", "source"), 3)
    lines = [r.getMessage() for r in caplog.records if r.name == "zoo.runner.stage_loop"]
    assert [line.split(", loss")[0] for line in lines] == [
        f"task/source_only/s0: stage 'train' epoch {e}/3" for e in (1, 2, 3)]
    runner.bar = stage_loop.progress_bar(accelerator, 6, "task/source_only/s0", show=True)  # a bar: no lines
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="zoo.runner.stage_loop"):
        runner.run(Stage("train", "source"), 1)
    runner.bar.close()
    assert not [r for r in caplog.records if r.name == "zoo.runner.stage_loop"]


@pytest.mark.parametrize("selected, stage_curves, expected", [(True, False, [2, 4, 5]), (False, False, [5]),
                                                               (False, True, [2, 4, 5])])
def test_an_earlier_stage_is_evaluated_at_its_last_epoch_unless_its_curves_are_asked(accelerator, selected,
                                                                                    stage_curves, expected):
    from zoo.runner.epoch_eval import evaluations, stage_eval_every

    runner, _ = _runner(accelerator)
    evaluated = []
    runner.run(Stage("train", "source"), 5, eval_every=stage_eval_every(selected, 5, 2, stage_curves),
               evaluate=lambda e, log: evaluated.append(e))
    assert evaluated == expected
    # the probe's count: an earlier stage of 5 epochs, then the selected stage of 5, eval_every 2
    assert evaluations([5, 5], 2, stage_curves) == (6 if stage_curves else 4)
    assert evaluations([], 2, stage_curves) == 1  # no stage to train: the source model, evaluated once
