"""The result record schema: make_record validates and normalizes, validate_record reports per field."""

from __future__ import annotations

import json
import math
from datetime import datetime

import numpy as np
import pytest

from zoo.errors import ConfigError
from zoo.results import SCHEMA_VERSION, check_record, make_record, validate_record
from zoo.results.record import REQUIRED_FIELDS, to_jsonable


def test_valid_record_roundtrips_through_json(record_factory):
    record = record_factory("abc123")
    assert record["schema_version"] == SCHEMA_VERSION == 3
    assert validate_record(record) == []
    assert json.loads(json.dumps(record, allow_nan=False)) == record
    stamp = datetime.fromisoformat(record["created_at"])
    assert stamp.utcoffset().total_seconds() == 0


def test_missing_fields_are_all_listed_in_one_line():
    with pytest.raises(ConfigError) as info:
        make_record(run_id="x", provenance={"medzoo_version": "0.1.0"})
    message = str(info.value)
    assert "\n" not in message
    for name in ("suite", "task", "algorithm", "backbone", "hparams", "train", "seed", "selection", "metrics",
                 "timings"):
        assert f"{name}: missing" in message
    assert "run_id: missing" not in message and "created_at: missing" not in message  # defaults filled


@pytest.mark.parametrize("field, value, expected", [
    ("seed", "0", "seed: expected an integer"),
    ("seed", True, "seed: expected an integer"),
    ("run_id", "../escape", "run_id: expected"),
    ("algorithm", "", "algorithm: expected a non-empty string"),
    ("hparams", [1], "hparams: expected an object"),
    ("task", {"name": "t", "source": [], "target": "b", "target_budget": 0}, "task.source: expected a non-empty"),
    ("task", {"name": "t", "source": ["a"], "target": "b", "target_budget": -1}, "task.target_budget: expected"),
    ("task", {"name": "t", "source": ["a"], "target": "b"}, "task.target_budget: missing"),
    ("train", {"epochs": 2, "batch_size": 0, "lr": 0.1, "optimizer": "sgd"}, "train.batch_size: expected"),
    ("selection", {"epoch": 3}, "selection.rule: missing"),
    ("metrics", {}, "metrics: empty"),
    ("metrics", {"target_test": {"accuracy": "high"}}, "metrics.target_test.accuracy: expected a number"),
    ("metrics", {"target_test": 0.9}, "metrics.target_test: expected an object"),
    ("timings", {"train_s": 1.0, "eval_s": -1.0, "total_s": 1.0}, "timings.eval_s: expected"),
    ("provenance", {}, "provenance.medzoo_version: missing"),
    ("created_at", "2025-01-01T12:00:00+02:00", "created_at: expected a UTC time"),
    ("created_at", "yesterday", "created_at: not an ISO 8601 time"),
    ("checkpoint", "/abs/model.safetensors", "checkpoint: expected a relative path"),
    ("checkpoint", "../elsewhere/model.safetensors", "checkpoint: expected a relative path"),
    ("stages", {"probe": 1}, "stages: expected a list"),
    ("curves", [1, 2], "curves: expected an object"),
])
def test_wrong_values_name_the_field(record_factory, field, value, expected):
    with pytest.raises(ConfigError, match="invalid result record") as info:
        record_factory(**{field: value})
    assert expected in str(info.value)


def test_unknown_field_is_refused(record_factory):
    with pytest.raises(ConfigError, match="sede: unknown field"):
        record_factory(sede=1)


def test_shorthands_and_plain_json_normalization(record_factory):
    record = record_factory(
        backbone="timm/resnet18",
        task={"name": "t", "source": "pneumoniamnist", "target": "b", "target_budget": None},
        metrics={"target_test": {"accuracy": np.float32(0.5), "auroc": float("nan"),
                                 "per_class": {"normal": np.float64(0.25)}, "confusion": np.eye(2, dtype=int)}},
        train={"epochs": np.int64(3), "batch_size": 8, "lr": 0.01, "optimizer": "sgd", "betas": (0.9, 0.99)},
        checkpoint="runs/run-0/model.safetensors", stages=[{"name": "probe", "epochs": 1}], curves={"loss": [1.0]},
    )
    assert record["backbone"] == {"name": "timm/resnet18", "options": {}}
    assert record["task"]["source"] == ["pneumoniamnist"]
    test = record["metrics"]["target_test"]
    assert test["accuracy"] == 0.5 and type(test["accuracy"]) is float
    assert test["auroc"] is None
    assert test["confusion"] == [[1, 0], [0, 1]]
    assert record["train"]["epochs"] == 3 and type(record["train"]["epochs"]) is int
    assert record["train"]["betas"] == [0.9, 0.99]
    json.dumps(record, allow_nan=False)


def test_make_record_copies_its_inputs(record_factory):
    hparams = {"lam": [1.0]}
    record = record_factory(hparams=hparams)
    hparams["lam"].append(2.0)
    assert record["hparams"] == {"lam": [1.0]}


def test_provenance_is_collected_when_omitted(record_factory, monkeypatch):
    import zoo.provenance

    monkeypatch.setattr(zoo.provenance, "collect_provenance", lambda: {"medzoo_version": "9.9", "git": {}})
    fields = dict(record_factory())
    fields.pop("provenance")
    fields.pop("created_at")
    assert make_record(**fields)["provenance"] == {"medzoo_version": "9.9", "git": {}}


def test_validate_record_for_readers(record_factory):
    record = record_factory()
    assert validate_record([1]) == ["record: expected a JSON object, got list"]
    newer = {**record, "schema_version": SCHEMA_VERSION + 1, "new_field": 1}
    assert validate_record(newer) == [f"schema_version: {SCHEMA_VERSION + 1} is newer than this medzoo "
                                      f"understands ({SCHEMA_VERSION}); upgrade medzoo"]
    assert validate_record({**record, "extra": "tolerated"}) == []
    broken = {key: value for key, value in record.items() if key not in ("seed", "metrics")}
    assert validate_record(broken) == ["seed: missing", "metrics: missing"]
    assert set(REQUIRED_FIELDS) <= set(record)
    with pytest.raises(ConfigError, match=r"invalid result record 'run-0': seed: missing"):
        check_record({**broken, "metrics": record["metrics"]})
    assert any("not plain JSON" in p for p in validate_record({**record, "hparams": {"x": {1, 2}}}))


def test_to_jsonable_nonfinite_and_nested():
    out = to_jsonable({"a": (1, float("inf")), "b": {"c": -math.inf}, 3: "x"})
    assert out == {"a": [1, None], "b": {"c": None}, "3": "x"}
