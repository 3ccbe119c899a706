"""``medzoo download``: official files from a local mirror (``$MEDZOO_MEDMNIST_URL``), md5-checked.

The mirror serves the real official files of the data folder over HTTP on 127.0.0.1; the command runs
as a user runs it, in a subprocess.
"""

from __future__ import annotations

import pytest
from helpers.cli import assert_one_line_error, run_medzoo

from zoo.datasets import download
from zoo.datasets.download import file_md5
from zoo.datasets.medmnist import medmnist_file


@pytest.fixture
def mirror(http_server, data_dir, monkeypatch):
    for env in download.OFFLINE_ENVS:
        monkeypatch.delenv(env, raising=False)
    served, base = http_server
    for name in ("breastmnist.npz", "pneumoniamnist.npz"):
        (served / name).symlink_to(data_dir / "medmnist" / name)
    return served, base


def test_download_fetches_verifies_and_keeps(tmp_path, mirror):
    served, base = mirror
    target = tmp_path / "data"
    env = {"MEDZOO_MEDMNIST_URL": base, "NO_PROXY": "127.0.0.1"}
    proc = run_medzoo(["download", "breastmnist", "--data-dir", str(target)], cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    path = target / "medmnist" / "breastmnist.npz"
    assert file_md5(path) == medmnist_file("breastmnist").md5
    said = " ".join(proc.stdout.split())
    assert "breastmnist.npz │ downloaded, md5 ok" in said
    again = run_medzoo(["download", "breastmnist", "--data-dir", str(target)], cwd=tmp_path, env=env)
    assert "breastmnist.npz │ present, md5 ok" in " ".join(again.stdout.split())
    # a suite: the official files its tasks read (quick: PneumoniaMNIST)
    suite = run_medzoo(["download", "quick", "--data-dir", str(target)], cwd=tmp_path, env=env)
    assert suite.returncode == 0, suite.stderr
    assert "pneumoniamnist.npz │ downloaded, md5 ok" in " ".join(suite.stdout.split())
    files = sorted(p.name for p in (target / "medmnist").iterdir() if not p.name.startswith("."))  # .md5 caches
    assert files == ["breastmnist.npz", "pneumoniamnist.npz"]


def test_a_corrupt_download_or_file_is_one_line_and_leaves_nothing(tmp_path, mirror):
    served, base = mirror
    (served / "breastmnist.npz").unlink()
    (served / "breastmnist.npz").write_bytes(b"not the official file")
    target = tmp_path / "data"
    env = {"MEDZOO_MEDMNIST_URL": base, "NO_PROXY": "127.0.0.1"}
    proc = run_medzoo(["download", "breastmnist", "--data-dir", str(target)], cwd=tmp_path, env=env)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("medzoo: error:")]  # after the log line
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(errors) == 1, proc.stderr
    assert f"has md5 {file_md5(served / 'breastmnist.npz')}, expected {medmnist_file('breastmnist').md5}" in errors[0]
    assert [p for p in (target / "medmnist").iterdir() if not p.name.startswith(".")] == []
    (target / "medmnist" / "breastmnist.npz").write_bytes(b"half a file")  # present but not official
    kept = run_medzoo(["download", "breastmnist", "--data-dir", str(target)], cwd=tmp_path, env=env)
    assert_one_line_error(kept, "is present but its md5 is not the official", "delete it")
    assert (target / "medmnist" / "breastmnist.npz").read_bytes() == b"half a file"  # never overwritten silently


def test_unknown_names_say_what_can_be_downloaded(tmp_path):
    proc = run_medzoo(["download", "breastmnst"], cwd=tmp_path)
    assert_one_line_error(proc, "nothing to download for 'breastmnst'", "did you mean 'breastmnist'")
    size = run_medzoo(["download", "breastmnist_32"], cwd=tmp_path)
    assert_one_line_error(size, "breastmnist has no size 32", "28, 64, 128, 224")
