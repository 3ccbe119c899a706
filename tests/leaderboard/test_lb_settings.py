"""The leaderboard groups rows by task setting: a section per setting, ranks and CD diagrams within each.

The records are real runs of the quick suite (``lb_fixtures``) derived into a suite of two settings whose
task has the same name in both: ``dann`` ran only in transfer, ``shot`` only source-free, and the
source-free ``source_only`` beats every transfer method, so a rank computed across settings would show.
Beside it, a suite of one setting (source-free) and the quick suite itself (older records: transfer).
"""

from __future__ import annotations

import csv
import io
import json
import re

from lb_fixtures import derive

from zoo.leaderboard import build_site
from zoo.leaderboard.pages import suite_file
from zoo.task_settings import TASK_SETTINGS

TASK = "shared-task"
ACC = {
    "transfer": {"source_only": (0.60, 0.62, 0.61), "finetune": (0.70, 0.72, 0.69), "dann": (0.75, 0.77, 0.74)},
    "source_free": {"source_only": (0.80, 0.82, 0.81), "shot": (0.85, 0.86, 0.84), "tent": (0.83, 0.80, 0.82)},
}


def settings_records(real_records: list[dict], suite: str = "mixed",
                     settings: tuple[str, ...] = ("transfer", "source_free")) -> list[dict]:
    """Runs of ``suite`` in each of ``settings`` (see the module docstring); accuracy is all that differs."""
    base = next(r for r in real_records if r["algorithm"] == "source_only")
    out = []
    for setting in settings:
        origin = {"task.source": [], "task.pretrain": list(base["task"]["source"])} if setting == "source_free" else {}
        for algorithm, values in ACC[setting].items():
            for seed, value in enumerate(values):
                out.append(derive(base, f"{suite}-{setting}-{algorithm}-{seed}", **{
                    "suite": {"name": suite, "version": 1}, "task.name": TASK, "task.setting": setting,
                    "algorithm": algorithm, "seed": seed, "metrics.target_test.accuracy": value, **origin}))
    return out


def _site(real_records, tmp_path):
    records = [*real_records, *settings_records(real_records), *settings_records(real_records, "sf-only",
                                                                                  ("source_free",))]
    return build_site(records, tmp_path / "site", metric="accuracy").out


def test_a_suite_of_two_settings_has_a_headed_section_for_each(real_records, tmp_path):
    site = _site(real_records, tmp_path)
    page = (site / suite_file("mixed@1")).read_text()
    for name in ("transfer", "source_free"):
        assert page.count(f"<h2>Setting: {name}</h2>") == 1
        assert f'<p class="setting-summary">{TASK_SETTINGS[name].summary} · 9 runs, 1 tasks, 3 algorithms' in page
    assert page.index("<h2>Setting: transfer</h2>") < page.index("<h2>Setting: source_free</h2>")
    transfer, source_free = page.split("<h2>Setting: source_free</h2>")
    transfer = transfer[transfer.index("<h2>Setting: transfer</h2>"):]
    assert 'id="overall-transfer"' in transfer and 'id="overall-source-free"' in source_free
    for section, own, other in ((transfer, "dann", "shot"), (source_free, "shot", "dann")):
        assert f'data-algorithm="{own}"' in section and f'data-algorithm="{other}"' not in section
        assert len(re.findall(r'<section class="friedman"', section)) == 1  # a CD diagram per setting
    assert len(set(re.findall(r'id="([^"]+)"', page))) == len(re.findall(r'id="([^"]+)"', page))  # ids unique


def test_ranks_and_friedman_blocks_never_cross_settings(real_records, tmp_path):
    site = _site(real_records, tmp_path)
    suites = {s["suite"]: s for s in json.loads((site / "data" / "leaderboard.json").read_text())["suites"]}
    mixed = suites["mixed@1"]
    assert [(s["name"], s["n_runs"]) for s in mixed["settings"]] == [("transfer", 9), ("source_free", 9)]
    ranks = {(r["setting"], r["algorithm"]): r["rank"] for r in mixed["overall"]}
    assert ranks == {("transfer", "dann"): 1.0, ("transfer", "finetune"): 2.0, ("transfer", "source_only"): 3.0,
                     ("source_free", "shot"): 1.0, ("source_free", "tent"): 2.0,
                     ("source_free", "source_only"): 3.0}
    gains = {(r["setting"], r["algorithm"]): r["gain"] for r in mixed["overall"]}
    assert abs(gains["source_free", "shot"]["gain"] - 0.04) < 1e-9  # over source-free's own source_only
    blocks = {b["setting"]: set(b["methods"]) for b in mixed["friedman"]}
    assert blocks == {"transfer": {"dann", "finetune", "source_only"}, "source_free": {"shot", "tent", "source_only"}}
    assert [t["setting"] for t in mixed["tasks"]] == ["transfer", "source_free"]
    assert {c["rank"] for t in mixed["tasks"] if t["setting"] == "source_free" for c in t["cells"]} == {1.0, 2.0, 3.0}
    rows = list(csv.DictReader(io.StringIO((site / "data" / "cells.csv").read_text())))
    assert {(r["setting"], r["algorithm"]) for r in rows if r["suite"] == "mixed@1"} == set(ranks)
    runs = list(csv.DictReader(io.StringIO((site / "data" / "results.csv").read_text())))
    assert {r["setting"] for r in runs if r["suite"] == "quick"} == {"transfer"}  # records before settings
    index = (site / "index.html").read_text()
    assert "transfer: dann · " in index and "; source_free: shot · " in index  # a leader per setting


def test_a_suite_of_one_setting_names_it_once(real_records, tmp_path):
    site = _site(real_records, tmp_path)
    alone = (site / suite_file("sf-only@1")).read_text()
    line = f'Setting: <strong>source_free</strong> ({TASK_SETTINGS["source_free"].summary}).'
    assert alone.count(line) == 1 and "<h2>Setting:" not in alone and 'id="setting-' not in alone
    assert '<section id="overall"><h2>All tasks</h2>' in alone  # laid out as a suite page always was
    quick = (site / suite_file("quick@1")).read_text()  # older records, no setting: transfer
    assert quick.count(f'Setting: <strong>transfer</strong> ({TASK_SETTINGS["transfer"].summary}).') == 1
    assert '<span id="setting">source_free</span>' in (site / "runs" / "sf-only-source_free-shot-0.html").read_text()
    assert '<span id="setting">transfer</span>' in (site / "runs" / f"{real_records[0]['run_id']}.html").read_text()
