"""`medzoo results --ci / --compare / --rank`, run as a user runs them, on records with real metrics."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
from helpers.cli import assert_one_line_error, run_medzoo, run_medzoo_many
from scipy.stats import ttest_rel

from zoo.metrics import classification_metrics
from zoo.results import t_interval

SEEDS = (0, 1, 2)
# (task, algorithm) -> logit margin of the true class; dann is better than source_only on every task
MARGINS = {("A", "source_only"): 0.6, ("A", "dann"): 1.2, ("B", "source_only"): 1.0, ("B", "dann"): 1.5}


@pytest.fixture
def results_file(tmp_path, record_factory):
    rng = np.random.default_rng(0)
    lines, accuracy = [], {}
    for (task, algorithm), margin in MARGINS.items():
        for seed in SEEDS:
            labels = rng.integers(0, 2, 200)
            logits = rng.normal(size=(200, 2))
            logits[np.arange(200), labels] += margin + 0.05 * seed
            metrics = classification_metrics(logits, labels, 2, label_names=["normal", "pneumonia"])
            accuracy[task, algorithm, seed] = metrics["accuracy"]
            lines.append(json.dumps(record_factory(f"{task}-{algorithm}-{seed}", task_name=task, algorithm=algorithm,
                                                   seed=seed, metrics={"target_test": metrics})))
    path = tmp_path / "results.jsonl"
    path.write_text("\n".join(lines) + "\n")
    assert all(accuracy[t, "dann", s] > accuracy[t, "source_only", s] for t in "AB" for s in SEEDS)
    return path, accuracy


def _row(text: str, *fragments: str) -> str:
    return next(line for line in text.splitlines() if all(f in line for f in fragments))


def test_ci_t_cells_show_the_interval(results_file, tmp_path):
    path, accuracy = results_file
    proc = run_medzoo(["results", str(path), "--ci", "t", "--metrics", "accuracy,ece,nll", "--format", "markdown"],
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("**quick@1, target_test: mean [95% CI, t over seeds], %**")
    values = [accuracy["A", "dann", s] for s in SEEDS]
    low, high = t_interval(values)
    expected = f"{100 * sum(values) / 3:.1f} [{100 * low:.1f}, {100 * high:.1f}]"
    cells = [c.strip() for c in _row(proc.stdout, "| A | dann").strip("|").split("|")]
    assert cells[5] == expected
    assert "." in cells[7] and float(cells[7].split(" [")[0]) < 1.0  # NLL in nats with 3 decimals, not x100


def test_ci_bootstrap_resamples_seeds_and_test_samples(results_file, tmp_path):
    path, _ = results_file
    proc = run_medzoo(["results", str(path), "--ci", "bootstrap", "--metrics", "accuracy,auroc"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "bootstrap over seeds and test samples" in proc.stdout
    line = _row(proc.stdout, "A", "dann")
    accuracy_cell, auroc_cell = [c.strip() for c in line.split("│")[6:8]]
    low, high = (float(x) for x in accuracy_cell.split("[")[1].rstrip("]").split(","))
    assert low < float(accuracy_cell.split()[0]) < high and not accuracy_cell.endswith("*")
    assert auroc_cell.endswith("]*")  # AUROC needs scores: seeds only, marked and explained
    assert "* bootstrap over seeds only" in proc.stdout


def test_compare_adds_gain_and_p_per_row(results_file, tmp_path):
    path, accuracy = results_file
    table, csv_proc = run_medzoo_many([
        ["results", str(path), "--compare", "source_only", "--format", "markdown"],
        ["results", str(path), "--compare", "source_only", "--format", "csv", "--ci", "bootstrap"]], cwd=tmp_path)
    assert table.returncode == 0 and csv_proc.returncode == 0, table.stderr + csv_proc.stderr
    header = table.stdout.splitlines()[2]
    assert header.endswith("| Δ Accuracy vs source_only | p |")
    dann = [a - b for a, b in ((accuracy["A", "dann", s], accuracy["A", "source_only", s]) for s in SEEDS)]
    cells = [c.strip() for c in _row(table.stdout, "| A | dann").strip("|").split("|")]
    # 3 pairs, all positive: sign-flip 2/8, Holm-adjusted over the column's 2 tests (tasks A and B): 0.5
    assert cells[-2:] == [f"{100 * sum(dann) / 3:+.1f}", "0.5"]
    assert "Holm-adjusted over 2 tests" in table.stdout
    assert _row(table.stdout, "| A | source_only").rstrip().endswith("| baseline |  |")
    assert "sign-flip" in table.stdout

    rows = {(r["task"], r["algorithm"]): r for r in csv.DictReader(io.StringIO(csv_proc.stdout))}
    row = rows["A", "dann"]
    assert float(row["accuracy_gain"]) == pytest.approx(sum(dann) / 3)
    assert float(row["accuracy_p_signflip"]) == 0.25 and row["accuracy_n_pairs"] == "3"
    expected_t = ttest_rel([accuracy["A", "dann", s] for s in SEEDS], [accuracy["A", "source_only", s] for s in SEEDS])
    assert float(row["accuracy_p_t"]) == pytest.approx(expected_t.pvalue)
    assert row["accuracy_ci_levels"] == "seeds+samples" and rows["A", "source_only"]["accuracy_gain"] == ""


def test_rank_table_and_pooled_gain(results_file, tmp_path):
    path, accuracy = results_file
    table, csv_proc = run_medzoo_many([
        ["results", str(path), "--rank", "--compare", "source_only", "--metrics", "accuracy,ece"],
        ["results", str(path), "--rank", "--compare", "source_only", "--format", "csv"]], cwd=tmp_path)
    assert table.returncode == 0 and csv_proc.returncode == 0, table.stderr + csv_proc.stderr
    assert "average rank across tasks (1 = best)" in table.stdout
    dann = _row(table.stdout.split("average rank across tasks")[1], "│ dann ")
    # tasks A and B train on the same source: 3 independent units (source x seed), sign-flip 2/8
    assert "2 algorithms x 2 tasks" in dann and "1.00" in dann and "│     2 │" in dann and "0.25" in dann
    assert "Friedman" in table.stdout and "critical difference (Nemenyi, alpha 0.05)" in table.stdout
    rows = {r["algorithm"]: r for r in csv.DictReader(io.StringIO(csv_proc.stdout))}
    assert set(rows) == {"dann", "source_only"}  # --format csv --rank: the rank table alone
    assert float(rows["dann"]["accuracy_mean_rank"]) == 1.0 and float(rows["source_only"]["accuracy_mean_rank"]) == 2.0
    gains = [accuracy[t, "dann", s] - accuracy[t, "source_only", s] for t in "AB" for s in SEEDS]
    assert float(rows["dann"]["accuracy_gain"]) == pytest.approx(sum(gains) / 6)
    assert (float(rows["dann"]["accuracy_p_signflip"]) == pytest.approx(2 / 8)
            and rows["dann"]["accuracy_n_units"] == "3")
    assert rows["dann"]["accuracy_n_tasks"] == "2" and rows["dann"]["accuracy_n_tasks_total"] == "2"
    assert not math.isnan(float(rows["dann"]["accuracy_p_t"]))


def test_compare_errors_are_one_line(results_file, tmp_path):
    path, _ = results_file
    unknown, bad_field = run_medzoo_many([["results", str(path), "--compare", "scratch"],
                                          ["results", str(path), "--compare", "seed=0"]], cwd=tmp_path)
    assert_one_line_error(unknown, "no runs with algorithm 'scratch'", "dann, source_only")
    assert_one_line_error(bad_field, "FIELD=VALUE", "algorithm, task, backbone, selection")
