"""The import graph of ``zoo``, counting imports inside functions: its strongly connected components and the
private names one module takes from another.

Every ``import`` and ``from ... import`` at any depth (module level, inside functions, under
``TYPE_CHECKING``) is read with ``ast`` and resolved to a module of ``zoo/``: ``from zoo.x import name``
where ``name`` is a submodule counts as an import of that submodule, otherwise of ``zoo.x``. Strings given to
``importlib`` and entry points are not imports here. ``tests/test_layers.py`` checks the same graph against
the layer order of ``docs/architecture.md``.

Usage::

    python benchmarks/import_graph.py            # components of more than one module, private imports
    python benchmarks/import_graph.py --edges    # every edge inside a component, with file:line
    git archive v1 zoo | tar -x -C /tmp/v1 && python benchmarks/import_graph.py --root /tmp/v1   # another version
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Import:
    """One import of a ``zoo`` module by another: where it is, and the name it takes (``None``: the module)."""

    source: str  # importing module, e.g. "zoo.bench.suite"
    target: str  # imported module, e.g. "zoo.registry"
    name: str | None  # the name taken from ``target`` (``from target import name``), or attribute read
    path: str  # file, relative to the repository root
    line: int
    in_function: bool

    def where(self) -> str:
        return f"{self.path}:{self.line}"


def module_files(root: Path = ROOT, package: str = "zoo") -> dict[str, Path]:
    """Every module of the package: dotted name -> file (a package is its ``__init__.py``)."""
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _known(dotted: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of ``dotted`` that is a module of the package."""
    parts = dotted.split(".")
    while parts:
        name = ".".join(parts)
        if name in modules:
            return name
        parts.pop()
    return None


def _from_base(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    anchor = parts if is_package else parts[:-1]
    anchor = anchor[: len(anchor) - (node.level - 1)]
    return ".".join(anchor + ([node.module] if node.module else []))


def _is_private(name: str | None) -> bool:
    return bool(name) and name.startswith("_") and not name.startswith("__")


class _Reader(ast.NodeVisitor):
    def __init__(self, module: str, path: Path, modules: dict[str, Path], root: Path):
        self.module, self.modules = module, modules
        self.rel = path.relative_to(root).as_posix()
        self.is_package = path.name == "__init__.py"
        self.depth = 0
        self.bound: dict[str, str] = {}  # local name -> zoo module it stands for (``import zoo.x as m``)
        self.found: list[Import] = []

    def _add(self, target: str, name: str | None, node: ast.AST) -> None:
        if target != self.module:
            self.found.append(Import(self.module, target, name, self.rel, node.lineno, self.depth > 0))

    def _function(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            target = _known(alias.name, self.modules)
            if target is None:
                continue
            self._add(target, None, node)
            if alias.asname:
                self.bound[alias.asname] = target

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = _from_base(node, self.module, self.is_package)
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            if sub in self.modules:
                self._add(sub, None, node)
                self.bound[alias.asname or alias.name] = sub
                continue
            target = _known(base, self.modules)
            if target is not None:
                self._add(target, alias.name, node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        # ``m._name`` where ``m`` is a zoo module bound by an import: a private name read across modules.
        if isinstance(node.value, ast.Name) and node.value.id in self.bound and _is_private(node.attr):
            self._add(self.bound[node.value.id], node.attr, node)
        self.generic_visit(node)


def imports(root: Path = ROOT, package: str = "zoo") -> list[Import]:
    """Every import of one package module by another (attribute reads of ``_private`` names included)."""
    modules = module_files(root, package)
    found: list[Import] = []
    for module, path in modules.items():
        reader = _Reader(module, path, modules, root)
        reader.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        found.extend(reader.found)
    return found


def graph(found: list[Import]) -> dict[str, set[str]]:
    """Module -> the modules it imports (at any depth)."""
    edges: dict[str, set[str]] = {}
    for imp in found:
        edges.setdefault(imp.source, set()).add(imp.target)
        edges.setdefault(imp.target, set())
    return edges


def components(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module, largest first (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    result.append(sorted(group))
    return sorted(result, key=lambda g: (-len(g), g))


def private_imports(found: list[Import]) -> list[Import]:
    """Imports of a ``_private`` name (or module) defined in another module."""
    return [imp for imp in found if _is_private(imp.name) or _is_private(imp.target.rsplit(".", 1)[-1])]


def report(found: list[Import], show_edges: bool = False) -> str:
    lines = []
    groups = components(graph(found))
    inner = sum(1 for imp in found if imp.in_function)
    lines.append(f"{len(found)} imports between zoo modules ({inner} inside functions); "
                 f"{len(groups)} strongly connected component(s) of more than one module")
    for group in groups:
        lines.append(f"- {len(group)} modules: " + ", ".join(group))
        if show_edges:
            members = set(group)
            shown = set()
            for imp in sorted(found, key=lambda i: (i.path, i.line)):
                if imp.source in members and imp.target in members and (imp.where(), imp.target) not in shown:
                    shown.add((imp.where(), imp.target))
                    lines.append(f"    {imp.where()}: {imp.source} -> {imp.target}"
                                 + (" (in a function)" if imp.in_function else ""))
    private = private_imports(found)
    lines.append(f"{len(private)} private name(s) imported across modules")
    for imp in sorted(private, key=lambda i: (i.path, i.line)):
        lines.append(f"- {imp.where()}: {imp.target}" + (f".{imp.name}" if imp.name else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edges", action="store_true", help="list the imports inside each component")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to read (default: this one)")
    args = parser.parse_args(argv)
    print(report(imports(args.root.resolve()), show_edges=args.edges))
    return 0


if __name__ == "__main__":
    sys.exit(main())
