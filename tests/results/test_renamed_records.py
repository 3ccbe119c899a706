"""Records written before a rename (algorithm ``finetune``, selection rule ``dev``) are read under the current
names (``zoo.results.names.canonical_record``), by the results store and the leaderboard alike: a folder
mixing old and new records shows one algorithm and one rule."""

from __future__ import annotations

import json

from zoo.leaderboard.load import read_records
from zoo.results import ResultStore, load_records
from zoo.results.names import canonical_record
from zoo.results.record import select_views
from zoo.results.stats import summarize

NEW, OLD = "source_then_target", "finetune"
DEV, RULE = "dev", "deep_embedded_validation"


def _selections(rule: str) -> dict:
    chosen = {"metric": "score", "stage": "source", "epoch": 1, "score": -0.2,
              "metrics": {"target_test": {"accuracy": 0.8}}}
    return {"source_val": {**chosen, "metric": "accuracy", "score": 0.9}, rule: chosen}


def _mixed_folder(tmp_path, record_factory):
    store = ResultStore(tmp_path / "runs")
    old = [record_factory(f"old-{s}", seed=s, algorithm=OLD, selections=_selections(DEV)) for s in (0, 1)]
    new = [record_factory(f"new-{s}", seed=s + 2, algorithm=NEW, selections=_selections(RULE)) for s in (0, 1)]
    for record in [*old, *new]:
        store.append(record)
    return store


def test_a_folder_mixing_old_and_new_records_shows_one_algorithm(tmp_path, record_factory):
    store = _mixed_folder(tmp_path, record_factory)
    for records in (store.records(), load_records([store.root]), read_records([store.root])[0]):
        assert {r["algorithm"] for r in records} == {NEW}
        assert all(set(r["selections"]) == {"source_val", RULE} for r in records)
        rows = summarize(records)
        assert len(rows) == 1 and rows[0]["algorithm"] == NEW and rows[0]["n"] == 4
    views, missing = select_views(store.records(), DEV)  # --selection dev: the renamed rule, old records too
    assert missing == 0 and len(views) == 4 and {v["selection"]["rule"] for v in views} == {RULE}
    assert [r["algorithm"] for r in store.records(validate=False)] == [NEW] * 4
    stored = [json.loads(line)["algorithm"] for line in store.path.read_text().splitlines()]
    assert stored == [OLD, OLD, NEW, NEW]  # reader-side only: the file keeps what was written


def test_canonical_record_leaves_current_records_alone_and_copies_old_ones(record_factory):
    current = record_factory("a", algorithm=NEW, selections=_selections(RULE))
    assert canonical_record(current) is current
    old = record_factory("b", algorithm=f"{OLD}@w0", rule=DEV, selections=_selections(DEV))
    read = canonical_record(old)
    assert read["algorithm"] == f"{NEW}@w0" and read["selection"]["rule"] == RULE and RULE in read["selections"]
    assert old["algorithm"] == f"{OLD}@w0" and DEV in old["selections"]  # the input is not changed
    assert read["metrics"] is old["metrics"]  # DEV's own split key (metrics.dev, curves.dev_score) is kept
