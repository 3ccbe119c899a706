"""Every way a Hub operation can fail gives one clear line, and the token never shows anywhere.

A checkpoint exported by a real (tiny) run is seeded on the test hub; the real client downloads it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from helpers.cli import assert_one_line_error, run_medzoo_many
from hub_helpers import FAKE_TOKEN, assert_no_token, timm_repo_files


def _folder_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.fixture
def seeded(hub_server, tiny_build, tmp_path):
    """lab/tiny-xray (the tiny run's checkpoint), a catalogue naming it with its sha256, a gated repo."""
    files = _folder_files(Path(tiny_build["folder"]))
    hub_server.add_repo("lab/tiny-xray", files=files)
    hub_server.add_repo("lab/gated", gated=True, files=files)
    catalogue = tmp_path / "catalogue.yaml"
    catalogue.write_text(yaml.safe_dump({"catalogue": "test", "version": 1, "medzoo": {"tiny-xray": {
        "repo": "lab/tiny-xray", "sha256": hashlib.sha256(files["model.safetensors"]).hexdigest(),
        "recipe": {"dataset": {"dataset": "pneumoniamnist"}, "backbone": {"name": "simple_cnn"}, "algorithm": "full_ft",
                   "train": {"epochs": 1}, "image_size": 28, "channels": 1, "seed": 0}}}}))
    data = yaml.safe_load(catalogue.read_text())
    data["medzoo"]["unpublished-xray"] = {**data["medzoo"]["tiny-xray"], "repo": "lab/unpublished", "published": False}
    catalogue.write_text(yaml.safe_dump(data))
    return catalogue


def test_tampered_pickle_missing_gated_and_offline_each_give_one_line(hub_server, hub_env, seeded, tiny_build,
                                                                     tmp_path):
    hub_server.tamper("lab/tiny-xray", "model.safetensors")
    bad = hashlib.sha256(hub_server.files("lab/tiny-xray")["model.safetensors"]).hexdigest()
    good = yaml.safe_load(seeded.read_text())["medzoo"]["tiny-xray"]["sha256"]
    pickle_files, _ = timm_repo_files("pytorch_model.bin")
    hub_server.add_repo("lab/pickled", files=pickle_files)
    env = {**hub_env, "HF_HUB_DISABLE_PROGRESS_BARS": "1", "MEDZOO_CATALOGUE": str(seeded)}
    tampered, pickled, trusted, no_repo, no_rev, unpublished = run_medzoo_many([
        ["pull", "tiny-xray"],
        ["pull", "lab/pickled"],
        ["pull", "lab/pickled", "--trust-pickle"],
        ["pull", "lab/does-not-exist"],
        ["pull", "tiny-xray@" + "0" * 40],
        ["pull", "unpublished-xray"],
    ], cwd=tmp_path, env=env)
    assert_one_line_error(unpublished, "'unpublished-xray' is not published yet", "medzoo zoo build unpublished-xray")
    assert_one_line_error(tampered, "'model.safetensors' failed verification", f"sha256 {bad}", good)
    assert_one_line_error(pickled, "pytorch_model.bin", "pickle", "--trust-pickle")
    assert trusted.returncode == 0, trusted.stderr
    assert_one_line_error(no_repo, "no repo 'lab/does-not-exist'", hub_server.endpoint)
    assert_one_line_error(no_rev, "has no revision '" + "0" * 40 + "'")
    # the refused download is gone from the cache: a retry downloads it again instead of trusting it
    assert not [p for p in Path(env["HF_HUB_CACHE"]).rglob("model.safetensors") if "tiny-xray" in str(p)]

    without_token = {k: v for k, v in env.items() if k != "HF_TOKEN"}
    checkpoint = str(tiny_build["folder"])
    gated, push = run_medzoo_many([["pull", "lab/gated"], ["push", checkpoint, "--repo", "lab/x"]],
                                  cwd=tmp_path, env=without_token)
    assert_one_line_error(gated, "repo 'lab/gated' is gated", "HF_TOKEN")
    assert_one_line_error(push, "needs a token", "HF_TOKEN")

    hub_server.stop()  # nothing listens any more: "no network"
    offline_pull, offline_push, offline_publish = run_medzoo_many([
        ["pull", "lab/tiny-xray"],
        ["push", checkpoint, "--repo", "lab/x"],
        ["publish-results", "--repo", "lab/results", str(Path(checkpoint).parents[1])],
    ], cwd=tmp_path, env=env)
    assert_one_line_error(offline_pull, "cannot reach the Hub", "not in the local cache")
    assert_one_line_error(offline_push, "cannot reach the Hub", "to push 'lab/x'")
    assert_one_line_error(offline_publish, "cannot reach the Hub", "lab/results")
    outputs = [p.stdout + p.stderr for p in (tampered, pickled, trusted, no_repo, no_rev, gated, push,
                                             offline_pull, offline_push, offline_publish)]
    assert_no_token(*outputs, files=[p for p in tmp_path.rglob("*") if p.is_file()])
    assert FAKE_TOKEN not in json.dumps(hub_server.commits("lab/tiny-xray"))
