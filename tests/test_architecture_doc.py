"""docs/architecture.md stays true: every module and folder it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_every_path_the_map_names_exists():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    paths = set(re.findall(r"`((?:zoo|benchmarks|tests|docs|leaderboard)/[A-Za-z0-9_./-]*)(?::[A-Za-z_]+)?`", text))
    assert len(paths) > 30, "the map names too few modules: did the format change?"
    missing = sorted(p for p in paths if not (ROOT / p.rstrip("/")).exists())
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"
