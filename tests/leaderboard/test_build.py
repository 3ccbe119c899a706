"""The leaderboard build: a pure function of the records, the statistics of zoo.results, escaping, bad lines.

Usage::

    python -m pytest tests/leaderboard/test_build.py -q
"""

from __future__ import annotations

import json
import random
import re

import pytest
from helpers.cli import assert_one_line_error, run_medzoo
from lb_fixtures import PLUGIN_DIST, XSS_ALGO, XSS_BACKBONE, XSS_PLUGIN, XSS_SUITE, XSS_TASK, write_jsonl

import zoo
from zoo.leaderboard import build_site, read_records
from zoo.leaderboard.html import esc, script_json
from zoo.leaderboard.pages import suite_file
from zoo.results import compare, rank, summarize

BY = ("suite", "task", "algorithm", "backbone", "selection")


def _tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _suite(site, name):
    data = json.loads((site / "data" / "leaderboard.json").read_text())
    return next(s for s in data["suites"] if s["suite"] == name)


def test_same_records_in_any_order_give_a_byte_identical_site(lb_records, site, tmp_path):
    shuffled = list(lb_records)
    random.Random(1).shuffle(shuffled)
    again = build_site(shuffled, tmp_path / "again", metric="accuracy").out  # as the site fixture
    first, second = _tree(site), _tree(again)
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []
    runs = {r["run_id"] for r in lb_records}
    assert {f"runs/{run_id}.html" for run_id in runs} <= set(first)
    assert {"index.html", "assets/app.js", "assets/style.css", "data/results.json", "data/results.csv"} <= set(first)
    assert json.loads(first["data/results.json"]) == sorted(lb_records, key=lambda r: r["run_id"])


def test_cells_gains_and_ranks_are_those_of_zoo_results(lb_records, site):
    quick = [r for r in lb_records if r["suite"]["name"] == "quick"]
    shown = {(c["task"], c["algorithm"], c["selection"]): c
             for t in _suite(site, "quick@1")["tasks"] for c in t["cells"]}
    expected = summarize(quick, "accuracy", "target_test", BY, ci="shared")
    assert len(shown) == len(expected) == 5  # source_only (2 rules), finetune, finetune (oracle), example_algo
    for row in expected:
        cell = shown[(row["task"], row["algorithm"], row["selection"])]
        assert (cell["n"], cell["mean"], cell["ci_low"], cell["ci_high"]) == pytest.approx(
            (row["n"], row["mean"], row["ci_low"], row["ci_high"]), nan_ok=True)
    for row in compare(quick, "source_only", "accuracy", "target_test", BY):
        cell = shown[(row["task"], row["algorithm"], row["selection"])]
        assert cell["gain"]["gain"] == pytest.approx(row["gain"])
        # the page's p is Holm-adjusted over all its gains: never below the test's own p, which p_raw keeps
        assert cell["gain"]["p_raw"] == pytest.approx(row["p"]) and cell["gain"]["p"] >= row["p"] - 1e-12
        assert cell["gain"]["baseline"] == "source_only"
    assert shown[("pneumonia-shift-10pct", "source_only", "target_val")]["gain"]["is_baseline"]
    for row in rank(quick, "accuracy", "target_test", by=("suite", "backbone", "selection")):
        for task, value in row["ranks"].items():
            assert shown[(task, row["algorithm"], row["selection"])]["rank"] == value
    # from-scratch baselines: same target and label budget, paired on seed
    cm = [r for r in lb_records if r["suite"]["name"] == "cross-modality"]
    pair = [r for r in cm if r["task"]["name"] in ("xray-to-breast-10pct", "scratch-to-breast-10pct")]
    (expected,) = [r for r in compare(pair, "task=scratch-to-breast-10pct", "accuracy", "target_test", BY)
                   if r["algorithm"] == "full_ft"]
    cells = {(c["task"], c["algorithm"]): c for t in _suite(site, "cross-modality@1")["tasks"] for c in t["cells"]}
    gain = cells[("xray-to-breast-10pct", "full_ft")]["gain"]
    assert gain["gain"] == pytest.approx(expected["gain"]) == pytest.approx(0.08)
    assert gain["baseline"] == "from scratch (scratch-to-breast-10pct)"
    assert cells[("xray-to-breast-10pct", "lp_ft")]["gain"]["baseline"].endswith(", full_ft)")
    overall = {(r["algorithm"], r["scratch"]): r for r in _suite(site, "cross-modality@1")["overall"]}
    assert sorted(overall) == [("full_ft", False), ("full_ft", True), ("lp_ft", False)]  # scratch apart
    assert overall[("full_ft", True)]["rank"] is None and overall[("full_ft", True)]["gain"]["is_baseline"]
    assert overall[("full_ft", False)]["gain"]["n_pairs"] == 9  # 3 budgets x 3 seeds, pooled


def test_oracle_rows_stand_apart_and_badges_mark_seeds_and_plugins(site):
    page = (site / suite_file("quick@1")).read_text()
    bodies = dict(re.findall(r'<tbody class="(\w+)">(.*?)</tbody>', page, re.S))
    assert "target_val_oracle" in bodies["oracle"] and "target_val_oracle" not in bodies["honest"]
    assert "oracle · upper bound" in bodies["oracle"] and "Upper bound" in bodies["oracle"]
    rows = re.findall(r"<tr [^>]*>.*?</tr>", page, re.S)
    plugin_row = next(row for row in rows if 'data-algorithm="example_algo"' in row)
    assert f"plugin: {PLUGIN_DIST['name']} {PLUGIN_DIST['version']}" in plugin_row and "2/3 seeds" in plugin_row
    overall = _suite(site, "quick@1")["overall"]
    assert [r["oracle"] for r in overall] == sorted(r["oracle"] for r in overall)  # honest rows first
    assert next(r for r in overall if r["oracle"])["rank"] is None  # never ranked against honest rows
    index = (site / "index.html").read_text()
    (quick_row,) = [row for row in re.findall(r"<tr[ >].*?</tr>", index, re.S) if suite_file("quick@1") in row]
    assert "example_algo" not in quick_row  # ranked first, but short of seeds: it does not lead the index


def test_record_strings_are_escaped_in_every_page_and_script(site):
    payloads = (XSS_ALGO, XSS_TASK, XSS_SUITE, XSS_PLUGIN, XSS_BACKBONE)
    for path in site.rglob("*.html"):
        text = path.read_text()
        for payload in payloads:
            assert payload not in text, f"{path.name} holds the raw payload {payload!r}"
        for script in re.findall(r"<script[^>]*>(.*?)</script>", text, re.S):
            assert "<" not in script, f"{path.name}: markup inside a <script> element"
    page = (site / suite_file(f"{XSS_SUITE}@1")).read_text()
    assert esc(XSS_ALGO) in page and esc(XSS_TASK) in page and esc(f"plugin: {XSS_PLUGIN} 6.6.6") in page
    assert json.loads(script_json({"a": "</script><!--&"})) == {"a": "</script><!--&"}


def test_malformed_lines_are_reported_by_file_line_and_field_and_skipped(real_records, tmp_path):
    good = real_records[:3]
    missing = json.loads(json.dumps(real_records[3]))
    del missing["timings"]["train_s"]
    wrong = {**real_records[4], "seed": "zero"}
    path = tmp_path / "runs" / "results.jsonl"
    lines = [json.dumps(good[0]), json.dumps(missing), '{"run_id": "cut-off", "suite": {"na', json.dumps(good[1]),
             json.dumps(wrong), json.dumps(good[2])]
    path.parent.mkdir()
    path.write_text("\n".join(lines) + "\n")
    records, problems = read_records([path.parent])
    assert [r["run_id"] for r in records] == [r["run_id"] for r in good]
    assert [(p.line, p.field) for p in problems] == [(2, "timings.train_s"), (3, "record"), (5, "seed")]
    proc = run_medzoo(["leaderboard", "build", str(path.parent), "--site", str(tmp_path / "site")], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "skipped 3 malformed record(s):"
    for text, (line, field) in zip(lines[1:4], ((2, "timings.train_s: missing"), (3, "record: not valid JSON"),
                                                  (5, "seed: expected an integer"))):
        assert text.startswith(f"  {path}:{line}: {field}"), proc.stdout
    assert "leaderboard of 3 runs" in proc.stdout
    assert sorted(p.stem for p in (tmp_path / "site" / "runs").iterdir()) == sorted(r["run_id"] for r in good)
    assert "3 malformed record(s) were skipped" in (tmp_path / "site" / "index.html").read_text()


def test_cli_errors_are_one_line(real_records, tmp_path):
    (tmp_path / "empty").mkdir()
    proc = run_medzoo(["leaderboard", "build", str(tmp_path / "empty"), "--site", str(tmp_path / "s")], cwd=tmp_path)
    assert_one_line_error(proc, "no results.jsonl in", "medzoo run")
    write_jsonl(real_records, tmp_path / "r" / "results.jsonl")
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "thesis.tex").write_text("x")
    proc = run_medzoo(["leaderboard", "build", "r", "--site", "precious"], cwd=tmp_path)
    assert_one_line_error(proc, "precious is not empty and holds no medzoo leaderboard")
    assert (tmp_path / "precious" / "thesis.tex").read_text() == "x"
    proc = run_medzoo(["leaderboard", "build", "r", "-o", "public"], cwd=tmp_path)  # -o is not the site's folder
    assert_one_line_error(proc, "-o/--output-dir is the results folder", "--site public")
    assert not (tmp_path / "public").exists() and not (tmp_path / "leaderboard").exists()
    proc = run_medzoo(["leaderboard", "build", "r", "--site", "s", "--metric", "dice"], cwd=tmp_path)
    assert_one_line_error(proc, "no run has a finite 'dice'")
    proc = run_medzoo(["leaderboard", "publish", "precious", "--folder", "x"], cwd=tmp_path)
    assert_one_line_error(proc, "no site at precious")
    proc = run_medzoo(["leaderboard", "publish", "precious"], cwd=tmp_path)
    assert_one_line_error(proc, "--space ORG/NAME", "--folder DEST")


def test_out_is_the_old_spelling_of_site_and_says_so(real_records, tmp_path):
    # -o/--output-dir is the results folder in every medzoo command; --out beside it read as -o's long form
    write_jsonl(real_records, tmp_path / "r" / "results.jsonl")
    proc = run_medzoo(["leaderboard", "build", "r", "--out", "old"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "--out is deprecated" in proc.stderr and "--site" in proc.stderr
    assert (tmp_path / "old" / "index.html").is_file()
    proc = run_medzoo(["leaderboard", "build", "-o", "r", "--site", "new"], cwd=tmp_path)  # -o: the results read
    assert proc.returncode == 0 and "deprecated" not in proc.stderr, proc.stderr
    assert (tmp_path / "new" / "index.html").read_bytes() == (tmp_path / "old" / "index.html").read_bytes()
    proc = run_medzoo(["leaderboard", "build", "r", "--out", "a", "--site", "b"], cwd=tmp_path)
    assert_one_line_error(proc, "--out is the old spelling of --site")


def test_sweeps_count_by_their_best_trial_on_validation(real_records, tmp_path):
    from lb_fixtures import derive

    ft = [r for r in real_records if r["algorithm"] == "source_then_target"]
    records = []
    for trial, (val, test) in enumerate(((0.9, 0.5), (0.6, 0.99))):  # trial 1 is better on test, worse on val
        for r in ft:
            records.append(derive(r, f"sweep-{trial}-{r['seed']}", **{
                "sweep": {"seed": 0, "trial": trial}, "hparams": {"target_lr_mult": float(trial + 1)},
                "metrics.target_val.accuracy": val, "metrics.target_test.accuracy": test}))
    site = build_site(records, tmp_path / "site", metric="accuracy").out  # the trials differ in accuracy alone
    (cell,) = _suite(site, "quick@1")["tasks"][0]["cells"]
    assert cell["mean"] == pytest.approx(0.5) and {run["run_id"][:7] for run in cell["runs"]} == {"sweep-0"}
    assert sorted(p.stem for p in (site / "runs").iterdir()) == sorted(r["run_id"] for r in records)  # all listed


def test_run_pages_link_the_checkpoint_card_when_the_record_names_one(real_records, tmp_path):
    from lb_fixtures import derive

    published = derive(real_records[0], "published", hub={"repo_id": "lab/finetune-quick"})
    hostile = derive(real_records[1], "hostile", hub={"repo_id": "lab/x", "endpoint": "javascript:alert(1)//"})
    site = build_site([published, hostile, *real_records[2:]], tmp_path / "site").out
    page = (site / "runs" / "published.html").read_text()
    assert '<a id="checkpoint-card" href="https://huggingface.co/lab/finetune-quick">' in page
    assert 'href="https://huggingface.co/lab/x"' in (site / "runs" / "hostile.html").read_text()
    assert "checkpoint-card" not in (site / "runs" / f"{real_records[2]['run_id']}.html").read_text()


def test_the_site_is_self_contained_and_offers_the_raw_data(site, lb_records):
    for path in site.rglob("*.html"):
        text = path.read_text()
        links = re.findall(r'(?:href|src)="([^"]*)"', text)
        external = [link for link in links if re.match(r"^([a-z]+:|//)", link)]
        assert external == [], f"{path.name} links outside the site: {external[:3]}"
        for link in links:  # every relative link resolves to a file of the site
            target = (path.parent / link.split("#")[0]).resolve()
            assert target.is_file(), f"{path.name}: broken link {link}"
    rows = (site / "data" / "results.csv").read_text().splitlines()
    assert len(rows) == 1 + len(lb_records) and rows[0].startswith("run_id,suite,")
    assert len((site / "data" / "cells.csv").read_text().splitlines()) > 1


def test_records_name_the_distribution_of_each_component(real_records):
    from zoo.provenance import component_sources

    for record in real_records:
        components = record["provenance"]["components"]
        assert components["algorithm"] == {"name": record["algorithm"], "dist": "medzoo", "version": zoo.__version__}
        assert components["backbone"]["dist"] == "medzoo"
    found = component_sources({"algorithm": "no_such_algo", "backbone": "timm/resnet18", "dataset": ["npz"]})
    assert found["algorithm"]["dist"] is None and found["backbone"]["dist"] == "medzoo"
    assert found["dataset"] == [{"name": "npz", "dist": "medzoo", "version": zoo.__version__}]


def test_csv_cells_from_records_never_start_a_spreadsheet_formula(site):
    import csv
    import io

    for name in ("results.csv", "cells.csv"):
        rows = list(csv.reader(io.StringIO((site / "data" / name).read_text())))
        assert any(cell.startswith("'=HYPERLINK") for row in rows for cell in row), name  # the planted name, quoted
        for row in rows[1:]:
            for cell in row:
                assert cell[:1] not in ("=", "+", "@", "\t", "\r") and not re.match(r"-[^0-9.]", cell), (name, cell)
    from zoo.results.render import csv_text
    assert csv_text(["a", "b"], [["=HYPERLINK(\"x\")", -0.5], ["@SUM(A1)", "-cmd"]]) == \
        "a,b\n\"'=HYPERLINK(\"\"x\"\")\",-0.5\n'@SUM(A1),'-cmd\n"
