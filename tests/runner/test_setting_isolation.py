"""What a task's setting promises about the images a run sees, checked on the images that reach the network.

A spy (a forward pre-hook on simple_cnn's first conv block, registered for every module because the runner
builds the network itself; nothing is replaced, the real run proceeds) maps each input batch back to uint8
(``x * std + mean``, times 255, rounded: exact with ``train.augment: none``) and fingerprints every image
by its bytes. Real PneumoniaMNIST parts, real runs (``zoo.runner.train_record.train_and_record`` and
``zoo.runner.loop.train_run``, as ``medzoo run`` trains them):

- source_free: once the source model is trained (its pretrain step may read the source: that is the
  shipped model), no source image of any split reaches the network in SHOT's, TENT's or AdaBN's run, and
  no config, however written, makes the runner build a source domain;
- generalization: no target image reaches the network in training or in a BatchNorm re-estimation pass
  (anything with a module in training mode); target splits are only predicted, in eval mode, for reporting;
- TENT adapts at test time only: the run's checkpoint is the source model, bit for bit, and evaluating the
  model twice gives identical metrics and probabilities.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from zoo.errors import ConfigError

SOURCE_FREE = """\
suite: source-free-spy
version: 1
defaults:
  backbone: {name: simple_cnn, norm: batch}
  train: {epochs: 2, batch_size: 32, max_steps_per_epoch: 3, augment: none}
  image_size: 28
  seeds: [0]
domains:
  xray: {dataset: pneumoniamnist, partition: {part: 0, of: 4, seed: 0}}
  xray_noise4: {dataset: pneumoniamnist, partition: {part: 1, of: 4, seed: 0}, \
shift: {name: gaussian_noise, severity: 4, seed: 0}}
tasks:
  - {name: sf, setting: source_free, pretrain: [{domain: xray, epochs: 1}], target: xray_noise4, \
algorithms: [source_only, adabn, tent, shot]}
"""

GENERALIZATION = """\
suite: generalization-spy
version: 1
defaults:
  backbone: {name: simple_cnn, norm: batch}
  train: {epochs: 1, batch_size: 32, max_steps_per_epoch: 3, augment: none}
  image_size: 28
  seeds: [0]
  selection: {rule: source_val}
domains:
  site_a: {dataset: pneumoniamnist, partition: {part: 0, of: 3, seed: 0}}
  site_b: {dataset: pneumoniamnist, partition: {part: 1, of: 3, seed: 0}, shift: {name: gamma, severity: 4, seed: 0}}
  site_c: {dataset: pneumoniamnist, partition: {part: 2, of: 3, seed: 0}, \
shift: {name: gaussian_noise, severity: 4, seed: 0}}
tasks:
  - {name: dg, setting: generalization, source: [site_a, site_b], target: site_c, algorithms: [group_dro, mixstyle]}
"""


def _line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if fragment in line)


def image_keys(images: torch.Tensor) -> list[bytes]:
    """(N, C, H, W) uint8 -> one digest of each image's bytes."""
    images = images.contiguous()
    return [hashlib.sha1(image.numpy().tobytes()).digest() for image in images]


def domain_keys(domain) -> set[bytes]:
    """Digests of every image of every split of ``domain``."""
    return {key for split in domain.splits.values() for key in image_keys(split.images)}


class FirstBlockSpy:
    """Records each image entering simple_cnn's first conv block: ``(adapting, digests)`` per batch.

    ``adapting``: some module of the block is in training mode: a training step, or an evaluation-time
    BatchNorm pass (AdaBN's re-estimation, TENT's entropy steps); ``False`` for plain eval-mode prediction.
    """

    def __init__(self, mean: float, std: float) -> None:
        self.mean, self.std = mean, std
        self.batches: list[tuple[bool, list[bytes]]] = []

    def _hook(self, module: nn.Module, args: tuple) -> None:
        if not (isinstance(module, nn.Sequential) and len(module) and isinstance(module[0], nn.Conv2d)
                and module[0].in_channels == 1):  # simple_cnn's first block on grayscale images
            return
        x = args[0].detach().float().cpu()  # (B, 1, H, W) normalised
        grey = (x * self.std + self.mean) * 255
        exact = grey.round()
        assert (grey - exact).abs().max() < 1e-3, "inputs are not normalised uint8 images (augmentation on?)"
        adapting = any(m.training for m in module.modules())
        self.batches.append((adapting, image_keys(exact.clamp(0, 255).to(torch.uint8))))

    def seen(self, adapting: bool | None = None) -> set[bytes]:
        """Digests of the images seen (only those seen while adapting or not, if given)."""
        return {k for mode, keys in self.batches if adapting is None or mode == adapting for k in keys}

    def __enter__(self) -> "FirstBlockSpy":
        self.handle = nn.modules.module.register_module_forward_pre_hook(self._hook)
        return self

    def __exit__(self, *exc) -> None:
        self.handle.remove()


def _spy() -> FirstBlockSpy:
    from zoo.backbones import create_backbone

    config = create_backbone("simple_cnn", norm="batch").config
    (mean,), (std,) = config.mean, config.std
    return FirstBlockSpy(mean, std)


# -- source-free -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def source_free(data_dir, tmp_path_factory):
    """The source model, trained first; then each algorithm's run, spied on, as ``medzoo run`` trains it."""
    from accelerate import Accelerator

    from zoo.bench.suite import load_suite
    from zoo.bench.task_data import build_domain, build_task_data
    from zoo.results.store import ResultStore
    from zoo.runner.pretrain import pretrain_backbone
    from zoo.runner.train_record import train_and_record

    root = tmp_path_factory.mktemp("source-free")
    path = root / "suite.yaml"
    path.write_text(SOURCE_FREE)
    suite = load_suite(str(path))
    runs = {run.algorithm: run for run in suite.runs()}
    accelerator = Accelerator(cpu=True)
    store = ResultStore(root / "out")
    first = runs["source_only"]
    data = build_task_data(first.config, data_dir)
    source_state, steps = pretrain_backbone(first, data.target, accelerator, store.root, data_dir, show_progress=False)
    assert not steps[0]["reused"] and any(k.startswith("@head.") for k in source_state)
    spies, records = {}, {}
    for name, run in runs.items():
        with _spy() as spy:
            records[name] = train_and_record(run, accelerator, store, data_dir, False, False)
        spies[name] = spy
    source = build_domain("xray", suite.domains["xray"], data_dir, image_size=28)
    return SimpleNamespace(path=path, runs=runs, records=records, spies=spies, store=store, data=data,
                           source_state=source_state, source_keys=domain_keys(source),
                           target_keys=domain_keys(data.target))


def test_a_source_free_run_never_feeds_a_source_image_to_the_network(source_free):
    sf = source_free
    assert len(sf.source_keys) > 1000 and not sf.source_keys & sf.target_keys  # two disjoint parts, one shifted
    for name in ("shot", "tent", "adabn", "source_only"):
        record, spy = sf.records[name], sf.spies[name]
        assert record["stages"][0]["name"] == "pretrain:xray" and record["stages"][0]["reused"], record["stages"]
        assert record["task"]["setting"] == "source_free"  # what results and the leaderboard group by
        seen = spy.seen()
        assert not seen & sf.source_keys, f"{name}: {len(seen & sf.source_keys)} source images reached the network"
        assert seen & sf.target_keys, f"{name}: the spy saw no target image"  # the spy works
        assert seen <= sf.target_keys, name  # and nothing else either
    # SHOT trains on the target images; TENT and AdaBN adapt BatchNorm on them at evaluation; source_only only
    # predicts them
    assert sf.records["shot"]["stages"][1]["name"] == "adapt" and sf.spies["shot"].seen(adapting=True)
    assert len(sf.spies["tent"].seen(adapting=True)) == len(sf.spies["adabn"].seen(adapting=True)) == \
        len(sf.data.target.splits["train"])
    assert not sf.spies["source_only"].seen(adapting=True)
    assert {r["selection"]["rule"] for r in sf.records.values()} == {"last"}


def test_a_source_free_task_with_a_source_is_refused_at_its_line(source_free, tmp_path):
    from zoo.bench.suite import load_suite

    text = SOURCE_FREE.replace("setting: source_free, pretrain:", "setting: source_free, source: xray, pretrain:")
    path = tmp_path / "with-source.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_suite(str(path))
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{path}:{_line_of(text, 'name: sf')}: "), message
    assert "a source_free task reads no source images, but it names source xray" in message


def test_a_forged_source_free_config_with_sources_reads_none_of_them(source_free, data_dir, tmp_path):
    from zoo.bench.task_data import build_task_data

    run = source_free.runs["shot"]
    task = run.config.to_dict()["task"]
    missing = {"dataset": "npz", "path": str(tmp_path / "never-opened.npz")}  # reading it would be a DataError
    for spec in (missing, run.config["task"]["pretrain"][0]["domain"]["xray"]):
        forged = run.config.replace(task={**task, "sources": {"xray": spec}})
        with pytest.raises(ConfigError) as err:
            build_task_data(forged, data_dir)
        assert "\n" not in str(err.value)
        assert "a source_free task reads no source images, but its config names xray" in str(err.value)
    assert build_task_data(run.config, data_dir).source is None  # the honest config builds without a source


def test_tent_adapts_at_test_time_only_and_deterministically(source_free, data_dir):
    from accelerate import Accelerator
    from safetensors.torch import load_file

    from zoo.runner.epoch_eval import EpochEvaluator
    from zoo.runner.evaluate import predict
    from zoo.runner.loop import build_model
    from zoo.runner.pretrain import HEAD_PREFIX

    sf = source_free
    source = {("classifier." + k[len(HEAD_PREFIX):] if k.startswith(HEAD_PREFIX) else "backbone." + k): v
              for k, v in sf.source_state.items()}  # the shipped source model, as the algorithm names its weights
    saved = load_file(str(sf.store.root / sf.records["tent"]["checkpoint"]))
    assert saved.keys() == source.keys()
    for key, value in source.items():  # BatchNorm affine and running statistics included
        assert torch.equal(saved[key], value), key
    # TENT did adapt inside evaluation: its target predictions are not the source model's, nor AdaBN's
    nll = {name: sf.records[name]["metrics"]["target_test"]["nll"] for name in ("tent", "adabn", "source_only")}
    assert len(set(nll.values())) == 3, nll

    run = sf.runs["tent"]
    accelerator = Accelerator(cpu=True)
    model, normalizer = build_model(run.config, sf.data, sf.source_state)
    evaluate = EpochEvaluator(accelerator, sf.data, normalizer, run.config["train"]["eval_batch_size"], run.seed,
                              metric="accuracy")
    first_val, _, first_probs, _ = evaluate(model)
    second_val, _, second_probs, _ = evaluate(model)
    assert first_val == second_val and first_probs.keys() == second_probs.keys() == {"target_val_oracle"}
    assert torch.equal(first_probs["target_val_oracle"], second_probs["target_val_oracle"])
    for key, value in model.state_dict().items():
        assert torch.equal(value, source[key]), key  # restored after each evaluation
    plain, _ = predict(accelerator, model, evaluate.val_loaders["target_val_oracle"], normalizer)  # no test-time step
    assert not torch.equal(torch.softmax(plain, 1), first_probs["target_val_oracle"])


# -- generalization ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def generalization(data_dir, tmp_path_factory):
    from accelerate import Accelerator

    from zoo.bench.suite import load_suite
    from zoo.bench.task_data import build_task_data
    from zoo.runner.loop import train_run

    root = tmp_path_factory.mktemp("generalization")
    path = root / "suite.yaml"
    path.write_text(GENERALIZATION)
    runs = load_suite(str(path)).runs()
    data = build_task_data(runs[0].config, data_dir)
    outcomes, spies = {}, {}
    for run in runs:
        with _spy() as spy:
            outcomes[run.algorithm] = train_run(run, data, Accelerator(cpu=True), show_progress=False)
        spies[run.algorithm] = spy
    return SimpleNamespace(path=path, runs=runs, data=data, outcomes=outcomes, spies=spies,
                           source_keys=domain_keys(data.source), target_keys=domain_keys(data.target))


def test_a_generalization_run_never_trains_on_a_target_image(generalization):
    dg = generalization
    assert dg.data.source.splits["train"].domains.unique().tolist() == [0, 1]  # two source sites
    assert not dg.source_keys & dg.target_keys
    for name, spy in dg.spies.items():
        adapting = spy.seen(adapting=True)
        assert not adapting & dg.target_keys, f"{name}: target images reached the network in training"
        assert adapting & dg.source_keys, f"{name}: the spy saw no training image"  # the spy works
        assert adapting <= dg.source_keys
        # the target is predicted, in eval mode, for the report (validation as the oracle, test once)
        assert spy.seen(adapting=False) & dg.target_keys, name
        outcome = dg.outcomes[name]
        assert outcome.selection["rule"] == "source_val" and "deep_embedded_validation" not in outcome.selections
        assert "target_test" in outcome.metrics


def test_a_generalization_task_has_no_target_stream_and_hands_out_no_target_image(generalization):
    from accelerate import Accelerator

    from zoo.backbones.normalize import Normalizer
    from zoo.runner.epoch_eval import EpochEvaluator
    from zoo.runner.streams import TrainStreams

    accelerator = Accelerator(cpu=True)
    data = generalization.data
    streams = TrainStreams(accelerator, data, batch_size=32, seed=0)
    assert streams.target_unlabeled is None and streams.target_labeled is None and streams.source is not None
    with pytest.raises(ConfigError, match="generalization task's target"):
        streams.next("target_unlabeled")
    as_transfer = TrainStreams(accelerator, replace(data, setting="transfer"), batch_size=32, seed=0)
    assert as_transfer.target_unlabeled is not None  # the same data in a transfer task has one
    evaluate = EpochEvaluator(accelerator, data, Normalizer((0.5,), (0.5,), 1), 512, 0, metric="accuracy")
    with pytest.raises(ConfigError) as err:
        next(evaluate.unlabeled("target"))
    assert "\n" not in str(err.value) and "generalization task never reads" in str(err.value)
    assert sum(len(x) for x in evaluate.unlabeled("source")) == len(data.source.splits["train"])


@pytest.mark.parametrize("change, fragments", [
    (("algorithms: [group_dro, mixstyle]", "algorithms: [adabn]"),
     ["task 'dg': algorithm 'adabn' does not run in the generalization setting"]),
    (("algorithms: [group_dro, mixstyle]", "algorithms: [dann]"),
     ["task 'dg': algorithm 'dann' does not run in the generalization setting"]),
    (("selection: {rule: source_val}", "selection: {rule: deep_embedded_validation}"),
     ["task 'dg'", "selection 'deep_embedded_validation' reads unlabeled target images, which a generalization "
                   "task never reads"]),
])
def test_what_would_read_the_target_is_refused_at_resolution(tmp_path, change, fragments):
    from zoo.bench.suite import load_suite

    path = tmp_path / "suite.yaml"
    path.write_text(GENERALIZATION.replace(*change))
    assert path.read_text() != GENERALIZATION
    with pytest.raises(ConfigError) as err:
        load_suite(str(path)).runs()
    assert "\n" not in str(err.value)
    for fragment in fragments:
        assert fragment in str(err.value), str(err.value)
