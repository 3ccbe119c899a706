"""Weight-0 twins (zoo.algorithms.variants): the control that tells alignment from architecture and batches."""

from __future__ import annotations

import pytest

from zoo.bench.suite import load_suite
from zoo.errors import ConfigError

SUITE = """\
suite: twins
version: 1
defaults:
  backbone: {{name: simple_cnn}}
  seeds: [0]
  hparams: {{dann: {{bottleneck_dim: 128}}}}
{controls}
domains:
  a: {{dataset: synthetic, num_classes: 2, n_per_class: 20, seed: 0}}
  b: {{dataset: synthetic, num_classes: 2, n_per_class: 20, seed: 1, appearance: 1.0}}
tasks:
  - {{name: t, source: a, target: b, target_budget: 0, algorithms: {algorithms}}}
"""


def _suite(tmp_path, algorithms="[source_only, adabn, dann, coral]", controls="controls: [weight_zero]"):
    path = tmp_path / "twins.yaml"
    path.write_text(SUITE.format(algorithms=algorithms, controls=controls))
    return load_suite(str(path))


def test_controls_add_a_twin_after_each_adaptation_method(tmp_path):
    runs = _suite(tmp_path).runs()
    assert [r.algorithm for r in runs] == ["source_only", "adabn", "dann", "dann@w0", "coral", "coral@w0"]
    by = {r.algorithm: r.config["hparams"] for r in runs}
    # the twin is the method with its suite hyperparameters, alignment weight 0
    assert by["dann@w0"] == {**by["dann"], "weight": 0.0} and by["dann"]["bottleneck_dim"] == 128
    assert by["coral@w0"] == {**by["coral"], "weight": 0.0}
    assert len({r.run_id for r in runs}) == len(runs)


def test_without_controls_no_twin_and_a_named_twin_still_runs(tmp_path):
    assert [r.algorithm for r in _suite(tmp_path, controls="").runs()] == ["source_only", "adabn", "dann", "coral"]
    from zoo.algorithms.dann import DANN

    runs = _suite(tmp_path, algorithms="[dann, dann@w0]", controls="").runs()
    assert [r.config["hparams"]["weight"] for r in runs] == [DANN.HPARAMS["weight"].default, 0.0]


def test_twins_can_be_picked_on_the_command_line_filter(tmp_path):
    assert [r.algorithm for r in _suite(tmp_path).runs(algorithms=["dann@w0"])] == ["dann@w0"]


@pytest.mark.parametrize("algorithms, message", [
    ("[source_only@w0]", "source_only has no alignment term to switch off"),
    ("[dann@w1]", "unknown algorithm variant 'dann@w1'"),
])
def test_a_twin_that_cannot_exist_is_one_line(tmp_path, algorithms, message):
    with pytest.raises(ConfigError, match=message) as info:
        _suite(tmp_path, algorithms=algorithms, controls="").runs()
    assert "\n" not in str(info.value)


def test_an_unknown_control_is_refused_with_its_line(tmp_path):
    with pytest.raises(ConfigError, match=r"twins.yaml:\d+.*unknown control 'weight_one'.*weight_zero"):
        _suite(tmp_path, controls="controls: [weight_one]")


def test_a_swept_twin_never_searches_its_zero_weight(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(SUITE.format(algorithms="[dann]", controls="controls: [weight_zero]\nsweep: {trials: 3, seed: 0}"))
    twins = [r for r in load_suite(str(path)).runs() if r.algorithm == "dann@w0"]
    assert len(twins) == 3 and {r.config["hparams"]["weight"] for r in twins} == {0.0}
