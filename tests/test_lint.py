"""The code passes ``ruff check`` with the project's rules (pyproject.toml ``[tool.ruff.lint]``): no unused
import or variable, no undefined name (pyflakes), no syntax error, imports sorted (isort rules) and no line
longer than 120 characters.

Usage::

    python -m pytest tests/test_lint.py -q
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_no_error():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise",
                           "zoo", "tests", "benchmarks", "plugins"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
