"""A clean copy of medzoo's sources and a wheel built from it, for the tests that build medzoo as pip would.

Building in the checkout would write ``build/`` and ``*.egg-info`` into it, so every wheel test builds from
a copy: the files a wheel is made of (``MEDZOO_SOURCES``), without caches, build outputs or a stale
``zoo/_build_info.py`` stamp.

Usage::

    source = copy_medzoo_sources(tmp_path / "src")
    wheel = build_wheel(source, tmp_path / "wheel")          # .../medzoo-<version>-py3-none-any.whl
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MEDZOO_SOURCES = ("pyproject.toml", "setup.py", "README.md", "zoo", "benchmarks", "leaderboard/assets")
COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "build", "dist", "*.egg-info", ".pytest_cache",
                                     "_build_info.py")
WHEEL_TIMEOUT_S = 600


def copy_medzoo_sources(dest: Path) -> Path:
    """``dest`` holding a clean copy of the files medzoo's wheel is built from; returns ``dest``."""
    for name in MEDZOO_SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, dest / name, ignore=COPY_IGNORE)
        else:
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest / name)
    return dest


def build_wheel(source: Path, dest: Path) -> Path:
    """The wheel pip builds from ``source`` (no deps, no index, no isolation: the build tools installed here)."""
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "-q", "-w", str(dest), str(source)], capture_output=True, text=True,
                          timeout=WHEEL_TIMEOUT_S)
    if proc.returncode != 0:
        raise RuntimeError(f"building the wheel of {source} failed:\n{proc.stdout}\n{proc.stderr[-3000:]}")
    (wheel,) = dest.glob("medzoo-*.whl")
    return wheel
