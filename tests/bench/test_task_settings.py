"""Task settings (``zoo.task_settings``) as a suite author meets them: every rule a task can break is one line
naming the file and line (or, for what only resolution knows, the task); an algorithm outside its declared
settings is refused naming both; the shipped setting suites resolve with the rule each setting reports; and a
transfer run's id is the one it had before tasks had a setting.

Everything here resolves suites only: no image is read, no model is built.
"""

from __future__ import annotations

import pytest
from helpers.cli import assert_one_line_error, run_medzoo_many

from zoo.errors import ConfigError

HEADER = """\
suite: settings
version: 1
defaults: {backbone: {name: simple_cnn}, seeds: [0]}
domains:
  a: {dataset: pneumoniamnist, partition: {part: 0, of: 3, seed: 0}}
  b: {dataset: pneumoniamnist, partition: {part: 1, of: 3, seed: 0}}
  c: {dataset: pneumoniamnist, partition: {part: 2, of: 3, seed: 0}, shift: {name: gamma, severity: 4, seed: 0}}
tasks:
"""
TASK_LINE = HEADER.count("\n") + 1  # the task's flow mapping is the line after `tasks:`

# name -> (task, fragments of the error): each rule of task_refusal, refused while the suite file is read
REFUSED_AT_LOAD = {
    "unknown": ("{name: t, setting: federated, source: a, target: c, algorithms: [source_only]}",
                ["task 't': unknown setting 'federated'; known: transfer, source_free, semi_supervised, "
                 "generalization"]),
    "free_with_source": ("{name: t, setting: source_free, source: a, pretrain: [b], target: c, algorithms: [shot]}",
                         ["a source_free task reads no source images, but it names source a",
                          "pretrain: [{domain: a}]"]),
    "free_with_budget": ("{name: t, setting: source_free, pretrain: [a], target: c, target_budget: 0.1, "
                         "algorithms: [shot]}", ["a source_free task uses no target labels: set target_budget to 0"]),
    "semi_no_budget": ("{name: t, setting: semi_supervised, source: a, target: c, algorithms: [mme]}",
                       ["a semi_supervised task needs a target_budget in (0, 1)"]),
    "semi_all_labels": ("{name: t, setting: semi_supervised, source: a, target: c, target_budget: 1, "
                        "algorithms: [mme]}", ["a semi_supervised task needs a target_budget in (0, 1)"]),
    "semi_no_source": ("{name: t, setting: semi_supervised, pretrain: [a], target: c, target_budget: 0.1, "
                       "algorithms: [full_ft]}", ["a semi_supervised task needs a labeled source: add source"]),
    "dg_one_source": ("{name: t, setting: generalization, source: a, target: c, algorithms: [group_dro]}",
                      ["a generalization task trains on several source sites and has 1; list at least two"]),
    "dg_budget": ("{name: t, setting: generalization, source: [a, b], target: c, target_budget: 0.1, "
                  "algorithms: [group_dro]}",
                  ["a generalization task never reads the target in training: set target_budget to 0"]),
    "dg_pretrain": ("{name: t, setting: generalization, source: [a, b], pretrain: [a], target: c, "
                    "algorithms: [group_dro]}", ["a generalization task takes no pretrain steps here"]),
}

# name -> (task, fragments): valid files whose runs cannot resolve (an init is known at resolution only)
REFUSED_AT_RESOLUTION = {
    "free_no_model": ("{name: t, setting: source_free, target: c, algorithms: [source_only]}",
                      ["task 't': a source_free task starts from a source model: give it pretrain steps"]),
    # refused for the setting, before the stages are probed: MME is not told to take a label budget that a
    # generalization task forbids
    "dann_source_free": ("{name: t, setting: source_free, pretrain: [a], target: c, algorithms: [dann]}",
                         ["task 't': algorithm 'dann' does not run in the source_free setting (it supports: {dann})",
                          "use an algorithm for source_free tasks"]),
    "mme_generalization": ("{name: t, setting: generalization, source: [a, b], target: c, algorithms: [mme]}",
                           ["task 't': algorithm 'mme' does not run in the generalization setting (it supports: "
                            "{mme})"]),
}


def _declared(fragments: list[str]) -> list[str]:
    """The fragments with ``{dann}``/``{mme}`` replaced by the settings each class declares."""
    from zoo.algorithms import ALGORITHMS

    names = {name: ", ".join(ALGORITHMS.get(name).SETTINGS) for name in ("dann", "mme")}
    assert all("generalization" not in v for v in names.values()) and "source_free" not in names["dann"]
    return [fragment.replace("{dann}", names["dann"]).replace("{mme}", names["mme"]) for fragment in fragments]


def _write(tmp_path, name: str, task: str):
    path = tmp_path / f"{name}.yaml"
    path.write_text(HEADER + f"  - {task}\n")
    return path


def _one_line(err: pytest.ExceptionInfo, *fragments: str) -> str:
    message = str(err.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


@pytest.mark.parametrize("name", REFUSED_AT_LOAD)
def test_each_task_rule_is_one_line_at_the_task_line(tmp_path, name):
    from zoo.bench.suite import load_suite

    task, fragments = REFUSED_AT_LOAD[name]
    path = _write(tmp_path, name, task)
    with pytest.raises(ConfigError) as err:
        load_suite(str(path))
    message = _one_line(err, *fragments)
    assert message.startswith(f"{path}:{TASK_LINE}: "), message


@pytest.mark.parametrize("name", REFUSED_AT_RESOLUTION)
def test_what_resolution_knows_is_refused_there_in_one_line(tmp_path, name):
    from zoo.bench.suite import load_suite

    task, fragments = REFUSED_AT_RESOLUTION[name]
    suite = load_suite(str(_write(tmp_path, name, task)))  # a valid file: the refusal needs the algorithm or init
    with pytest.raises(ConfigError) as err:
        suite.runs()
    _one_line(err, *_declared(fragments))


def test_every_refusal_is_one_line_from_the_command_line(tmp_path):
    cases = {**REFUSED_AT_LOAD, **REFUSED_AT_RESOLUTION}
    argvs = [["run", str(_write(tmp_path, name, task)), "-o", str(tmp_path / "out")]
             for name, (task, _) in cases.items()]
    for (name, (_, fragments)), proc in zip(cases.items(), run_medzoo_many(argvs, cwd=tmp_path)):
        where = [f"{name}.yaml:{TASK_LINE}: "] if name in REFUSED_AT_LOAD else []
        print(assert_one_line_error(proc, *where, *_declared(fragments)))
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_a_valid_task_of_each_setting_resolves(tmp_path):
    from zoo.bench.suite import load_suite

    tasks = {
        "source_free": "{name: t, setting: source_free, pretrain: [a], target: c, algorithms: [shot, tent]}",
        "semi_supervised": "{name: t, setting: semi_supervised, source: a, target: c, target_budget: 0.1, "
                           "algorithms: [mme, fixmatch]}",
        "generalization": "{name: t, setting: generalization, source: [a, b], target: c, algorithms: [vrex]}",
        "transfer": "{name: t, source: a, target: c, algorithms: [dann, shot]}",
    }
    for setting, task in tasks.items():
        runs = load_suite(str(_write(tmp_path, setting, task))).runs()
        assert runs and {r.config["task"]["setting"] for r in runs} == {setting}, setting
    # SHOT in a transfer task trains its own source stage; in a source_free one the pretrain step is that model
    shot = {r.config["task"]["setting"]: r for r in [*load_suite(str(tmp_path / "transfer.yaml")).runs(),
                                                      *load_suite(str(tmp_path / "source_free.yaml")).runs()]
            if r.algorithm == "shot"}
    assert shot["transfer"].config["stages"] == ["source", "adapt"]
    assert shot["source_free"].config["stages"] == ["adapt"]
    assert shot["source_free"].config["task"]["pretrain"][-1]["head"] is True  # the shipped model keeps its head
    # without target labels no label can pick SHOT's epoch in either setting: auto reports the last epoch
    assert shot["transfer"].config["selection"]["rule"] == shot["source_free"].config["selection"]["rule"] == "last"
    assert "source_val" not in shot["transfer"].config["selection"]["rules"]


# -- the shipped suites ----------------------------------------------------------------------------------
SHIPPED = {  # suite -> (setting of every task, reported rule, algorithm -> stages)
    "source-free": ("source_free", "last", {"source_only": [], "adabn": [], "tent": [], "shot": ["adapt"]}),
    "semi-supervised": ("semi_supervised", "target_val", {"mme": ["adapt"], "fixmatch": ["adapt"],
                                                           "source_then_target": ["source", "target"]}),
    "generalization": ("generalization", "source_val", {"source_only": ["train"], "group_dro": ["train"],
                                                        "vrex": ["train"], "mixstyle": ["train"],
                                                        "coral_dg": ["train"]}),
}


@pytest.mark.parametrize("preset", ["cpu", "full"])
@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_setting_suites_resolve_with_their_rule(name, preset):
    from zoo.bench.suite import load_suite

    setting, rule, stages = SHIPPED[name]
    runs = load_suite(name, preset=preset).runs()
    assert runs
    for run in runs:
        config = run.config
        assert run.task.setting == config["task"]["setting"] == setting, run.run_id
        assert config["selection"]["rule"] == rule and rule in config["selection"]["rules"], config["selection"]
        if run.algorithm in stages:
            assert config["stages"] == stages[run.algorithm], (run.algorithm, config["stages"])
        if setting == "source_free":
            assert config["task"]["sources"] == {} and config["task"]["pretrain"][-1]["head"] is True
            assert config["selection"]["rules"] == ["target_val_oracle", "last"]  # no rule reads a source split
        if setting == "generalization":
            assert len(config["task"]["sources"]) >= 2
            assert not {"dev", "target_val"} & set(config["selection"]["rules"])  # nothing reads target images
            assert "target_val_oracle" in config["selection"]["rules"]  # recorded apart, as the oracle
    assert {r.algorithm for r in runs} >= set(stages) - ({"source_then_target"} if preset == "cpu" else set())


# -- run ids --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["quick", "uda-shift", "progressive"])
def test_a_transfer_run_id_is_what_it_was_without_a_setting(name):
    from zoo.bench.run_config import id_payload, run_id_of
    from zoo.bench.suite import load_suite

    runs = load_suite(name).runs()
    assert runs
    for run in runs:
        assert run.config["task"]["setting"] == "transfer"
        before = run.config.to_dict()
        del before["task"]["setting"]  # the config as resolved before tasks had a setting
        assert id_payload(before) == id_payload(run.config)
        assert run_id_of(before) == run.run_id
        assert "setting" not in id_payload(run.config)["config"].get("task", {})


def test_the_setting_names_the_run_when_it_is_not_transfer(tmp_path):
    from zoo.bench.run_config import id_payload
    from zoo.bench.suite import load_suite

    path = _write(tmp_path, "free", "{name: t, setting: source_free, pretrain: [a], target: c, algorithms: [shot]}")
    run, = load_suite(str(path)).runs()
    assert id_payload(run.config)["config"]["task"]["setting"] == "source_free"
    as_transfer = run.config.replace(task={**run.config.to_dict()["task"], "setting": "transfer"})
    assert as_transfer.run_id != run.run_id
