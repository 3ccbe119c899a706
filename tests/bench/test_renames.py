"""Renamed names (issue 18): ``finetune`` is ``source_then_target`` and the rule ``dev`` is
``deep_embedded_validation``; the old names work wherever a name is accepted, log one line per process, and
every run keeps its id (``zoo.bench.run_config.ID_LEGACY_NAMES``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from zoo.bench.run_config import legacy_run_id, run_id_of
from zoo.bench.run_filters import add_algorithms
from zoo.bench.suite import load_suite
from zoo.bench.suites_registry import find_suite_file

NEW, OLD = "source_then_target", "finetune"
# (suite, preset, task, seed) -> (run id, policy-1 id), computed before the rename with the name finetune
PINNED = {
    ("quick", None, "pneumonia-shift-10pct", 0): ("505f34716be9497f", "4502eccf672f64f5"),
    ("quick", None, "pneumonia-shift-10pct", 2): ("25f486345416b666", "55a58106520ca963"),
    ("organ-a-to-c", None, "organ-a-to-c-10pct", 0): ("d7776d9dfc50c71d", "9aa50d4ced25dbd5"),
    ("brain-mri-shift", None, "mri-bias-10pct", 0): ("c5886fac7c49b89e", "006bc74df3b529f6"),
    ("semi-supervised", "cpu", "xray-noise-1pct", 0): ("a405a9c5b75489d6", "e1afbfc3ca64f66a"),
}


def _with_old_name(suite: str, tmp_path: Path) -> Path:
    """A copy of a shipped suite that names the algorithm by its old name."""
    path = tmp_path / f"{suite}.yaml"
    path.write_text(find_suite_file(suite).read_text().replace(NEW, OLD))
    return path


def _ids(suite, task: str, seed: int) -> tuple[str, str]:
    run = next(r for r in suite.runs(algorithms=[NEW]) if r.task.name == task and r.seed == seed)
    assert run.algorithm == run.config["algorithm"] == NEW
    return run.run_id, legacy_run_id(run.config)


@pytest.mark.parametrize("key", list(PINNED), ids=lambda k: f"{k[0]}-{k[1]}-{k[2]}-{k[3]}")
def test_runs_of_the_renamed_algorithm_keep_their_ids(key, tmp_path):
    name, preset, task, seed = key
    assert _ids(load_suite(name, preset=preset), task, seed) == PINNED[key]  # the new name (shipped)
    old = load_suite(str(_with_old_name(name, tmp_path)), preset=preset)  # the old name: the same runs
    assert {t.algorithms for t in old.tasks} == {t.algorithms for t in load_suite(name, preset=preset).tasks}
    assert _ids(old, task, seed) == PINNED[key]


def test_the_old_name_works_in_filters_hparams_and_added_algorithms():
    suite = load_suite("quick", overrides=[f"hparams.{OLD}.target_lr_mult=0.3"])
    runs = suite.runs(algorithms=[OLD])  # --algorithm finetune
    assert runs and {r.algorithm for r in runs} == {NEW}
    assert {r.config["hparams"]["target_lr_mult"] for r in runs} == {0.3}
    assert run_id_of(runs[0].config) != PINNED[("quick", None, "pneumonia-shift-10pct", 0)][0]  # hparams hashed
    added = add_algorithms(load_suite("quick", overrides=["seeds=[0]"]), [OLD])  # --add-algorithm finetune
    assert all(NEW in t.algorithms and OLD not in t.algorithms for t in added.tasks)
    pinned = PINNED[("quick", None, "pneumonia-shift-10pct", 0)][0]
    assert pinned in {r.run_id for r in load_suite("quick").runs(algorithms=[OLD])}


def test_a_preset_filter_and_the_selection_rules_take_old_names(tmp_path):
    text = find_suite_file("quick").read_text().replace(NEW, OLD)
    text = text.replace("presets:\n", f"presets:\n  only_old:\n    algorithms: [{OLD}, source_only]\n"
                                      "    selection: {rules: [dev, last]}\n", 1)
    path = tmp_path / "quick.yaml"
    path.write_text(text)
    suite = load_suite(str(path), preset="only_old")
    assert {a for t in suite.tasks for a in t.algorithms} == {NEW, "source_only"}
    unsup = next(r for r in suite.runs() if r.algorithm == "source_only" and r.task.target_budget == 0)
    assert unsup.config["selection"]["rules"] == ["deep_embedded_validation", "last", "source_val"]  # + reported
    dev = load_suite(str(path), preset="only_old", overrides=["selection.rule=dev"])
    assert {r.config["selection"]["rule"] for r in dev.runs(algorithms=["source_only"])} == {
        "deep_embedded_validation"}


def test_an_old_name_logs_one_line_once_per_process():
    code = ("import warnings; warnings.simplefilter('error', DeprecationWarning)\n"
            "from zoo.algorithms import ALGORITHMS\n"
            "try:\n    ALGORITHMS.get('finetune')\nexcept DeprecationWarning as w:\n    print('W', w)\n"
            "warnings.simplefilter('ignore')\n"
            "from zoo.bench.suite_fields import algorithm_name\n"
            "assert ALGORITHMS.get('finetune') is ALGORITHMS.get('source_then_target')\n"
            "assert algorithm_name('finetune') == 'source_then_target' and 'finetune' in ALGORITHMS\n"
            "assert 'finetune' not in ALGORITHMS.names()\n"
            "from zoo.selection import get_rule\n"
            "assert get_rule('dev').name == get_rule('dev').name == 'deep_embedded_validation'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    line = "'finetune' is now called 'source_then_target'; the old name still works"
    assert done.stdout.strip() == f"W {line}"
    assert done.stderr.count(line) == 1
    assert done.stderr.count("'dev' is now called 'deep_embedded_validation'; the old name still works") == 1
