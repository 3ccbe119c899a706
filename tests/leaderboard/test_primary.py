"""The leaderboard ranks each suite by its primary metric and marks constant predictors and gains over them.

The records are real runs of the quick suite (``lb_fixtures``) with the target-test metrics of a BreastMNIST-
shaped test split (42 malignant, 114 benign): a model that favours the majority class (accuracy 76.9,
balanced accuracy 60.2), a fairer one (73.1, 72.6) and a source-only baseline that calls every image benign.

Usage::

    python -m pytest tests/leaderboard/test_primary.py -q
"""

from __future__ import annotations

import csv
import io
import json
import re

from helpers.cli import run_medzoo
from helpers.confusion import BREAST_CONSTANT, BREAST_FAIR, BREAST_SKEWED, scores
from lb_fixtures import derive, write_jsonl

from zoo.leaderboard import build_site
from zoo.leaderboard.pages import suite_file

MATRICES = {"skewed": BREAST_SKEWED, "fair": BREAST_FAIR, "source_only": BREAST_CONSTANT}


def _records(real_records, declared: str | None = None) -> list[dict]:
    base = next(r for r in real_records if r["algorithm"] == "source_only")
    suite = {"name": "breast", "version": 1, **({"primary_metric": declared} if declared else {})}
    return [derive(base, f"br-{algorithm}-{seed}", algorithm=algorithm, seed=seed, suite=dict(suite),
                   **{"task.name": "xray-to-breast", "metrics.target_test": scores(matrix)})
            for algorithm, matrix in MATRICES.items() for seed in range(3)]


def _suite(site) -> dict:
    (suite,) = json.loads((site / "data" / "leaderboard.json").read_text())["suites"]
    return suite


def _rows(site, table_id: str) -> list[str]:
    page = (site / suite_file("breast@1")).read_text()
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', page, re.S).group(0)
    body = re.search(r'<tbody class="honest">(.*?)</tbody>', table, re.S).group(1)
    return re.findall(r"<tr [^>]*>.*?</tr>", body, re.S)


def test_an_imbalanced_target_is_ranked_by_balanced_accuracy_and_the_page_says_why(real_records, tmp_path):
    records = _records(real_records)
    write_jsonl(records, tmp_path / "runs" / "results.jsonl")
    proc = run_medzoo(["leaderboard", "build", "runs", "--site", "site"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    site = tmp_path / "site"
    suite = _suite(site)
    assert (suite["metric"], suite["metric_reason"]) == ("balanced_accuracy", "majority class of a target test "
                                                                              "split > 60%")
    cells = suite["tasks"][0]["cells"]
    assert [(c["algorithm"], round(100 * c["mean"], 1), c["rank"]) for c in cells] == [
        ("fair", 72.6, 1.0), ("skewed", 60.2, 2.0), ("source_only", 50.0, 3.0)]  # by accuracy: skewed first
    assert [r["algorithm"] for r in suite["overall"]] == ["fair", "skewed", "source_only"]
    page = (site / suite_file("breast@1")).read_text()
    assert "Ranked by balanced accuracy (majority class of a target test split &gt; 60%)" in page
    rows = {re.search(r'data-algorithm="(\w+)"', row).group(1): row for row in _rows(site, "task-table-0")}
    assert '<span class="badge warn"' in rows["source_only"] and ">constant predictor</span>" in rows["source_only"]
    assert ">constant predictor</span>" not in rows["fair"] and ">vs constant predictor</span>" in rows["fair"]
    assert "Balanced accuracy" in (site / "index.html").read_text()
    table = {(r["algorithm"]): r for r in csv.DictReader(io.StringIO((site / "data" / "cells.csv").read_text()))}
    assert table["source_only"]["constant_predictor"] == "True" and table["source_only"]["constant_runs"] == "3"
    assert table["fair"]["constant_predictor"] == "False" and table["fair"]["baseline_constant"] == "True"
    assert table["fair"]["metric"] == "balanced_accuracy"
    assert [c["constant_predictor"] for c in cells] == [False, False, True]
    assert cells[0]["gain"]["baseline_constant"] and suite["overall"][0]["gain"]["baseline_constant"]


def test_a_declared_primary_metric_or_metric_ranks_instead(real_records, tmp_path):
    site = build_site(_records(real_records, declared="accuracy"), tmp_path / "declared").out
    suite = _suite(site)
    assert (suite["metric"], suite["metric_reason"]) == ("accuracy", "declared by the suite")
    assert suite["tasks"][0]["cells"][0]["algorithm"] == "skewed"
    assert "Ranked by accuracy (declared by the suite)" in (site / suite_file("breast@1")).read_text()
    site = build_site(_records(real_records), tmp_path / "chosen", metric="f1").out
    assert (_suite(site)["metric"], _suite(site)["metric_reason"]) == ("f1", "chosen with --metric")
