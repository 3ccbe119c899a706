"""Best-trial selection reads the validation split of each run's selection rule, never a test split.

Records are planted with ``make_record`` (the writer's own validation) so that test and validation metrics
disagree on purpose; the ``sweep-summary`` command is run on a written results file.
"""

from __future__ import annotations

import csv
import io
import itertools

import pytest
from helpers.cli import run_medzoo_many
from sweep_helpers import planted_record

from zoo.results.best_trial import best_trial_records, best_trials, validation_score
from zoo.results.store import ResultStore

# trial -> (validation accuracy, test accuracy): trial 2 is the best on test and the WORST on validation.
PLANTED = {0: (0.70, 0.60), 1: (0.80, 0.65), 2: (0.50, 0.95)}


def _planted(rule: str = "source_val") -> list[dict]:
    # per seed, +-0.02 around the trial's value, so the mean over seeds is what ranks
    return [planted_record(t, s, val + (0.02 if s else -0.02), test, rule)
            for t, (val, test) in PLANTED.items() for s in (0, 1)]


@pytest.mark.parametrize("rule", ["source_val", "target_val", "target_val_oracle"])
def test_best_trial_is_the_best_on_validation_not_on_test(rule):
    choices = best_trials(_planted(rule))
    assert len(choices) == 1
    choice = choices[0]
    assert choice.best.trial == 1  # best validation mean (0.80); trial 2 has the best test accuracy
    assert choice.split == rule  # each rule reads the split of its own name (record schema 3)
    assert choice.best.score == pytest.approx(0.80)
    assert [t.trial for t in choice.trials] == [1, 0, 2]
    assert {r["seed"] for r in choice.records} == {0, 1} and all(r["sweep"]["trial"] == 1 for r in choice.records)


def test_test_metrics_never_change_the_choice():
    base = _planted()
    for tests in itertools.permutations([0.1, 0.5, 0.99]):  # any test accuracies: the same trial wins
        records = [planted_record(r["sweep"]["trial"], r["seed"], r["metrics"]["source_val"]["accuracy"],
                           tests[r["sweep"]["trial"]]) for r in base]
        assert best_trials(records)[0].best.trial == 1


def test_validation_score_refuses_a_rule_that_would_read_test():
    record = _planted()[0]
    record["selection"]["rule"] = "target_test"
    with pytest.raises(Exception, match="unknown model-selection rule"):
        validation_score(record)
    assert best_trials([record]) == []  # skipped with a warning, never scored on a test split


def test_incomplete_trials_do_not_compete():
    records = _planted() + [planted_record(3, 0, 0.99, 0.99)]  # one lucky seed of a trial still running
    choice = best_trials(records)[0]
    assert choice.best.trial == 1 and choice.trials[-1].trial == 3 and choice.trials[-1].n == 1


def test_records_of_no_sweep_group_by_hparams_and_experiments_stay_apart():
    plain = [planted_record(None, s, val, test, hparams={"weight": w})
             for w, val, test in [(0.1, 0.9, 0.1), (1.0, 0.6, 0.9)] for s in (0, 1)]
    other_task = [planted_record(t, s, val, test, task="other") for t, (val, test) in [(0, (0.3, 0.3)), (1, (0.4, 0.2))]
                  for s in (0, 1)]
    choices = {c.task: c for c in best_trials(plain + other_task)}
    assert choices["unsup"].best.trial is None and choices["unsup"].best.hparams == {"weight": 0.1}
    assert choices["other"].best.trial == 1
    assert len(best_trial_records(plain + other_task)) == 4  # two seeds of each chosen trial


def test_sweep_summary_command_shows_the_validation_choice(tmp_path):
    store = ResultStore(tmp_path / "runs")
    for record in _planted():
        assert store.append(record)
    csv_out, table, trials, empty = run_medzoo_many([
        ["sweep-summary", str(tmp_path / "runs"), "--format", "csv"],
        ["sweep-summary", str(tmp_path / "runs")],
        ["sweep-summary", str(tmp_path / "runs"), "--trials", "--format", "markdown"],
        ["sweep-summary", str(tmp_path / "nothing-here")],
    ], cwd=tmp_path)
    assert csv_out.returncode == 0, csv_out.stderr
    (row,) = list(csv.DictReader(io.StringIO(csv_out.stdout)))
    assert row["trial"] == "1" and row["val"] == "80.0" and row["report"] == "65.0 ± 0.0" and row["seeds"] == "2"
    assert row["hparams"] == "weight=0.2" and row["trials"] == "3"
    assert table.returncode == 0 and "Best trial" in table.stdout and "weight=0.2" in table.stdout
    header, _, *rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in trials.stdout.splitlines()]
    assert [row[header.index("Trial")] for row in rows] == ["1", "0", "2"]  # ranked by validation
    assert [row[header.index("Rank")] for row in rows] == ["#1", "#2", "#3"]
    assert empty.returncode == 2 and empty.stderr.startswith("medzoo: error: no results at")
