"""``pip install ./plugins/medzoo-example-plugin`` in a fresh environment: its entries appear, run, and stay lazy.

One fresh virtual environment (see ``plugin_env``) gets medzoo's wheel, is listed, then gets the example
plugin by ``pip install`` of (a copy of) its folder, exactly as a user installs a plugin. Everything after
that runs the installed ``medzoo`` command or the environment's own interpreter.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers.cli import assert_one_line_error
from plugin_env import EXAMPLE_PLUGIN, FreshEnv, copy_package

ENTRIES = {"algorithm": "bnm", "backbone": "tiny_cnn", "dataset": "toy_lesions", "suite": "example-plugin"}
DIST = "medzoo-example-plugin"


def _rows(stdout: str, name: str) -> list[str]:
    """Table lines whose name column is ``name`` (the name column never wraps)."""
    return [line for line in stdout.splitlines() if f" {name} " in line]


@pytest.fixture(scope="module")
def installed(tmp_path_factory, deps_folder, medzoo_wheel) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("example-plugin")
    env = FreshEnv.create(root / "venv", deps_folder)
    extra = {"COLUMNS": "200", "MEDZOO_EXAMPLE_CACHE": str(root / "cache")}  # generated PNGs stay in tmp
    env.pip_install(medzoo_wheel, cwd=root)
    before = env.medzoo(["list"], cwd=root, env=extra)
    source = copy_package(EXAMPLE_PLUGIN, root / "medzoo-example-plugin")
    env.pip_install(source, cwd=root)  # pip install ./plugins/medzoo-example-plugin
    after = env.medzoo(["list"], cwd=root, env=extra)
    return SimpleNamespace(env=env, root=root, source=source, extra=extra, before=before, after=after)


def test_installing_the_plugin_makes_its_entries_appear_in_medzoo_list(installed):
    assert installed.before.returncode == 0, installed.before.stderr
    assert installed.after.returncode == 0, installed.after.stderr
    for kind, name in ENTRIES.items():
        assert not _rows(installed.before.stdout, name), f"{name} listed before the plugin was installed"
        (row,) = _rows(installed.after.stdout, name)
        assert row.split("│")[1].strip() == kind, row
        assert f"{DIST} 0.1.0" in row and "loaded" in row, row
    assert "broken" not in installed.after.stdout


def test_medzoo_run_on_a_suite_using_all_three_works(installed):
    out = installed.root / "runs"
    proc = installed.env.medzoo(["run", "example-plugin", "-o", str(out), "--no-progress"], cwd=installed.root,
                                env=installed.extra)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(r["algorithm"] for r in records) == ["bnm", "source_only"]
    for record in records:
        assert record["suite"]["name"] == "example-plugin"
        assert record["backbone"]["name"] == "tiny_cnn" and record["backbone"]["config"]["name"] == "tiny_cnn"
        assert {spec["dataset"] for spec in record["task"]["domains"].values()} == {"toy_lesions"}
        assert {"name": DIST, "version": "0.1.0"} in record["provenance"]["plugins"]
        assert 0.0 <= record["metrics"]["target_test"]["accuracy"] <= 1.0
        assert (out / record["checkpoint"]).is_file()
    bnm = next(r for r in records if r["algorithm"] == "bnm")
    assert bnm["hparams"] == {"weight": 1.0}
    assert "bnm" in proc.stdout  # the results table
    assert bnm["provenance"]["components"]["algorithm"] == {"name": "bnm", "dist": DIST, "version": "0.1.0"}
    # the leaderboard labels the plugin's entries with their distribution and version
    site = installed.root / "site"
    proc = installed.env.medzoo(["leaderboard", "build", str(out), "--site", str(site)], cwd=installed.root,
                                env=installed.extra)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    page = (site / "suite-example-plugin-1.html").read_text()
    assert f"plugin: {DIST} 0.1.0" in page


def test_plugins_strict_passes_with_every_entry_loaded(installed):
    proc = installed.env.medzoo(["plugins", "--strict"], cwd=installed.root, env=installed.extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for kind, name in ENTRIES.items():
        (row,) = _rows(proc.stdout, name)
        assert row.split("│")[1].strip() == kind and DIST in row and "loaded" in row, row
    assert "quick" not in proc.stdout  # medzoo's own entries only with --all


LIST_AND_REPORT = (
    "import sys\n"
    "from zoo.cli.main import main\n"
    "code = main(['list'])\n"
    "print('@@', code, [m for m in sys.modules if m.startswith('medzoo_example_plugin')])\n"
)


@pytest.mark.parametrize("switch", ["MEDZOO_DISABLE_PLUGINS", "MEDZOO_NO_PLUGINS"])
def test_switches_keep_the_installed_plugin_out(installed, switch):
    value = DIST if switch == "MEDZOO_DISABLE_PLUGINS" else "1"
    proc = installed.env.run([str(installed.env.python), "-c", LIST_AND_REPORT], cwd=installed.root,
                             env={**installed.extra, switch: value})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "@@ 0 []", proc.stdout[-2000:]  # listed, never imported
    for name in ENTRIES.values():
        rows = _rows(proc.stdout, name)
        if switch == "MEDZOO_NO_PLUGINS":
            assert rows == [], rows
        else:
            assert len(rows) == 1 and "disabled" in rows[0] and DIST in rows[0], rows
    run = installed.env.medzoo(["run", "example-plugin", "-o", str(installed.root / "off")], cwd=installed.root,
                               env={**installed.extra, switch: value})
    why = ("suite 'example-plugin' from medzoo-example-plugin 0.1.0 is disabled" if switch == "MEDZOO_DISABLE_PLUGINS"
           else "unknown suite 'example-plugin'")
    assert_one_line_error(run, why)


def test_import_zoo_imports_no_plugin_module_until_an_entry_is_used(installed):
    code = (
        "import json, sys, zoo\n"
        "after_import = sorted(sys.modules)\n"
        "names = zoo.list_names('algorithms') + zoo.list_names('backbones') + zoo.list_names('datasets')\n"
        "after_names = sorted(sys.modules)\n"
        "from zoo.algorithms import ALGORITHMS\n"
        "ALGORITHMS.get('bnm')\n"
        "print(json.dumps({'after_import': after_import, 'after_names': after_names, 'names': names,\n"
        "                  'after_get': sorted(sys.modules)}))\n"
    )
    proc = installed.env.run([str(installed.env.python), "-c", code], cwd=installed.root)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    plugin = lambda modules: [m for m in modules if m.startswith("medzoo_example_plugin")]  # noqa: E731
    heavy = {"torch", "timm", "accelerate", "datasets", "sklearn", "torchvision"}
    assert not heavy & set(report["after_import"]), "`import zoo` imported a heavy dependency"
    assert plugin(report["after_import"]) == [] and plugin(report["after_names"]) == []
    assert {"bnm", "tiny_cnn", "toy_lesions"} <= set(report["names"])  # known from metadata alone
    assert plugin(report["after_get"]) == ["medzoo_example_plugin", "medzoo_example_plugin.bnm"]  # on first use


def test_the_plugins_own_tests_pass_where_it_is_installed(installed):
    where = installed.env.run([str(installed.env.python), "-c", "import medzoo_example_plugin as m; print(m.__file__)"],
                              cwd=installed.root)
    assert Path(where.stdout.strip()).is_relative_to(installed.env.site_packages), where.stdout + where.stderr
    proc = installed.env.run([str(installed.env.python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
                              str(installed.source / "tests")], cwd=installed.root, env=installed.extra)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    summary = proc.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary and "failed" not in summary, summary


def test_the_kit_as_a_pytest_plugin_passes_good_entries_and_explains_a_broken_one(installed):
    tests = installed.root / "kit-fixture"
    tests.mkdir()
    (tests / "test_with_fixture.py").write_text(
        "import torch\n"
        "from zoo.algorithms import Algorithm\n\n"
        "class MovesToCuda(Algorithm):\n"
        "    '''Breaks the contract: moves its batch to a device itself.'''\n"
        "    def training_step(self, source_batch, target_batch):\n"
        "        x, y = source_batch\n"
        "        return {'loss': self.cross_entropy(self.predict(x.to('cuda')), y.to('cuda'))}\n\n"
        "def test_example_entries(medzoo_kit):\n"
        "    medzoo_kit.check_backbone('tiny_cnn')\n"
        "    assert medzoo_kit.check_dataset('toy_lesions').label_names == ['regular_border', 'irregular_border']\n\n"
        "def test_broken(medzoo_kit):\n"
        "    medzoo_kit.check_algorithm(MovesToCuda)\n"
    )
    # Autoloading off: the kit's plugin comes from -p, whether or not medzoo declares it as a pytest11 entry point.
    proc = installed.env.run([str(installed.env.python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
                              "zoo.testing.pytest_plugin", str(tests)], cwd=tests,
                             env={**installed.extra, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "1 failed, 1 passed" in out.splitlines()[-1], out
    assert "ConformanceError: algorithm MovesToCuda moves tensors to a device itself (Tensor.to(cuda)" in out, out


def test_the_guides_fixture_works_as_written_in_a_plugins_own_test_run(installed):
    # The guide's test, with nothing loading the kit: medzoo's pytest11 entry point provides medzoo_kit.
    tests = installed.root / "guide-fixture"
    tests.mkdir()
    (tests / "test_guide.py").write_text(
        "def test_my_dataset(medzoo_kit):\n"
        "    domain = medzoo_kit.check_dataset('toy_lesions')\n"
        "    assert domain.label_names == ['regular_border', 'irregular_border']\n\n"
        "def test_my_method(medzoo_kit):\n"
        "    medzoo_kit.check_algorithm('bnm', hparams={'weight': 0.3})\n"
        "    record = medzoo_kit.check_runs_one_epoch(algorithm='bnm', hparams={'weight': 0.3}, max_steps=2)\n"
        "    assert record['hparams'] == {'weight': 0.3} and record['datasets']['target']['licence']\n"
    )
    for extra_args in ([], ["-p", "zoo.testing.pytest_plugin"]):  # -p as well: not registered twice
        proc = installed.env.run([str(installed.env.python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                  *extra_args, str(tests)], cwd=tests, env=installed.extra)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        assert proc.stdout.strip().splitlines()[-1].startswith("2 passed"), proc.stdout


def test_add_algorithm_benchmarks_the_plugins_method_beside_the_quick_baselines(installed, data_dir):
    """``medzoo run quick --add-algorithm bnm``: only bnm's runs train; the quick page shows them with the baselines."""
    out, env = installed.root / "quick-runs", {**installed.extra, "MEDZOO_DATA": str(data_dir)}
    tiny = ["train.epochs=1", "seeds=[0]", "train.max_steps_per_epoch=2", "--no-progress", "-o", str(out)]
    first = installed.env.medzoo(["run", "quick", *tiny], cwd=installed.root, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    baselines = (out / "results.jsonl").read_text().splitlines()
    proc = installed.env.medzoo(["run", "quick", "--add-algorithm", "bnm", *tiny], cwd=installed.root, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = (out / "results.jsonl").read_text().splitlines()
    assert lines[:len(baselines)] == baselines  # nothing retrained, nothing rewritten
    added = [json.loads(line) for line in lines[len(baselines):]]
    assert sorted((r["task"]["name"], r["algorithm"]) for r in added) == [("pneumonia-shift-10pct", "bnm"),
                                                                            ("pneumonia-shift-unsup", "bnm")]
    assert "5 runs, 3 already finished, 2 to train" in " ".join(proc.stderr.split())
    site = installed.root / "quick-site"
    built = installed.env.medzoo(["leaderboard", "build", str(out), "--site", str(site)], cwd=installed.root, env=env)
    assert built.returncode == 0, built.stderr[-3000:]
    page = (site / "suite-quick-1.html").read_text()
    for algorithm in ("bnm", "source_only", "source_then_target"):  # one suite page, the new method and baselines
        assert f">{algorithm}<" in page or f">{algorithm} " in page, algorithm
    assert not list(site.glob("suite-quick-*.html"))[1:]  # no second page for a copy of the suite
