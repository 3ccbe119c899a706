"""The built wheel holds every module of ``zoo`` and every shipped data file (what a non-editable install gets).

An editable install finds modules straight from the source tree, so a package folder without
``__init__.py`` (which setuptools leaves out of the wheel) would pass every other test and still break
``pip install .`` for users. This builds the real wheel with pip and compares its file list to the tree.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_wheel_ships_every_module_suite_and_data_file(tmp_path):
    # Build from a copy: setuptools reuses an in-tree build/ folder, whose stale files would hide a gap.
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__",
                                                                 "medzoo-runs", ".pytest_cache", ".benchmarks"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel,) = tmp_path.glob("medzoo-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    expected = {p.relative_to(ROOT).as_posix() for p in (ROOT / "zoo").rglob("*")
                if p.suffix in {".py", ".tsv", ".typed", ".yaml"} and "__pycache__" not in p.parts}
    expected |= {f"zoo/suites/{p.name}" for p in (ROOT / "benchmarks" / "suites").glob("*.yaml")}
    expected |= {f"zoo/leaderboard_assets/{p.name}" for p in (ROOT / "leaderboard" / "assets").iterdir()
                 if p.suffix in {".py", ".css", ".js"}}
    missing = sorted(expected - shipped)
    assert not missing, f"the wheel lacks {missing}: add __init__.py to the package or list the data file"
    entry_points = next(n for n in shipped if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[medzoo.algorithms]" in text and "[console_scripts]" in text
