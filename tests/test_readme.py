"""The README gives exactly two set-up commands, and CI runs the very test command the README shows."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _setup_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Set up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S)]


def test_readme_has_exactly_two_setup_commands():
    commands = _setup_commands()
    assert len(commands) == 2, commands
    main_job, tests = commands
    for command in commands:
        assert "\n" not in command, "each set-up command is one line"
        assert command.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install")
        assert "-c constraints.txt" in command, "the torch pair is pinned by the constraints file"
    assert main_job.endswith("medzoo run quick")
    # two test processes (pytest-xdist); every test, the slow end-to-end ones too (`pytest` alone: the fast ones)
    assert tests.endswith(' pytest -n 2 -m "slow or not slow"') and '".[dev]"' in tests


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _setup_commands()[1] in ci.splitlines()


def test_constraints_pin_the_torch_pair_and_pyproject_keeps_ranges():
    pins = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    assert re.search(r"^torch==\d", pins, flags=re.M) and re.search(r"^torchvision==\d", pins, flags=re.M)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"torch>=' in pyproject and '"torch==' not in pyproject
