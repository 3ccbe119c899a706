"""``medzoo leaderboard publish``: to a folder, and as a static Space on a local Hub-compatible server
(tests/helpers/hub_server.py) through the real huggingface_hub client; a second publish replaces the first.

Usage::

    python -m pytest tests/leaderboard/test_publish.py -q
"""

from __future__ import annotations

from helpers.cli import assert_one_line_error, run_medzoo
from helpers.hub_server import hub_server  # noqa: F401  (the fixture)
from lb_fixtures import write_jsonl

TOKEN = "hf_leaderboard_test_token"


def _tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _two_sites(records, tmp_path):
    """A site of every record and a later one with the cross-modality suite gone (its run pages are stale)."""
    write_jsonl(records, tmp_path / "all" / "results.jsonl")
    write_jsonl([r for r in records if r["suite"]["name"] != "cross-modality"], tmp_path / "fewer" / "results.jsonl")
    for name in ("all", "fewer"):
        proc = run_medzoo(["leaderboard", "build", name, "--site", f"site-{name}"], cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    return tmp_path / "site-all", tmp_path / "site-fewer"


def test_publish_to_a_folder_replaces_the_previous_site(lb_records, tmp_path):
    first, second = _two_sites(lb_records, tmp_path)
    proc = run_medzoo(["leaderboard", "publish", str(first), "--folder", "public"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert _tree(tmp_path / "public") == _tree(first)
    assert (tmp_path / "public" / "runs" / "cm-xray-1pct-full_ft-0.html").is_file()
    proc = run_medzoo(["leaderboard", "publish", str(second), "--folder", "public"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert _tree(tmp_path / "public") == _tree(second)  # stale pages of the first site are gone
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    proc = run_medzoo(["leaderboard", "publish", str(second), "--folder", "mine"], cwd=tmp_path)
    assert_one_line_error(proc, "mine is not empty and holds no medzoo leaderboard")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_publish_as_a_static_space_and_republish_removes_stale_files(lb_records, tmp_path, hub_server):  # noqa: F811
    first, second = _two_sites(lb_records, tmp_path)
    env = {"HF_ENDPOINT": hub_server.endpoint, "HF_HUB_OFFLINE": "0", "HF_TOKEN": TOKEN,
           "HF_HOME": str(tmp_path / "hf-home")}
    proc = run_medzoo(["leaderboard", "publish", str(first), "--space", "lab/board"], cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"{hub_server.endpoint}/spaces/lab/board" in proc.stdout
    files = hub_server.files("lab/board", repo_type="space")
    readme = files.pop("README.md").decode()
    files.pop(".gitattributes", None)
    assert "sdk: static" in readme and "app_file: index.html" in readme
    assert files == _tree(first)
    proc = run_medzoo(["leaderboard", "publish", str(second), "--space", "lab/board"], cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    files = hub_server.files("lab/board", repo_type="space")
    assert ".gitattributes" in files and "README.md" in files
    assert {k: v for k, v in files.items() if k not in (".gitattributes", "README.md")} == _tree(second)
    assert not any(name.startswith("runs/cm-") for name in files)  # the first site's extra pages are gone
    assert len(hub_server.commits("lab/board", repo_type="space")) == 3  # creation + one commit per publish


def test_publish_errors_are_one_line(site, tmp_path, hub_server):  # noqa: F811
    proc = run_medzoo(["leaderboard", "publish", str(site), "--space", "lab/board"], cwd=tmp_path,
                      env={"HF_HUB_OFFLINE": "1"})
    assert_one_line_error(proc, "HF_HUB_OFFLINE=1", "--folder")
    proc = run_medzoo(["leaderboard", "publish", str(site), "--space", "not-a-repo-id"], cwd=tmp_path)
    assert_one_line_error(proc, "--space takes ORG/NAME")
    env = {"HF_ENDPOINT": hub_server.endpoint, "HF_HUB_OFFLINE": "0", "HF_TOKEN": "",
           "HF_HOME": str(tmp_path / "hf-home")}
    proc = run_medzoo(["leaderboard", "publish", str(site), "--space", "lab/board"], cwd=tmp_path, env=env)
    assert_one_line_error(proc, "needs a token with write access")


def test_build_from_a_hub_results_dataset_gives_the_same_site(lb_records, site, tmp_path, hub_server):  # noqa: F811
    write_jsonl(lb_records, tmp_path / "runs" / "results.jsonl")
    env = {"HF_ENDPOINT": hub_server.endpoint, "HF_HUB_OFFLINE": "0", "HF_TOKEN": TOKEN,
           "HF_HOME": str(tmp_path / "hf-home")}
    proc = run_medzoo(["publish-results", "--repo", "lab/results", "runs"], cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    proc = run_medzoo(["leaderboard", "build", "--hub", "lab/results", "--site", "from-hub", "--metric", "accuracy"],
                      cwd=tmp_path, env=env)  # ranked by accuracy, as the site fixture
    assert proc.returncode == 0, proc.stderr
    assert _tree(tmp_path / "from-hub") == _tree(site)  # the same records, read back from parquet: the same bytes
