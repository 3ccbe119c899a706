"""The ``sweep`` block of a suite: expansion into trials x seeds with stable run ids, and one-line errors.

Suites are real YAML files in ``tmp_path`` expanded with the real registries; nothing is trained here.
"""

from __future__ import annotations

import pytest
from sweep_helpers import SEEDS, SWEEP_SUITE, TRIALS, line_of, write_suite

from zoo.bench import load_suite
from zoo.bench.resolve import resolve_run
from zoo.errors import ConfigError


def _replace(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once"
    return text.replace(old, new)


def test_sweep_expands_into_trials_x_seeds_with_drawn_hparams(tmp_path):
    runs = load_suite(str(write_suite(tmp_path, SWEEP_SUITE))).runs()
    assert [(r.config["sweep"]["trial"], r.seed) for r in runs] == [(t, s) for t in range(TRIALS) for s in SEEDS]
    assert len({r.run_id for r in runs}) == len(runs) == TRIALS * len(SEEDS)
    by_trial = {}
    for run in runs:
        assert run.config["sweep"] == {"trial": run.config["sweep"]["trial"], "seed": 7}
        assert 0 <= run.config["hparams"]["bottleneck_dim"] <= 32  # the suite's restricted space
        by_trial.setdefault(run.config["sweep"]["trial"], []).append(run.config["hparams"])
    for trial, hparams in by_trial.items():  # seed-mates share the trial's draw; trials differ
        assert hparams[0] == hparams[1], trial
    assert len({repr(h[0]) for h in by_trial.values()}) == TRIALS


def test_run_ids_are_stable_and_more_trials_keep_the_first_ones(tmp_path):
    path = str(write_suite(tmp_path, SWEEP_SUITE))
    first = [r.run_id for r in load_suite(path).runs()]
    assert [r.run_id for r in load_suite(path).runs()] == first
    more = [r.run_id for r in load_suite(path, overrides=["sweep.trials=5"]).runs()]
    assert more[: len(first)] == first and len(more) == 5 * len(SEEDS)
    other_seed = [r.run_id for r in load_suite(path, overrides=["sweep.seed=8"]).runs()]
    assert not set(other_seed) & set(first)


def test_without_a_sweep_runs_and_ids_are_the_plain_ones(tmp_path):
    block = "sweep:\n  trials: 3\n  seed: 7\n  hparams_space:\n    mcc: {bottleneck_dim: [int, 0, 32]}\n"
    text = _replace(SWEEP_SUITE, block, "")
    suite = load_suite(str(write_suite(tmp_path, text)))
    runs = suite.runs()
    task = suite.tasks[0]
    assert [r.run_id for r in runs] == [resolve_run(suite, task, "mcc", s, suite.task_defaults[task.name]).run_id
                                        for s in SEEDS]
    assert all("sweep" not in r.config for r in runs)


def test_task_block_overrides_the_top_level_one_and_null_turns_it_off(tmp_path):
    text = _replace(SWEEP_SUITE, "  - {name: unsup, source: src, target: tgt, target_budget: 0, algorithms: [mcc]}\n",
                    "  - {name: unsup, source: src, target: tgt, target_budget: 0, algorithms: [mcc],\n"
                    "     sweep: {trials: 2, hparams_space: {mcc: {weight: 0.5}}}}\n"
                    "  - {name: plain, source: src, target: tgt, target_budget: 0, algorithms: [mcc], sweep: null}\n"
                    "  - {name: inherits, source: src, target: tgt, target_budget: 0,\n"
                    "     algorithms: [source_only, mcc]}\n")
    runs = load_suite(str(write_suite(tmp_path, text))).runs()
    per_task = {}
    for run in runs:
        per_task.setdefault(run.task.name, []).append(run)
    assert len(per_task["unsup"]) == 2 * len(SEEDS)
    assert {r.config["hparams"]["weight"] for r in per_task["unsup"]} == {0.5}  # fixed by the task's space
    assert {r.config["sweep"]["seed"] for r in per_task["unsup"]} == {7}  # seed inherited from the top level
    assert len(per_task["plain"]) == len(SEEDS) and all("sweep" not in r.config for r in per_task["plain"])
    inherits = per_task["inherits"]
    assert [(r.algorithm, r.config["sweep"]["trial"]) for r in inherits if r.algorithm == "source_only"] == \
        [("source_only", 0)] * len(SEEDS)  # nothing to search: one trial, not TRIALS copies of the defaults
    assert len([r for r in inherits if r.algorithm == "mcc"]) == TRIALS * len(SEEDS)
    assert all(r.config["hparams"]["bottleneck_dim"] <= 32 for r in inherits if r.algorithm == "mcc")


def test_hparams_fixed_by_the_suite_are_not_searched(tmp_path):
    text = _replace(SWEEP_SUITE, "  seeds: [0, 1]\n", "  seeds: [0, 1]\n  hparams: {mcc: {temperature: 2.0}}\n")
    runs = load_suite(str(write_suite(tmp_path, text))).runs()
    assert {r.config["hparams"]["temperature"] for r in runs} == {2.0}
    assert len({r.config["hparams"]["weight"] for r in runs}) == TRIALS


# -- one-line errors, located at the line of the sweep block ---------------------------------------------
BAD_BLOCKS = [
    ("  trials: 3\n", "  trials: 0\n", "  trials: 0", "'trials' must be an integer >= 1, got 0"),
    ("  trials: 3\n", "  trials: many\n", "  trials: many", "'trials' must be an integer >= 1, got 'many'"),
    ("  trials: 3\n", "  trials: true\n", "  trials: true", "'trials' must be an integer >= 1"),
    ("  trials: 3\n", "", "sweep:", "'sweep' needs 'trials'"),
    ("  seed: 7\n", "  seed: 1.5\n", "  seed: 1.5", "sweep 'seed' must be an integer"),
    ("  seed: 7\n", "  seed: 7\n  budget: 3\n", "  budget: 3", "unknown sweep key 'budget'"),
    ("[int, 0, 32]", "[log, 0, 32]", "bottleneck_dim", "a log space needs lo > 0"),
    ("[int, 0, 32]", "[int, 32, 0]", "bottleneck_dim", "lo > hi"),
    ("[int, 0, 32]", "{choice: []}", "bottleneck_dim", "'choice' needs a non-empty list"),
    ("    mcc: {bottleneck_dim", "    mmc: {bottleneck_dim", "    mmc:", "names 'mmc', which no task here runs; "
                                                                        "did you mean 'mcc'?"),
    ("  hparams_space:\n    mcc: {bottleneck_dim: [int, 0, 32]}\n", "  hparams_space: [mcc]\n", "  hparams_space:",
     "'hparams_space' must map algorithm -> {hparam: space}"),
]


@pytest.mark.parametrize("old, new, at, fragment", BAD_BLOCKS, ids=[b[3][:30] for b in BAD_BLOCKS])
def test_bad_sweep_blocks_are_one_line_errors_at_their_line(tmp_path, old, new, at, fragment):
    text = _replace(SWEEP_SUITE, old, new)
    path = write_suite(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_suite(str(path))
    message = str(err.value)
    assert message.startswith(f"{path}:{line_of(text, at)}: "), message
    assert fragment in message and "\n" not in message, message


def test_sweep_not_a_mapping(tmp_path):
    text = _replace(SWEEP_SUITE, "sweep:\n  trials: 3\n", "sweep: 3\nxsweep:\n  trials: 3\n")
    text = text.replace("xsweep:\n  trials: 3\n  seed: 7\n  hparams_space:\n    mcc: {bottleneck_dim: [int, 0, 32]}\n",
                        "")
    path = write_suite(tmp_path, text)
    with pytest.raises(ConfigError, match=rf"^{path}:{line_of(text, 'sweep: 3')}: 'sweep' must be a mapping"):
        load_suite(str(path))


@pytest.mark.parametrize("old, new, fragment", [
    ("mcc: {bottleneck_dim: [int, 0, 32]}", "mcc: {wieght: [log, 0.1, 1.0]}",
     "mcc has no hyperparameter 'wieght'; did you mean 'weight'?"),
    ("  seeds: [0, 1]\n", "  seeds: [0, 1]\n  hparams: {mcc: {bottleneck_dim: 8}}\n",
     "'bottleneck_dim' of mcc is both fixed in hparams and searched in sweep.hparams_space"),
    ("mcc: {bottleneck_dim: [int, 0, 32]}", "mcc: {bottleneck_dim: [uniform, 0.0, 1.5], temperature: -1.0}",
     "sweep trial 0 of unsup/mcc drew"),
])
def test_names_and_values_the_algorithm_refuses_are_located_errors(tmp_path, old, new, fragment):
    text = _replace(SWEEP_SUITE, old, new)
    path = write_suite(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_suite(str(path)).runs()  # names are checked against the registry when the sweep expands
    message = str(err.value)
    assert message.startswith(f"{path}:") and fragment in message and "\n" not in message, message


def test_a_bad_override_of_the_sweep_is_reported_as_that_override(tmp_path):
    path = write_suite(tmp_path, SWEEP_SUITE)
    with pytest.raises(ConfigError, match=r"^override 'sweep.trials=-2': sweep 'trials' must be an integer >= 1"):
        load_suite(str(path), overrides=["sweep.trials=-2"])
