"""docs/architecture.md, "Adding a built-in algorithm", performed step by step as written, in a fresh venv.

The steps are read from the document (each code block after a ``<!-- builtin-step: ... -->`` marker) and
applied to a copy of medzoo's sources: the module is written, the entry point added under the algorithms'
table of ``pyproject.toml``, the copy installed with ``pip install -e .`` into a fresh virtual environment,
and every command of the check step run there. So the document cannot drift from what works.
"""

from __future__ import annotations

import json
import re
import shlex

from helpers.sources import copy_medzoo_sources
from plugin_env import ROOT, FreshEnv

DOC = ROOT / "docs" / "architecture.md"
STEP = re.compile(r"<!-- builtin-step: (?P<kind>[^>]*?) -->\s*```\w*\n(?P<body>.*?)```", re.S)
TABLE = '[project.entry-points."medzoo.algorithms"]\n'


def _steps() -> list[tuple[str, str]]:
    section = DOC.read_text(encoding="utf-8").split("## Adding a built-in algorithm", 1)[1]
    return [(m["kind"].strip(), m["body"]) for m in STEP.finditer(section)]


def test_the_documented_steps_add_a_working_builtin(tmp_path, deps_folder, data_dir):
    steps = _steps()
    assert [kind for kind, _ in steps] == ["file zoo/algorithms/entropy_min.py", "entry point", "shell", "shell"]
    source = copy_medzoo_sources(tmp_path / "medzoo")
    env = FreshEnv.create(tmp_path / "venv", deps_folder)
    extra = {"MEDZOO_DATA": str(data_dir), "COLUMNS": "200"}
    outputs = []
    for kind, body in steps:
        if kind.startswith("file "):
            (source / kind.split(" ", 1)[1]).write_text(body)
        elif kind == "entry point":
            pyproject = (source / "pyproject.toml").read_text()
            assert TABLE in pyproject
            (source / "pyproject.toml").write_text(pyproject.replace(TABLE, TABLE + body, 1))
        else:
            for line in filter(None, (ln.strip() for ln in body.splitlines())):
                argv = shlex.split(line)
                if argv[:2] == ["pip", "install"]:  # offline, with the shared build backend, into the venv
                    argv = [str(env.python), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                            "-q", *argv[2:]]
                elif argv[0] == "python":
                    argv[0] = str(env.python)
                else:
                    argv[0] = str(env.bin / argv[0])
                proc = env.run(argv, cwd=source, env=extra, timeout=600)
                assert proc.returncode == 0, f"{line}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
                outputs.append(" ".join(proc.stdout.split()))
    listed, info, kit, run = outputs[1:]  # after `pip install -e .`
    assert "entropy_min" in listed, listed
    assert "Source cross-entropy + weight x the entropy of the target predictions" in listed, listed
    assert "Grandvalet & Bengio, Semi-supervised Learning by Entropy Minimization, NeurIPS 2004" in info
    assert kit == ""  # the kit passed silently
    records = [json.loads(line) for line in (source / "medzoo-runs" / "results.jsonl").read_text().splitlines()]
    added = sorted(r["task"]["name"] for r in records if r["algorithm"] == "entropy_min")
    assert added == ["pneumonia-shift-10pct", "pneumonia-shift-unsup"]
    assert "entropy_min" in run  # in the results table beside the baselines
