"""Cheap per-epoch evaluation records exactly what the full report at every epoch records.

A real suite on real PneumoniaMNIST halves (a 10% budget task: every rule applies, DEV included) is run
twice in this process: once as the runner now evaluates (the validation splits with the cheap report of
``zoo.runner.epoch_metrics`` per epoch; the test splits and the full ``classification_metrics`` report for
the selected epochs only, from their kept weights) and once with ``zoo.runner.epoch_eval.FULL_EVERY_EPOCH``
set, every split's full report at every epoch as before. The selection metric is AUROC, the one whose ties
and rounding are hardest to reproduce; AdaBN adapts its BatchNorm statistics inside the evaluation hook,
so its deferred test evaluation must re-enter that state. Both records must be equal field for field
(values compared with ``==``, so curves and selection scores are bit-identical), apart from timings,
creation time and provenance, and the test curves, which the cheap run has at the selected epochs only
(equal there, ``None`` elsewhere), and the validation curves of source_then_target's source stage, which it
has at that stage's last epoch only (equal there); so must the predictions files of the selected epochs.
With ``train.test_curves: true`` and ``train.stage_curves: true`` the curves are complete and equal to the
reference's.
"""

from __future__ import annotations

import json

import numpy as np

SUITE = """\
suite: cheap-eval-e2e
version: 1
defaults:
  backbone: {name: simple_cnn}
  train: {epochs: 3, batch_size: 64, max_steps_per_epoch: 3}
  seeds: [0]
  selection: {rule: auto, metric: auroc}
domains:
  xray: {dataset: pneumoniamnist, partition: {part: 0, of: 2, seed: 0}}
  xray_gamma: {dataset: pneumoniamnist, partition: {part: 1, of: 2, seed: 0}, shift: {name: gamma, severity: 4}}
tasks:
  - {name: budget, source: xray, target: xray_gamma, target_budget: 0.1, algorithms: [source_only, full_ft, adabn,
                                                                          source_then_target]}
"""
VOLATILE = ("timings", "created_at", "provenance")


def _run(root, data_dir, overrides=()):
    from zoo.bench.suite import load_suite
    from zoo.runner.suite_runner import run_suite

    root.mkdir()
    (root / "suite.yaml").write_text(SUITE)
    records = run_suite(load_suite(str(root / "suite.yaml"), overrides=list(overrides)), root / "runs",
                        data_dir=data_dir, cpu=True, show_progress=False)
    return {r["algorithm"]: r for r in records}


def _selected_indices(record) -> set[int]:
    epochs = list(zip(record["curves"]["stage"], record["curves"]["epoch"]))
    return {epochs.index((c["stage"], c["epoch"])) for c in record["selections"].values()}


def _evaluated_indices(record) -> set[int]:
    """Epochs the cheap run evaluates: all of the last stage, the last epoch of each earlier stage."""
    stages = record["curves"]["stage"]
    return {i for i, stage in enumerate(stages)
            if stage == stages[-1] or i + 1 == len(stages) or stages[i + 1] != stage}


def test_cheap_evaluation_records_what_full_evaluation_records(tmp_path, data_dir, monkeypatch):
    from zoo.results.predictions import load_predictions
    from zoo.runner import epoch_eval

    cheap = _run(tmp_path / "cheap", data_dir)
    monkeypatch.setattr(epoch_eval, "FULL_EVERY_EPOCH", True)
    full = _run(tmp_path / "full", data_dir)

    assert set(cheap) == set(full) == {"source_only", "full_ft", "adabn", "source_then_target"}
    assert len(set(cheap["source_then_target"]["curves"]["stage"])) == 2  # a stage before the selected one
    for algorithm, record in cheap.items():
        reference = full[algorithm]
        assert set(record["selections"]) >= {"target_val", "target_val_oracle", "last"}, algorithm
        for key in sorted(set(record) | set(reference)):
            if key in VOLATILE:
                continue
            if key == "selections":  # the predictions files: same arrays (their zip bytes carry a time stamp)
                for rule, chosen in record["selections"].items():
                    other = reference["selections"][rule]
                    strip = lambda c: {k: v for k, v in c.items() if k != "predictions"}  # noqa: E731
                    assert strip(chosen) == strip(other), (algorithm, rule)
                    mine = load_predictions(tmp_path / "cheap" / "runs" / chosen["predictions"]["file"])
                    theirs = load_predictions(tmp_path / "full" / "runs" / other["predictions"]["file"])
                    for split, arrays in mine.items():
                        for kind, array in arrays.items():
                            np.testing.assert_array_equal(array, theirs[split][kind], err_msg=f"{rule} {split}")
                continue
            if key == "curves":  # test curves: the selected epochs only; validation: the evaluated ones
                selected, evaluated = _selected_indices(record), _evaluated_indices(record)
                assert list(record["curves"]) == list(reference["curves"]), algorithm
                for name, values in record["curves"].items():
                    expected = reference["curves"][name]
                    if "_test_" in name:
                        expected = [v if i in selected else None for i, v in enumerate(expected)]
                        assert any(v is None for v in values) or len(selected) == len(values), name
                    elif "_val_" in name:  # every epoch in the reference; an earlier stage's last one here
                        assert all(v is not None for v in expected), (algorithm, name)
                        expected = [v if i in evaluated else None for i, v in enumerate(expected)]
                    assert json.dumps(values) == json.dumps(expected), (algorithm, name)
                continue
            # JSON text: NaN compares equal to itself, and key order counts (records are byte-compared)
            assert json.dumps(record.get(key)) == json.dumps(reference.get(key)), (algorithm, key)
        # the selected epochs carry the full report; the cheap one was enough to choose them
        assert "per_class" in record["metrics"]["target_test"] and "ece" in record["metrics"]["source_val"]


def test_curve_options_evaluate_every_epoch_without_changing_the_run(tmp_path, data_dir):
    """``train.test_curves`` and ``train.stage_curves``: complete test and validation curves, the same run
    id, selections and metrics."""
    cheap = _run(tmp_path / "cheap", data_dir)
    curves = _run(tmp_path / "curves", data_dir, ["train.test_curves=true", "train.stage_curves=true"])
    two_stages = cheap["source_then_target"]["curves"]  # its source stage: evaluated at its last epoch only
    source_stage = [i for i, stage in enumerate(two_stages["stage"]) if stage == "source"]
    assert [two_stages["source_val_accuracy"][i] is None for i in source_stage] == [True, True, False]
    from zoo.runner.epoch_eval import evaluations

    for name, records in (("cheap", cheap), ("curves", curves)):  # the runner evaluates what the probe counts
        for algorithm, record in records.items():
            evaluated = sum(v is not None for v in record["curves"]["source_val_accuracy"])
            expected = evaluations([stage["epochs"] for stage in record["stages"]], 1, name == "curves")
            assert evaluated == expected, (name, algorithm)
    for algorithm, record in curves.items():
        other = cheap[algorithm]
        assert record["run_id"] == other["run_id"], algorithm
        assert record["selections"].keys() == other["selections"].keys()
        for rule, chosen in record["selections"].items():
            assert chosen["metrics"] == other["selections"][rule]["metrics"], (algorithm, rule)
        for part in ("_test_", "_val_"):
            values = [v for name, v in record["curves"].items() if part in name]
            assert values and all(x is not None for curve in values for x in curve), (algorithm, part)
