"""Each selection rule reads the validation split of its own name (record schema 3), and older records read so.

Before schema 3 the rule ``target_val`` read the split ``target_val_budget`` and ``target_val_oracle`` read
``target_val``. ``tests/fixtures/schema2-run`` is a real results folder written by medzoo at 1be8539 (schema 2:
the quick suite's 10% budget task on PneumoniaMNIST halves, source_only, full_ft and adabn, 3 epochs of 3
steps; its results.jsonl, predictions files and configs, without the weights). Read today, its records name
the splits as the rules do, their numbers unchanged, and the predictions files (not rewritten: their sha256 is
in the record) are found under the new names.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zoo.results.names import canonical_record
from zoo.results.per_sample import run_predictions
from zoo.results.reader import read_results
from zoo.results.record import view_record
from zoo.selection import RULES

OLD_RUN = Path(__file__).resolve().parents[1] / "fixtures" / "schema2-run"
RENAMED = {"target_val": "target_val_oracle", "target_val_budget": "target_val"}  # before -> now


def _raw() -> list[dict]:
    return [json.loads(line) for line in (OLD_RUN / "results.jsonl").read_text().splitlines()]


def test_every_rule_reads_the_split_of_its_own_name():
    assert {name: rule.split for name, rule in RULES.items() if rule.split != "dev"} == {
        "source_val": "source_val", "target_val": "target_val", "target_val_oracle": "target_val_oracle",
        "last": None}


def test_a_schema_2_record_is_read_under_the_rules_names_with_its_numbers_unchanged():
    raw = {r["run_id"]: r for r in _raw()}
    records, problems = read_results(OLD_RUN)
    assert not problems and len(records) == 3
    for record in records:
        old = raw[record["run_id"]]
        assert old["schema_version"] == 2 and record["schema_version"] == 3
        assert record["metrics"]["target_val"] == old["metrics"]["target_val_budget"]  # the budget's 26 labels
        assert record["metrics"]["target_val_oracle"] == old["metrics"]["target_val"]  # all 261
        assert "target_val_budget" not in record["metrics"]
        for key, values in old["curves"].items():
            split = next((s for s in sorted(RENAMED, key=len, reverse=True) if key.startswith(s + "_")), None)
            new_key = RENAMED[split] + key[len(split):] if split else key
            assert record["curves"][new_key] == values, key
        assert record["selection"]["selection_set"]["split"] == "target_val"  # the rule target_val's own split
        for rule, chosen in record["selections"].items():
            assert chosen["metrics"]["target_val"] == old["selections"][rule]["metrics"]["target_val_budget"]
        assert canonical_record(record) is record  # read twice, renamed once


@pytest.mark.parametrize("split,n", [("target_val", 26), ("target_val_oracle", 261), ("target_test", 312)])
def test_the_old_predictions_files_are_read_under_the_new_split_names(split, n):
    records, _ = read_results(OLD_RUN)
    for record in records:
        for rule in record["selections"]:
            view = view_record(record, rule)
            found = run_predictions(view, split)
            assert found is not None, (record["algorithm"], rule, split)
            labels, probs, _ = found
            assert len(labels) == n
            accuracy = float(np.mean(probs.argmax(axis=1) == labels))
            assert accuracy == pytest.approx(view["metrics"][split]["accuracy"]), (record["algorithm"], rule)


def _results_csv(*args: str) -> tuple[dict, str]:
    out = subprocess.run([sys.executable, "-m", "zoo.cli.main", "results", str(OLD_RUN), "--format", "csv",
                          "--metrics", "accuracy", *args], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return {r["algorithm"]: r["accuracy_mean"] for r in csv.DictReader(io.StringIO(out.stdout))}, out.stderr


def test_the_old_split_name_still_works_on_the_command_line_and_says_so():
    now, moved = _results_csv("--split", "target_val")
    old, stderr = _results_csv("--split", "target_val_budget")
    assert old == now and len(now) == 3
    assert "'target_val_budget' is now called 'target_val'" in stderr
    # target_val itself changed meaning: asked for over older records, the command says so, once
    assert " ".join(moved.split()).count("3 record(s) were written before schema 3, when the split target_val") == 1
    _, plain = _results_csv("--split", "target_test")
    assert "before schema 3" not in plain


def test_a_converted_record_keeps_its_version_and_never_guesses_a_file_split():
    records, _ = read_results(OLD_RUN)
    assert {r["converted_from_schema"] for r in records} == {2}
    view = view_record(records[0], "last")
    entry = view["selections"]["last"]["predictions"]
    assert entry["file_splits"]["target_val_oracle"] == "target_val"  # the name inside the unchanged .npz
    del entry["file_splits"]["target_val"]  # a split the file cannot be asked for under its old name
    assert run_predictions(view, "target_val") is None  # not the file's own (every-label) 'target_val'
