"""Run ``medzoo`` as a user would, in a subprocess, with an environment free of the caller's medzoo settings.

Usage::

    proc = run_medzoo(["run", "quik"], cwd=tmp_path)
    assert_one_line_error(proc, "did you mean 'quick'")
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TIMEOUT_S = 120


def medzoo_executable() -> str:
    """The installed ``medzoo`` console script of the interpreter running the tests."""
    candidate = Path(sys.executable).with_name("medzoo")
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("medzoo")
    if found is None:
        pytest.fail("the `medzoo` console script is not installed; run `pip install -e .` in the project root")
    return found


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """``os.environ`` without MEDZOO_* switches, PYTHONPATH or forced colours, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MEDZOO_") and k not in {"PYTHONPATH", "FORCE_COLOR", "CLICOLOR_FORCE"}}
    env["NO_COLOR"] = "1"
    env["MEDZOO_OUTPUT"] = "medzoo-runs"  # relative to cwd, which tests set to a tmp folder
    env.update(extra or {})
    return env


def run_medzoo(args: list[str], cwd: Path, env: dict[str, str] | None = None, module: bool = False,
               timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess:
    """Run ``medzoo ARGS`` (or ``python -m zoo.cli.main ARGS`` with ``module=True``) and capture its output."""
    command = [sys.executable, "-m", "zoo.cli.main", *args] if module else [medzoo_executable(), *args]
    return subprocess.run(command, cwd=cwd, env=cli_env(env), capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str, code: int = 2) -> str:
    """Exit ``code``, exactly one non-empty stderr line ``medzoo: error: ...`` holding every fragment."""
    context = f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, context
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, context
    assert proc.returncode == code, context
    line = lines[0]
    assert line.startswith("medzoo: error: "), context
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in the error line\n{context}"
    return line


_MANY_DRIVER = r"""
import contextlib, io, json, sys, traceback
from zoo.cli.main import main
results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
            rc = 1
    results.append({"argv": argv, "returncode": rc, "stdout": out.getvalue(), "stderr": err.getvalue()})
sys.__stdout__.write("\n@@RESULTS@@" + json.dumps(results))
"""


def run_medzoo_many(argvs: list[list[str]], cwd: Path, env: dict[str, str] | None = None,
                    timeout: float = TIMEOUT_S) -> list[subprocess.CompletedProcess]:
    """Run several ``medzoo`` command lines through ``zoo.cli.main.main`` in ONE fresh interpreter.

    Each gets its own captured stdout/stderr and return code (what ``sys.exit(main())`` would exit with);
    an escaping exception is printed as a traceback into its stderr. Saves a torch import per command.
    """
    import json

    proc = subprocess.run([sys.executable, "-c", _MANY_DRIVER, json.dumps(argvs)], cwd=cwd, env=cli_env(env),
                          capture_output=True, text=True, timeout=timeout)
    assert "@@RESULTS@@" in proc.stdout, f"driver failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    results = json.loads(proc.stdout.rsplit("@@RESULTS@@", 1)[1])
    return [subprocess.CompletedProcess(r["argv"], r["returncode"], r["stdout"], r["stderr"]) for r in results]
