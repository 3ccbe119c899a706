"""Write real installed distributions (a ``.dist-info`` with ``entry_points.txt``) into a folder.

``importlib.metadata`` finds a distribution by its ``<name>-<version>.dist-info`` folder on ``sys.path``;
that is all ``pip install`` leaves behind for discovery, so a folder written here and put on
``PYTHONPATH`` is an installed plugin as far as medzoo's entry-point discovery can tell, at a fraction of
the cost of running pip.

Usage::

    write_distribution(site, "my-plugin", "0.1.0",
                       entry_points={"medzoo.algorithms": {"my_algo": "my_plugin:MyAlgo"}},
                       modules={"my_plugin": "from zoo.algorithms import Algorithm\\n..."})
"""

from __future__ import annotations

import re
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
    site: Path,
    name: str,
    version: str,
    entry_points: dict[str, dict[str, str]],
    modules: dict[str, str] | None = None,
) -> Path:
    """Write ``<site>/<name>-<version>.dist-info`` and the plugin's top-level modules; return the dist-info."""
    site.mkdir(parents=True, exist_ok=True)
    for module, source in (modules or {}).items():
        (site / f"{module}.py").write_text(IMPORT_LOG_PREAMBLE + source)
    info = site / f"{re.sub(r'[-_.]+', '_', name)}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    sections = []
    for group, eps in entry_points.items():
        sections.append(f"[{group}]\n" + "".join(f"{ep} = {target}\n" for ep, target in eps.items()))
    (info / "entry_points.txt").write_text("\n".join(sections))
    (info / "top_level.txt").write_text("".join(f"{m}\n" for m in modules or {}))
    (info / "INSTALLER").write_text("medzoo-tests\n")
    return info


def imported_plugin_modules(log: Path) -> list[str]:
    """Names of test plugin modules imported while ``MZP_IMPORT_LOG`` pointed at ``log``."""
    return log.read_text().split() if log.exists() else []
