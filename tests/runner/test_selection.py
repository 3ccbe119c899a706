"""Model selection: a validation split picks the checkpoint, never a test split (zoo.selection),
and ``auto`` resolves to what the task's label budget allows (zoo.bench.resolve.resolve_selection)."""

from __future__ import annotations

import math

import pytest

from zoo import selection
from zoo.bench.resolve import resolve_selection
from zoo.bench.suite_fields import SELECTION_RULES
from zoo.errors import ConfigError
from zoo.selection import RULES, SelectionRule, applicable_rules, select_epoch, selection_split

NAN = math.nan


class Untouchable(dict):
    """Test metrics that fail the test if selection reads them in any way."""

    def _refuse(self, *args, **kwargs):
        raise AssertionError("model selection read the test metrics")

    __getitem__ = get = items = keys = values = __iter__ = __contains__ = __len__ = _refuse


def _history(val: dict[str, list[float]], metric: str = "accuracy", test=None) -> list[dict]:
    """One entry per epoch: ``val`` maps split -> per-epoch scores of ``metric``."""
    epochs = len(next(iter(val.values())))
    return [
        {
            "epoch": i,
            "stage": "train",
            "val": {split: {metric: scores[i], "loss": 1.0 - i * 0.01} for split, scores in val.items()},
            "test": test[i] if test is not None else Untouchable(),
        }
        for i in range(epochs)
    ]


def test_each_rule_reads_its_own_validation_split():
    history = _history({
        "source_val": [0.50, 0.90, 0.70, 0.60],
        "target_val": [0.40, 0.50, 0.80, 0.60],  # the budget's labels
        "target_val_oracle": [0.30, 0.40, 0.50, 0.95],  # every label
    })
    assert select_epoch(history, "source_val", "accuracy") == 1
    assert select_epoch(history, "target_val", "accuracy") == 2
    assert select_epoch(history, "target_val_oracle", "accuracy") == 3


def test_test_metrics_are_never_read():
    # The Untouchable test dicts raise on any access; selection must still work.
    history = _history({"source_val": [0.6, 0.7, 0.65]})
    assert select_epoch(history, "source_val", "accuracy") == 1


def test_test_metrics_that_would_pick_another_epoch_are_ignored():
    # Test accuracy peaks at epoch 0, and is even stored under the validation split's name: both must be ignored.
    tests = [
        {"source_test": {"accuracy": 0.99}, "target_test": {"accuracy": 0.99}, "source_val": {"accuracy": 0.99}},
        {"source_test": {"accuracy": 0.10}, "target_test": {"accuracy": 0.10}, "source_val": {"accuracy": 0.10}},
        {"source_test": {"accuracy": 0.20}, "target_test": {"accuracy": 0.20}, "source_val": {"accuracy": 0.20}},
    ]
    history = _history({"source_val": [0.5, 0.6, 0.8]}, test=tests)
    assert select_epoch(history, "source_val", "accuracy") == 2


def test_ties_go_to_the_earliest_epoch():
    history = _history({"source_val": [0.5, 0.8, 0.8, 0.7, 0.8]})
    assert select_epoch(history, "source_val", "accuracy") == 1


def test_nan_scores_are_skipped():
    assert select_epoch(_history({"source_val": [NAN, 0.6, 0.55]}), "source_val", "accuracy") == 1
    assert select_epoch(_history({"source_val": [0.5, NAN, 0.4]}), "source_val", "accuracy") == 0
    assert select_epoch(_history({"source_val": [0.5, NAN, 0.7]}), "source_val", "accuracy") == 2


def test_other_metric():
    history = _history({"source_val": [0.9, 0.7, 0.8]}, metric="auroc")
    assert select_epoch(history, "source_val", "auroc") == 0
    with pytest.raises(ConfigError, match="metric 'accuracy' unknown.*auroc"):
        select_epoch(history, "source_val", "accuracy")


def test_a_rule_whose_split_is_missing_is_an_error():
    history = _history({"source_val": [0.5, 0.6]})
    with pytest.raises(ConfigError, match="'target_val'"):
        select_epoch(history, "target_val", "accuracy")


def test_no_rule_maps_to_a_test_split():
    assert RULES, "no selection rules"
    for name, rule in RULES.items():
        assert rule.split is None or "test" not in rule.split, (name, rule.split)
        assert selection_split(name) == rule.split


def test_last_takes_the_last_evaluated_epoch_and_reads_nothing():
    history = _history({"source_val": [0.9, 0.5, 0.4]})
    assert select_epoch(history, "last", "accuracy") == 2
    history[2]["val"] = None  # an epoch that was not evaluated (train.eval_every) cannot be picked
    assert select_epoch(history, "last", "accuracy") == 1
    assert select_epoch(history, "source_val", "accuracy") == 0


def test_rules_apply_by_source_budget_and_the_selected_stage():
    # unsupervised adaptation: every label-free rule, the oracle and last; never the budget's labels
    assert applicable_rules(True, 0.0, True) == ["source_val", "target_val_oracle", "deep_embedded_validation", "last"]
    # a target-only strategy (full_ft on a budget): source data says nothing about it
    assert applicable_rules(True, 0.1, False) == ["target_val", "target_val_oracle", "last"]
    assert applicable_rules(False, 0.1, False) == ["target_val", "target_val_oracle", "last"]


def test_a_rule_mapping_to_a_test_split_is_refused(monkeypatch):
    # Defence in depth: if someone ever adds such a rule to the table, it is refused at use.
    monkeypatch.setitem(selection.RULES, "peek", SelectionRule("peek", "target_test", "reads the test split"))
    with pytest.raises(ConfigError, match="test split can never select"):
        selection_split("peek")
    history = _history({"source_val": [0.5]}, test=[{"target_test": {"accuracy": 1.0}}])
    history[0]["val"]["target_test"] = {"accuracy": 1.0}
    with pytest.raises(ConfigError, match="test split"):
        select_epoch(history, "peek", "accuracy")


def test_unknown_rule_lists_the_known_ones():
    with pytest.raises(ConfigError, match="unknown model-selection rule 'best'.*source_val"):
        selection_split("best")
    with pytest.raises(ConfigError):
        select_epoch(_history({"source_val": [0.5]}), "best", "accuracy")


def test_suite_accepts_exactly_the_rules_the_runner_knows():
    assert set(SELECTION_RULES) - {"auto"} == set(RULES)


# -- resolve_selection ---------------------------------------------------------------------------------
@pytest.mark.parametrize("budget, rule",
                         [(0, "source_val"), (0.0, "source_val"), (0.1, "target_val"), (1.0, "target_val")])
def test_auto_follows_the_label_budget(budget, rule):
    resolved = resolve_selection({"rule": "auto", "metric": "accuracy"}, budget, "t")
    assert (resolved["rule"], resolved["metric"]) == (rule, "accuracy") and rule in resolved["rules"]


def test_target_val_without_target_labels_is_refused():
    with pytest.raises(ConfigError) as info:
        resolve_selection({"rule": "target_val"}, 0, "my-task")
    message = str(info.value)
    assert "my-task" in message and "target_budget is 0" in message and "source_val" in message


def test_explicit_rules_are_kept_and_metric_defaults_to_accuracy():
    assert resolve_selection({"rule": "source_val"}, 0.5, "t") == {
        "rule": "source_val", "metric": "accuracy",
        "rules": ["source_val", "target_val", "target_val_oracle", "deep_embedded_validation", "last"]}
    # The oracle is allowed on unsupervised tasks: it is reported as an upper bound.
    assert resolve_selection({"rule": "target_val_oracle", "metric": "auroc"}, 0, "t") == {
        "rule": "target_val_oracle", "metric": "auroc",
        "rules": ["source_val", "target_val_oracle", "deep_embedded_validation", "last"]}


def test_selection_rules_can_be_limited_and_the_reported_rule_is_always_kept():
    resolved = resolve_selection({"rule": "dev", "rules": ["last"]}, 0, "t")
    assert resolved["rules"] == ["last", "deep_embedded_validation"]


def test_source_val_for_a_target_only_strategy_is_refused_in_one_line():
    with pytest.raises(ConfigError) as info:
        resolve_selection({"rule": "source_val"}, 0.1, "breast-10pct", True, trains_on_source=False,
                          algorithm="full_ft")
    message = str(info.value)
    assert "\n" not in message and "breast-10pct" in message and "full_ft" in message and "target_val" in message
