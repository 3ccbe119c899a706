"""The checkpoint catalogue: medzoo's own checkpoints (with build recipes) and public timm-loadable ones.

The catalogue is data (``zoo/hub/catalogue.yaml``, shipped in the package); ``$MEDZOO_CATALOGUE`` or an
explicit ``path`` replaces it (tests, a lab's private zoo). A name may carry a revision: ``NAME@REV``.

Usage::

    cat = load_catalogue()
    entry = cat.get("resnet18_28-pneumoniamnist")     # entry.repo, entry.sha256, entry.recipe
    name, rev = split_revision("resnet18_28-pneumoniamnist@main")
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from zoo.errors import ConfigError, UnknownNameError

DEFAULT_PATH = Path(__file__).with_name("catalogue.yaml")
RECIPE_KEYS = {"dataset", "backbone", "algorithm", "train", "image_size", "channels", "seed"}


@dataclass(frozen=True)
class Entry:
    """One catalogue entry; ``kind`` is ``medzoo`` (has a recipe) or ``public`` (a timm ``hf-hub:`` model)."""

    name: str
    kind: str
    repo: str
    sha256: str | None = None
    file: str = "model.safetensors"
    revision: str = "main"
    endpoint: str | None = None  # a Hub other than huggingface.co (or $HF_ENDPOINT)
    licence: str = "unknown"
    gated: bool | None = False
    verified: bool = True
    recipe: dict[str, Any] | None = None
    info: dict[str, Any] = field(default_factory=dict)  # everything else the entry says (description, ...)


@dataclass
class Catalogue:
    path: Path
    version: int
    entries: dict[str, Entry]

    def get(self, name: str) -> Entry:
        if name in self.entries:
            return self.entries[name]
        close = difflib.get_close_matches(name, list(self.entries), n=2, cutoff=0.5)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        raise UnknownNameError(f"no checkpoint '{name}' in the catalogue {self.path}; {hint}"
                               f"known: {', '.join(sorted(self.entries))} (or pull a Hub repo as org/name)")

    def find_repo(self, repo: str) -> Entry | None:
        """The entry published as Hub repo ``repo``, if any (so ``pull org/name`` is hash-checked too)."""
        return next((e for e in self.entries.values() if e.repo == repo), None)


def split_revision(name: str) -> tuple[str, str | None]:
    """``NAME@REV`` -> (NAME, REV); ``NAME`` -> (NAME, None)."""
    base, sep, revision = name.partition("@")
    if sep and not revision:
        raise ConfigError(f"'{name}': nothing after '@'; write NAME@REVISION (a branch, tag or commit sha)")
    return base, (revision or None)


def _entry(name: str, kind: str, raw: Any, path: Path) -> Entry:
    if not isinstance(raw, dict) or not isinstance(raw.get("repo"), str) or raw["repo"].count("/") != 1:
        raise ConfigError(f"{path}: {kind} entry '{name}' needs 'repo: org/name'")
    sha = raw.get("sha256")
    if sha is not None and (not isinstance(sha, str) or len(sha) != 64):
        raise ConfigError(f"{path}: entry '{name}': sha256 must be 64 hex digits or null, got {sha!r}")
    recipe = raw.get("recipe")
    if kind == "medzoo":
        if not isinstance(recipe, dict) or not RECIPE_KEYS <= set(recipe):
            missing = sorted(RECIPE_KEYS - set(recipe or {}))
            raise ConfigError(f"{path}: medzoo entry '{name}' recipe lacks {', '.join(missing)}")
    known = {"repo", "sha256", "file", "revision", "endpoint", "licence", "gated", "verified", "recipe"}
    return Entry(name=name, kind=kind, repo=raw["repo"], sha256=sha, file=raw.get("file", "model.safetensors"),
                 revision=str(raw.get("revision", "main")), endpoint=raw.get("endpoint"),
                 licence=str(raw.get("licence", "unknown")), gated=raw.get("gated", False),
                 verified=bool(raw.get("verified", kind == "medzoo")), recipe=recipe,
                 info={k: v for k, v in raw.items() if k not in known})


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """The catalogue at ``path``, else ``$MEDZOO_CATALOGUE``, else the shipped one."""
    path = Path(path or os.environ.get("MEDZOO_CATALOGUE") or DEFAULT_PATH)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"cannot read the checkpoint catalogue {path}: {err.strerror or err}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("version"), int):
        raise ConfigError(f"{path}: a catalogue is a mapping with 'version: N', 'medzoo:' and 'public:' sections")
    entries: dict[str, Entry] = {}
    for kind in ("medzoo", "public"):
        for name, raw in (data.get(kind) or {}).items():
            if name in entries:
                raise ConfigError(f"{path}: checkpoint '{name}' is listed twice")
            entries[name] = _entry(name, kind, raw, path)
    return Catalogue(path=path, version=data["version"], entries=entries)


def pinned_sha256(backbone_name: str, catalogue: str | Path | None = None) -> str | None:
    """The catalogue's sha256 for ``medzoo:NAME`` (None for a repo id or an entry without one).

    The suite resolver puts it into the run config, so a run id changes when the catalogue's weights do.
    """
    base, _ = split_revision(backbone_name.partition(":")[2])
    if "/" in base:
        return None
    return load_catalogue(catalogue).get(base).sha256
