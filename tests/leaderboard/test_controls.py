"""The leaderboard shows what a reviewer needs beside a gain: the controls, small selection sets, caveats."""

from __future__ import annotations

import json

from lb_fixtures import derive

from zoo.leaderboard import build_site
from zoo.leaderboard.pages import suite_file
from zoo.results import compare

ACC = {"source_only": [0.60, 0.62, 0.61], "adabn": [0.70, 0.69, 0.72], "dann": [0.75, 0.71, 0.74],
       "dann@w0": [0.74, 0.73, 0.73]}
CAVEAT = "patient_level: false: npz brain.npz has no patient ids and medzoo cut the source/target parts image by image"


def _records(real_records):
    """Runs that differ in accuracy alone (build_site ranks them by metric="accuracy")."""
    base = next(r for r in real_records if r["algorithm"] == "source_only")
    out = []
    for algorithm, values in ACC.items():
        for seed, value in enumerate(values):
            small = {"split": "target_val", "per_class": {"normal": 2, "pneumonia": 6}, "small": True}
            out.append(derive(base, f"ctl-{algorithm.replace('@', '-')}-{seed}", **{
                "suite.name": "controls", "task.name": "mri-shift", "algorithm": algorithm, "seed": seed,
                "metrics.target_test.accuracy": value, "caveats": [CAVEAT],
                "selection.selection_set": small if algorithm == "dann" else base["selection"]["selection_set"],
                "selections.last.metrics.target_test.accuracy": value - 0.05,
            }))
    return out


def test_gains_over_adabn_and_the_twin_sit_beside_the_gain_over_source_only(real_records, tmp_path):
    records = _records(real_records)
    site = build_site(records, tmp_path / "site", metric="accuracy").out
    page = (site / suite_file("controls@1")).read_text()
    assert "vs adabn" in page and "vs twin" in page and f"Caveat: {CAVEAT}" in page
    data = json.loads((site / "data" / "leaderboard.json").read_text())
    cells = {c["algorithm"]: c for t in data["suites"][0]["tasks"] for c in t["cells"]}
    twin = next(r for r in compare(records, "twin") if r["algorithm"] == "dann")
    adabn = next(r for r in compare(records, "adabn") if r["algorithm"] == "dann")
    assert cells["dann"]["controls"]["twin"]["gain"] == twin["gain"]
    assert cells["dann"]["controls"]["adabn"]["gain"] == adabn["gain"]
    assert abs(twin["gain"] - (0.7333333 - 0.7333333)) < 1e-6 and abs(adabn["gain"] - 0.03) < 1e-6
    assert "twin" not in cells["source_only"]["controls"]


def test_a_rule_with_few_selection_labels_is_flagged_with_the_last_epoch_beside_it(real_records, tmp_path):
    site = build_site(_records(real_records), tmp_path / "site", metric="accuracy").out
    page = (site / suite_file("controls@1")).read_text()
    assert page.count("2 selection labels/class · last epoch 68.3") == 1  # dann only: mean of 0.70, 0.66, 0.69
