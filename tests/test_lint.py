"""The code has no unused import or variable, no undefined name and no syntax error (ruff, pyflakes rules).

Usage::

    python -m pytest tests/test_lint.py -q
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_no_pyflakes_error():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise",
                           "zoo", "tests", "benchmarks", "plugins"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
