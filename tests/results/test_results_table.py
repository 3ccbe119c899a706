"""Results tables: rich (terminal), Markdown and CSV renderings of the same rows."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

import pytest
from rich.console import Console

from zoo.errors import ConfigError
from zoo.results import format_results, print_results_table, results_table, to_csv, to_markdown
from zoo.results.table import format_cell


@pytest.fixture
def records(record_factory):
    out = [record_factory(f"ft{s}", seed=s, algorithm="finetune",
                          metrics={"target_test": {"accuracy": acc, "balanced_accuracy": 0.8, "f1": 0.75,
                                                   "auroc": auroc}})
           for s, (acc, auroc) in enumerate([(0.8, 0.9), (0.9, None), (1.0, 0.95)])]
    out.append(record_factory("dann0", seed=0, algorithm="dann",
                              metrics={"target_test": {"accuracy": 0.873, "balanced_accuracy": 0.5, "f1": 0.25}}))
    return out


def _render(records, **kwargs) -> str:
    console = Console(record=True, width=200, file=io.StringIO())
    print_results_table(records, console=console, **kwargs)
    return console.export_text()


def test_rich_table_cells(records):
    text = _render(records)
    assert "quick@1, target_test: mean ± std over seeds, %" in text
    for cell in ("Task", "Algorithm", "Backbone", "Selection", "Balanced acc.", "AUROC", "F1"):
        assert cell in text
    finetune = next(line for line in text.splitlines() if "finetune" in line)
    assert "90.0 ± 10.0" in finetune and "80.0 ± 0.0" in finetune and "75.0 ± 0.0" in finetune
    assert "92.5 ± 3.5 (n=2)" in finetune and "│ 3 " in finetune
    dann = next(line for line in text.splitlines() if "dann" in line)
    assert "87.3" in dann and "±" not in dann and "–" in dann  # one seed: mean only; no AUROC at all
    assert "Suite" not in text  # a single suite goes into the title


def test_several_suites_get_a_column(records, record_factory):
    other = record_factory("x0", suite="full", metrics={"target_test": {"accuracy": 0.5}})
    text = _render([*records, other], metrics=("accuracy",))
    assert "Suite" in text and "full@1" in text and "quick@1" in text


def test_empty_and_other_split(records):
    assert "no results with metrics for split 'target_val'" in _render(records, split="target_val")
    table = results_table(records, metrics=("accuracy",))
    assert table.row_count == 2 and len(table.columns) == 6


def test_markdown(records):
    text = to_markdown(records, metrics=("accuracy", "auroc"))
    lines = text.splitlines()
    assert lines[0] == "**quick@1, target_test: mean ± std over seeds, %**"
    assert lines[2] == "| Task | Algorithm | Backbone | Selection | n | Accuracy | AUROC |"
    assert lines[3] == "|---|---|---|---|---:|---:|---:|"
    assert lines[4] == "| pneu->pneu_blur | dann | simple_cnn | source_val | 1 | 87.3 | – |"
    assert lines[5] == "| pneu->pneu_blur | finetune | simple_cnn | source_val | 3 | 90.0 ± 10.0 | 92.5 ± 3.5 (n=2) |"


def test_csv_has_raw_numbers(records):
    rows = list(csv.DictReader(io.StringIO(to_csv(records, metrics=("accuracy", "auroc")))))
    assert [row["algorithm"] for row in rows] == ["dann", "finetune"]
    finetune = rows[1]
    assert finetune["suite"] == "quick@1" and finetune["split"] == "target_test" and finetune["n"] == "3"
    assert float(finetune["accuracy_mean"]) == pytest.approx(0.9)
    assert float(finetune["accuracy_std"]) == pytest.approx(0.1)
    assert float(finetune["accuracy_ci_high"]) - 0.9 == pytest.approx(0.2484137712, abs=1e-9)
    assert finetune["auroc_n"] == "2"
    assert rows[0]["accuracy_std"] == "" and rows[0]["auroc_n"] == "0" and rows[0]["auroc_mean"] == ""


def test_format_results(records):
    assert format_results(records, "csv").startswith("suite,task,algorithm,backbone,selection,split,n,")
    assert format_results(records, "markdown").startswith("**quick@1")
    assert "90.0 ± 10.0" in format_results(records, "table")
    with pytest.raises(ConfigError, match="use one of: table, markdown, csv"):
        format_results(records, "html")


def test_format_cell():
    assert format_cell({"mean": 0.873, "std": 0.012, "n": 3}) == "87.3 ± 1.2"
    assert format_cell({"mean": 0.873, "std": float("nan"), "n": 1}) == "87.3"
    assert format_cell({"mean": 0.5, "std": 0.25, "n": 2}, 3, percent=False, decimals=2) == "0.50 ± 0.25 (n=2)"
    assert format_cell(None) == "–"


def test_import_is_light():
    code = ("import sys, zoo.results; heavy = [m for m in ('torch', 'scipy', 'numpy', 'timm') if m in sys.modules];"
            " assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_cells_are_not_rich_markup(record_factory):
    record = record_factory(backbone={"name": "timm/resnet18", "options": {"pretrained": True}},
                            task_name="[bold]x[/bold]")
    text = _render([record])
    assert "timm/resnet18[pretrained=true]" in text and "[bold]x[/bold]" in text


def test_per_class_columns_read_the_per_class_report(record_factory):
    recs = [record_factory(f"r{s}", seed=s, metrics={"target_test": {
        "accuracy": 0.8, "per_class": {"malignant": {"recall": r, "precision": 0.5}, "benign": {"recall": 0.9}}}})
        for s, r in enumerate([0.25, 0.75])]
    md = to_markdown(recs, metrics=("accuracy", "recall:malignant", "recall:benign", "recall:nosuch"))
    header, _, row = md.strip().splitlines()[2:5]
    assert "Recall (malignant)" in header and "Recall (benign)" in header
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[-4:] == ["80.0 ± 0.0", "50.0 ± 35.4", "90.0 ± 0.0", "–"]


def test_results_cli_metrics_option(tmp_path, record_factory):
    import json

    from helpers.cli import run_medzoo

    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(record_factory("r0", metrics={"target_test": {
        "accuracy": 0.8, "per_class": {"malignant": {"recall": 0.4}}}})) + "\n")
    proc = run_medzoo(["results", str(path), "--format", "csv", "--metrics", "accuracy,recall:malignant"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert rows and float(rows[0]["recall:malignant_mean"]) == pytest.approx(0.4), rows


def test_format_cell_with_an_interval():
    row = {"mean": 0.845, "std": 0.02, "n": 3, "ci_low": 0.812, "ci_high": 0.879, "ci_levels": "seeds+samples"}
    assert format_cell(row, ci="t") == "84.5 [81.2, 87.9]"
    assert format_cell(row, ci="bootstrap") == "84.5 [81.2, 87.9]"
    assert format_cell({**row, "ci_levels": "seeds"}, ci="bootstrap") == "84.5 [81.2, 87.9]*"
    # the t-interval is seeds-only by nature
    assert format_cell({**row, "ci_levels": "seeds"}, ci="t") == "84.5 [81.2, 87.9]"
    assert format_cell({**row, "n": 1, "ci_low": float("nan"), "ci_high": float("nan")}, 1, ci="t") == "84.5"
    assert format_cell(row, 4, ci="t", percent=False, decimals=3) == "0.845 [0.812, 0.879] (n=3)"


def test_ci_title_and_nll_in_nats(record_factory):
    recs = [record_factory(f"r{s}", seed=s, metrics={"target_test": {"accuracy": a, "nll": nll}})
            for s, (a, nll) in enumerate([(0.8, 0.41), (0.9, 0.35), (1.0, 0.29)])]
    md = to_markdown(recs, metrics=("accuracy", "nll"), ci="t")
    assert md.splitlines()[0] == "**quick@1, target_test: mean [95% CI, t over seeds], %**"
    cells = [c.strip() for c in md.splitlines()[4].strip("|").split("|")]
    assert cells[-2] == "90.0 [65.2, 114.8]"  # 0.9 ± 4.3027 * 0.1 / sqrt(3): the t-interval is not clipped
    assert cells[-1] == "0.350 [0.201, 0.499]"  # 0.35 ± 4.3027 * 0.06 / sqrt(3), in nats
    rows = list(csv.DictReader(io.StringIO(to_csv(recs, metrics=("nll",), ci="bootstrap"))))
    assert rows[0]["nll_ci_levels"] == "seeds" and float(rows[0]["nll_ci_low"]) >= 0.29


def test_cost_columns_read_the_timings(record_factory):
    recs = [record_factory(f"c{s}", seed=s, metrics={"target_test": {"accuracy": 0.8}},
                           timings={"train_s": t, "eval_s": 1.0, "total_s": t + 1, "images_per_s": 100.0 * (s + 1),
                                    "peak_memory_mb": 500.0})
            for s, t in enumerate([10.0, 20.0])]
    md = to_markdown(recs, metrics=("accuracy", "train_s", "images_per_s", "peak_memory_mb"))
    header, _, row = md.strip().splitlines()[2:5]
    assert "Train s" in header and "Images/s" in header and "Peak MB" in header
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[-4:] == ["80.0 ± 0.0", "15.0 ± 7.1", "150.0 ± 70.7", "500.0 ± 0.0"]
