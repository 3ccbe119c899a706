"""``medzoo run SUITE --plan``: runs, finished, data and time, before training (and nothing written).

Counts are checked against the suite's own expansion and the results folder; a time comes from finished
runs of the same configuration (their recorded ``total_s``) or, for the others, from the probe.
"""

from __future__ import annotations

import json
import re

import pytest
from helpers.cli import run_medzoo

from zoo.bench.plan import make_plan
from zoo.bench.suite import load_suite
from zoo.results.store import ResultStore

TINY = ["train.epochs=1", "train.max_steps_per_epoch=2", "--no-progress"]


def _flat(proc) -> str:
    return " ".join(proc.stdout.split())


@pytest.mark.slow  # trains runs in subprocesses
def test_plan_counts_runs_and_writes_nothing(tmp_path, data_dir):
    env = {"MEDZOO_DATA": str(data_dir)}
    proc = run_medzoo(["run", "quick", "--plan", "seeds=[0,1]", *TINY], cwd=tmp_path, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    said = _flat(proc)
    expected = len(load_suite("quick", overrides=["seeds=[0,1]"]).runs())
    assert f"{expected} runs: 0 finished, {expected} to train, estimated" in said
    assert re.search(r"pneumonia-shift-10pct │ source_then_target │ 2 │ 0 │ 2 │ [\d.]+ s │ probe", said), said
    assert f"{data_dir}/medmnist/pneumoniamnist.npz │ present" in said
    assert not (tmp_path / "medzoo-runs").exists()  # a plan trains and writes nothing


@pytest.mark.slow  # trains runs in subprocesses
def test_plan_reads_finished_runs_and_times_the_rest_from_them(tmp_path, data_dir):
    env = {"MEDZOO_DATA": str(data_dir)}
    trained = run_medzoo(["run", "quick", "seeds=[0]", *TINY], cwd=tmp_path, env=env, timeout=300)
    assert trained.returncode == 0, trained.stderr[-3000:]
    records = [json.loads(line) for line in (tmp_path / "medzoo-runs" / "results.jsonl").read_text().splitlines()]
    proc = run_medzoo(["run", "quick", "--plan", "--no-probe", "seeds=[0,1]", *TINY], cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    said = _flat(proc)
    assert "6 runs: 3 finished, 3 to train" in said
    # seed 1 of each configuration is estimated from seed 0's recorded seconds
    finetune = next(r for r in records if r["algorithm"] == "source_then_target")
    seconds = finetune["timings"]["total_s"]
    shown = f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    assert f"pneumonia-shift-10pct │ source_then_target │ 2 │ 1 │ 1 │ {shown} │ 1 finished run" in said, said


def test_make_plan_marks_tasks_without_data_and_skips_their_estimate(tmp_path, data_dir):
    (tmp_path / "medmnist").mkdir()
    (tmp_path / "medmnist" / "breastmnist.npz").symlink_to(data_dir / "medmnist" / "breastmnist.npz")
    suite = load_suite("progressive", preset="quick")
    store = ResultStore(tmp_path / "none")
    probed = []

    def probe(run):  # never reached for a task without its files, nor for one whose runs are finished
        probed.append(run.task.name)
        raise AssertionError("no task here has its data")

    plan = make_plan(suite, suite.runs(tasks=["scratch-breast", "xray-breast"]), set(), [], tmp_path, probe=None)
    rows = {(r.task, r.algorithm): r for r in plan.rows}
    assert rows[("scratch-breast", "full_ft")].runnable and rows[("scratch-breast", "full_ft")].to_train == 1
    assert not rows[("xray-breast", "lp_ft")].runnable and rows[("xray-breast", "lp_ft")].to_train == 0
    assert plan.runs == 1 and plan.seconds is None  # no finished run of it, and no probe asked for
    finished = {r.run_id for r in suite.runs(tasks=["scratch-breast"])}
    done = make_plan(suite, suite.runs(tasks=["scratch-breast"]), finished, [], tmp_path, probe=probe)
    assert done.to_train == 0 and done.seconds == 0.0 and probed == []
    assert store.path.parent.exists() is False
