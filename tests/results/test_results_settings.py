"""Results are grouped by task setting: rows, gains, ranks and Friedman blocks never mix two settings.

The records: one results file holding a transfer suite (its older records name no setting, newer ones say
``transfer``) and a source-free one whose task has the same name, ``shared-task``. ``dann`` ran only in
transfer, ``shot`` only source-free; ``source_only`` in both, better in source-free, so a gain or rank that
crossed settings would show.
"""

from __future__ import annotations

import csv
import io

import pytest

from zoo.results import compare, format_results, rank, results_table, to_csv, to_markdown
from zoo.results.blocks import source_group
from zoo.results.friedman import friedman
from zoo.results.ranks import format_ranks, rank_cells
from zoo.results.setting import by_setting, record_setting, setting_caption, settings_of
from zoo.task_settings import TASK_SETTINGS

TASK = "shared-task"
# setting -> algorithm -> accuracy per seed (3 seeds)
ACC = {
    "transfer": {"source_only": (0.60, 0.62, 0.61), "finetune": (0.70, 0.72, 0.69), "dann": (0.75, 0.77, 0.74)},
    "source_free": {"source_only": (0.80, 0.82, 0.81), "shot": (0.85, 0.86, 0.84), "tent": (0.83, 0.80, 0.82)},
}


def _task(setting: str | None) -> dict:
    """The task block of a record: source-free reads no source (a pretrain step); ``None``: no setting key."""
    if setting == "source_free":
        return {"name": TASK, "source": [], "pretrain": ["pneumoniamnist"], "target": "pneumoniamnist_blur",
                "target_budget": 0, "setting": setting}
    task = {"name": TASK, "source": ["pneumoniamnist"], "target": "pneumoniamnist_blur", "target_budget": 0}
    return task if setting is None else {**task, "setting": setting}


@pytest.fixture
def records(record_factory) -> list[dict]:
    out = []
    for setting, algorithms in ACC.items():
        for algorithm, values in algorithms.items():
            for seed, value in enumerate(values):
                # transfer seed 0 is an older record without task.setting: it must pair with seeds 1 and 2
                named = None if setting == "transfer" and seed == 0 else setting
                out.append(record_factory(f"{setting}-{algorithm}-{seed}", seed=seed, algorithm=algorithm,
                                          task=_task(named), metrics={"target_test": {"accuracy": value}}))
    return out


def test_a_record_names_its_setting_and_an_older_one_is_transfer(records):
    assert [record_setting(r) for r in records[:2]] == ["transfer", "transfer"]
    assert "setting" not in records[0]["task"] and records[1]["task"]["setting"] == "transfer"
    assert settings_of(records) == ["transfer", "source_free"]
    groups = by_setting(records)
    assert list(groups) == ["transfer", "source_free"] and [len(v) for v in groups.values()] == [9, 9]
    assert setting_caption(["transfer"]) is None
    assert setting_caption(["source_free"]) == f"setting: source_free ({TASK_SETTINGS['source_free'].summary})"
    # a source-free task and a transfer task never share an independent unit
    assert source_group(records[0]) == source_group(records[1]) != source_group(groups["source_free"][0])


def _rows(markdown: str) -> list[list[str]]:
    """The body rows of a Markdown table, cell by cell."""
    lines = [line for line in markdown.splitlines() if line.startswith("| ")][1:]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def test_the_table_has_a_setting_column_and_a_section_per_setting(records):
    markdown = to_markdown(records, metrics=("accuracy",))
    assert "| Setting | Task | Algorithm | Backbone | Selection | n | Accuracy |" in markdown
    assert [(row[0], row[2], row[5]) for row in _rows(markdown)] == [
        ("transfer", "dann", "3"), ("transfer", "finetune", "3"), ("transfer", "source_only", "3"),
        ("source_free", "shot", "3"), ("source_free", "source_only", "3"), ("source_free", "tent", "3")]
    assert "_settings: transfer, source_free; gains, ranks and Friedman tests are computed within one" in markdown
    table = results_table(records, metrics=("accuracy",))
    assert [row.end_section for row in table.rows] == [False, False, True, False, False, False]  # a rule between
    text = format_results(records, "table", metrics=("accuracy",), width=200)
    assert "source_free" in text and "Setting" in text


def test_gains_pair_runs_of_one_setting_only(records):
    rows = {(r["setting"], r["algorithm"]): r for r in compare(records, "source_only", "accuracy")}
    assert set(rows) == {("transfer", "finetune"), ("transfer", "dann"), ("source_free", "shot"),
                         ("source_free", "tent")}
    assert rows["transfer", "dann"]["gain"] == pytest.approx((0.15 + 0.15 + 0.13) / 3)  # dann - source_only
    assert rows["source_free", "shot"]["gain"] == pytest.approx(0.85 - 0.81)
    assert all(r["n_pairs"] == 3 for r in rows.values())  # the record without a setting paired as transfer
    pooled = {(r["setting"], r["algorithm"]): r for r in compare(records, "source_only", "accuracy", over="task")}
    assert pooled["source_free", "shot"]["n_units"] == 3 and pooled["source_free", "shot"]["n_tasks"] == 1
    gains = {(row[0], row[2]): row[-2] for row in _rows(to_markdown(records, metrics=("accuracy",),
                                                                      compare="source_only"))}
    assert gains["transfer", "dann"] == "+14.3" and gains["source_free", "shot"] == "+4.0"
    assert gains["transfer", "source_only"] == gains["source_free", "source_only"] == "baseline"


def test_ranks_and_friedman_are_computed_within_one_setting(records):
    ranks = {(r["setting"], r["algorithm"]): r["mean_rank"] for r in rank(records, "accuracy")}
    assert ranks == {("transfer", "dann"): 1.0, ("transfer", "finetune"): 2.0, ("transfer", "source_only"): 3.0,
                     ("source_free", "shot"): 1.0, ("source_free", "tent"): 2.0,
                     ("source_free", "source_only"): 3.0}
    blocks = {b["setting"]: b for b in friedman(records, "accuracy", n_perm=200)}
    assert set(blocks) == {"transfer", "source_free"}
    assert set(blocks["transfer"]["methods"]) == {"dann", "finetune", "source_only"}  # never shot or tent
    assert set(blocks["source_free"]["methods"]) == {"shot", "tent", "source_only"}  # never dann or finetune
    assert blocks["source_free"]["n_units"] == 3 and blocks["source_free"]["tasks"] == [TASK]
    cells = rank_cells(records, ("accuracy",), compare="source_only")
    assert cells.header[:3] == ["Setting", "Block", "Algorithm"] and cells.sections == [2]
    by_setting_rows = {(row[0], row[2]): row for row in cells.body}
    assert by_setting_rows["source_free", "shot"][5] == "1.00" and ("source_free", "dann") not in by_setting_rows
    text = format_ranks(records, ("accuracy",), fmt="markdown")
    assert "Friedman, quick@1 transfer simple_cnn source_val, 3 algorithms x 1 tasks" in text
    assert "Friedman, quick@1 source_free simple_cnn source_val, 3 algorithms x 1 tasks" in text
    rows = list(csv.DictReader(io.StringIO(format_ranks(records, ("accuracy",), fmt="csv"))))
    assert {(r["setting"], r["algorithm"]) for r in rows} == set(ranks)


def test_csv_has_a_setting_column_unless_every_row_is_transfer(records):
    rows = list(csv.DictReader(io.StringIO(to_csv(records, metrics=("accuracy",), ci="t"))))
    assert [r["setting"] for r in rows] == ["transfer"] * 3 + ["source_free"] * 3
    transfer = [r for r in records if record_setting(r) == "transfer"]
    assert to_csv(transfer, metrics=("accuracy",), ci="t").startswith("suite,task,algorithm,")
    assert "setting" not in to_markdown(transfer, metrics=("accuracy",)).lower()  # as before settings
    alone = to_markdown([r for r in records if record_setting(r) == "source_free"], metrics=("accuracy",))
    assert "| Task | Algorithm |" in alone and "_setting: source_free (a source model and unlabeled" in alone
