"""What a short run costs besides its training steps: four one-step runs, this commit against a baseline.

``benchmarks/suites/fixed_cost.yaml`` is four one-step runs (source_only and DANN, seeds 0 and 1) on the
quick suite's real data, so nearly all of their cost is fixed: imports, data, model set-up, evaluation,
DEV (label-free selection), checkpoints and records. The same ``medzoo run`` of it is made as a whole
process by this checkout and by a baseline commit exported beside it (``git archive``; default the commit
before issue 16's fixed-cost work), interleaved round by round; the CPU seconds of each process (user +
system, from ``getrusage`` of the children) are compared by their medians.

Goal (issue 16): this commit <= 0.5x the baseline's CPU seconds.

Usage::

    MEDZOO_DATA=../shared/data pytest benchmarks/test_fixed_cost.py --benchmark-only -s
    MEDZOO_BENCH_BASELINE=<commit> MEDZOO_BENCH_ROUNDS=5 ...     # another baseline, more rounds
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

BASELINE = os.environ.get("MEDZOO_BENCH_BASELINE", "2a31c2b")  # before item 5: sklearn, DEV by L-BFGS, NCHW
ROUNDS = int(os.environ.get("MEDZOO_BENCH_ROUNDS", "3"))
REPO = Path(__file__).resolve().parents[1]
SUITE = REPO / "benchmarks" / "suites" / "fixed_cost.yaml"
# What the ``medzoo`` console script runs: ``entry`` where the commit has one (it freezes the heap), else ``main``.
MAIN = ("import sys; from zoo.cli import main as cli; sys.argv[0] = 'medzoo'; "
        "sys.exit(getattr(cli, 'entry', cli.main)())")


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Path:
    """The baseline commit's ``zoo`` package, exported into a temporary folder."""
    folder = tmp_path_factory.mktemp("baseline")
    archive = subprocess.run(["git", "-C", str(REPO), "archive", BASELINE, "zoo"], capture_output=True)
    if archive.returncode != 0:
        pytest.fail(f"cannot export baseline commit {BASELINE}: {archive.stderr.decode().strip()}; set "
                    "MEDZOO_BENCH_BASELINE to a commit of this repository's history")
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def _cpu_seconds(root: Path, out: Path, data_dir: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one ``medzoo run`` of the fixed-cost suite with ``root``'s package."""
    env = {**os.environ, "PYTHONPATH": str(root), "MEDZOO_DATA": str(data_dir)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", MAIN, "run", str(SUITE), "-o", str(out), "--no-progress"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=1200)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "4 runs in" in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-2000:]
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def test_four_one_step_runs_cost_half_the_baselines_cpu_seconds(benchmark, baseline, tmp_path, data_dir):
    cpu = {"baseline": [], "this commit": []}
    wall = {"baseline": [], "this commit": []}

    def measure(side: str, root: Path) -> None:
        seconds, elapsed = _cpu_seconds(root, tmp_path / f"{side.replace(' ', '-')}-{len(cpu[side])}", data_dir)
        cpu[side].append(round(seconds, 2))
        wall[side].append(round(elapsed, 2))

    benchmark.pedantic(lambda: measure("this commit", REPO), setup=lambda: measure("baseline", baseline),
                       rounds=ROUNDS, iterations=1)
    ratio = statistics.median(cpu["this commit"]) / statistics.median(cpu["baseline"])
    benchmark.extra_info.update({"baseline": BASELINE, "cpu_s": cpu, "wall_s": wall, "ratio": round(ratio, 3)})
    print(f"\nfour one-step runs, CPU s: this commit {cpu['this commit']}, baseline {BASELINE} {cpu['baseline']}; "
          f"ratio {ratio:.3f} (wall s {wall})")
    assert ratio <= 0.5, f"four one-step runs cost {ratio:.2f}x the baseline's CPU seconds; the goal is <= 0.5x"
