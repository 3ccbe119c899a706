"""Broken third-party plugins never break medzoo (docs/architecture.md, principle 2), seen through real discovery.

Each plugin is a real installed distribution (``.dist-info`` + ``entry_points.txt``, see
``helpers.plugins``) in a throwaway folder put on ``PYTHONPATH`` of a fresh ``medzoo`` process, so the
code under test is the real ``importlib.metadata`` discovery, the real registries and the real CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.cli import assert_one_line_error, cli_env, run_medzoo, run_medzoo_many
from helpers.plugins import imported_plugin_modules, pip_install_into, write_distribution

GOOD_ALGO = '''
import torch.nn.functional as F
from zoo.algorithms.base import Algorithm

class GoodAlgo(Algorithm):
    """A well-behaved plugin algorithm (cross-entropy on the source)."""

    def training_step(self, source_batch, target_batch):
        x, y = source_batch
        return {"loss": F.cross_entropy(self.predict(x), y)}
'''


@dataclass(frozen=True)
class Case:
    """One broken plugin: the entry it declares, its distribution, and what the error must say."""

    id: str
    kind: str  # registry kind, singular
    entry: str
    dist: str
    error: str  # a fragment of the recorded error


CASES = [
    Case("raises-on-import", "algorithm", "mzp_raise", "mzp-raise", "RuntimeError"),
    Case("missing-attribute", "backbone", "mzp_noattr", "mzp-noattr", "missing attribute"),
    Case("wrong-type", "algorithm", "mzp_int", "mzp-wrongtype", "expected a subclass"),
    Case("missing-dependency", "dataset", "mzp_nodep", "mzp-nodep", "mzp_not_installed_dependency"),
    Case("same-name-two-dists", "algorithm", "mzp_dup", "mzp-dup-a", "mzp-dup-b"),
]
GOOD = Case("good", "algorithm", "mzp_good", "mzp-good", "")


def _install_plugins(site: Path, sources: Path) -> None:
    """Write every test plugin as a package under ``sources`` and pip-install them all into ``site``."""
    trees = [write_distribution(sources, *args) for args in _PLUGINS]
    pip_install_into(site, trees)


_PLUGINS = [
    ("mzp-raise", "0.1.0", {"medzoo.algorithms": {"mzp_raise": "mzp_raise:Algo"}},
     {"mzp_raise": "raise RuntimeError('mzp_raise exploded while importing')\n"}),
    ("mzp-noattr", "0.2.0", {"medzoo.backbones": {"mzp_noattr": "mzp_noattr:NotThere"}},
     {"mzp_noattr": "class SomethingElse:\n    pass\n"}),
    ("mzp-wrongtype", "0.3.0", {"medzoo.algorithms": {"mzp_int": "mzp_wrongtype:ALGO"}},
     {"mzp_wrongtype": "ALGO = 42\n"}),
    ("mzp-nodep", "0.4.0", {"medzoo.datasets": {"mzp_nodep": "mzp_nodep:load"}},
     {"mzp_nodep": "import mzp_not_installed_dependency\n\ndef load(**kwargs):\n    pass\n"}),
    # Two valid distributions claiming one name: neither may silently win.
    ("mzp-dup-a", "1.0.0", {"medzoo.algorithms": {"mzp_dup": "mzp_dup_a:GoodAlgo"}},
     {"mzp_dup_a": GOOD_ALGO}),
    ("mzp-dup-b", "2.0.0", {"medzoo.algorithms": {"mzp_dup": "mzp_dup_b:GoodAlgo"}},
     {"mzp_dup_b": GOOD_ALGO}),
    ("mzp-good", "1.0.0", {"medzoo.algorithms": {"mzp_good": "mzp_good:GoodAlgo"}},
     {"mzp_good": GOOD_ALGO}),
]


def _suite_naming(case: Case) -> str:
    """A tiny suite whose first run needs ``case.entry``; the broken entry is reached before anything else."""
    algorithm = case.entry if case.kind == "algorithm" else "source_only"
    backbone = case.entry if case.kind == "backbone" else "simple_cnn"
    dataset = case.entry if case.kind == "dataset" else "synthetic"
    return f"""suite: plugin-{case.id}
version: 1
defaults:
  backbone: {{name: {backbone}}}
  train: {{epochs: 1}}
domains:
  src: {{dataset: {dataset}, partition: {{part: 0, of: 2, seed: 0}}}}
  tgt: {{dataset: {dataset}, partition: {{part: 1, of: 2, seed: 0}}}}
tasks:
  - name: uses-{case.entry}
    source: src
    target: tgt
    target_budget: 0
    algorithms: [{algorithm}]
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A folder holding every test plugin distribution (and, beside it, one suite per broken case)."""
    root = tmp_path_factory.mktemp("plugins")
    _install_plugins(root / "site", root / "src")
    for case in CASES:
        (root / f"{case.id}.yaml").write_text(_suite_naming(case))
    return root / "site"


def _medzoo(site: Path, args: list[str], **env: str) -> subprocess.CompletedProcess:
    return run_medzoo(args, cwd=site.parent, env={"PYTHONPATH": str(site), **env}, module=True)


def _row(stdout: str, entry: str) -> str:
    """The table line of ``entry`` (the name column is never wrapped)."""
    rows = [line for line in stdout.splitlines() if f" {entry} " in line]
    assert rows, f"no row for {entry!r} in:\n{stdout}"
    return rows[0]


@pytest.fixture(scope="module")
def commands(site, tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """Every command of a user who has these plugins installed, run in ONE fresh interpreter.

    ``list`` runs first, in a fresh process; each command gets its own output and return code
    (see ``helpers.cli.run_medzoo_many``). One torch import instead of eight keeps this file fast.
    """
    out = tmp_path_factory.mktemp("run-out")
    argvs = {
        "list": ["list"],
        "strict": ["plugins", "--strict"],
        "doctor": ["doctor", "--data-dir", str(site.parent / "no-data")],
        **{f"run:{c.id}": ["run", str(site.parent / f"{c.id}.yaml"), "-o", str(out / c.id), "--no-progress"]
           for c in CASES},
    }
    procs = run_medzoo_many(list(argvs.values()), cwd=site.parent, env={"PYTHONPATH": str(site)})
    for case in CASES:
        assert not (out / case.id / "results.jsonl").exists()
    return dict(zip(argvs, procs))


@pytest.fixture(scope="module")
def listing(commands) -> subprocess.CompletedProcess:
    proc = commands["list"]
    assert proc.returncode == 0, proc.stderr
    return proc


def test_import_zoo_is_light_and_reading_names_imports_no_plugin(site):
    log = site.parent / "import-zoo.log"
    code = (
        "import json, sys, zoo\n"
        "after_import = sorted(sys.modules)\n"
        "names = zoo.list_names('algorithms')\n"  # reads entry-point metadata only
        "print(json.dumps({'modules': after_import, 'names': names,\n"
        "                  'plugins': [m for m in sys.modules if m.startswith('mzp_')]}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=site.parent, capture_output=True, text=True,
                          env=cli_env({"PYTHONPATH": str(site), "MZP_IMPORT_LOG": str(log)}), timeout=60)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    modules = set(report["modules"])
    heavy = {"torch", "accelerate", "datasets", "sklearn", "timm", "torchvision", "huggingface_hub"}
    assert not heavy & modules, f"`import zoo` imported {sorted(heavy & modules)}"
    assert not [m for m in modules if m.startswith("mzp_")]
    assert {"source_only", "source_then_target", "mzp_good", "mzp_raise"} <= set(report["names"])
    assert "mzp_dup" not in report["names"]  # a conflict is known without importing anything
    assert report["plugins"] == [] and imported_plugin_modules(log) == []


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_list_shows_broken_entry_with_its_distribution(listing, case):
    row = _row(listing.stdout, case.entry)
    assert "broken" in row, row
    assert case.dist in row, row
    assert case.kind in row, row


def test_list_errors_and_versions_are_shown(listing):
    out = " ".join(listing.stdout.split())  # the error column may wrap; compare whitespace-normalised
    for case in CASES:
        assert case.error in out, f"{case.error!r} missing from `medzoo list`:\n{listing.stdout}"
    assert "mzp-raise 0.1.0" in out and "mzp-nodep 0.4.0" in out
    assert "Traceback" not in listing.stdout + listing.stderr


def test_list_still_shows_good_plugin_and_builtins(listing):
    good = _row(listing.stdout, GOOD.entry)
    assert "mzp-good" in good and "broken" not in good
    for builtin in ("source_only", "source_then_target", "simple_cnn", "pneumoniamnist", "quick"):
        assert "broken" not in _row(listing.stdout, builtin)


def test_plugins_strict_fails_and_names_every_broken_distribution(commands):
    proc = commands["strict"]
    assert proc.returncode != 0
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("medzoo: error: "), proc.stderr
    for case in CASES:
        assert f"'{case.entry}' ({case.dist} " in lines[0], (
            f"{case.dist} not named by `plugins --strict`:\n{proc.stderr}")
    assert "mzp-good" not in lines[0]
    # The table (stdout) shows the good plugin as loaded.
    assert "loaded" in _row(proc.stdout, GOOD.entry)


def test_doctor_counts_plugins_that_fail_to_import(commands):
    proc = commands["doctor"]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = " ".join(proc.stdout.split())
    assert f"{len(CASES)} broken" in out, proc.stdout
    for case in CASES:
        assert case.entry in out, f"doctor does not name {case.entry}:\n{proc.stdout}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_run_naming_broken_entry_is_one_line_naming_the_distribution(commands, case):
    assert_one_line_error(commands[f"run:{case.id}"], case.dist, f"'{case.entry}'")


def test_no_plugins_switch_hides_every_plugin(site):
    log = site.parent / "no-plugins.log"
    proc = _medzoo(site, ["plugins", "--strict", "--all"], MEDZOO_NO_PLUGINS="1", MZP_IMPORT_LOG=str(log))
    assert proc.returncode == 0, proc.stdout + proc.stderr  # only medzoo's own entries, all of them sound
    assert "mzp" not in proc.stdout + proc.stderr
    assert "source_only" in proc.stdout and "simple_cnn" in proc.stdout
    assert imported_plugin_modules(log) == []


def test_disable_switch_disables_by_entry_and_by_distribution(site):
    log = site.parent / "disabled.log"
    proc = _medzoo(site, ["list"], MEDZOO_DISABLE_PLUGINS="mzp_raise, mzp-nodep", MZP_IMPORT_LOG=str(log))
    assert proc.returncode == 0, proc.stderr
    assert "disabled" in _row(proc.stdout, "mzp_raise")  # by entry name
    assert "disabled" in _row(proc.stdout, "mzp_nodep")  # by distribution name
    assert "broken" in _row(proc.stdout, "mzp_int")  # the others are untouched
    assert "broken" not in _row(proc.stdout, "mzp_good")
    imported = imported_plugin_modules(log)
    assert "mzp_raise" not in imported and "mzp_nodep" not in imported  # a disabled plugin is never imported
    assert "mzp_good" in imported  # while `list` does import enabled plugins to know their status
