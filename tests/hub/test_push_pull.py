"""Push a real run to the test hub, pull it back into a fresh cache, and predict bit for bit as the run did."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import yaml
from helpers.cli import run_medzoo_many
from hub_helpers import assert_no_token


def _original_logits(run_dir: Path, images: torch.Tensor) -> torch.Tensor:
    """What the run's own model predicts: rebuilt by the runner, its saved state loaded."""
    from zoo.bench.task_data import build_task_data
    from zoo.checkpoint import load_checkpoint
    from zoo.runner.loop import build_model

    state, meta = load_checkpoint(run_dir)
    algorithm, normalizer = build_model(meta["run"], build_task_data(meta["run"]))
    algorithm.load_state_dict(state)
    with torch.no_grad():
        return algorithm.eval().predict(normalizer(images))


def test_push_then_pull_in_a_fresh_cache_predicts_bit_for_bit(hub_server, hub_env, tiny_build, tmp_path, data_dir):
    record = tiny_build["record"]
    out_dir = Path(tiny_build["folder"]).parents[1]
    run_dir = out_dir / "runs" / record["run_id"]
    push, pull, by_id = run_medzoo_many([["push", str(run_dir), "--repo", "lab/tiny-xray"],
                                         ["pull", "lab/tiny-xray"],
                                         ["push", record["run_id"], "-o", str(out_dir), "--repo", "lab/by-id"]],
                                        cwd=tmp_path, env=hub_env)
    assert push.returncode == 0, push.stderr
    assert pull.returncode == 0, pull.stderr
    assert by_id.returncode == 0, by_id.stderr
    stored = hub_server.files("lab/tiny-xray")
    assert hub_server.files("lab/by-id")["model.safetensors"] == stored["model.safetensors"]
    assert {"model.safetensors", "config.json", "README.md"} <= set(stored)
    commit = hub_server.commits("lab/tiny-xray")[-1]["sha"]
    assert commit in push.stdout and commit in pull.stdout

    # the run folder notes where it went (the later push wins), and the leaderboard links that model card
    receipt = json.loads((run_dir / "hub.json").read_text())
    assert receipt == {"repo_id": "lab/by-id", "revision": "main", "endpoint": hub_server.endpoint,
                       "commit": hub_server.commits("lab/by-id")[-1]["sha"]}
    from zoo.leaderboard import build_site, read_records

    site = build_site(read_records([out_dir])[0], tmp_path / "site").out
    run_page = (site / "runs" / f"{record['run_id']}.html").read_text()
    assert f'<a id="checkpoint-card" href="{hub_server.endpoint}/lab/by-id">' in run_page

    # config.json: timm layout with the input contract and the label map
    config = json.loads(stored["config.json"])
    assert config["architecture"] == "simple_cnn" and config["num_classes"] == 2
    assert config["label_names"] == ["normal", "pneumonia"]
    assert config["pretrained_cfg"]["input_size"] == [1, 28, 28]
    assert config["pretrained_cfg"]["mean"] == [0.5] and config["pretrained_cfg"]["std"] == [0.5]
    import hashlib

    sha = hashlib.sha256(stored["model.safetensors"]).hexdigest()
    assert config["medzoo"]["weights_sha256"] == sha and sha in pull.stdout

    # the card: front matter the Hub indexes, and numbers that are the record's
    card = stored["README.md"].decode()
    front = yaml.safe_load(card.split("---")[1])
    assert front["license"] == "cc-by-4.0" and "medical-imaging" in front["tags"]
    assert front["datasets"] == ["pneumoniamnist"] and "accuracy" in front["metrics"]
    for section in ("## Training data and its licence", "## Preprocessing and normalisation", "## Label map",
                    "## Intended use and limits", "## Evaluation results", "## Recipe", "## Citation"):
        assert section in card
    assert "Not for clinical use" in card and sha in card
    test = record["metrics"]["target_test"]
    assert f"| target_test | {test['accuracy']:.4f} | {test['balanced_accuracy']:.4f} |" in card
    assert f"rule `{record['selection']['rule']}`" in card and f"seed {record['seed']}" in card

    # no network, offline: the cache answers; the model predicts exactly as the run's model did
    hub_server.stop()
    (offline,) = run_medzoo_many([["pull", f"lab/tiny-xray@{commit[:7]}"]], cwd=tmp_path,  # short sha: cache
                                 env={**hub_env, "HF_HUB_OFFLINE": "1"})
    assert offline.returncode == 0, offline.stderr
    assert f"commit {commit}" in offline.stdout
    from zoo.hub import load_pretrained

    model = load_pretrained(f"lab/tiny-xray@{commit}", cache_dir=hub_env["HF_HUB_CACHE"])
    images = torch.from_numpy(np.load(data_dir / "medmnist" / "pneumoniamnist.npz")["test_images"][:64]).unsqueeze(1)
    assert torch.equal(model.predict_images(images), _original_logits(run_dir, images))
    assert model.label_names == ["normal", "pneumonia"]
    assert_no_token(push.stdout, push.stderr, pull.stdout, pull.stderr, by_id.stdout, by_id.stderr, offline.stdout,
                    offline.stderr, card, stored["config.json"].decode(), run_page, files=[run_dir / "hub.json"])
