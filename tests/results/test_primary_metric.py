"""The primary metric: chosen from the records (declared by the suite, else by the target's class balance),
first in ``medzoo results``; constant predictors are marked; declaring it in a suite changes no run id.

Usage::

    python -m pytest tests/results/test_primary_metric.py -q
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from helpers.cli import assert_one_line_error, run_medzoo
from helpers.confusion import BALANCED, BREAST_CONSTANT, BREAST_FAIR, BREAST_SKEWED, scores

from zoo.bench.suite import load_suite
from zoo.errors import ConfigError
from zoo.results import validate_record
from zoo.results.primary import (
    DECLARED,
    MAJORITY,
    is_constant_predictor,
    majority_share,
    primary_choice,
    primary_metric,
)


def breast_records(record_factory, declared: str | None = None) -> list[dict]:
    """Three seeds of a model that favours the majority class, a fairer one and a constant source_only."""
    suite = {"name": "breast", "version": 1, **({"primary_metric": declared} if declared else {})}
    out = []
    for seed in range(3):
        for algorithm, matrix in (("skewed", BREAST_SKEWED), ("fair", BREAST_FAIR), ("source_only", BREAST_CONSTANT)):
            out.append(record_factory(f"{algorithm}-{seed}", algorithm=algorithm, seed=seed, suite="breast",
                                      metrics={"target_test": scores(matrix)}))
            out[-1]["suite"] = dict(suite)
    return out


def test_default_primary_is_balanced_accuracy_on_an_imbalanced_target_and_accuracy_on_a_balanced_one(
        record_factory):
    imbalanced = breast_records(record_factory)
    assert majority_share(imbalanced[0]) == pytest.approx(114 / 156)
    assert primary_choice(imbalanced) == ("balanced_accuracy", MAJORITY)
    balanced = [record_factory(f"b-{s}", seed=s, metrics={"target_test": scores(BALANCED)}) for s in range(2)]
    assert majority_share(balanced[0]) == 0.5 and primary_metric(balanced) == "accuracy"
    # per-class supports tell the balance when a record has no confusion matrix; exactly 60% is not over it
    no_matrix = {**scores([[60, 0], [0, 40]]), "confusion_matrix": None}
    assert primary_metric([record_factory("c", metrics={"target_test": no_matrix})]) == "accuracy"
    no_matrix["per_class"]["malignant"]["support"] = 61
    assert primary_metric([record_factory("d", metrics={"target_test": no_matrix})]) == "balanced_accuracy"
    # one imbalanced task among balanced ones is enough
    assert primary_metric(balanced + imbalanced[:1]) == "balanced_accuracy"


def test_the_declared_primary_metric_wins_and_suites_that_disagree_get_balanced_accuracy(record_factory):
    declared = breast_records(record_factory, declared="auroc")
    assert primary_choice(declared) == ("auroc", DECLARED)
    other = [{**r, "suite": {**r["suite"], "name": "other", "primary_metric": "accuracy"}}
             for r in breast_records(record_factory)]
    assert primary_choice(declared + other)[0] == "balanced_accuracy"
    balanced = [record_factory(f"b-{s}", seed=s, metrics={"target_test": scores(BALANCED)}) for s in range(2)]
    assert primary_metric(balanced + declared) == "balanced_accuracy"  # undeclared records: the class balance
    assert validate_record(declared[0]) == []
    bad = {**declared[0], "suite": {**declared[0]["suite"], "primary_metric": "dice"}}
    assert validate_record(bad) == ["suite.primary_metric: expected one of accuracy, balanced_accuracy, precision, "
                                    "recall, f1, auroc, got 'dice'"]


def test_a_constant_predictor_is_told_from_its_confusion_matrix_or_its_predicted_classes(record_factory):
    assert is_constant_predictor(record_factory("a", metrics={"target_test": scores(BREAST_CONSTANT)}))
    assert not is_constant_predictor(record_factory("b", metrics={"target_test": scores(BREAST_FAIR)}))
    one_class = {"target_test": {"accuracy": 0.7, "predicted_classes": 1}}  # no confusion matrix
    assert is_constant_predictor(record_factory("c", metrics=one_class))
    assert not is_constant_predictor(record_factory("d"))  # neither: cannot tell, so no mark
    constant = record_factory("e", metrics={"target_test": scores(BREAST_CONSTANT)})
    assert not is_constant_predictor(constant, "target_val")  # no such split


def _write(records: list[dict], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


def test_medzoo_results_puts_the_primary_metric_first_and_marks_constant_predictors(record_factory, tmp_path):
    _write(breast_records(record_factory), tmp_path / "runs")
    proc = run_medzoo(["results", "runs", "--format", "markdown", "--compare", "source_only", "--rank"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = next(line for line in lines if line.startswith("| Task"))
    assert header.split(" | ")[5:] == ["Balanced acc.", "Accuracy", "F1", "AUROC", "Δ Balanced acc. vs source_only",
                                       "p |"]
    rows = {line.split(" | ")[1]: line for line in lines if line.startswith("| pneu")}
    assert "| source_only ⊘ |" in rows["source_only ⊘"] and "baseline" in rows["source_only ⊘"]
    assert rows["fair"].split(" | ")[9] == "+22.6 vs ⊘"  # 72.6 - 50.0 points, over a class prior
    assert rows["skewed"].split(" | ")[9] == "+10.2 vs ⊘"
    assert "_primary metric: balanced accuracy (majority class of a target test split > 60%); gains and ranks use it_" \
        in lines
    assert "_⊘ constant predictor: every test prediction is one class (3 of 3 seeds)_" in lines
    ranks = run_medzoo(["results", "runs", "--format", "csv", "--rank"], cwd=tmp_path)
    rows = {row["algorithm"]: row for row in csv.DictReader(io.StringIO(ranks.stdout))}
    ranked = sorted(rows, key=lambda name: float(rows[name]["balanced_accuracy_mean_rank"]))
    assert ranked == ["fair", "skewed", "source_only"]  # by balanced accuracy; by accuracy skewed would lead
    assert list(rows["fair"]).index("balanced_accuracy_mean_rank") < list(rows["fair"]).index("accuracy_mean_rank")
    again = run_medzoo(["results", "runs", "--format", "markdown", "--metrics", "accuracy"], cwd=tmp_path)
    assert "primary metric" not in again.stdout and "source_only ⊘" in again.stdout  # the mark stays


def test_a_row_with_some_constant_seeds_says_how_many(record_factory, tmp_path):
    records = breast_records(record_factory)
    records[0]["metrics"] = {"target_test": scores(BREAST_CONSTANT)}  # seed 0 of "skewed" collapsed too
    _write(records, tmp_path / "runs")
    proc = run_medzoo(["results", "runs", "--format", "markdown"], cwd=tmp_path)
    assert "| skewed ⊘ 1/3 |" in proc.stdout, proc.stdout
    assert "(4 of 6 seeds of the marked rows; ⊘ k/n: k of the row's n)" in proc.stdout


QUICK = ["run", "quick", "--task", "pneumonia-shift-10pct", "--algorithm", "source_only", "train.epochs=1",
         "train.max_steps_per_epoch=1", "seeds=[0]", "--no-progress"]


def test_a_suite_declares_its_primary_metric_without_changing_run_ids(data_dir, tmp_path):
    plain = load_suite("quick", overrides=QUICK[6:9])
    declared = load_suite("quick", overrides=[*QUICK[6:9], "primary_metric=auroc"])
    assert declared.primary_metric == "auroc" and plain.primary_metric is None
    assert [r.run_id for r in declared.runs()] == [r.run_id for r in plain.runs()]
    env = {"MEDZOO_DATA": str(data_dir), "HF_HOME": str(tmp_path / "hf")}
    proc = run_medzoo([*QUICK, "primary_metric=auroc", "-o", "runs"], cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (record,) = [json.loads(line) for line in (tmp_path / "runs" / "results.jsonl").read_text().splitlines()]
    assert record["suite"] == {"name": "quick", "version": 1, "primary_metric": "auroc"}
    assert record["run_id"] == plain.runs(tasks=["pneumonia-shift-10pct"], algorithms=["source_only"])[0].run_id
    shown = run_medzoo(["results", "runs", "--format", "markdown"], cwd=tmp_path)
    header = next(line for line in shown.stdout.splitlines() if line.startswith("| Task"))
    assert header.split(" | ")[5] == "AUROC" and "primary metric: AUROC (declared by the suite)" in shown.stdout


def test_a_bad_primary_metric_is_a_one_line_error_naming_the_allowed_ones(tmp_path):
    proc = run_medzoo(["run", "quick", "primary_metric=dice"], cwd=tmp_path)
    assert_one_line_error(proc, "'primary_metric' must be one of accuracy, balanced_accuracy, precision, recall, f1, "
                                "auroc, got 'dice'", "override 'primary_metric=dice'")
    text = Path(load_suite("quick").path).read_text()
    (tmp_path / "mine.yaml").write_text(text + "primary_metric: [auroc]\n")
    with pytest.raises(ConfigError, match=r"mine\.yaml:\d+: 'primary_metric' must be one of accuracy, .*auroc, "
                                          r"got \['auroc'\]"):
        load_suite(str(tmp_path / "mine.yaml"))
