"""``medzoo plugin new NAME --kind K``: the package it writes installs in a fresh environment and passes its tests.

For each kind: scaffold with the installed ``medzoo``, ``pip install`` the folder as written (no edit),
check ``medzoo list`` shows the entry from the new distribution, run the package's own pytest, and run
its example suite. Wrong names, kinds and folders are one-line errors.
"""

from __future__ import annotations

import pytest
from helpers.cli import assert_one_line_error, run_medzoo_many

import zoo.testing
from zoo.version import __version__

KINDS = ("algorithm", "backbone", "dataset")


@pytest.mark.parametrize("kind", KINDS)
def test_scaffold_installs_and_passes_its_own_tests_unchanged(kind, fresh_env, tmp_path):
    name = f"my_{kind}"
    package = tmp_path / f"medzoo-my-{kind}"
    made = fresh_env.medzoo(["plugin", "new", name, "--kind", kind, "--dir", str(package)], cwd=tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    assert f"created the {kind} plugin '{name}'" in made.stdout
    written = sorted(p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file())
    assert written == sorted([".gitignore", "README.md", "example-suite.yaml", "pyproject.toml",
                              "tests/test_conformance.py", f"medzoo_my_{kind}/__init__.py",
                              f"medzoo_my_{kind}/{kind}.py"])

    fresh_env.pip_install(package, cwd=tmp_path)
    listed = fresh_env.medzoo(["list", f"{kind}s"], cwd=tmp_path, env={"COLUMNS": "200"})
    assert listed.returncode == 0, listed.stderr
    (row,) = [line for line in listed.stdout.splitlines() if f" {name} " in line]
    assert f"medzoo-my-{kind} 0.1.0" in row and "loaded" in row, row

    tests = fresh_env.run([str(fresh_env.python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(package)],
                          cwd=tmp_path)
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    summary = tests.stdout.strip().splitlines()[-1]
    checks = getattr(zoo.testing, f"{kind.upper()}_CHECKS")  # one test per check, + entry point + one epoch
    assert summary.startswith(f"{len(checks) + 2} passed") and "skipped" not in summary, summary

    suite = fresh_env.medzoo(["run", str(package / "example-suite.yaml"), "-o", str(tmp_path / "runs"), "--no-progress",
                              "train.epochs=1"], cwd=tmp_path)
    assert suite.returncode == 0, suite.stdout[-3000:] + suite.stderr[-3000:]
    assert (tmp_path / "runs" / "results.jsonl").is_file()


def test_scaffold_mistakes_are_one_line_errors(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file.txt").write_text("something")
    argvs = {
        "bad kind": ["plugin", "new", "x", "--kind", "algoritm"],
        "bad name": ["plugin", "new", "1st-try", "--kind", "algorithm"],
        "builtin name": ["plugin", "new", "dann", "--kind", "algorithm"],
        "folder in use": ["plugin", "new", "fresh_name", "--kind", "dataset", "--dir", str(tmp_path / "taken")],
    }
    procs = dict(zip(argvs, run_medzoo_many(list(argvs.values()), cwd=tmp_path)))
    assert_one_line_error(procs["bad kind"], "unknown plugin kind 'algoritm'", "did you mean 'algorithm'?")
    assert_one_line_error(procs["bad name"], "'1st-try'", "must start with a letter")
    assert_one_line_error(procs["builtin name"], "algorithm 'dann' already exists", f"medzoo {__version__}",
                          "another name")
    assert_one_line_error(procs["folder in use"], "taken already exists and is not an empty folder")
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["file.txt"]  # nothing was written into it
    assert not list(tmp_path.glob("medzoo-*"))
