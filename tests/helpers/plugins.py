"""Real plugin packages for tests: source trees with a pyproject.toml, installed by pip into a folder.

``pip install --target SITE`` builds each package's wheel with setuptools and unpacks it with its
``.dist-info`` and ``entry_points.txt``; that folder on ``PYTHONPATH`` is then an installed plugin exactly
as ``importlib.metadata`` (and so medzoo's discovery) sees one.

Usage::

    tree = write_distribution(tmp / "src", "my-plugin", "0.1.0",
                              entry_points={"medzoo.algorithms": {"my_algo": "my_plugin:MyAlgo"}},
                              modules={"my_plugin": "from zoo.algorithms import Algorithm\\n..."})
    pip_install_into(tmp / "site", [tree])
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# Every test plugin module starts with this line, so a test can tell which plugin modules were imported:
# with ``MZP_IMPORT_LOG=<file>`` set, the module's name is appended to that file at import.
IMPORT_LOG_PREAMBLE = (
    "import os as _os\n"
    "if _os.environ.get('MZP_IMPORT_LOG'):\n"
    "    with open(_os.environ['MZP_IMPORT_LOG'], 'a') as _fh:\n"
    "        _fh.write(__name__ + '\\n')\n"
)


def write_distribution(
    sources: Path,
    name: str,
    version: str,
    entry_points: dict[str, dict[str, str]],
    modules: dict[str, str] | None = None,
) -> Path:
    """Write the source tree of a plugin package (pyproject.toml + top-level modules) under ``sources``."""
    tree = sources / name
    tree.mkdir(parents=True)
    for module, source in (modules or {}).items():
        (tree / f"{module}.py").write_text(IMPORT_LOG_PREAMBLE + source)
    groups = "".join(
        f'\n[project.entry-points."{group}"]\n' + "".join(f'{ep} = "{target}"\n' for ep, target in eps.items())
        for group, eps in entry_points.items()
    )
    (tree / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\n{groups}\n'
        f"[tool.setuptools]\npy-modules = {sorted(modules or {})!r}\n".replace("'", '"')
    )
    return tree


def pip_install_into(site: Path, trees: list[Path]) -> None:
    """``pip install --target site`` every package tree: real wheels, real ``.dist-info`` and entry points."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "--target", str(site), *map(str, trees)],
        check=True, capture_output=True, text=True, timeout=300,
    )


def imported_plugin_modules(log: Path) -> list[str]:
    """Names of test plugin modules imported while ``MZP_IMPORT_LOG`` pointed at ``log``."""
    return log.read_text().split() if log.exists() else []
