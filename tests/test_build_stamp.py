"""A wheel carries the commit it was built from, so a non-editable install records it in every run.

Builds the real wheel (pip, setuptools, the project's setup.py) from a fresh git repository holding the
project's sources, then reads the stamp the way ``zoo.provenance.git_state`` does from the unpacked wheel.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from helpers.sources import build_wheel, copy_medzoo_sources

from zoo.provenance import git_state

pytestmark = pytest.mark.slow


def _git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *args], cwd=cwd,
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_a_wheel_built_from_a_checkout_records_its_commit(tmp_path):
    source = copy_medzoo_sources(tmp_path / "checkout")
    _git("init", "-q", cwd=source)
    _git("add", "-A", cwd=source)
    _git("commit", "-q", "-m", "snapshot", cwd=source)
    sha = _git("rev-parse", "HEAD", cwd=source)
    (source / "README.md").write_text((source / "README.md").read_text() + "\nan uncommitted edit\n")
    wheel = build_wheel(source, tmp_path / "wheel")
    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)
    assert git_state(installed / "zoo") == {"sha": sha, "dirty": True}  # the build's commit, edits flagged
    assert not (source / "zoo" / "_build_info.py").exists()  # written into the build only, never the sources

    plain = tmp_path / "plain"  # outside any checkout (e.g. from an sdist): nothing to stamp, said as unknown
    shutil.copytree(source, plain, ignore=shutil.ignore_patterns(".git", "build", "*.egg-info"))
    unpacked = tmp_path / "plain-site"
    zipfile.ZipFile(build_wheel(plain, tmp_path / "plain-wheel")).extractall(unpacked)
    assert git_state(unpacked / "zoo") == {"sha": None, "dirty": None}
