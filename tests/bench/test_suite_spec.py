"""Suite files (docs/architecture.md, principle 3): the shipped ``quick`` suite, run ids, overrides, file:line errors.

Suites are loaded from real YAML files (the shipped one, or ones written to ``tmp_path``) and expanded
with the real registries; nothing is trained.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from zoo.bench import load_suite
from zoo.bench.suites_registry import SUITES
from zoo.bench.task_data import check_disjoint
from zoo.errors import ConfigError, UnknownNameError

SEEDS = (0, 1, 2)

# A valid suite; tests break one line of it. `synthetic` keeps it independent of data files.
VALID = """\
suite: spec-test
version: 2
description: a suite the tests break one line at a time
defaults:
  backbone: {name: simple_cnn}
  train:
    epochs: 2
    batch_size: 16
  seeds: [0, 1]
domains:
  src:
    dataset: synthetic
    partition: {part: 0, of: 2, seed: 0}
  tgt:
    dataset: synthetic
    partition: {part: 1, of: 2, seed: 0}
tasks:
  - name: unsup
    source: src
    target: tgt
    target_budget: 0
    algorithms: [source_only]
  - name: labeled
    source: src
    target: tgt
    target_budget: 0.25
    algorithms: [source_only, finetune]
"""


def _write(tmp_path: Path, text: str, name: str = "suite.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    """1-based number of the line holding the ``occurrence``-th ``fragment``."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if fragment in line]
    assert len(hits) >= occurrence, f"{fragment!r} not in the test suite text"
    return hits[occurrence - 1]


def _replace(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once"
    return text.replace(old, new)


# -- the shipped suite -----------------------------------------------------------------------------------
def test_quick_expands_into_nine_runs():
    suite = load_suite("quick")
    assert suite.name == "quick" and suite.version >= 1
    assert [t.name for t in suite.tasks] == ["pneumonia-shift-unsup", "pneumonia-shift-10pct"]
    runs = suite.runs()
    got = [(r.task.name, r.algorithm, r.seed) for r in runs]
    expected = [("pneumonia-shift-unsup", "source_only", s) for s in SEEDS]
    expected += [("pneumonia-shift-10pct", a, s) for a in ("source_only", "source_then_target") for s in SEEDS]
    assert got == expected
    assert len({r.run_id for r in runs}) == 9  # every run has its own id
    # Model selection never peeks at target labels the task does not grant.
    by_task = {r.task.name: r.config["selection"]["rule"] for r in runs}
    assert by_task == {"pneumonia-shift-unsup": "source_val", "pneumonia-shift-10pct": "target_val"}
    finetune = [r for r in runs if r.algorithm == "source_then_target"][0]
    assert finetune.config["stages"] == ["source", "target"]
    assert finetune.config["hparams"]["target_lr_mult"] == pytest.approx(0.1)


def test_quick_source_and_target_are_disjoint_halves():
    # The suite's own promise: the shifted target never shares an image with the source.
    task = load_suite("quick").runs()[0].config["task"]
    check_disjoint(task["sources"], task["target"])  # must not raise
    (source,), (target,) = task["sources"].values(), task["target"].values()
    assert source["partition"]["part"] != target["partition"]["part"]


def test_run_ids_are_stable():
    first = [r.run_id for r in load_suite("quick").runs()]
    second = [r.run_id for r in load_suite("quick").runs()]
    assert first == second
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in first)
    # An override that restates the suite's value leaves the config, hence the ids, unchanged.
    assert [r.run_id for r in load_suite("quick", overrides=["train.epochs=4", "train.lr=0.001"]).runs()] == first
    # a value equal to the id policy's table of defaults is not hashed (zoo.bench.run_config)
    assert [r.run_id for r in load_suite("quick", overrides=["train.drop_last=true"]).runs()] == first
    assert [r.run_id for r in load_suite("quick", overrides=["train.eval_every=1"]).runs()] == first


@pytest.mark.parametrize(
    "override, changed",
    [
        ("train.epochs=1", {"source_only", "source_then_target"}),
        ("train.batch_size=64", {"source_only", "source_then_target"}),
        ("train.drop_last=false", {"source_only", "source_then_target"}),
        ("backbone.weight_init=torch_default", {"source_only", "source_then_target"}),
        ("backbone.name=resnet18_28", {"source_only", "source_then_target"}),
        ("selection.rule=target_val_oracle", set()),  # every rule is applied after one training
        ("selection.rules=[last]", set()),
        ("selection.metric=auroc", {"source_only", "source_then_target"}),  # which epochs are kept
        ("train.eval_every=2", {"source_only", "source_then_target"}),
        ("hparams.finetune.target_lr_mult=0.5", {"source_then_target"}),  # only the runs that use it
    ],
)
def test_an_override_that_changes_the_config_changes_exactly_those_ids(override, changed):
    base = {(r.task.name, r.algorithm, r.seed): r.run_id for r in load_suite("quick").runs()}
    new = {(r.task.name, r.algorithm, r.seed): r.run_id for r in load_suite("quick", overrides=[override]).runs()}
    assert base.keys() == new.keys()
    for key in base:
        assert (base[key] != new[key]) == (key[1] in changed), (override, key)


def test_overrides_apply():
    suite = load_suite("quick", overrides=["train.epochs=1", "seeds=[0]", "hparams.finetune.target_lr_mult=0.5"])
    runs = suite.runs()
    assert [(r.task.name, r.algorithm, r.seed) for r in runs] == [
        ("pneumonia-shift-unsup", "source_only", 0),
        ("pneumonia-shift-10pct", "source_only", 0),
        ("pneumonia-shift-10pct", "source_then_target", 0),
    ]
    assert all(r.config["train"]["epochs"] == 1 for r in runs)
    assert all(r.config["train"]["batch_size"] == 128 for r in runs)  # untouched keys keep their values
    assert runs[2].config["hparams"] == {"target_lr_mult": 0.5, "target_epochs": 0}
    assert runs[0].config["hparams"] == {}


def test_preset_applies_and_unknown_preset_is_named():
    runs = load_suite("quick", preset="full").runs()
    assert runs[0].config["backbone"]["name"] == "resnet18_28"
    assert runs[0].config["train"]["epochs"] == 30 and len(runs) == 15
    with pytest.raises(ConfigError, match="no preset 'ful'.*full"):
        load_suite("quick", preset="ful")


PRESETS = """\
presets:
  small:
    train: {epochs: 1}
    algorithms: [finetune]
  unsup:
    tasks: [unsup]
  typo:
    algorithms: [fintune]
"""


def test_preset_task_and_algorithm_filters_keep_a_declared_subset(tmp_path):
    path = _write(tmp_path, VALID + PRESETS)
    small = load_suite(str(path), preset="small")
    assert [(t.name, t.algorithms) for t in small.tasks] == [("labeled", ("source_then_target",))]  # not in 'unsup'
    assert {r.config["train"]["epochs"] for r in small.runs()} == {1} and len(small.runs()) == 2
    assert [t.name for t in load_suite(str(path), preset="unsup").tasks] == ["unsup"]
    # The same run keeps its id whether it comes from the whole suite or from a filtering preset.
    whole = {r.run_id for r in load_suite(str(path)).runs()}
    assert {r.run_id for r in load_suite(str(path), preset="unsup").runs()} <= whole
    text = VALID + PRESETS
    with pytest.raises(ConfigError) as info:
        load_suite(str(path), preset="typo")
    message = str(info.value)
    assert message.startswith(f"{path}:{_line_of(text, 'algorithms: [fintune]')}:"), message
    assert "'fintune'" in message and "\n" not in message


@pytest.mark.parametrize("name", SUITES.names())
def test_every_registered_suite_and_preset_expands(name):
    # Generated from the suite registry: a shipped (or plugin) suite that cannot be resolved fails here.
    import yaml

    presets = yaml.safe_load(Path(SUITES.get(name)).read_text()).get("presets") or {}
    for preset in [None, *presets]:
        suite = load_suite(name, preset=preset)
        runs = suite.runs()
        assert runs and len({r.run_id for r in runs}) == len(runs), (name, preset)
        assert {r.task.name for r in runs} == {t.name for t in suite.tasks}, (name, preset)


def test_suite_path_folder_adds_suites_and_a_clash_keeps_the_builtin(tmp_path, monkeypatch):
    # A fresh suite registry reading $MEDZOO_SUITE_PATH (the global one may already be discovered).
    from zoo.bench.suites_registry import SUITE_PATH_ENV, _discover_suites
    from zoo.registry import Registry

    _write(tmp_path, VALID, "mine.yaml")
    _write(tmp_path, VALID, "quick.yaml")  # claims the name of a built-in suite
    monkeypatch.setenv(SUITE_PATH_ENV, str(tmp_path))
    registry = Registry("suite", loader=lambda target: target, discover=_discover_suites)
    assert Path(registry.get("mine")) == tmp_path / "mine.yaml"
    assert registry.entry("quick").is_builtin and Path(registry.get("quick")) == Path(SUITES.get("quick"))
    mine = registry.entry(f"${SUITE_PATH_ENV}:quick")  # shown as a conflict, reachable by its qualified name
    assert mine.status == "conflict" and "medzoo" in mine.conflict
    assert Path(registry.get(mine.name)) == tmp_path / "quick.yaml"
    assert set(SUITES.names()) <= set(registry.names())  # every built-in suite still works


def test_valid_test_suite_loads(tmp_path):
    # Guards the error tests below: each breaks exactly one thing of a suite that is otherwise valid.
    runs = load_suite(str(_write(tmp_path, VALID))).runs()
    assert len(runs) == 6


# -- file:line errors ----------------------------------------------------------------------------------
def test_malformed_yaml_names_file_and_line(tmp_path):
    text = _replace(VALID, "description: a suite", "description: a: suite")  # 'mapping values not allowed'
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_suite(str(path))
    message = str(info.value)
    assert message.startswith(f"{path}:{_line_of(text, 'description:')}:"), message
    assert "malformed YAML" in message and "\n" not in message


def test_malformed_yaml_unclosed_bracket(tmp_path):
    text = _replace(VALID, "seeds: [0, 1]", "seeds: [0, 1\n  selection: auto")
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_suite(str(path))
    # PyYAML reports where it gave up: inside the flow sequence, at or after the opening line.
    line = int(str(info.value)[len(str(path)) + 1:].split(":")[0])
    assert _line_of(text, "seeds: [0, 1") <= line <= _line_of(text, "selection: auto")


@pytest.mark.parametrize(
    "old, new, line_fragment, words",
    [
        ("    epochs: 2", "    epochs: ten", "epochs: ten", ["'epochs'", "int", "'ten'"]),
        ("    epochs: 2", "    epochs: 0", "epochs: 0", ["'epochs'", ">= 1"]),
        ("    batch_size: 16", "    batch_sise: 16", "batch_sise", ["unknown train option 'batch_sise'"]),
        ("    target: tgt\n    target_budget: 0.25", "    target: tgtt\n    target_budget: 0.25", "target: tgtt",
         ["unknown domain 'tgtt'", "src, tgt"]),
        ("target_budget: 0.25", "target_budget: 1.5", "target_budget: 1.5", ["[0, 1]", "1.5"]),
        ("target_budget: 0.25", "target_budget: lots", "target_budget: lots", ["'target_budget'", "'lots'"]),
        ("description:", "descripton:", "descripton:", ["unknown top-level key 'descripton'"]),
        ("version: 2", "version: two", "version: two", ["'version'", "'two'"]),
        ("  seeds: [0, 1]", "  seeds: [0, one]", "seeds: [0, one]", ["'one'"]),
        ("  seeds: [0, 1]", "  seed: [0, 1]", "seed: [0, 1]", ["unknown setting 'seed'"]),
        ("    dataset: synthetic\n    partition: {part: 1", "    partition: {part: 1", "  tgt:",
         ["domain 'tgt' has no 'dataset'"]),
    ],
    ids=["epochs-ten", "epochs-zero", "train-typo", "unknown-domain", "budget-1.5", "budget-str", "top-level-typo",
         "version-str", "seed-str", "settings-typo", "domain-no-dataset"],
)
def test_semantic_error_names_file_and_line(tmp_path, old, new, line_fragment, words):
    text = _replace(VALID, old, new)
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_suite(str(path))
    message = str(info.value)
    assert message.startswith(f"{path}:{_line_of(text, line_fragment)}: "), message
    for word in words:
        assert word in message, message
    assert "\n" not in message


def test_task_level_setting_error_points_into_the_task(tmp_path):
    text = _replace(VALID, "    algorithms: [source_only]\n", "    algorithms: [source_only]\n    train: {lr: fast}\n")
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_suite(str(path))
    assert str(info.value).startswith(f"{path}:{_line_of(text, 'train: {lr: fast}')}: "), str(info.value)


def test_missing_suite_file_and_unknown_suite_name(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_suite(str(tmp_path / "nope.yaml"))
    with pytest.raises(UnknownNameError, match="did you mean 'quick'"):
        load_suite("quik")


# -- errors found when the suite is expanded (still before any training) -------------------------------
def test_hparam_of_the_wrong_type_is_one_line():
    suite = load_suite("quick", overrides=["hparams.finetune.target_lr_mult=abc"])
    with pytest.raises(ConfigError) as info:
        suite.runs()
    message = str(info.value)
    assert "target_lr_mult" in message and "float" in message and "'abc'" in message
    assert "\n" not in message


def test_unknown_hparam_lists_the_declared_ones():
    with pytest.raises(ConfigError, match="target_lr_mul.*target_epochs, target_lr_mult"):
        load_suite("quick", overrides=["hparams.finetune.target_lr_mul=0.5"]).runs()


@pytest.mark.parametrize(
    "override, words",
    [
        ("epochs=1", "unknown setting 'epochs'"),
        ("train.epoch=1", "unknown train option 'epoch'"),
        ("train.epochs=ten", "'epochs' must be int, got 'ten'"),
        ("seeds=[a]", "got 'a'"),
        ("selection.rule=best", "selection rule must be one of"),
    ],
)
def test_a_bad_override_is_named_as_the_override_not_as_a_file_line(override, words):
    # The value came from the command line: pointing at quick.yaml would send the user to the wrong place.
    with pytest.raises(ConfigError) as info:
        load_suite("quick", overrides=[override])
    message = str(info.value)
    assert message.startswith(f"override '{override}': "), message
    assert words in message and "quick.yaml" not in message


def test_an_override_without_equals_sign_is_refused():
    with pytest.raises(ConfigError, match="key=value"):
        load_suite("quick", overrides=["train.epochs"])


def test_unknown_algorithm_in_a_task_answers_did_you_mean(tmp_path):
    path = _write(tmp_path, _replace(VALID, "algorithms: [source_only]", "algorithms: [fintune]"))
    suite = load_suite(str(path))
    with pytest.raises(UnknownNameError) as info:
        suite.runs()
    assert "did you mean 'source_then_target'" in str(info.value) and "source_only" in str(info.value)


def test_unknown_dataset_and_backbone_answer_did_you_mean(tmp_path):
    path = _write(tmp_path, VALID.replace("dataset: synthetic", "dataset: synthetc"))
    with pytest.raises(UnknownNameError, match="did you mean 'synthetic'"):
        load_suite(str(path)).runs()
    with pytest.raises(UnknownNameError, match="did you mean 'simple_cnn'"):
        load_suite(str(_write(tmp_path, VALID, "b.yaml")), overrides=["backbone.name=simple_cn"]).runs()


def test_finetune_on_a_budget_zero_task_is_refused_before_training(tmp_path):
    path = _write(tmp_path, _replace(VALID, "algorithms: [source_only]", "algorithms: [source_only, finetune]"))
    suite = load_suite(str(path))
    with pytest.raises(ConfigError, match="source_then_target needs labeled target data.*target_budget is 0"):
        suite.runs()
    # The same algorithm is fine where the task grants target labels.
    assert {r.algorithm for r in suite.runs(tasks=["labeled"])} == {"source_only", "source_then_target"}


def test_target_val_selection_on_a_budget_zero_task_is_refused(tmp_path):
    path = _write(tmp_path, VALID)
    with pytest.raises(ConfigError, match="target_val.*target_budget is 0"):
        load_suite(str(path), overrides=["selection.rule=target_val"]).runs()


def test_unknown_task_filter_lists_the_tasks():
    with pytest.raises(ConfigError, match="no task nope.*pneumonia-shift-unsup, pneumonia-shift-10pct"):
        load_suite("quick").runs(tasks=["nope"])


# -- source/target disjointness ------------------------------------------------------------------------
PNEU = {"dataset": "pneumoniamnist", "size": 28}


@pytest.mark.parametrize(
    "source_extra, target_extra",
    [
        ({}, {}),  # the same images on both sides
        ({}, {"shift": {"name": "gamma", "severity": 4}}),  # a shift does not make images different
        ({"partition": {"part": 0, "of": 2, "seed": 0}}, {}),
        ({"partition": {"part": 0, "of": 2, "seed": 0}}, {"partition": {"part": 0, "of": 2, "seed": 0}}),
        ({"partition": {"part": 0, "of": 2, "seed": 0}}, {"partition": {"part": 1, "of": 3, "seed": 0}}),
        ({"partition": {"part": 0, "of": 2, "seed": 0}}, {"partition": {"part": 1, "of": 2, "seed": 1}}),
    ],
    ids=["same", "shift-only", "one-partition", "same-part", "different-of", "different-seed"],
)
def test_check_disjoint_refuses_overlapping_domains(source_extra, target_extra):
    with pytest.raises(ConfigError, match="same dataset.*partition"):
        check_disjoint({"src": {**PNEU, **source_extra}}, {"tgt": {**PNEU, **target_extra}})


@pytest.mark.parametrize(
    "source, target",
    [
        ({**PNEU, "partition": {"part": 0, "of": 2, "seed": 3}},
         {**PNEU, "partition": {"part": 1, "of": 2, "seed": 3}, "shift": {"name": "gamma"}}),
        ({**PNEU, "partition": {"part": 2, "of": 3}}, {**PNEU, "partition": {"part": 0, "of": 3}}),
        (PNEU, {"dataset": "breastmnist", "size": 28}),
    ],
    ids=["complementary-halves", "thirds-default-seed", "different-datasets"],
)
def test_check_disjoint_accepts_disjoint_domains(source, target):
    check_disjoint({"src": source}, {"tgt": target})


def test_overlapping_domains_in_a_suite_fail_before_training(tmp_path):
    text = _replace(VALID, "    partition: {part: 1, of: 2, seed: 0}", "    partition: {part: 0, of: 2, seed: 0}")
    suite = load_suite(str(_write(tmp_path, text)))  # each domain alone is valid ...
    with pytest.raises(ConfigError, match="source 'src' and target 'tgt'"):
        suite.runs()  # ... the pair is refused when the runs are resolved
