"""Progressive transfer and the fine-tuning strategies through the real ``medzoo run`` on real data.

brain-tumour MRI (3 classes) -> PneumoniaMNIST (2 classes, top two blocks only) -> BreastMNIST with a 50%
label budget: one checkpoint per pretraining step, shared by every algorithm of the task, recorded in each
result; the linear probe really leaves the pretrained backbone untouched. Then the mistakes a user can make
with these options, each one line before any training, with nothing written.
"""

from __future__ import annotations

import json
import textwrap

import pytest
import torch
from helpers.cli import assert_one_line_error, run_medzoo_many

pytestmark = pytest.mark.slow

SUITE = """\
suite: xmod-check
version: 1
defaults:
  backbone: {{name: simple_cnn}}
  train: {{epochs: 1, batch_size: 64, max_steps_per_epoch: 4{train}}}
  image_size: 28
  seeds: [0]
  {extra}
domains:
  mri: {{dataset: npz, path: brain_tumor_mri/figshare.npz, modality: MRI}}
  xray: {{dataset: pneumoniamnist}}
  breast: {{dataset: breastmnist}}
  breast_a: {{dataset: breastmnist, partition: {{part: 0, of: 2}}}}
  breast_b: {{dataset: breastmnist, partition: {{part: 1, of: 2}}}}
tasks:
  - name: t
    {task}
    algorithms: {algorithms}
"""
PROGRESSIVE = "pretrain: [mri, {domain: xray, train: 'last:2', epochs: 2}]\n    target: breast\n    target_budget: 0.5"


def _suite(tmp_path, name="s.yaml", task=PROGRESSIVE, algorithms="[linear_probe]", train="", extra=""):
    path = tmp_path / name
    path.write_text(SUITE.format(task=task, algorithms=algorithms, train=train, extra=extra))
    return path


def test_progressive_pretraining_is_checkpointed_shared_and_recorded(run_cmd, tmp_path):
    from safetensors.torch import load_file

    suite = _suite(tmp_path, algorithms="[linear_probe, lp_ft]")
    out = tmp_path / "out"
    proc = run_cmd(["medzoo", "run", str(suite), "-o", str(out), "--no-progress"])
    log = proc.stdout + proc.stderr
    assert log.count("pretrained on mri (3 classes)") == 1 and log.count("pretrained on xray (2 classes)") == 1, log
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["algorithm"] for r in records] == ["linear_probe", "lp_ft"]
    for record in records:
        assert record["task"]["source"] == [] and record["task"]["pretrain"] == ["mri", "xray"]
        steps = [s for s in record["stages"] if s["name"].startswith("pretrain:")]
        assert [s["name"] for s in steps] == ["pretrain:mri", "pretrain:xray"]
        assert steps[1]["train"] == "last:2" and steps[1]["epochs"] == 2 and len(steps[1]["val_accuracy_curve"]) == 2
        for step in steps:
            assert (out / step["checkpoint"]).is_file()
        assert record["selection"]["rule"] == "target_val"  # no source: selected on the budgeted target val
        # the licence and citation of every domain read, pretraining ones included (reused or not)
        assert set(record["datasets"]) == {"mri", "xray", "breast"}
        assert record["datasets"]["xray"]["licence"] == record["datasets"]["breast"]["licence"] == "CC BY 4.0"
        assert record["datasets"]["mri"]["licence"].startswith("unknown: not stated")  # this suite gives none
        assert "source_val" not in record["metrics"]
    first, second = records
    assert [s["reused"] for s in first["stages"][:2]] == [False, False]
    assert [s["reused"] for s in second["stages"][:2]] == [True, True]  # identical starting weights
    assert [s["name"] for s in second["stages"][2:]] == ["probe", "finetune"]
    assert second["stages"][2]["features"] is True

    # The probe trains the head only: its selected backbone is exactly the pretrained one.
    pretrained = load_file(str(out / first["stages"][1]["checkpoint"]))
    probed = load_file(str(out / first["checkpoint"]))
    for key, value in pretrained.items():
        assert torch.equal(probed[f"backbone.{key}"], value), key
    # ... while the xray step (last:2) changed only the top two of simple_cnn's four blocks.
    after_mri = load_file(str(out / first["stages"][0]["checkpoint"]))
    changed = {k.split(".")[0] + "." + k.split(".")[1] if k.startswith("conv_blocks") else k.split(".")[0]
               for k in pretrained if not torch.equal(pretrained[k], after_mri[k])}
    assert changed == {"conv_blocks.2", "dense"}, changed


def test_strategy_and_pretraining_mistakes_are_one_line_before_training(tmp_path, data_dir):
    cases = [
        (_suite(tmp_path, "k.yaml", algorithms="[last_k]", extra="hparams: {last_k: {k: 9}}"),
         ["last:9 asks for the last 9 blocks but the backbone has 4"]),
        (_suite(tmp_path, "layer.yaml", task=PROGRESSIVE.replace("'last:2'", "[conv9]")),
         ["pretrain step #2 (xray)", "no layer 'conv9'"]),
        (_suite(tmp_path, "smote.yaml", algorithms="[full_ft]", train=", imbalance: smote"),
         ["imbalance 'smote'", "no feature stage", "linear_probe"]),
        (_suite(tmp_path, "stain.yaml", train=", augment: stain"), ["stain", "3"]),
        (_suite(tmp_path, "nolabels.yaml", task=PROGRESSIVE.replace("0.5", "0")),
         ["has no source", "target_budget > 0"]),
        (_suite(tmp_path, "srcval.yaml", extra="selection: source_val"), ["needs a source domain", "target_val"]),
        (_suite(tmp_path, "uda.yaml", algorithms="[source_only]"), ["has no source domain", "fine-tuning strategy"]),
        (_suite(tmp_path, "leak.yaml", task="pretrain: [breast]\n    target: breast\n    target_budget: 0.5"),
         ["could share images"]),
    ]
    out = tmp_path / "out"
    procs = run_medzoo_many([["run", str(path), "-o", str(out), "--data-dir", str(data_dir), "--no-progress"]
                             for path, _ in cases], cwd=tmp_path)
    for (path, fragments), proc in zip(cases, procs):
        line = assert_one_line_error(proc, *fragments)
        assert "Traceback" not in line, (path.name, line)
    assert not (out / "results.jsonl").exists() and not (out / "pretrain").exists()


def test_parallel_workers_pretrain_a_shared_step_once(run_cmd, tmp_path):
    suite = tmp_path / "w.yaml"
    suite.write_text(textwrap.dedent("""\
        suite: shared-pretrain
        version: 1
        defaults: {train: {epochs: 2, batch_size: 16, max_steps_per_epoch: 3}, seeds: [0]}
        domains:
          other: {dataset: synthetic, num_classes: 3, seed: 5, n_per_class: 40}
          t: {dataset: synthetic, seed: 2, n_per_class: 40}
        tasks:
          - {name: t, pretrain: [other], target: t, target_budget: 0.5, algorithms: [full_ft, linear_probe, l2sp, llrd]}
        """))
    out = tmp_path / "out"
    run_cmd(["medzoo", "run", str(suite), "-o", str(out), "--no-progress", "--launcher", "workers", "--workers", "2",
             "--threads", "1"])
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == 4
    trained = [r["algorithm"] for r in records if not r["stages"][0]["reused"]]
    assert len(trained) == 1, trained  # one worker trained it, the others waited and reused its checkpoint
    assert len({r["stages"][0]["checkpoint"] for r in records}) == 1
