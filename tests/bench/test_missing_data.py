"""A suite runs the tasks whose files are present and names the others with how to get them.

The data folder is a tmp folder of links to the real files here (brain MRI, PneumoniaMNIST, BreastMNIST;
no PathMNIST or OrganAMNIST), so what is missing does not depend on the machine.
"""

from __future__ import annotations

import json

import pytest
from helpers.cli import assert_one_line_error, run_medzoo

from zoo.bench.data_needs import missing_hint, skip_missing_data, suite_data_status
from zoo.bench.suite import load_suite
from zoo.errors import DataError

PRESENT = ("medmnist/pneumoniamnist.npz", "medmnist/breastmnist.npz", "brain_tumor_mri/figshare.npz")
TINY = ["train.epochs=1", "train.max_steps_per_epoch=2", "--no-progress"]


@pytest.fixture
def linked_data(tmp_path, data_dir):
    """A data folder holding links to three real files only."""
    root = tmp_path / "data"
    for relative in PRESENT:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).symlink_to(data_dir / relative)
    return root


def test_data_status_names_each_tasks_files_and_the_download_command(linked_data):
    statuses = {s.task: s for s in suite_data_status(load_suite("progressive"), linked_data)}
    assert [t for t, s in statuses.items() if not s.runnable] == ["path-organ-breast"]
    chain = statuses["mri-xray-breast"]
    assert [need.path for need in chain.files] == [linked_data / p for p in
                                                   ("brain_tumor_mri/figshare.npz", "medmnist/pneumoniamnist.npz",
                                                    "medmnist/breastmnist.npz")]
    missing = statuses["path-organ-breast"].missing
    assert [need.path.name for need in missing] == ["pathmnist.npz", "organamnist.npz"]
    assert missing_hint(missing) == "medzoo download pathmnist organamnist"
    # an own file is not downloadable: the hint names its path instead
    (linked_data / "brain_tumor_mri" / "figshare.npz").unlink()
    mri = {s.task: s for s in suite_data_status(load_suite("progressive"), linked_data)}["mri-breast"]
    assert str(linked_data / "brain_tumor_mri" / "figshare.npz") in missing_hint(mri.missing)


def test_skipping_keeps_the_runnable_tasks_and_refuses_when_asked(linked_data):
    suite = load_suite("progressive", preset="quick")
    runs = suite.runs()
    kept, skipped = skip_missing_data(suite, runs, linked_data)
    assert {r.task.name for r in kept} == {"mri-xray-breast", "xray-breast", "mri-breast", "scratch-breast"}
    assert [s.task for s in skipped] == ["path-organ-breast"]
    assert skip_missing_data(suite, runs, linked_data, download=True) == (runs, [])
    with pytest.raises(DataError, match="--require-all-data.*medzoo download pathmnist organamnist"):
        skip_missing_data(suite, runs, linked_data, require_all=True)
    named = suite.runs(tasks=["path-organ-breast"])
    with pytest.raises(DataError, match="path-organ-breast need pathmnist.npz, organamnist.npz"):
        skip_missing_data(suite, named, linked_data, named_tasks=["path-organ-breast"])


@pytest.mark.slow  # trains runs in subprocesses
def test_progressive_quick_trains_the_four_runnable_tasks_and_names_the_fifth(tmp_path, linked_data):
    out = tmp_path / "runs"
    proc = run_medzoo(["run", "progressive", "--preset", "quick", "--data-dir", str(linked_data), "-o", str(out),
                       *TINY], cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted({r["task"]["name"] for r in records}) == ["mri-breast", "mri-xray-breast", "scratch-breast",
                                                            "xray-breast"]
    assert len(records) == 10  # 3 + 3 + 3 + 1 runs, one seed
    said = " ".join((proc.stdout + proc.stderr).split())
    assert ("skipped task path-organ-breast (data missing): get its files with "
            "`medzoo download pathmnist organamnist`") in said
    assert "skipping task path-organ-breast" in said  # the log line before training, too
    # a small validation budget is warned about (BreastMNIST val 78 images, 10%: 2 malignant)
    assert "under 5 images of some class" in said

    strict = run_medzoo(["run", "progressive", "--preset", "quick", "--data-dir", str(linked_data), "-o", str(out),
                         "--require-all-data", *TINY], cwd=tmp_path)
    assert_one_line_error(strict, "path-organ-breast need pathmnist.npz, organamnist.npz", "--require-all-data",
                          "medzoo download pathmnist organamnist")


def test_doctor_says_which_suites_the_data_found_can_run(tmp_path, linked_data):
    proc = run_medzoo(["doctor", "--data-dir", str(linked_data)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {line.split("│")[1].strip(): line for line in proc.stdout.splitlines() if line.count("│") == 4}
    statuses = suite_data_status(load_suite("progressive"), linked_data)
    assert f"{sum(s.runnable for s in statuses)} of {len(statuses)}" == "4 of 5"
    assert "4 of 5" in rows["progressive"] and "medzoo download pathmnist organamnist" in rows["progressive"]
    assert "2 of 2" in rows["quick"] and "download" not in rows["quick"]
