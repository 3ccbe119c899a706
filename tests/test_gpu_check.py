"""``benchmarks/gpu_check.sh --smoke`` runs on a CPU: every section of the GPU check (the two loops side by
side with MFU, train.compile against eager, packing through the workers launcher and its per-device line)
works, in well under a minute, so the script is not found broken on the day a GPU is there to run it.

Usage::

    python -m pytest tests/test_gpu_check.py -q
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_check_smoke_runs_every_section_on_cpu():
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDZOO_")}
    env.update(CUDA_VISIBLE_DEVICES="", PYTHON=sys.executable, NO_COLOR="1")  # the CPU path, this interpreter
    started = time.perf_counter()
    proc = subprocess.run([str(ROOT / "benchmarks" / "gpu_check.sh"), "--smoke"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - started
    out = proc.stdout
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out[-4000:]}\n{proc.stderr[-4000:]}"
    assert "FAILED" not in out, out
    for fragment in ("(smoke mode)", "[resnet18_28] 28 px, batch 2, float32", "[timm resnet50] 32 px",
                     "GFLOP/img per training step", "plain / medzoo:", "MFU", "[quick suite] skipped in smoke mode",
                     "[compile] train.compile: true on cpu -> mode 'default'",
                     "dropout masks differ between calls: True; compiled draws eager's masks: True",
                     "kept across calls equal eager's: True", "1 run on cpu, 1 worker", "2 runs on cpu, 2 workers",
                     "goal > 3.0x at 8", "gpu check done"):
        assert fragment in out, f"{fragment!r} not in the output:\n{out}"
    print(f"gpu_check.sh --smoke: {wall:.1f} s")


@pytest.mark.slow
def test_a_spent_time_budget_skips_packing_with_a_clear_line_and_fails_the_check():
    """A device call has a hard limit: sections that start subprocesses get what is left of ``--budget-s``,
    and one with no time left says so and fails the check rather than being killed mid-way."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDZOO_")}
    env.update(CUDA_VISIBLE_DEVICES="", PYTHON=sys.executable, NO_COLOR="1")
    proc = subprocess.run([str(ROOT / "benchmarks" / "gpu_check.sh"), "--smoke", "--budget-s", "0"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert "[packing] FAILED: TimeoutError: no time left for 1 packed runs" in proc.stdout, proc.stdout
    assert "gpu check FAILED: packing" in proc.stdout and "[compile] train.compile" in proc.stdout
