"""``--workers-per-gpu N``: N worker processes packed on each visible GPU, and the one line before training
saying how many runs go to each device. Runs without a GPU: the assignment is a pure function of the run
count, the visible GPUs and the worker count; the GPU-less error and the CPU line come from the real CLI.
"""

from __future__ import annotations

import pytest
from helpers.cli import assert_one_line_error, run_medzoo, run_medzoo_many
from sweep_helpers import SWEEP_SUITE, read_records, write_suite

from zoo.errors import ConfigError
from zoo.runner import device_plan
from zoo.runner.device_plan import plan_devices, total_workers
from zoo.runner.launchers import WorkersLauncher, make_launcher

NO_GPU = {"CUDA_VISIBLE_DEVICES": ""}  # the same answer on a machine that has GPUs


def test_workers_are_pinned_round_robin_and_the_line_counts_runs_per_device():
    plan = plan_devices(12, ["0", "1"], 6)
    assert plan.worker_gpus == ("0", "1", "0", "1", "0", "1")
    assert plan.per_device() == [("cuda:0", 6, 3), ("cuda:1", 6, 3)]
    assert plan.message() == "12 runs on 2 devices: cuda:0 6 runs (3 workers), cuda:1 6 runs (3 workers)"
    # uneven: the first workers take one run more, and their device with them
    assert plan_devices(7, ["0", "1"], 4).message() == \
        "7 runs on 2 devices: cuda:0 4 runs (2 workers), cuda:1 3 runs (2 workers)"
    # CUDA_VISIBLE_DEVICES entries (here 2 and 5) are what workers get; the line numbers them as torch does here
    assert plan_devices(8, ["2", "5"], 8).worker_gpus == ("2", "5") * 4
    assert plan_devices(8, ["2", "5"], 8).message().startswith("8 runs on 2 devices: cuda:0 4 runs (4 workers)")
    # one device, packed
    assert plan_devices(8, ["0"], 8).message() == "8 runs on 1 device: cuda:0 8 runs (8 workers)"


def test_no_more_workers_than_runs_and_the_cpu_line():
    assert plan_devices(3, ["0", "1"], 8).message() == \
        "3 runs on 2 devices: cuda:0 2 runs (2 workers), cuda:1 1 run (1 worker)"
    assert plan_devices(1, ["0", "1"], 4).per_device() == [("cuda:0", 1, 1)]  # an idle GPU is not listed
    assert plan_devices(12, [], 2).message() == "12 runs on cpu, 2 workers"
    assert plan_devices(12, [], 2).worker_gpus == (None, None)
    assert plan_devices(1, [], 2).message() == "1 run on cpu, 1 worker"


def test_workers_per_gpu_is_gpus_times_n(monkeypatch):
    monkeypatch.setattr(device_plan, "visible_gpus", lambda cpu=False: ["0", "1"])
    assert total_workers(None, 3) == 6
    assert total_workers(4, None) == 4 and total_workers(None, None) is None
    launcher = make_launcher("workers", workers_per_gpu=3)
    assert isinstance(launcher, WorkersLauncher) and launcher.workers == 6
    with pytest.raises(ConfigError, match="--workers and --workers-per-gpu: give one"):
        total_workers(2, 3)
    with pytest.raises(ConfigError, match=r"--workers-per-gpu 3 with --cpu: .* use --workers 3 instead"):
        make_launcher("workers", workers_per_gpu=3, cpu=True)
    with pytest.raises(ConfigError, match="--workers-per-gpu must be an integer >= 1, got 0"):
        total_workers(None, 0)


def test_workers_per_gpu_mistakes_are_one_line_errors_from_the_cli(tmp_path):
    write_suite(tmp_path, SWEEP_SUITE)
    cases = [
        (["--launcher", "workers", "--workers-per-gpu", "2"],
         ("--workers-per-gpu 2: no CUDA device is visible here", "use --workers 2 instead")),
        (["--workers-per-gpu", "2"], ("--workers-per-gpu needs --launcher workers (got --launcher local)",)),
        (["--launcher", "workers", "--workers", "2", "--workers-per-gpu", "2"],
         ("--workers and --workers-per-gpu: give one",)),
        (["--launcher", "workers", "--workers-per-gpu", "0"], ("--workers-per-gpu must be an integer >= 1, got 0",)),
    ]
    procs = run_medzoo_many([["run", "suite.yaml", "-o", "out", *args] for args, _ in cases], cwd=tmp_path, env=NO_GPU)
    for proc, (_, fragments) in zip(procs, cases):
        assert_one_line_error(proc, *fragments)
    # the real console script too: exit 2, one line
    proc = run_medzoo(["run", "suite.yaml", "-o", "out", "--launcher", "workers", "--workers-per-gpu", "3"],
                      cwd=tmp_path, env=NO_GPU)
    assert_one_line_error(proc, "no CUDA device is visible here", "use --workers 3 instead")
    assert not (tmp_path / "out" / "results.jsonl").exists()  # nothing trained


@pytest.mark.slow
def test_a_cpu_run_with_two_workers_says_where_its_runs_go(tmp_path):
    # 1 trial x 2 seeds: two runs of two optimizer steps on synthetic domains, one per worker
    write_suite(tmp_path, SWEEP_SUITE.replace("  trials: 3\n", "  trials: 1\n"))
    proc = run_medzoo(["run", "suite.yaml", "-o", "out", "--no-progress", "--launcher", "workers", "--workers", "2",
                       "--threads", "1"], cwd=tmp_path, env=NO_GPU, timeout=240)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert "2 runs on cpu, 2 workers" in proc.stderr
    assert proc.stderr.index("2 runs on cpu, 2 workers") < proc.stderr.index("target-test accuracy")  # before
    assert len(read_records(tmp_path / "out")) == 2
