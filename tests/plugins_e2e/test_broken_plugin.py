"""A plugin broken on purpose, pip-installed for real: ``medzoo run`` refuses it before training, in one line.

``tests/fixtures/broken_plugin`` (distribution ``medzoo-broken-plugin``) imports fine, so ``medzoo plugins``
calls every entry "loaded"; only using them shows the defects: an algorithm without ``training_step``, one
returning a tensor, one returning no ``"loss"``, and datasets whose labels run past their label names. It
also declares a sound algorithm under the built-in name ``dann``. One fresh environment gets medzoo's wheel
and the plugin by ``pip install -e`` (an editable install, as its author would have), and every check runs
the installed ``medzoo`` command on tiny suites of 28 px images.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers.cli import assert_one_line_error
from plugin_env import ROOT, FreshEnv, copy_package

DIST = "medzoo-broken-plugin"
FIXTURE = ROOT / "tests" / "fixtures" / "broken_plugin"
QUALIFIED = f"{DIST}:dann"


@pytest.fixture(scope="module")
def installed(tmp_path_factory, deps_folder, medzoo_wheel) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("broken-plugin")
    env = FreshEnv.create(root / "venv", deps_folder)
    env.pip_install(medzoo_wheel, cwd=root)
    source = copy_package(FIXTURE, root / DIST)
    env.pip_install("-e", source, cwd=root)  # editable: the package imported is the folder edited below
    return SimpleNamespace(env=env, root=root, source=source, extra={"COLUMNS": "250"})


def _suite(root: Path, name: str, algorithms: list[str], dataset: str = "synthetic") -> Path:
    """One task, one seed, one epoch on two disjoint halves of ``dataset``."""
    path = root / f"{name}.yaml"
    path.write_text(f"""suite: {name}
version: 1
defaults:
  train: {{epochs: 1, batch_size: 32}}
  seeds: [0]
domains:
  src: {{dataset: {dataset}, n_per_class: 16, partition: {{part: 0, of: 2, seed: 0}}}}
  tgt: {{dataset: {dataset}, n_per_class: 16, partition: {{part: 1, of: 2, seed: 0}}}}
tasks:
  - name: halves
    source: src
    target: tgt
    target_budget: 0
    algorithms: [{", ".join(algorithms)}]
""")
    return path


def _run(installed, suite: Path, out: str, *args: str, **env: str):
    return installed.env.medzoo(["run", str(suite), "-o", str(installed.root / out), "--no-progress", *args],
                                cwd=installed.root, env={**installed.extra, **env})


def _records(installed, out: str) -> list[dict]:
    path = installed.root / out / "results.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _rows(stdout: str, name: str) -> list[str]:
    return [line for line in stdout.splitlines() if f" {name} " in line]


BROKEN = [  # (kind, entry, what the kit finds)
    ("algorithm", "no_step", "defines no training_step(source_batch, target_batch); the runner calls it"),
    ("algorithm", "tensor_step", "training_step must return a dict holding a scalar 'loss' tensor, got Tensor"),
    ("algorithm", "no_loss", "returns no loss: training_step gave keys ['total']"),
    ("dataset", "bad_labels", "split 'train': labels span 0..2 but there are 2 label names"),  # conformance_kwargs
    ("dataset", "bad_labels_no_kit_kwargs", "split 'train': labels span 0..2 but there are 2 label names"),  # suite's
]


def test_medzoo_plugins_calls_every_broken_entry_loaded(installed):
    listed = installed.env.medzoo(["plugins"], cwd=installed.root, env=installed.extra)
    assert listed.returncode == 0, listed.stderr
    for _, entry, _ in BROKEN:  # importing is fine: only using an entry shows its defect
        assert "loaded" in _rows(listed.stdout, entry)[0], listed.stdout


@pytest.mark.parametrize("kind, entry, finding", BROKEN, ids=[b[1] for b in BROKEN])
def test_a_broken_entry_fails_medzoo_run_before_training_in_one_line_naming_its_distribution(installed, kind, entry,
                                                                                            finding):
    suite = (_suite(installed.root, f"uses-{entry}", [entry]) if kind == "algorithm"
             else _suite(installed.root, f"uses-{entry}", ["source_only"], dataset=entry))
    proc = _run(installed, suite, f"out-{entry}")
    assert_one_line_error(proc, f"medzoo: error: plugin '{DIST}' ({kind} '{entry}'): {finding}",
                          f"; fix the plugin or disable it with MEDZOO_DISABLE_PLUGINS={DIST}")
    assert _records(installed, f"out-{entry}") == []  # nothing trained, nothing recorded
    assert not (installed.root / f"out-{entry}" / "runs").exists()


def test_a_plugin_claiming_a_builtin_name_is_a_conflict_and_the_builtin_keeps_the_name(installed):
    plugins = installed.env.medzoo(["plugins"], cwd=installed.root, env=installed.extra)
    assert plugins.returncode == 0, plugins.stderr
    (row,) = _rows(plugins.stdout, QUALIFIED)
    assert "conflict" in row and "'dann' is the built-in algorithm of medzoo" in row, row
    listing = installed.env.medzoo(["list", "algorithms"], cwd=installed.root, env=installed.extra)
    (builtin,) = _rows(listing.stdout, "dann")
    assert "medzoo" in builtin and DIST not in builtin and "available" in builtin, builtin

    proc = _run(installed, _suite(installed.root, "clash", ["dann", QUALIFIED]), "out-clash")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    by_name = {r["algorithm"]: r for r in _records(installed, "out-clash")}
    assert by_name["dann"]["provenance"]["components"]["algorithm"]["dist"] == "medzoo"
    assert by_name[QUALIFIED]["provenance"]["components"]["algorithm"]["dist"] == DIST
    assert by_name["dann"]["stages"] != by_name[QUALIFIED]["stages"]  # DANN adapts; the plugin's one stage does not

    only = _run(installed, _suite(installed.root, "clash", ["dann", QUALIFIED]), "out-only", "--algorithm", QUALIFIED)
    assert only.returncode == 0, only.stdout[-2000:] + only.stderr[-2000:]
    assert [r["algorithm"] for r in _records(installed, "out-only")] == [QUALIFIED]


def test_disabling_the_plugin_restores_the_plain_builtin(installed):
    off = {"MEDZOO_DISABLE_PLUGINS": DIST}
    plugins = installed.env.medzoo(["plugins"], cwd=installed.root, env={**installed.extra, **off})
    assert "conflict" not in plugins.stdout and "disabled" in _rows(plugins.stdout, QUALIFIED)[0]
    suite = _suite(installed.root, "builtin-dann", ["dann"])
    ids = {}
    for label, env in (("enabled", {}), ("disabled", off), ("no-plugins", {"MEDZOO_NO_PLUGINS": "1"})):
        proc = _run(installed, suite, f"out-dann-{label}", **env)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        (record,) = _records(installed, f"out-dann-{label}")
        assert record["provenance"]["components"]["algorithm"]["dist"] == "medzoo"
        ids[label] = record["run_id"]
    assert len(set(ids.values())) == 1, ids  # the built-in's run, whatever the plugin's state
    named = _run(installed, _suite(installed.root, "qualified", [QUALIFIED]), "out-qualified-off", **off)
    assert_one_line_error(named, f"algorithm '{QUALIFIED}' from {DIST} 0.1.0 is disabled")


def test_editing_the_installed_plugin_changes_the_run_ids_of_its_runs_only(installed):
    suite = _suite(installed.root, "edit", ["source_only", QUALIFIED])
    first = _run(installed, suite, "out-edit")
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    again = _run(installed, suite, "out-edit")
    assert again.returncode == 0 and len(_records(installed, "out-edit")) == 2  # unchanged code: reused
    module = installed.source / "medzoo_broken_plugin" / "algorithms.py"
    module.write_text(module.read_text() + "\n# edited after the first run\n")
    edited = _run(installed, suite, "out-edit")
    assert edited.returncode == 0, edited.stdout[-2000:] + edited.stderr[-2000:]
    records = _records(installed, "out-edit")
    ids = {name: [r["run_id"] for r in records if r["algorithm"] == name] for name in ("source_only", QUALIFIED)}
    assert len(ids["source_only"]) == 1, ids  # a built-in-only run keeps its id: not retrained
    assert len(set(ids[QUALIFIED])) == 2, ids  # the plugin's run was retrained under a new id
