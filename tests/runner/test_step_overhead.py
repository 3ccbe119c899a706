"""The cheaper training step changes no result: optimizer implementation, wrapper, ``train.compile``.

- ``build_optimizer`` picks the multi-tensor (``foreach``) update on CPU: the parameters it produces are
  bit for bit those of torch's default per-parameter loop there (Adam, AdamW, SGD, with weight decay).
- ``prepare_optimizer`` leaves Accelerate's wrapper out of a one-process run without a gradient scaler;
  so do the step's ``autocast`` and ``backward`` without mixed precision, and a constant schedule is none.
- ``train.compile: true`` (backbone under ``torch.compile``) and ``reduce-overhead`` give eager's loss curve
  to float tolerance, for source_only and DANN, through ``train_run``; the mode of each setting on CPU and
  CUDA; a config that states ``compile: false`` keeps its run id;
  a later run of the same shapes in the process compiles nothing again; a pretraining step compiles its
  backbone too, with eager's weights to float tolerance and a checkpoint key of its own.
"""

from __future__ import annotations

import copy

import pytest
import torch

from zoo.backbones.simple_cnn import SimpleCNN
from zoo.runner.optim import build_optimizer, prepare_optimizer

SUITE = """\
suite: compile-check
version: 1
defaults:
  backbone: {name: simple_cnn}
  train: {epochs: 2, batch_size: 16, lr: 0.001}
  seeds: [0]
domains:
  site_a: {dataset: synthetic, num_classes: 2, n_per_class: 40, seed: 0}
  site_b: {dataset: synthetic, num_classes: 3, n_per_class: 30, seed: 2}
  site_c: {dataset: synthetic, num_classes: 2, n_per_class: 40, seed: 1, appearance: 1.0}
tasks:
  - {name: a-to-c, source: site_a, target: site_c, target_budget: 0, algorithms: [source_only, dann]}
"""
PRETRAIN_TASK = "  - {name: b-then-c, pretrain: [site_b], target: site_c, target_budget: 0.5, algorithms: [full_ft]}\n"


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _trained_parameters(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(1)  # dropout masks: the same for every optimizer compared
    for _ in range(12):
        x, y = torch.randn(16, 1, 28, 28, generator=generator), torch.randint(0, 3, (16,), generator=generator)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return torch.cat([p.detach().flatten() for p in model.parameters()])


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_the_optimizer_gives_the_default_loops_parameters_bit_for_bit_on_cpu(name):
    torch.manual_seed(0)
    net = torch.nn.Sequential(SimpleCNN(in_chans=1), torch.nn.Linear(512, 3))
    train = {"optimizer": name, "lr": 3e-2, "weight_decay": 1e-2, "momentum": 0.9}
    ours_model = copy.deepcopy(net)
    ours = build_optimizer([{"params": list(ours_model.parameters())}], train)
    assert ours.defaults["foreach"] is True
    reference_model = copy.deepcopy(net)
    kind = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}[name]
    extra = {"momentum": 0.9} if name == "sgd" else {}
    reference = kind(reference_model.parameters(), lr=3e-2, weight_decay=1e-2, foreach=False, **extra)
    assert torch.equal(_trained_parameters(ours_model, ours), _trained_parameters(reference_model, reference))


def test_one_process_without_a_scaler_steps_the_optimizer_itself():
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=True)
    optimizer = torch.optim.Adam(torch.nn.Linear(2, 2).parameters())
    assert prepare_optimizer(accelerator, optimizer) is optimizer


def test_the_step_calls_torch_directly_where_accelerate_adds_nothing():
    import contextlib

    from accelerate import Accelerator

    from zoo.runner.optim import ConstantSchedule, build_scheduler, step_functions

    autocast, backward = step_functions(Accelerator(cpu=True))
    assert autocast is contextlib.nullcontext and backward is torch.Tensor.backward
    model = torch.nn.Linear(3, 2)
    two_tensors = build_optimizer([{"params": list(model.parameters())}], {"optimizer": "adam", "lr": 0.1,
                                                                            "weight_decay": 0.0})
    assert two_tensors.defaults["foreach"] is False  # too few tensors for the multi-tensor update to pay
    schedule = build_scheduler(two_tensors, {"scheduler": "none"}, steps_per_epoch=5, epochs=2)
    assert isinstance(schedule, ConstantSchedule)
    x = torch.randn(4, 3)
    model(x).sum().backward()
    two_tensors.step()
    schedule.step()
    assert schedule.get_last_lr() == [0.1]


@pytest.mark.parametrize("setting", ["true", "reduce-overhead"])
def test_compile_gives_the_eager_loss_curve(tmp_path, setting):
    """``reduce-overhead`` on a CPU records no CUDA graph (inductor skips them off CUDA) but runs the same
    wrapper as on CUDA: each call's features copied out of the graph's memory, gradients through the copy."""
    from zoo.bench.run_config import legacy_run_id, run_id_of
    from zoo.bench.suite import load_suite
    from zoo.bench.task_data import build_task_data
    from zoo.runner.loop import train_run
    from zoo.runner.train_record import make_accelerator

    path = tmp_path / "suite.yaml"
    path.write_text(SUITE)
    eager = {r.algorithm: r for r in load_suite(str(path)).runs()}
    compiled = {r.algorithm: r for r in load_suite(str(path), overrides=[f"train.compile={setting}"]).runs()}
    for algorithm in ("source_only", "dann"):
        assert compiled[algorithm].run_id != eager[algorithm].run_id  # a compiled run is a run of its own
        stated = eager[algorithm].config.to_dict()
        unstated = copy.deepcopy(stated)
        del unstated["train"]["compile"]  # a config from before the option existed
        assert run_id_of(stated) == run_id_of(unstated) and legacy_run_id(stated) == legacy_run_id(unstated)
        curves = []
        for run in (eager[algorithm], compiled[algorithm]):
            outcome = train_run(run, build_task_data(run.config), make_accelerator(cpu=True), show_progress=False)
            curves.append(torch.tensor([h["train"]["loss"] for h in outcome.history]))
        assert len(curves[0]) == 2
        torch.testing.assert_close(curves[1], curves[0], rtol=1e-4, atol=1e-5)
    if setting != "true":
        return

    # Another run of the same shapes (a new model, seed 1) reuses the compiled graphs: dynamo guards on
    # shapes, not on the module object, so the process compiles nothing more (a sweep pays compilation once).
    from torch._dynamo.utils import counters

    (again,) = [r for r in load_suite(str(path), overrides=["train.compile=true", "seeds=[1]"]).runs()
                if r.algorithm == "source_only"]
    compiled_frames = counters["frames"]["total"]
    outcome = train_run(again, build_task_data(again.config), make_accelerator(cpu=True), show_progress=False)
    assert len(outcome.history) == 2 and counters["frames"]["total"] == compiled_frames


def test_compile_modes_by_device_and_a_clear_error_for_an_unknown_one(tmp_path):
    from zoo.bench.suite import load_suite
    from zoo.errors import ConfigError
    from zoo.runner.compiled import compile_mode, records_cuda_graphs

    cpu, cuda = torch.device("cpu"), torch.device("cuda", 0)
    assert compile_mode(False, cuda) is None
    assert compile_mode(True, cpu) == "default"  # no graphs to record off CUDA
    assert compile_mode(True, cuda) == "reduce-overhead"  # CUDA graphs where training shapes are static
    assert compile_mode(True, cuda, static_shapes=False) == "default"  # drop_last: false, a last partial batch
    assert compile_mode("max-autotune-no-cudagraphs", cuda) == "max-autotune-no-cudagraphs"
    assert [records_cuda_graphs(m) for m in ("default", "reduce-overhead", "max-autotune", None)] == \
        [False, True, True, False]
    path = tmp_path / "suite.yaml"
    path.write_text(SUITE)
    (run, *_) = load_suite(str(path), overrides=["train.compile=max-autotune"]).runs()
    assert run.config["train"]["compile"] == "max-autotune"
    for wrong in ("fast", "1"):
        with pytest.raises(ConfigError, match="'compile' must be true, false or a torch.compile mode") as caught:
            load_suite(str(path), overrides=[f"train.compile={wrong}"])
        assert "\n" not in str(caught.value) and "reduce-overhead" in str(caught.value)


def test_a_pretraining_step_compiles_its_backbone_as_the_run_does(tmp_path):
    """``train.compile`` reaches progressive transfer's pretraining steps (one stage loop for both): the step
    compiles its backbone and hands over eager's weights to float tolerance, under a checkpoint key of its own;
    an eager step keeps the key it had before the option was keyed."""
    from pathlib import Path

    from torch._dynamo.utils import counters

    from zoo.bench.suite import load_suite
    from zoo.bench.task_data import build_task_data
    from zoo.runner.pretrain import pretrain_backbone, step_key
    from zoo.runner.train_record import make_accelerator

    path = tmp_path / "suite.yaml"
    path.write_text(SUITE + PRETRAIN_TASK)
    states, keys = [], []
    torch._dynamo.reset()  # no graph compiled by an earlier test of the same shapes: compiling here is counted
    for overrides in ([], ["train.compile=true"]):
        (run,) = load_suite(str(path), overrides=overrides).runs(tasks=["b-then-c"])
        keys.append(step_key(run.config, 0))
        frames = counters["frames"]["total"]
        state, (step,) = pretrain_backbone(run, build_task_data(run.config).target, make_accelerator(cpu=True),
                                           Path(tmp_path / "out"), show_progress=False)
        assert not step["reused"] and len(step["val_accuracy_curve"]) == 2
        assert (counters["frames"]["total"] > frames) == bool(overrides)  # compiled only when asked
        states.append(state)
    assert keys[0] != keys[1]  # a compiled step is a checkpoint of its own, as a compiled run is a run of its own
    assert keys[0] == "859a9ad286a597dd"  # the eager key as it was before train.compile was keyed
    for name, eager in states[0].items():
        torch.testing.assert_close(states[1][name], eager, rtol=1e-4, atol=1e-5)
