"""Fixtures of the end-to-end tests: real data, the real ``medzoo`` command, real ``accelerate launch``.

Every command runs in a subprocess with the environment of ``helpers.cli.cli_env`` (no stray MEDZOO_*
settings), ``MEDZOO_DATA`` pointing at the real data folder (the ``data_dir`` fixture fails, never skips,
when it is missing) and ``HF_HOME`` in a temporary folder so that no user Accelerate config file changes
how ``accelerate launch`` behaves.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from e2e_helpers import TIMEOUT_S, describe
from helpers.cli import cli_env, medzoo_executable


@pytest.fixture
def e2e_env(data_dir, tmp_path) -> dict[str, str]:
    """The environment of every e2e subprocess (real data, isolated HF/Accelerate config, no colours)."""
    return cli_env({"MEDZOO_DATA": str(Path(data_dir).absolute()), "HF_HOME": str(tmp_path / "hf-home"),
                    "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "COLUMNS": "200"})


@pytest.fixture
def run_cmd(e2e_env, tmp_path):
    """``run_cmd(argv, check=True)``: run a command in ``tmp_path``; with ``check``, exit 0 or fail loudly."""

    def run(argv: list[str], check: bool = True, timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess:
        proc = subprocess.run(argv, cwd=tmp_path, env=e2e_env, capture_output=True, text=True, timeout=timeout)
        if check:
            assert proc.returncode == 0, f"{' '.join(argv)}\n{describe(proc)}"
        return proc

    return run


@pytest.fixture(scope="session")
def medzoo() -> str:
    """The installed ``medzoo`` console script."""
    return medzoo_executable()
