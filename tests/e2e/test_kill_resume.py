"""SIGKILL a suite mid-run, rerun it: finished runs are skipped, no record is lost or duplicated.

The suite is the real ``quick`` suite on real PneumoniaMNIST, cut to a few steps per run so that its
9 runs (3 seeds x 3 task/algorithm pairs) take seconds each. The first ``medzoo run`` is killed with
SIGKILL (no handler can run) as soon as two records are on disk, i.e. while a later run is training.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
from e2e_helpers import TIMEOUT_S, describe

pytestmark = pytest.mark.slow

OVERRIDES = ["train.epochs=1", "train.max_steps_per_epoch=6", "seeds=[0,1,2]"]
EXPECTED_RUNS = 9  # 3 seeds x (unsup: source_only; 10%: source_only, finetune)


def _lines(path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _wait_for_records(proc: subprocess.Popen, results, count: int) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while len(_lines(results)) < count:
        assert proc.poll() is None, f"the suite ended (exit {proc.returncode}) before {count} records were written"
        assert time.monotonic() < deadline, f"fewer than {count} records after {TIMEOUT_S}s"
        time.sleep(0.05)


def test_sigkill_mid_suite_then_rerun_skips_finished_and_loses_nothing(medzoo, e2e_env, run_cmd, tmp_path):
    out = tmp_path / "runs"
    results = out / "results.jsonl"
    argv = [medzoo, "run", "quick", *OVERRIDES, "-o", str(out), "--no-progress"]

    proc = subprocess.Popen(argv, cwd=tmp_path, env=e2e_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        _wait_for_records(proc, results, 2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole group: nothing gets to clean up
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, describe(proc, stdout, stderr)

    # What the killed suite left: whole JSON lines only, each a distinct finished run.
    before = [json.loads(line) for line in _lines(results)]
    assert 2 <= len(before) < EXPECTED_RUNS, f"the kill came too late to test a resume: {len(before)} records"
    before_ids = [r["run_id"] for r in before]
    assert len(set(before_ids)) == len(before_ids)
    before_bytes = results.read_bytes()

    rerun = run_cmd(argv)
    log = rerun.stdout + rerun.stderr
    assert f"{EXPECTED_RUNS} runs, {len(before)} already finished, {EXPECTED_RUNS - len(before)} to train" in log, log

    after = [json.loads(line) for line in _lines(results)]  # every line parses
    after_ids = [r["run_id"] for r in after]
    assert len(after) == EXPECTED_RUNS and len(set(after_ids)) == EXPECTED_RUNS, after_ids
    # Records written before the kill are still there, byte for byte, first in the file: skipped, not redone.
    assert results.read_bytes().startswith(before_bytes)
    assert after_ids[: len(before)] == before_ids
    assert {(r["task"]["name"], r["algorithm"], r["seed"]) for r in after} == {
        (task, algorithm, seed)
        for task, algorithm in [("pneumonia-shift-unsup", "source_only"), ("pneumonia-shift-10pct", "source_only"),
                                ("pneumonia-shift-10pct", "source_then_target")]
        for seed in (0, 1, 2)
    }
    for record in after:  # each finished run has its checkpoint
        assert (out / record["checkpoint"]).is_file(), record["checkpoint"]

    # A third run trains nothing and keeps the file as it is.
    final_bytes = results.read_bytes()
    third = run_cmd(argv)
    assert f"{EXPECTED_RUNS} runs, {EXPECTED_RUNS} already finished, 0 to train" in third.stdout + third.stderr
    assert results.read_bytes() == final_bytes
