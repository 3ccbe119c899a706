"""Results records as a Hub dataset: publish twice, read back the union, identical to what was published."""

from __future__ import annotations

import copy
import csv
import io
import json

import pyarrow.parquet as pq
import yaml
from helpers.cli import run_medzoo_many
from hub_helpers import assert_no_token


def _write(folder, records):
    folder.mkdir(parents=True)
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def test_publish_twice_keeps_old_runs_and_reads_back_the_same_records(hub_server, hub_env, tiny_build, tmp_path):
    real = tiny_build["record"]
    # Two more records derived from the real one (other run ids and seeds): inputs of this test, not results.
    second, third = copy.deepcopy(real), copy.deepcopy(real)
    second.update(run_id="second-run", seed=1)
    third.update(run_id="third-run", seed=2)
    _write(tmp_path / "a", [real, second])
    _write(tmp_path / "b", [second, third])
    first, again, shown, by_path = run_medzoo_many([
        ["publish-results", "--repo", "lab/results", "a"],
        ["publish-results", "--repo", "lab/results", "b"],
        ["results", "--hub", "lab/results", "--format", "csv"],
        ["results", "hf://datasets/lab/results", "--format", "csv"],
    ], cwd=tmp_path, env=hub_env)
    for proc in (first, again, shown, by_path):
        assert proc.returncode == 0, proc.stderr
    assert "2 runs added, 0 kept" in first.stdout and "1 runs added, 2 kept, 3 in all" in again.stdout

    stored = hub_server.files("lab/results", repo_type="dataset")
    table = pq.read_table(io.BytesIO(stored["data/results.parquet"]))
    assert table.num_rows == 3 and set(table.column("hub_schema_version").to_pylist()) == {1}
    assert table.column("run_id").to_pylist() == [real["run_id"], "second-run", "third-run"]
    card = stored["README.md"].decode()
    assert yaml.safe_load(card.split("---")[1])["configs"][0]["data_files"] == "data/results.parquet"
    assert len(hub_server.commits("lab/results", repo_type="dataset")) == 3  # created, then two appends

    from zoo.hub.results import table_to_records

    assert table_to_records(table, "test") == [real, second, third]  # exactly the records, floats included
    # `medzoo results` read them from the Hub: one row per task x algorithm, over the three seeds
    assert shown.stdout == by_path.stdout
    (row,) = csv.DictReader(shown.stdout.splitlines())
    assert (row["task"], row["n"]) == (real["task"]["name"], "3")
    assert float(row["accuracy_mean"]) == round(real["metrics"]["target_test"]["accuracy"], 12)
    assert_no_token(first.stdout, first.stderr, again.stdout, again.stderr, card, shown.stdout,
                    stored["data/results.parquet"].decode("latin-1"))
