"""Launcher mistakes are one-line errors before any work; a failing run under workers stops the sweep with
its own error; a job never retrains a run that is already stored.
"""

from __future__ import annotations

import pytest
from helpers.cli import assert_one_line_error, run_medzoo_many
from sweep_helpers import SWEEP_SUITE, line_of, planted_record, write_suite

from zoo.bench import load_suite
from zoo.errors import DataError
from zoo.results.store import ResultStore
from zoo.runner.launcher_base import RunJob
from zoo.runner.launchers import make_launcher


def test_launcher_option_mistakes_are_one_line_errors(tmp_path):
    write_suite(tmp_path, SWEEP_SUITE)
    bad = SWEEP_SUITE.replace("  trials: 3\n", "  trials: 0\n")
    write_suite(tmp_path, bad, "bad.yaml")
    cases = [
        (["--launcher", "workers", "--partition", "gpu"], "--partition: only for --launcher submitit"),
        (["--workers", "3"], "--workers needs --launcher workers"),
        (["--launcher", "workers", "--workers", "0"], "--workers must be an integer >= 1, got 0"),
        (["--launcher", "workers", "--threads", "0"], "--threads must be an integer >= 1, got 0"),
        (["--launcher", "submitit", "--slurm", "qos"], "--slurm 'qos' must look like KEY=VALUE"),
        (["--launcher", "submitit", "--cluster", "local", "--slurm", "qoss=high"],
         "submitit refused an option: Unknown argument 'qoss'"),
        (["--launcher", "submitit", "--cluster", "local", "--time", "0"], "--time must be an integer >= 1, got 0"),
    ]
    procs = run_medzoo_many([["run", "suite.yaml", "-o", "out", *args] for args, _ in cases]
                            + [["run", "bad.yaml", "--launcher", "workers"]], cwd=tmp_path)
    for proc, (_, fragment) in zip(procs, cases):
        assert_one_line_error(proc, fragment)
    assert_one_line_error(procs[-1], f"bad.yaml:{line_of(bad, 'trials: 0')}: sweep 'trials' must be an integer >= 1")
    assert not (tmp_path / "out" / "results.jsonl").exists()  # nothing trained


def test_a_failing_run_under_workers_raises_its_own_error_and_keeps_nothing_half_done(tmp_path):
    # A MedMNIST source read from an empty data folder: every run fails in its worker, at its first step.
    text = SWEEP_SUITE.replace("src: {dataset: synthetic, seed: 0, n_per_class: 20}", "src: {dataset: pneumoniamnist}")
    runs = load_suite(str(write_suite(tmp_path, text))).runs()
    launcher = make_launcher("workers", workers=2, threads=1)
    with pytest.raises(DataError, match=r"pneumoniamnist.npz not found in .*empty"):
        launcher.launch(runs, output_dir=tmp_path / "out", data_dir=tmp_path / "empty", download=False, cpu=True,
                        mixed_precision="no", show_progress=False)
    assert ResultStore(tmp_path / "out").records() == []


def test_a_job_skips_a_run_that_is_already_stored(tmp_path):
    """Two launches of one sweep (or a requeued job) must not train a stored run again."""
    run = load_suite(str(write_suite(tmp_path, SWEEP_SUITE))).runs()[0]
    store = ResultStore(tmp_path / "out")
    record = planted_record(0, 0, 0.5, 0.5)  # as another worker or an earlier launch wrote it
    record["run_id"] = run.run_id
    assert store.append(record)
    job = RunJob(str(tmp_path / "out"), None, False, True, "no", threads=None)
    assert job(run) == {"run_id": run.run_id, "skipped": True}
    assert [r["run_id"] for r in store.records()] == [run.run_id]
