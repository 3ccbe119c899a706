"""YAML as a suite author means it: 1.2 numbers, no duplicate keys, and a bound on what aliases expand to.

PyYAML follows YAML 1.1, which surprises suite authors three ways, each fixed here once for suite files and
``key=value`` overrides alike:

- **numbers**: 1.1 reads ``3e-4``, ``1e10`` and ``1e-3`` as *strings* (its float pattern needs a dot), so
  ``lr: 1e-3`` was refused as "not a float"; :class:`SuiteLoader` uses the YAML 1.2 core-schema float
  pattern (``1e-3``, ``.5``, ``1.``, ``.inf``, ``.nan``; non-finite values are refused by the validators);
- **duplicate keys**: 1.1 keeps the last silently (a second ``train:`` block replaced the first); here
  they are an error naming both lines;
- **aliases**: ``&a [*b, *b, ...]`` nests cheaply in text and explodes when walked as a tree (a 512-byte
  "billion laughs" file hung ``medzoo run``). The document is measured with aliases counted at their full
  size (memoised per node, so the measuring is linear) and refused beyond :data:`MAX_NODES`.

Usage::

    data, node = load_suite_text(text, "suite.yaml")       # or raises ConfigError('suite.yaml:7: ...')
    parse_value("3e-4")                                     # 0.0003, as in a suite file
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from zoo.errors import ConfigError

MAX_NODES = 100_000  # the largest shipped suite has ~2,000 nodes; aliases expanding past this are refused
MERGE_KEY = "<<"


class SuiteLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 floats (``1e-3`` is a number)."""


# YAML 1.2 core schema floats, replacing 1.1's (which demands a dot before an exponent)
SuiteLoader.yaml_implicit_resolvers = {key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:float"]
                                       for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
SuiteLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
                  |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."))


def _expanded_size(node: yaml.Node, sizes: dict[int, int], where: str) -> int:
    """Nodes in ``node`` with every alias counted in full (memoised by node identity: linear time)."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    sizes[key] = 0  # a node reached again while being measured is a recursive alias: counted as itself
    if isinstance(node, yaml.MappingNode):
        total = 1 + sum(_expanded_size(k, sizes, where) + _expanded_size(v, sizes, where) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        total = 1 + sum(_expanded_size(item, sizes, where) for item in node.value)
    else:
        total = 1
    if total > MAX_NODES:
        raise ConfigError(f"{where}:{node.start_mark.line + 1}: this YAML expands to more than {MAX_NODES:,} values "
                          "through anchors and aliases (&name / *name); write the values out, or use fewer nested "
                          "aliases")
    sizes[key] = total
    return total


def _check_duplicates(node: yaml.Node, where: str, seen: set[int]) -> None:
    """Refuse a mapping that repeats a key, naming both lines (each node visited once)."""
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is not None and key != MERGE_KEY:
                line = key_node.start_mark.line + 1
                if key in first:
                    raise ConfigError(f"{where}:{line}: duplicate key '{key}' (first at line {first[key]}); YAML "
                                      "would keep only the last one: merge the two into one")
                first[key] = line
            _check_duplicates(value_node, where, seen)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicates(item, where, seen)


def load_suite_text(text: str, where: str) -> tuple[Any, yaml.Node | None]:
    """Parse suite YAML: ``(data, root node)``; syntax, size and duplicate-key problems raise ConfigError.

    Usage::

        data, node = load_suite_text(Path("s.yaml").read_text(), "s.yaml")
    """
    try:
        loader = SuiteLoader(text)
        try:
            node = loader.get_single_node()
            if node is not None:
                _expanded_size(node, {}, where)
                _check_duplicates(node, where, set())
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        at = f"{where}:{mark.line + 1}:{mark.column + 1}" if mark else where
        raise ConfigError(f"{at}: malformed YAML: {(exc.problem or str(exc)).strip()}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: malformed YAML: {str(exc).splitlines()[0]}") from exc
    return data, node


def parse_value(raw: str) -> Any:
    """A ``key=value`` override's value, read as in a suite file (YAML 1.2 numbers); unparsable text stays text.

    Usage::

        parse_value("3e-4"), parse_value("[0, 1]"), parse_value("adamw")   # (0.0003, [0, 1], 'adamw')
    """
    try:
        return load_suite_text(raw, "override")[0]
    except ConfigError:
        return raw
