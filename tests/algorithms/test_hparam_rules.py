"""What an ``HParam`` declares about valid values is enforced in one place (``HParam.check``), and ``stages`` is a
classmethod of the hyperparameters and the budget, with the old instance-method form of plugins still run.

The one-line messages through ``medzoo run`` are in test_hparam_errors.py; here the rules themselves, the
consistency of every registered algorithm's declarations, and the old ``stages(self, target_budget)`` form.
"""

from __future__ import annotations

import inspect
import math
import warnings

import pytest

import zoo
from zoo.algorithms import ALGORITHMS, Algorithm, HParam, Stage
from zoo.algorithms.base import resolve_hparams, stages_of
from zoo.algorithms.strategy import FinetuneStrategy
from zoo.errors import ConfigError

TAU = HParam(0.9, ("uniform", 0.5, 0.99), "confidence", low=0, low_open=True, high=1, high_open=True)
DECLARED = {
    "weight": HParam(1.0, ("log", 0.01, 10.0), "a weight", low=0),
    "tau": TAU,
    "k": HParam(2, ("int", 1, 5), "blocks", low=1),
    "norm": HParam("batch", help="normalisation", choices=["batch", "none"]),
    "kernels": HParam([1.0, 2.0], [[1.0, 2.0], [0.5]], "bandwidths", low=0, low_open=True),
    "free": HParam(0.5, ("uniform", 0.0, 1.0), "no bounds"),
}


def _error(**given) -> str:
    with pytest.raises(ConfigError) as err:
        resolve_hparams(DECLARED, given, "my_algo (MyAlgo)")
    message = str(err.value)
    assert "\n" not in message and "my_algo (MyAlgo)" in message, message
    return message


@pytest.mark.parametrize("given, fragments", [
    ({"weight": -0.5}, ["'weight'", "must be a finite number >= 0, got -0.5", "e.g. weight=1.0"]),
    ({"weight": math.nan}, ["'weight'", ">= 0, got nan"]),
    ({"weight": math.inf}, ["'weight'", "finite number >= 0, got inf"]),
    ({"tau": 0}, ["'tau'", "in (0, 1), got 0.0", "e.g. tau=0.9"]),
    ({"tau": 1.0}, ["'tau'", "in (0, 1), got 1.0"]),
    ({"k": 0}, ["'k'", "must be an integer >= 1, got 0", "e.g. k=2"]),
    ({"k": True}, ["'k'", "must be int, got True (bool)"]),
    ({"k": 2.0}, ["'k'", "must be int, got 2.0 (float)"]),
    ({"norm": "layer"}, ["'norm'", "must be one of batch, none, got 'layer'", "e.g. norm='batch'"]),
    ({"kernels": []}, ["'kernels'", "a non-empty list of finite numbers > 0, got []"]),
    ({"kernels": [1.0, 0]}, ["'kernels'", "> 0, got [1.0, 0]"]),
    ({"kernels": [1.0, "2"]}, ["'kernels'", "got [1.0, '2']"]),
    ({"free": math.nan}, ["'free'", "must be a finite number, got nan"]),
])
def test_invalid_values_are_one_line_errors_naming_the_rule_and_an_example(given, fragments):
    message = _error(**given)
    for fragment in fragments:
        assert fragment in message, message


def test_boundaries_follow_the_declared_openness_and_ints_become_floats():
    got = resolve_hparams(DECLARED, {"weight": 0, "tau": 0.5, "k": 1, "kernels": [3], "free": -4.0}, "x")
    assert got["weight"] == 0.0 and isinstance(got["weight"], float)  # an inclusive bound is accepted
    assert got["k"] == 1 and got["kernels"] == [3] and got["free"] == -4.0
    assert resolve_hparams({"d": HParam(0.5, None, "decay", low=0, low_open=True, high=1)}, {"d": 1}, "x") == {"d": 1.0}


@pytest.mark.parametrize("make, fragment", [
    (lambda: HParam(-1.0, None, "w", low=0), "default -1.0 must be a finite number >= 0"),
    (lambda: HParam(0.5, ("uniform", 0.0, 1.0), "t", low=0, low_open=True), "reaches 0.0"),
    (lambda: HParam(1.0, ("log", 0.1, 20.0), "d", high=10), "reaches 20.0"),
    (lambda: HParam("a", ["a", "b"], "c", choices=["a"]), "reaches 'b'"),
    (lambda: HParam("c", help="h", choices=["a", "b"]), "default 'c' must be one of a, b"),
    (lambda: HParam([1.0], [[1.0], [-1.0]], "k", low=0), "reaches [-1.0]"),
    (lambda: HParam(1, None, "k", low=3, high=2), "low 3 > high 2"),
    (lambda: HParam("a", help="h", choices=[]), "choices must not be empty"),
])
def test_inconsistent_declarations_fail_when_made(make, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace("[", r"\[")):
        make()


def test_choices_are_the_search_space_unless_one_is_given():
    assert HParam("a", help="h", choices=["a", "b"]).space == ["a", "b"]
    assert HParam("a", ["a"], "h", choices=["a", "b"]).space == ["a"]


@pytest.mark.parametrize("name", ALGORITHMS.names())
def test_every_declared_space_lies_inside_what_its_hparam_accepts(name):
    # HParam refuses this when declared; checked again here over the registry (plugins included)
    for hp_name, hp in ALGORITHMS.get(name).HPARAMS.items():
        assert hp.valid(hp.default), (name, hp_name)
        space = hp.space
        points = [space[1], space[2]] if isinstance(space, tuple) else list(space or [])
        assert all(hp.valid(p) for p in points), (name, hp_name, space, hp.rule())


@pytest.mark.parametrize("name", [n for n in ALGORITHMS.names() if ALGORITHMS.entry(n).dist == "medzoo"])
def test_builtin_stages_are_classmethods_of_the_hparams(name):
    cls = ALGORITHMS.get(name)
    assert isinstance(inspect.getattr_static(cls, "stages"), classmethod), name
    if issubclass(cls, FinetuneStrategy):
        assert isinstance(inspect.getattr_static(cls, "target_stages"), classmethod), name
    defaults = resolve_hparams(cls.HPARAMS, {}, name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # the built-ins use the current form
        try:
            assert stages_of(cls, defaults, 0.5)
        except ConfigError:  # a method that cannot run on such a task says so in one line
            pass


class OldStyle(Algorithm):
    """A plugin written before stages became a classmethod: it reads self.hparams."""

    HPARAMS = {"stage": HParam("train", help="name of its one stage", choices=["train", "fit"]),
               "epochs": HParam(0, ("int", 0, 5), "epochs of that stage (0: train.epochs)", low=0)}

    def stages(self, target_budget):
        return [Stage(self.hparams["stage"], "source", epochs=self.hparams["epochs"] or None)]

    def training_step(self, source_batch, target_batch):
        x, y = source_batch[0], source_batch[1]
        return {"loss": self.cross_entropy(self.predict(x), y)}


class OldStrategy(FinetuneStrategy):
    """A strategy subclass written against ``target_stages(self)``."""

    def target_stages(self):
        return [Stage("probe", "target_labeled", features=True), Stage("all", "target_labeled")]


def test_old_instance_method_stages_still_run_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match=r"OldStyle\.stages\(self, \.\.\.\) is the old instance-method form"):
        stages = stages_of(OldStyle, {"stage": "fit", "epochs": 3}, 0.0)
    assert [(s.name, s.epochs) for s in stages] == [("fit", 3)]
    assert stages_of(OldStyle, {"stage": "train", "epochs": 0}, 0.0) == [Stage("train", "source")]  # warned once
    model = OldStyle(zoo.create_backbone("simple_cnn", in_chans=1), 2, {"epochs": 1})
    assert model.stages(0.1) == stages_of(OldStyle, model.hparams, 0.1)  # as a plugin's own tests call it


def test_old_instance_method_target_stages_of_a_strategy_still_run():
    with pytest.warns(DeprecationWarning, match="OldStrategy.target_stages"):
        stages = stages_of(OldStrategy, {}, 0.5)
    assert [s.name for s in stages] == ["probe", "all"]
    with pytest.raises(ConfigError, match="OldStrategy fine-tunes on labeled target data"):
        stages_of(OldStrategy, {}, 0.0)
    OldStrategy(zoo.create_backbone("simple_cnn", in_chans=1), 2)  # __init__ checks each stage's layers


def test_an_old_style_plugin_resolves_in_a_suite_and_passes_the_kit(tmp_path):
    from zoo.bench.suite import load_suite
    from zoo.testing import check_algorithm, check_runs_one_epoch

    suite = tmp_path / "old.yaml"
    suite.write_text("suite: old\nversion: 1\ndefaults:\n  backbone: {name: simple_cnn}\n  train: {epochs: 1}\n"
                     "domains:\n  src: {dataset: synthetic, num_classes: 2, n_per_class: 10, seed: 0}\n"
                     "  tgt: {dataset: synthetic, num_classes: 2, n_per_class: 10, seed: 1}\n"
                     "tasks:\n  - {name: t, source: src, target: tgt, target_budget: 0, algorithms: [old_style]}\n")
    ALGORITHMS.register("old_style", dist="old-tests", version="0")(OldStyle)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            runs = load_suite(str(suite), overrides=["hparams.old_style.stage=fit"]).runs()
            assert runs[0].config["stages"] == ["fit"]  # the resolver planned it from the suite's hparams
            with pytest.raises(ConfigError, match="'epochs' of old_style .OldStyle. must be an integer >= 0"):
                load_suite(str(suite), overrides=["hparams.old_style.epochs=-1"]).runs()
            check_algorithm(OldStyle, hparams={"stage": "fit"})  # every check of the kit, stages_need_no_model too
            record = check_runs_one_epoch(algorithm="old_style", hparams={"stage": "fit"}, output_dir=tmp_path / "run",
                                          max_steps=2)  # the runner's loop plans its stages the same way
    finally:
        ALGORITHMS.remove("old_style")
    assert [s["name"] for s in record["stages"]] == ["fit"]  # what the loop ran


def test_an_old_instance_method_stages_may_extend_its_parents_with_super():
    from zoo.algorithms.dann import DANN

    class OldExtended(DANN):  # a plugin written before stages became a classmethod
        def stages(self, target_budget):
            return super().stages(target_budget) + [Stage("polish", "source", epochs=self.hparams["bottleneck_dim"])]

    with pytest.warns(DeprecationWarning, match="OldExtended.stages"):
        stages = stages_of(OldExtended, {"weight": 1.0, "backbone_lr_mult": 1.0, "bottleneck_dim": 7}, 0.0)
    assert [(s.name, s.data, s.epochs) for s in stages] == [("adapt", "source+target_unlabeled", None),
                                                            ("polish", "source", 7)]
    model = OldExtended(zoo.create_backbone("simple_cnn", in_chans=1), 2, {"bottleneck_dim": 3})
    assert [s.name for s in model.stages(0.0)] == ["adapt", "polish"]  # as a plugin's own tests call it
    with pytest.raises(TypeError, match=r"DANN.stages takes \(hparams, target_budget\)"):
        DANN.stages(0.0)
