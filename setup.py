"""Only what pyproject.toml cannot say: benchmarks/suites ships inside the wheel as ``zoo.suites``, the
leaderboard site's assets (leaderboard/assets) as ``zoo.leaderboard_assets``, and the git commit a wheel is
built from is stamped into it as ``zoo/_build_info.py`` (a non-editable install has no ``.git`` to ask, so
its runs would otherwise record "git sha: unknown"; ``zoo.provenance.git_state`` reads the stamp)."""

import subprocess
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def _git(*args):
    try:
        done = subprocess.run(["git", *args], cwd=HERE, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


class StampGitCommit(build_py):
    """build_py, plus ``zoo/_build_info.py`` in the build (never in the source tree): the commit and whether
    tracked files differed from it; ``None`` when built outside a git checkout (e.g. from an sdist)."""

    def run(self):
        super().run()
        top = _git("rev-parse", "--show-toplevel")
        inside = top is not None and Path(top).resolve() == HERE  # not some enclosing project's repository
        sha = _git("rev-parse", "HEAD") if inside else None
        status = _git("status", "--porcelain", "--untracked-files=no") if sha else None
        dirty = None if status is None else bool(status)
        target = Path(self.build_lib) / "zoo" / "_build_info.py"
        target.write_text(f'"""Written by setup.py at build time."""\n\nGIT_SHA = {sha!r}\nGIT_DIRTY = {dirty!r}\n')


setup(
    packages=find_packages(include=["zoo", "zoo.*"]) + ["zoo.suites", "zoo.leaderboard_assets"],
    package_dir={"zoo.suites": "benchmarks/suites", "zoo.leaderboard_assets": "leaderboard/assets"},
    cmdclass={"build_py": StampGitCommit},
)
