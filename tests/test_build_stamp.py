"""A wheel carries the commit it was built from, so a non-editable install records it in every run.

Builds the real wheel (pip, setuptools, the project's setup.py) from a fresh git repository holding the
project's sources, then reads the stamp the way ``zoo.provenance.git_state`` does from the unpacked wheel.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from zoo.provenance import git_state

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "zoo", "benchmarks", "leaderboard/assets")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "build", "dist", "*.egg-info", "_build_info.py")

pytestmark = pytest.mark.slow


def _git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *args], cwd=cwd,
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _wheel(source: Path, dest: Path) -> Path:
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "-q", "-w", str(dest), str(source)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel,) = dest.glob("medzoo-*.whl")
    return wheel


def test_a_wheel_built_from_a_checkout_records_its_commit(tmp_path):
    source = tmp_path / "checkout"
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=IGNORE)
        else:
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, source / name)
    _git("init", "-q", cwd=source)
    _git("add", "-A", cwd=source)
    _git("commit", "-q", "-m", "snapshot", cwd=source)
    sha = _git("rev-parse", "HEAD", cwd=source)
    (source / "README.md").write_text((source / "README.md").read_text() + "\nan uncommitted edit\n")
    wheel = _wheel(source, tmp_path / "wheel")
    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)
    assert git_state(installed / "zoo") == {"sha": sha, "dirty": True}  # the build's commit, edits flagged
    assert not (source / "zoo" / "_build_info.py").exists()  # written into the build only, never the sources

    plain = tmp_path / "plain"  # outside any checkout (e.g. from an sdist): nothing to stamp, said as unknown
    shutil.copytree(source, plain, ignore=shutil.ignore_patterns(".git", "build", "*.egg-info"))
    unpacked = tmp_path / "plain-site"
    zipfile.ZipFile(_wheel(plain, tmp_path / "plain-wheel")).extractall(unpacked)
    assert git_state(unpacked / "zoo") == {"sha": None, "dirty": None}
