"""Processes and files: workers die with their launcher, and two ``medzoo run`` on one folder share the runs.

Everything goes through the real ``medzoo`` command on tiny synthetic domains (no data files):

- only the main process of ``--launcher workers --workers 2`` is killed (SIGTERM, then SIGKILL) while both
  workers are mid-run: 5 s later no worker is alive, and 6 s later no record was added after the kill;
  SIGTERM ends with the one-line message that names the stopped workers;
- two ``medzoo run`` started at once on one output folder (local + local, + workers, or + a 2-process
  ``accelerate launch``): every run is trained exactly once (each process logs "target-test accuracy" for
  the runs it trained and stored), both exit 0, and both end with the summary of all runs;
- a run whose lock holder dies without storing it is trained by the process waiting for it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2e_helpers import accelerate_launch, describe
from helpers.cli import cli_env, medzoo_executable

pytestmark = pytest.mark.slow

TIMEOUT_S = 240


def _suite(seeds: int, epochs: int) -> str:
    return f"""\
suite: process-safety
version: 1
defaults:
  backbone: {{name: simple_cnn}}
  train: {{epochs: {epochs}, batch_size: 16, eval_batch_size: 64, max_steps_per_epoch: 30, lr: 0.01}}
  seeds: {list(range(seeds))}
domains:
  src: {{dataset: synthetic, seed: 0, n_per_class: 200}}
  tgt: {{dataset: synthetic, seed: 1, n_per_class: 200, appearance: 1.0}}
tasks:
  - {{name: unsup, source: src, target: tgt, target_budget: 0, algorithms: [source_only]}}
"""


def _records(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip()) if path.exists() else 0


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def _workers(parent: int) -> list[int]:
    """Worker processes (spawned interpreters) whose parent is ``parent``, found by scanning /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (_stat(int(entry.name)) or ("", 0))[1] == parent:
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline:  # not the resource tracker, also a child
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")  # a zombie is dead, just not reaped yet


def _kill_main_mid_training(tmp_path: Path, sig: signal.Signals) -> tuple[subprocess.Popen, str]:
    (tmp_path / "suite.yaml").write_text(_suite(seeds=4, epochs=6))  # ~5 s a run; 2 workers, 2 runs each
    results = tmp_path / "out" / "results.jsonl"
    argv = [medzoo_executable(), "run", "suite.yaml", "-o", "out", "--no-progress", "--launcher", "workers",
            "--workers", "2", "--threads", "1"]
    proc = subprocess.Popen(argv, cwd=tmp_path, env=cli_env({"COLUMNS": "200"}), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        # Kill once the first runs are stored and no record came for 1.5 s: both workers are then well into
        # their second run, seconds away from storing it, so a record after the kill is an orphan's.
        count, quiet_since = 0, time.monotonic()
        while count == 0 or time.monotonic() - quiet_since < 1.5:
            assert proc.poll() is None, describe(proc, *proc.communicate())
            assert time.monotonic() < deadline, "no record after the timeout"
            time.sleep(0.05)
            if _records(results) != count:
                count, quiet_since = _records(results), time.monotonic()
        workers = _workers(proc.pid)
        assert len(workers) == 2, workers
        at_kill = _records(results)
        assert at_kill < 4, "the suite finished before the kill"
        os.kill(proc.pid, sig)  # the main process only: its workers get no signal from us
        killed_at = time.monotonic()
        stdout, stderr = proc.communicate(timeout=60)
        time.sleep(max(0.0, killed_at + 5 - time.monotonic()))
        assert not [pid for pid in workers if _alive(pid)], "a worker outlived its launcher by 5 s"
        time.sleep(max(0.0, killed_at + 6 - time.monotonic()))
        assert _records(results) == at_kill, "a record was written after the launcher was killed"
        return proc, stderr
    finally:
        try:  # whatever the outcome, leave no process of this test behind
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_sigterm_to_the_launcher_stops_its_workers_and_says_so(tmp_path):
    proc, stderr = _kill_main_mid_training(tmp_path, signal.SIGTERM)
    assert proc.returncode == 143, stderr[-4000:]
    assert stderr.strip().splitlines()[-1] == ("medzoo: stopped by SIGTERM; stopped 2 worker processes; finished "
                                               "runs are saved, rerun the same command to resume")


def test_sigkill_to_the_launcher_takes_its_workers_down(tmp_path):
    proc, stderr = _kill_main_mid_training(tmp_path, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL, stderr[-4000:]


TRAINED = re.compile(r"(unsup source_only seed \d+): target-test accuracy")


@pytest.mark.parametrize("second", ["local", "workers", "accelerate"],
                         ids=["local+local", "local+workers", "local+accelerate-2-processes"])
def test_two_runs_on_one_folder_train_each_run_once(tmp_path, second):
    runs = 6
    (tmp_path / "suite.yaml").write_text(_suite(seeds=runs, epochs=3))  # ~3 s a run
    args = ["run", "suite.yaml", "-o", "out", "--no-progress", "--threads", "1"]
    other = {"local": [medzoo_executable(), *args],
             "workers": [medzoo_executable(), *args, "--launcher", "workers", "--workers", "2"],
             # 2 ranks train each run together; only the main one locks, the other follows its broadcast
             "accelerate": [*accelerate_launch(2), "-m", "zoo.cli.main", *args]}[second]
    env = cli_env({"COLUMNS": "200", "HF_HOME": str(tmp_path / "hf-home")})  # no user Accelerate config
    procs = [subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for command in ([medzoo_executable(), *args], other)]
    outputs = [proc.communicate(timeout=TIMEOUT_S) for proc in procs]
    for proc, (stdout, stderr) in zip(procs, outputs):
        assert proc.returncode == 0, describe(proc, stdout, stderr)
        assert f"{runs} runs in out/results.jsonl" in stdout, stdout  # its summary holds every run
    trained = [TRAINED.findall(stderr) for _, stderr in outputs]
    every = sorted(label for labels in trained for label in labels)
    assert every == sorted(f"unsup source_only seed {seed}" for seed in range(runs)), trained  # each once
    assert all(trained), f"one process trained nothing, so nothing was shared: {trained}"
    assert _records(tmp_path / "out" / "results.jsonl") == runs
    print("runs trained by each process:", trained)
    assert not (tmp_path / "out" / "locks").exists()  # lock files are removed once released


HOLD = """\
import sys, time
from zoo.runner.run_lock import try_lock
lock = try_lock(sys.argv[1], sys.argv[2])
print("held" if lock else "busy", flush=True)
time.sleep(600)
"""


def test_a_run_whose_holder_dies_unfinished_is_trained_by_the_waiting_process(tmp_path):
    from zoo.bench.suite import load_suite

    (tmp_path / "suite.yaml").write_text(_suite(seeds=2, epochs=1))
    first = load_suite(str(tmp_path / "suite.yaml")).runs()[0]
    out = tmp_path / "out"
    # A real process holds seed 0's lock, as a `medzoo run` training it would, then dies without a record.
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out), first.run_id], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        proc = subprocess.Popen([medzoo_executable(), "run", "suite.yaml", "-o", "out", "--no-progress", "--threads",
                                 "1"], cwd=tmp_path, env=cli_env({"COLUMNS": "200"}), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        lines = []
        for line in proc.stderr:  # seed 1 is trained first, then seed 0 is waited for
            lines.append(line)
            if f"waiting for another process (pid {holder.pid})" in line:
                break
        assert _records(out / "results.jsonl") == 1, "".join(lines)  # seed 1 only, so far
        holder.kill()  # the kernel releases a dead process's flock
        stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
    finally:
        holder.kill()
        holder.wait()
    stderr = "".join(lines) + stderr
    assert proc.returncode == 0, describe(proc, stdout, stderr)
    assert "unsup source_only seed 0: the process that held it stopped before finishing it; training it here" in stderr
    assert sorted(TRAINED.findall(stderr)) == ["unsup source_only seed 0", "unsup source_only seed 1"], stderr
    assert _records(out / "results.jsonl") == 2
