"""``init:`` starts a run from a finished run's checkpoint; a label count mismatch between the task and
that model is a one-line error before any training, and the results already written stay as they were.

Real data (PneumoniaMNIST, the brain-tumour MRI npz), the real ``medzoo`` command, real checkpoints.
"""

from __future__ import annotations

import json
import textwrap

import pytest
import torch
from helpers.cli import assert_one_line_error

pytestmark = pytest.mark.slow

FAST = ["train.epochs=1", "seeds=[0]", "train.max_steps_per_epoch=3", "--no-progress"]


@pytest.fixture(scope="module")
def pneumonia_run(tmp_path_factory, data_dir):
    """One finished ``quick`` run (2 classes: normal, pneumonia): its output folder and record."""
    from helpers.cli import run_medzoo

    tmp = tmp_path_factory.mktemp("init-source")
    out = tmp / "runs"
    proc = run_medzoo(["run", "quick", *FAST, "--task", "pneumonia-shift-unsup", "-o", str(out),
                       "--data-dir", str(data_dir)], cwd=tmp, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads((out / "results.jsonl").read_text().splitlines()[0])
    return out, record


def _suite(tmp_path, domain: str, init: str, backbone: str = "simple_cnn"):
    path = tmp_path / "init-suite.yaml"
    path.write_text(textwrap.dedent(f"""\
        suite: init-check
        version: 1
        defaults: {{backbone: {{name: {backbone}}}, init: '{init}'}}
        domains:
          a: {{{domain}, partition: {{part: 0, of: 2}}}}
          b: {{{domain}, partition: {{part: 1, of: 2}}}}
        tasks:
          - {{name: t, source: a, target: b, target_budget: 0, algorithms: [source_only]}}
        """))
    return path


def test_label_count_mismatch_between_task_and_model_is_one_line(pneumonia_run, run_cmd, tmp_path, data_dir):
    source_out, record = pneumonia_run
    run_folder = source_out / "runs" / record["run_id"]
    out = tmp_path / "out"
    out.mkdir()
    earlier = (source_out / "results.jsonl").read_bytes()
    (out / "results.jsonl").write_bytes(earlier)  # results already written must survive the error
    suite = _suite(tmp_path, "dataset: npz, path: brain_tumor_mri/figshare.npz", str(run_folder))
    proc = run_cmd(["medzoo", "run", str(suite), *FAST, "-o", str(out)], check=False)
    line = assert_one_line_error(proc, "label count mismatch", "2-class head", "['normal', 'pneumonia']",
                                 "task 't' has 3 classes", "glioma")
    assert str(run_folder) in line
    assert (out / "results.jsonl").read_bytes() == earlier
    assert not (out / "runs").exists()


def test_a_checkpoint_of_another_backbone_is_one_line(pneumonia_run, run_cmd, tmp_path):
    source_out, record = pneumonia_run
    suite = _suite(tmp_path, "dataset: pneumoniamnist", str(source_out / "runs" / record["run_id"]),
                   backbone="resnet18_28")
    proc = run_cmd(["medzoo", "run", str(suite), *FAST, "-o", str(tmp_path / "out")], check=False)
    assert_one_line_error(proc, "does not fit this run's model", "backbone simple_cnn)", "backbone resnet18_28)")


def test_a_missing_checkpoint_is_one_line(run_cmd, tmp_path):
    suite = _suite(tmp_path, "dataset: pneumoniamnist", "no/such/run")
    proc = run_cmd(["medzoo", "run", str(suite), *FAST, "-o", str(tmp_path / "out")], check=False)
    assert_one_line_error(proc, "init: no checkpoint at 'no/such/run'")


def test_init_loads_backbone_and_head_and_enters_the_run_id(pneumonia_run, run_cmd, tmp_path, data_dir):
    from safetensors.torch import load_file

    from zoo.bench.init_from import load_init, resolve_init

    source_out, record = pneumonia_run
    run_folder = source_out / "runs" / record["run_id"]
    saved = load_file(str(run_folder / "model.safetensors"))

    # The loader itself: a freshly built model ends up with exactly the saved backbone and head.
    import zoo
    from zoo.algorithms import ALGORITHMS

    torch.manual_seed(123)
    algorithm = ALGORITHMS.get("finetune")(zoo.create_backbone("simple_cnn", in_chans=1), 2)
    init = resolve_init(str(run_folder))
    load_init(algorithm, init)
    for key, value in algorithm.state_dict().items():
        torch.testing.assert_close(value, saved[key], rtol=0, atol=0, msg=key)

    # Through the CLI: the run trains from it and its record carries the checkpoint's sha256.
    suite = _suite(tmp_path, "dataset: pneumoniamnist", str(run_folder))
    out = tmp_path / "out"
    run_cmd(["medzoo", "run", str(suite), *FAST, "-o", str(out), "--data-dir", str(data_dir)])
    new = json.loads((out / "results.jsonl").read_text().splitlines()[0])
    config = json.loads((out / "runs" / new["run_id"] / "config.json").read_text())
    assert config["run"]["init"] == init and len(init["sha256"]) == 64
    # Starting from a checkpoint is a different experiment: a different run id than without init.
    assert new["run_id"] != record["run_id"]


@pytest.mark.parametrize("damage", ["pickled", "truncated", "overwritten"])
def test_a_damaged_or_pickled_checkpoint_is_one_line(pneumonia_run, run_cmd, tmp_path, damage):
    """A copy of a real run folder whose weights are a torch pickle, cut in half or overwritten: one line, never
    unpickled (a pickle can run code), before any training; the source run's own files are not touched."""
    import shutil

    source_out, record = pneumonia_run
    folder = tmp_path / "copied-run"
    shutil.copytree(source_out / "runs" / record["run_id"], folder)
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    if damage == "pickled":
        torch.save({"backbone.w": torch.zeros(2)}, weights)
    elif damage == "truncated":
        weights.write_bytes(data[: len(data) // 2])
    else:
        weights.write_bytes(b"\x00" * 16 + data[16:])
    suite = _suite(tmp_path, "dataset: pneumoniamnist", str(folder))
    proc = run_cmd(["medzoo", "run", str(suite), *FAST, "-o", str(tmp_path / "out")], check=False)
    expected = {"pickled": "is a PyTorch pickle (torch.save), which medzoo never loads",
                "truncated": "is not a readable safetensors checkpoint (incomplete metadata",
                "overwritten": "is not a readable safetensors checkpoint ("}[damage]
    print(assert_one_line_error(proc, f"init: '{folder}'", expected))
    assert not (tmp_path / "out" / "runs").exists()
