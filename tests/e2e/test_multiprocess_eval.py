"""One evaluation, two process counts, the same numbers: ``accelerate launch`` on CPU, real data, real gloo.

The worker (``eval_worker.py``, run as a file) evaluates one fixed model on the real PneumoniaMNIST test
split (624 images) in batches of 100: 7 batches, the last of 24, so with 2 processes the shards are uneven
and Accelerate pads them; ``gather_for_metrics`` must hand back exactly the 624 samples, in loader order.
The model is trained for a few steps here first (and saved with safetensors), so that its predictions
use both classes and a wrong gather would change the metrics.

A second test runs a whole (tiny) suite under 2 processes and checks that the main process alone writes
its record: one line, not one per process, with ``num_processes`` 2 in its provenance.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys

import pytest
import torch
from e2e_helpers import E2E_DIR, accelerate_launch, describe

pytestmark = pytest.mark.slow

METRICS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "auroc")
TEST_IMAGES = 624  # the official PneumoniaMNIST test split


def _train_a_few_steps(data_dir, path, steps: int = 25) -> None:
    """SourceOnly on simple_cnn, a few Adam steps on the real train split; state dict -> ``path``."""
    from safetensors.torch import save_file

    import zoo
    from zoo.algorithms import ALGORITHMS
    from zoo.backbones.normalize import Normalizer
    from zoo.datasets.medmnist import load_medmnist
    from zoo.runner.batches import make_loader

    torch.manual_seed(0)
    backbone = zoo.create_backbone("simple_cnn", in_chans=1)
    model = ALGORITHMS.get("source_only")(backbone, 2)
    cfg = backbone.config
    normalizer = Normalizer(cfg.mean, cfg.std, cfg.in_chans)
    train = load_medmnist("pneumoniamnist", data_dir=data_dir).splits["train"]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for step, (images, labels) in enumerate(make_loader(train, 64, shuffle=True, seed=0, drop_last=True)):
        if step == steps:
            break
        loss = model.training_step((normalizer(images), labels), None)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))


@pytest.fixture(scope="module")
def evaluations(tmp_path_factory, data_dir):
    """The worker's JSON with 1 process (plain ``python``) and with 2 (``accelerate launch``)."""
    import subprocess

    from helpers.cli import cli_env

    tmp = tmp_path_factory.mktemp("mp-eval")
    state = tmp / "model.safetensors"
    _train_a_few_steps(data_dir, state)
    env = cli_env({"HF_HOME": str(tmp / "hf-home")})
    worker = str(E2E_DIR / "eval_worker.py")
    args = ["--data-dir", str(data_dir.absolute()), "--state", str(state), "--batch-size", "100"]
    out = {}
    for n, prefix in ((1, [sys.executable]), (2, accelerate_launch(2))):
        path = tmp / f"eval-{n}.json"
        proc = subprocess.run([*prefix, worker, str(path), *args], cwd=tmp, env=env,
                              capture_output=True, text=True, timeout=240)
        assert proc.returncode == 0 and path.is_file(), f"worker with {n} process(es)\n{describe(proc)}"
        out[n] = json.loads(path.read_text())
    return out


def test_two_processes_really_shard_the_loader_unevenly(evaluations):
    one, two = evaluations[1], evaluations[2]
    assert one["num_processes"] == 1 and one["local_counts"] == [TEST_IMAGES]
    # Two ranks of one gloo group, not two independent single-process runs.
    assert two["num_processes"] == 2, two["distributed_type"]
    assert "MULTI_CPU" in two["distributed_type"] or "MULTI_GPU" in two["distributed_type"]
    assert one["num_batches_per_process"] == 7 and two["num_batches_per_process"] == 4  # 7 batches: uneven
    # Each rank held a shard; together more than 624, because Accelerate padded the short side.
    assert all(0 < c < TEST_IMAGES for c in two["local_counts"])
    assert sum(two["local_counts"]) > TEST_IMAGES


def test_gathered_samples_are_exactly_the_test_split_in_order(evaluations, data_dir):
    from zoo.datasets.medmnist import load_medmnist

    labels = load_medmnist("pneumoniamnist", data_dir=data_dir).splits["test"].labels
    expected = hashlib.sha256(labels.to(torch.int64).numpy().tobytes()).hexdigest()
    for n, result in evaluations.items():
        assert result["gathered"] == TEST_IMAGES, n
        assert len(result["logits"]) == TEST_IMAGES, n
        assert result["metrics"]["n"] == TEST_IMAGES, n
        assert result["labels_sha256"] == expected, f"{n} process(es): gathered labels are not in loader order"


def test_metrics_are_the_same_with_one_and_two_processes(evaluations):
    one, two = evaluations[1]["metrics"], evaluations[2]["metrics"]
    # The trained model predicts both classes, so a dropped or duplicated sample would show.
    assert all(sum(column) > 0 for column in zip(*one["confusion_matrix"])), one["confusion_matrix"]
    assert 0.0 < one["auroc"] < 1.0 and not math.isnan(one["auroc"])
    for name in METRICS:
        assert two[name] == pytest.approx(one[name], abs=1e-6), name
    assert two["confusion_matrix"] == one["confusion_matrix"]
    for cls, report in one["per_class"].items():
        for key, value in report.items():
            assert two["per_class"][cls][key] == pytest.approx(value, abs=1e-6), (cls, key)
    logits_one = torch.tensor(evaluations[1]["logits"])
    logits_two = torch.tensor(evaluations[2]["logits"])
    torch.testing.assert_close(logits_two, logits_one, atol=1e-5, rtol=1e-5)


def test_suite_under_two_processes_writes_one_record(run_cmd, tmp_path):
    out = tmp_path / "runs"
    proc = run_cmd([*accelerate_launch(2), "-m", "zoo.cli.main", "run", "quick", "train.epochs=1", "seeds=[0]",
                    "train.max_steps_per_epoch=3", "--task", "pneumonia-shift-unsup", "-o", str(out),
                    "--no-progress"])
    lines = [line for line in (out / "results.jsonl").read_text().splitlines() if line.strip()]
    assert len(lines) == 1, lines
    record = json.loads(lines[0])
    assert record["task"]["name"] == "pneumonia-shift-unsup" and record["algorithm"] == "source_only"
    assert record["provenance"]["hardware"]["num_processes"] == 2
    # Only the main process logs the plan and prints the table.
    assert proc.stderr.count("1 to train on") == 1, proc.stderr
    assert "x2" in proc.stderr.split("1 to train on", 1)[1].splitlines()[0], proc.stderr
    assert proc.stdout.count("pneumonia-shift-unsup") == 1, proc.stdout
    assert (out / record["checkpoint"]).is_file()
