"""Launchers write the same records as the sequential loop: 2 local workers, a SIGKILLed-and-resumed
sweep, and submitit's local executor (one job per run), all through the real ``medzoo`` command.

"Same" is exact: run ids, drawn hparams and every metric of every split. Float reductions depend on the
number of CPU threads, so every command trains with ``--threads 1`` (the sequential baseline included).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from helpers.cli import cli_env, medzoo_executable
from sweep_helpers import SEEDS, SWEEP_SUITE, TRIALS, assert_same_records, read_records, result_lines, write_suite

pytestmark = pytest.mark.slow

RUNS = TRIALS * len(SEEDS)
TIMEOUT_S = 240


def _medzoo(args: list[str], cwd, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([medzoo_executable(), *args], cwd=cwd, env=cli_env(), capture_output=True, text=True,
                          timeout=TIMEOUT_S)
    if check:
        assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    write_suite(folder, SWEEP_SUITE)
    return folder


@pytest.fixture(scope="module")
def sequential(sweep_dir):
    """The uninterrupted sequential sweep (local launcher): run_id -> record."""
    proc = _medzoo(["run", "suite.yaml", "-o", "seq", "--no-progress", "--threads", "1"], sweep_dir)
    assert f"{RUNS} runs, 0 already finished, {RUNS} to train" in proc.stderr
    assert "Best trial per task x algorithm" in proc.stdout  # the run ends with the sweep's choice
    records = read_records(sweep_dir / "seq")
    assert len(records) == RUNS
    assert sorted((r["sweep"]["trial"], r["seed"]) for r in records.values()) == \
        [(t, s) for t in range(TRIALS) for s in SEEDS]
    return records


def test_two_local_workers_write_the_sequential_records(sweep_dir, sequential):
    proc = _medzoo(["run", "suite.yaml", "-o", "workers", "--no-progress", "--launcher", "workers", "--workers", "2",
                    "--threads", "1"], sweep_dir)
    assert "2 worker processes, 1 CPU thread(s) each" in proc.stderr
    records = read_records(sweep_dir / "workers")
    assert_same_records(records, sequential)
    for record in records.values():
        assert (sweep_dir / "workers" / record["checkpoint"]).is_file()


def test_killed_workers_resume_without_redoing_or_losing_runs(sweep_dir, sequential):
    out = sweep_dir / "killed"
    results = out / "results.jsonl"
    argv = [medzoo_executable(), "run", "suite.yaml", "-o", "killed", "--no-progress", "--launcher", "workers",
            "--workers", "2", "--threads", "1"]
    proc = subprocess.Popen(argv, cwd=sweep_dir, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not result_lines(results):  # kill as soon as the first run is stored: the others are mid-way
            assert proc.poll() is None, f"the sweep ended (exit {proc.returncode}) before a record was written"
            assert time.monotonic() < deadline, "no record after the timeout"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # parent and workers: nothing gets to clean up
        proc.communicate(timeout=60)
    before = read_records(out)
    assert 1 <= len(before) < RUNS, f"the kill came too late to test a resume: {len(before)} records"
    before_bytes = results.read_bytes()

    rerun = _medzoo(argv[1:], sweep_dir)
    assert f"{RUNS} runs, {len(before)} already finished, {RUNS - len(before)} to train" in rerun.stderr
    assert results.read_bytes().startswith(before_bytes)  # finished runs kept byte for byte, not redone
    after = read_records(out)
    assert_same_records(after, sequential)
    for record in after.values():
        assert (out / record["checkpoint"]).is_file()


def test_submitit_local_executor_writes_the_sequential_records(sweep_dir, sequential):
    # The first trial only (its run ids are those of the full sweep's trial 0): a job costs a fresh interpreter.
    proc = _medzoo(["run", "suite.yaml", "sweep.trials=1", "-o", "submitit", "--no-progress", "--launcher", "submitit",
                    "--cluster", "local", "--workers", "2", "--threads", "1", "--time", "10"], sweep_dir)
    jobs = len(SEEDS)
    assert f"submitit (local): {jobs} jobs (one run each, on the CPU), at most 2 at a time" in proc.stderr
    expected = {run_id: r for run_id, r in sequential.items() if r["sweep"]["trial"] == 0}
    assert_same_records(read_records(sweep_dir / "submitit"), expected)
    logs = list((sweep_dir / "submitit" / "submitit").glob("*_log.err"))
    assert len(logs) == jobs  # one job per run, each with its own log
