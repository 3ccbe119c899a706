"""``--add-algorithm`` benchmarks a method beside a suite's own: the baselines keep their run ids.

And ``--task`` / ``--algorithm`` names that match nothing are one-line errors with did-you-mean, never a
run of 0 runs that exits 0. (The plugin case, with the leaderboard, is in tests/plugins_e2e.)
"""

from __future__ import annotations

import json
import logging

import pytest
from helpers.cli import assert_one_line_error, run_medzoo

from zoo.bench.run_filters import add_algorithms
from zoo.bench.suite import load_suite
from zoo.errors import ConfigError, UnknownNameError

TINY = ["train.epochs=1", "seeds=[0]", "train.max_steps_per_epoch=2", "--no-progress"]


def test_added_algorithms_run_beside_baselines_whose_run_ids_do_not_change(caplog):
    suite = load_suite("quick")
    baseline = {(r.task.name, r.algorithm, r.seed): r.run_id for r in suite.runs()}
    with caplog.at_level(logging.WARNING):
        extended = add_algorithms(suite, ["dann", "full_ft"]).runs()
    ids = {(r.task.name, r.algorithm, r.seed): r.run_id for r in extended}
    assert {k: ids[k] for k in baseline} == baseline  # nothing of the suite's own is retrained
    added = sorted({(task, algorithm) for task, algorithm, _ in set(ids) - set(baseline)})
    # full_ft needs target labels: it skips the unsupervised task, saying why
    assert added == [("pneumonia-shift-10pct", "dann"), ("pneumonia-shift-10pct", "full_ft"),
                     ("pneumonia-shift-unsup", "dann")]
    assert "full_ft does not run on task(s) pneumonia-shift-unsup" in caplog.text
    assert "target_budget is 0" in caplog.text
    # the added algorithm can be picked with --algorithm, like the suite's own
    assert {r.algorithm for r in add_algorithms(suite, ["dann"]).runs(algorithms=["dann"])} == {"dann"}


def test_an_added_algorithm_that_fits_no_task_is_an_error():
    suite = load_suite("quick")
    with pytest.raises(ConfigError, match="--add-algorithm full_ft fits no task of suite 'quick'.*target_budget"):
        add_algorithms(suite, ["full_ft"]).runs(tasks=["pneumonia-shift-unsup"])
    with pytest.raises(UnknownNameError, match="did you mean 'dann'"):
        add_algorithms(suite, ["dnn"])


def test_names_that_match_nothing_say_what_exists(tmp_path):
    typo = run_medzoo(["run", "quick", "--algorithm", "finetun", *TINY], cwd=tmp_path)
    assert_one_line_error(typo, "runs no algorithm finetun", "did you mean 'source_then_target'", "--add-algorithm")
    other = run_medzoo(["run", "quick", "--algorithm", "dann", *TINY], cwd=tmp_path)
    assert_one_line_error(other, "runs no algorithm dann", "its algorithms: source_only, source_then_target",
                          "--add-algorithm NAME")
    task = run_medzoo(["run", "quick", "--task", "pneumonia-shift-unsap", *TINY], cwd=tmp_path)
    assert_one_line_error(task, "has no task pneumonia-shift-unsap", "did you mean 'pneumonia-shift-unsup'")
    assert not (tmp_path / "medzoo-runs" / "results.jsonl").exists()


@pytest.mark.slow  # trains runs in subprocesses
def test_the_command_trains_only_the_added_runs(tmp_path, data_dir):
    env = {"MEDZOO_DATA": str(data_dir)}
    first = run_medzoo(["run", "quick", *TINY], cwd=tmp_path, env=env, timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    results = tmp_path / "medzoo-runs" / "results.jsonl"
    before = results.read_text().splitlines()
    second = run_medzoo(["run", "quick", "--add-algorithm", "mcc", *TINY], cwd=tmp_path, env=env, timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    after = results.read_text().splitlines()
    assert after[:len(before)] == before  # the baselines' records are untouched
    new = [json.loads(line) for line in after[len(before):]]
    assert sorted((r["task"]["name"], r["algorithm"]) for r in new) == [("pneumonia-shift-10pct", "mcc"),
                                                                          ("pneumonia-shift-unsup", "mcc")]
    assert {r["suite"]["name"] for r in new} == {"quick"}
    assert "5 runs, 3 already finished, 2 to train" in " ".join(second.stderr.split())
