"""YAML loading that keeps line numbers, so every suite error can say ``file:line: what is wrong``.

Usage::

    doc = load_yaml_with_lines(Path("benchmarks/suites/quick.yaml"))
    doc.data["tasks"][0]["name"]                  # the plain parsed value
    doc.where(("tasks", 0, "target_budget"))     # 'benchmarks/suites/quick.yaml:21'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from zoo.errors import ConfigError

KeyPath = tuple[Any, ...]


@dataclass
class YamlDoc:
    """Parsed YAML plus the 1-based line of every mapping key and sequence item, by key path."""

    path: Path
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)
    # Key paths set from the command line (``train.epochs=1``) -> how to name them, e.g. "override 'x=1'":
    # an error in such a value points at the override the user typed, not at the file.
    origins: dict[KeyPath, str] = field(default_factory=dict)

    def where(self, keys: KeyPath) -> str:
        """The override that set ``keys`` (or a parent of it); else ``file:line`` of its deepest known prefix."""
        for cut in range(len(keys), -1, -1):  # an override replaces its whole subtree: it wins at any depth
            origin = self.origins.get(tuple(keys[:cut]))
            if origin is not None:
                return origin
        for cut in range(len(keys), -1, -1):
            line = self.lines.get(tuple(keys[:cut]))
            if line is not None:
                return f"{self.path}:{line}"
        return str(self.path)

    def error(self, keys: KeyPath, message: str) -> ConfigError:
        """A one-line ``ConfigError`` located at ``keys``."""
        return ConfigError(f"{self.where(keys)}: {message}")


def _index_lines(node: yaml.Node, prefix: KeyPath, lines: dict[KeyPath, int], seen: set[int]) -> None:
    """Record the line of every key path; an aliased node is indexed where it is defined, once (a document
    of nested aliases would otherwise be walked as an exponentially large tree)."""
    lines.setdefault(prefix, node.start_mark.line + 1)
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[prefix + (key,)] = key_node.start_mark.line + 1
            _index_lines(value_node, prefix + (key,), lines, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[prefix + (i,)] = item.start_mark.line + 1
            _index_lines(item, prefix + (i,), lines, seen)


def load_yaml_with_lines(path: Path) -> YamlDoc:
    """Parse ``path`` (:mod:`zoo.bench.yaml_safe`: YAML 1.2 numbers, no duplicate keys, bounded aliases); any
    problem becomes ``ConfigError('file:line: problem')``."""
    from zoo.bench.yaml_safe import load_suite_text

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read suite file {path}: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                          "save the suite file as UTF-8") from None
    data, node = load_suite_text(text, str(path))
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _index_lines(node, (), lines, set())
    return YamlDoc(path=path, data=data, lines=lines)
