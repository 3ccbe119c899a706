"""One-way layers: no import (module level or inside a function) goes from a lower layer of ``zoo`` to a higher
one, no module takes another module's ``_private`` name, and the import graph has no cycle.

The graph is ``benchmarks/import_graph.py``'s (every ``import`` at any depth, resolved to ``zoo`` modules).
``LAYERS`` is the order ``docs/architecture.md`` ("Layers") states; a test checks the two lists agree. A
module belongs to the most specific entry naming it (a file beats its folder, a deeper folder a shallower
one); a module no entry names fails the test, so a new top-level module has to be placed.

Usage::

    python -m pytest tests/test_layers.py -q
    python benchmarks/import_graph.py --edges      # the graph, its cycles and private imports
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# From the top. A folder (``zoo/hub/``) is its package and every module under it; a file is that module.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("command line", ("zoo/cli/",)),
    ("front", ("zoo/__init__.py", "zoo/registries.py", "zoo/testing/smoke.py", "zoo/testing/pytest_plugin.py")),
    ("leaderboard", ("zoo/leaderboard/",)),
    ("publishing to the Hub", ("zoo/hub/build.py", "zoo/hub/push.py", "zoo/hub/results.py")),
    ("runner", ("zoo/runner/",)),
    ("conformance kit", ("zoo/testing/",)),
    ("suites and resolution", ("zoo/bench/",)),
    ("results", ("zoo/results/",)),
    ("components", ("zoo/algorithms/", "zoo/augment/", "zoo/datasets/", "zoo/losses/", "zoo/imbalance.py",
                    "zoo/imbalance_methods.py", "zoo/metrics.py", "zoo/metrics_pairs.py")),
    ("backbones by name", ("zoo/backbones/__init__.py",)),
    ("Hub checkpoints", ("zoo/hub/",)),
    ("backbone implementations", ("zoo/backbones/",)),
    ("plugins and shared declarations", ("zoo/plugins.py", "zoo/provenance.py", "zoo/selection.py",
                                         "zoo/task_settings.py", "zoo/checkpoint.py")),
    ("registry", ("zoo/registry.py",)),
    ("base", ("zoo/errors.py", "zoo/digests.py", "zoo/version.py")),
]

# (importing module, imported module, name): why it is allowed. Keep this empty where possible.
ALLOWED_PRIVATE: dict[tuple[str, str, str], str] = {}
ALLOWED_CYCLES: dict[frozenset[str], str] = {}  # a cycle's modules: why it is allowed


def _graph_module():
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "benchmarks" / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("import_graph", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


GRAPH = _graph_module()
IMPORTS = GRAPH.imports(ROOT)


def _module_of(path: str) -> tuple[str, bool]:
    """``zoo/hub/`` -> (``zoo.hub``, folder); ``zoo/hub/push.py`` -> (``zoo.hub.push``, file)."""
    if path.endswith("/"):
        return path.rstrip("/").replace("/", "."), True
    parts = path[:-len(".py")].split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts), False


def layer_of(module: str) -> int | None:
    """Index in ``LAYERS`` of the most specific entry naming ``module`` (None: no entry names it)."""
    best: tuple[int, int] | None = None  # (specificity, layer)
    for index, (_, paths) in enumerate(LAYERS):
        for path in paths:
            name, folder = _module_of(path)
            if module == name and not folder:
                specificity = 10_000  # the file itself
            elif folder and (module == name or module.startswith(name + ".")):
                specificity = name.count(".") + 1
            else:
                continue
            if best is None or specificity > best[0]:
                best = (specificity, index)
    return None if best is None else best[1]


def test_every_module_has_a_layer():
    unplaced = sorted(m for m in GRAPH.module_files(ROOT) if layer_of(m) is None)
    assert not unplaced, f"modules in no layer of tests/test_layers.py (and docs/architecture.md): {unplaced}"


def test_no_import_goes_up_a_layer():
    assert len(IMPORTS) > 500, "the import graph is suspiciously small: did benchmarks/import_graph.py break?"
    upward = []
    for imp in sorted(IMPORTS, key=lambda i: (i.path, i.line)):
        low, high = layer_of(imp.source), layer_of(imp.target)
        if low is not None and high is not None and high < low:
            where = "inside a function" if imp.in_function else "at module level"
            upward.append(f"{imp.where()}: {imp.source} ({LAYERS[low][0]}) imports {imp.target} "
                          f"({LAYERS[high][0]}) {where}")
    assert not upward, "imports against the layer order of docs/architecture.md:\n" + "\n".join(upward)


def test_no_private_name_crosses_modules():
    found = [imp for imp in GRAPH.private_imports(IMPORTS)
             if (imp.source, imp.target, imp.name) not in ALLOWED_PRIVATE]
    lines = [f"{imp.where()}: {imp.source} takes {imp.target}.{imp.name or ''}" for imp in found]
    assert not lines, "private names imported from another module (give them a public name):\n" + "\n".join(lines)
    used = {(imp.source, imp.target, imp.name) for imp in GRAPH.private_imports(IMPORTS)}
    stale = sorted(set(ALLOWED_PRIVATE) - used)
    assert not stale, f"ALLOWED_PRIVATE lists imports that no longer exist; remove them: {stale}"


def test_the_import_graph_has_no_cycle():
    cycles = [group for group in GRAPH.components(GRAPH.graph(IMPORTS)) if frozenset(group) not in ALLOWED_CYCLES]
    assert not cycles, ("modules that import each other (counting imports inside functions; "
                        "`python benchmarks/import_graph.py --edges` shows where):\n"
                        + "\n".join(", ".join(group) for group in cycles))


def test_architecture_doc_states_the_same_order():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("\n## Layers", 1)[1].split("\n## ", 1)[0]
    stated = [(name, tuple(re.findall(r"`([^`]+)`", paths)))
              for name, paths in re.findall(r"^\d+\. \*\*(.+?)\*\*: (.+)$", section, flags=re.M)]
    assert stated == LAYERS, "docs/architecture.md's Layers list and tests/test_layers.py's LAYERS differ"


@pytest.mark.parametrize("module, layer", [
    ("zoo.cli.listing", "command line"), ("zoo", "front"), ("zoo.hub.push", "publishing to the Hub"),
    ("zoo.hub.export", "Hub checkpoints"), ("zoo.backbones", "backbones by name"),
    ("zoo.backbones.factory", "backbone implementations"), ("zoo.testing.smoke", "front"),
    ("zoo.testing.algorithms", "conformance kit"), ("zoo.registry", "registry"),
])
def test_the_most_specific_entry_places_a_module(module, layer):
    assert LAYERS[layer_of(module)][0] == layer
