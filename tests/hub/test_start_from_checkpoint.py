"""Starting from Hub checkpoints: ``medzoo:NAME`` in a suite fine-tunes from it, fed with its own normalisation;
``hf-hub:org/name`` timm checkpoints load (safetensors; pickles only when trusted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from helpers.cli import assert_one_line_error, run_medzoo_many
from hub_helpers import assert_no_token, timm_repo_files

SUITE = {
    "suite": "from-hub", "version": 1,
    "defaults": {"backbone": {"name": "medzoo:tiny-xray"}, "image_size": 28, "channels": 1, "seeds": [0],
                 "train": {"epochs": 1, "batch_size": 32, "max_steps_per_epoch": 2},
                 "selection": {"rule": "target_val"}},
    "domains": {"breast": {"dataset": "breastmnist"}},
    "tasks": [{"name": "xray-ckpt-to-breast-10pct", "pretrain": [], "target": "breast", "target_budget": 0.1,
               "algorithms": ["full_ft"]}],
}


def test_suite_fine_tunes_from_a_hub_checkpoint_with_its_normalisation(hub_server, hub_env, tiny_build, tmp_path):
    import hashlib

    folder = Path(tiny_build["folder"])
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    config = json.loads(files["config.json"])
    config["pretrained_cfg"].update(mean=[0.25], std=[0.3])  # distinctive: must reach the runner's normaliser
    files["config.json"] = json.dumps(config).encode()
    commit = hub_server.add_repo("lab/tiny-xray", files=files)
    sha = hashlib.sha256(files["model.safetensors"]).hexdigest()
    catalogue = tmp_path / "catalogue.yaml"
    catalogue.write_text(yaml.safe_dump({"version": 1, "medzoo": {"tiny-xray": {
        "repo": "lab/tiny-xray", "sha256": sha, "recipe": {"dataset": {"dataset": "pneumoniamnist"},
        "backbone": {"name": "simple_cnn"}, "algorithm": "full_ft", "train": {}, "image_size": 28, "channels": 1,
        "seed": 0}}}}))
    (tmp_path / "suite.yaml").write_text(yaml.safe_dump(SUITE))
    wrong = {**SUITE, "defaults": {**SUITE["defaults"], "image_size": 64}}
    (tmp_path / "wrong.yaml").write_text(yaml.safe_dump(wrong))
    env = {**hub_env, "MEDZOO_CATALOGUE": str(catalogue), "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    run, mismatch = run_medzoo_many([["run", "suite.yaml", "--no-progress"],
                                     ["run", "wrong.yaml", "--no-progress", "-o", "other"]], cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    assert_one_line_error(mismatch, "was trained on 1-channel 28x28 px images", "image_size: 28")

    results = tmp_path / "medzoo-runs" / "results.jsonl"
    (record,) = [json.loads(line) for line in results.read_text().splitlines()]
    # the run had HF_TOKEN in its environment: it is in no record, checkpoint config, log or error
    assert_no_token(run.stdout, run.stderr, mismatch.stdout, mismatch.stderr,
                    files=[p for p in (tmp_path / "medzoo-runs").rglob("*") if p.is_file()])
    backbone = record["backbone"]
    assert backbone["name"] == "medzoo:tiny-xray" and backbone["options"]["sha256"] == sha  # pinned: in the run id
    assert backbone["config"]["mean"] == [0.25] and backbone["config"]["std"] == [0.3]
    assert backbone["config"]["weights"].startswith(f"medzoo:tiny-xray@{commit}")

    # the backbone the run started from is the checkpoint's (read here from the cache the run filled)
    from zoo.backbones import create_backbone
    from zoo.hub.weights import read_state

    net = create_backbone("medzoo:tiny-xray", catalogue=str(catalogue), cache_dir=env["HF_HUB_CACHE"])
    saved = read_state(folder / "model.safetensors")
    assert all(torch.equal(v, saved[k]) for k, v in net.state_dict().items())
    assert net.config.mean == (0.25,) and net.config.extra["label_names"] == ["normal", "pneumonia"]


def test_hf_hub_timm_checkpoints_load_and_pickles_need_trust(hub_server, hub_env, tmp_path):
    safe_files, state = timm_repo_files("model.safetensors")
    pickle_files, _ = timm_repo_files("pytorch_model.bin")
    hub_server.add_repo("lab/timm-safe", files=safe_files)
    hub_server.add_repo("lab/timm-pickle", files=pickle_files)
    env = {**hub_env, "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    procs = run_medzoo_many([["pull", "lab/timm-safe"], ["pull", "lab/timm-pickle", "--trust-pickle"]],
                            cwd=tmp_path, env=env)
    assert [p.returncode for p in procs] == [0, 0], [p.stderr for p in procs]

    from zoo.backbones import create_backbone
    from zoo.errors import HubError

    cache = env["HF_HUB_CACHE"]
    gray = create_backbone("hf-hub:lab/timm-safe", in_chans=1, cache_dir=cache)
    # timm's 1-channel adaptation sums the RGB filters; the config's RGB mean/std are reduced the same way
    assert torch.allclose(gray.model.conv1[0].weight, state["conv1.0.weight"].sum(1, keepdim=True))
    assert gray.config.mean == pytest.approx((0.2,)) and gray.config.input_size == (1, 64, 64)
    assert gray.forward_features(torch.zeros(2, 1, 64, 64)).shape == (2, gray.num_features)
    with pytest.raises(HubError, match="pickle checkpoint"):
        create_backbone("hf-hub:lab/timm-pickle", cache_dir=cache)
    rgb = create_backbone("hf-hub:lab/timm-pickle", cache_dir=cache, trust_pickle=True)
    assert torch.equal(rgb.model.conv1[0].weight, state["conv1.0.weight"])
