"""The GPU check's sections that start ``medzoo run`` processes: the quick suite's wall time and packing
(1, 2, 4, 8 runs at once on one GPU). What each prints and its goal: ``gpu_check.py``'s docstring.

Usage::

    quick_suite(data_dir, work, timeout=420)                        # {"wall_s", "runs"}
    packing([1, 2, 4, 8], work, data_dir, gpus=1, smoke=False, time_left=lambda: 300.0)   # {N: {...}}
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

SMOKE_SUITE = """\
suite: gpu-check-smoke
version: 1
defaults:
  backbone: {name: simple_cnn}
  train: {epochs: 1, batch_size: 16, eval_batch_size: 64, max_steps_per_epoch: 2, lr: 0.01}
  seeds: [0]
domains:
  src: {dataset: synthetic, seed: 0, n_per_class: 20}
  tgt: {dataset: synthetic, seed: 1, n_per_class: 20, appearance: 1.0}
tasks:
  - {name: unsup, source: src, target: tgt, target_budget: 0, algorithms: [source_only]}
"""


def medzoo_cli(args: list[str], timeout: float) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "zoo.cli.main", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "NO_COLOR": "1"})
    return proc, time.perf_counter() - started


def records(out: Path) -> list[dict]:
    path = out / "results.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def quick_suite(data_dir: Path, work: Path, timeout: float) -> dict:
    if timeout < 30:
        raise TimeoutError(f"{max(timeout, 0):.0f} s left of the check's budget (--budget-s): not enough for it")
    out = work / "quick"
    proc, wall = medzoo_cli(["run", "quick", "-o", str(out), "--no-progress", "--data-dir", str(data_dir)], timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"medzoo run quick failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    print(f"[quick suite] medzoo run quick (default preset, fresh output): {wall:.1f} s wall, "
          f"{len(records(out))} runs", flush=True)
    return {"wall_s": wall, "runs": len(records(out))}


def packing(counts: list[int], work: Path, data_dir: Path, gpus: int, smoke: bool, time_left) -> dict:
    """N runs at once for each N in ``counts``: summed records' images/s and runs per minute, vs N = 1.

    Each count's line is printed as soon as it is measured; a count that fails or would outlast the time
    left (``time_left()``: seconds) ends the section with the counts measured so far kept."""
    suite = "quick"
    # 20 epochs (360 steps a run) evaluated once: a run's images/s is its training, not its first step's
    # start-up; bf16, as the loops above
    overrides = ["backbone.name=resnet18_28", "train.epochs=20", "train.eval_every=20", "train.mixed_precision=bf16"]
    extra = ["--task", "pneumonia-shift-unsup", "--data-dir", str(data_dir)]
    if smoke:
        suite, overrides, extra = str(work / "smoke.yaml"), [], []
        (work / "smoke.yaml").write_text(SMOKE_SUITE)
    print(f"[packing] {'resnet18_28 28 px bf16, quick suite unsup task' if not smoke else 'synthetic smoke suite'}, "
          f"{'--workers-per-gpu N' if gpus else '--workers N (no GPU)'}:", flush=True)
    results: dict[int, dict] = {}
    for n in counts:
        if time_left() < 30:
            raise TimeoutError(f"no time left for {n} packed runs (counts measured: {list(results) or 'none'})")
        out = work / f"pack{n}"
        per = ["--workers-per-gpu", str(n)] if gpus else ["--workers", str(n), "--threads", "1"]
        seeds = f"seeds=[{','.join(str(s) for s in range(n))}]"
        proc, wall = medzoo_cli(["run", suite, seeds, *overrides, *extra, "-o", str(out), "--no-progress",
                                 "--launcher", "workers", *per], min(300.0, time_left()))
        if proc.returncode != 0:
            raise RuntimeError(f"{n} packed runs failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
        done = records(out)
        said = re.search(r"\d+ runs? on (?:cpu|\d+ devices?)\b.*", proc.stderr)  # the launcher's per-device line
        r = {"img_s": sum(rec["timings"]["images_per_s"] for rec in done), "runs_per_min": len(done) / wall * 60,
             "wall_s": wall, "line": said.group(0).strip() if said else "(no per-device line)"}
        base = results.get(counts[0], r)
        r["img_s_scaling"] = r["img_s"] / base["img_s"] if base["img_s"] else 0.0
        r["runs_per_min_scaling"] = r["runs_per_min"] / base["runs_per_min"]
        results[n] = r
        print(f"  {n} run(s): {r['img_s']:9.0f} img/s summed ({r['img_s_scaling']:.2f}x), {r['runs_per_min']:6.1f} "
              f"runs/min ({r['runs_per_min_scaling']:.2f}x), {r['wall_s']:.1f} s wall | {r['line']}", flush=True)
    return results


__all__ = ["packing", "quick_suite"]
