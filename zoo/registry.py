"""One generic registry for every kind of thing medzoo can name: backbones, algorithms, datasets, suites.

An entry is either an object registered in code (``@BACKBONES.register("simple_cnn")``) or a lazy
``"module:attr"`` target declared by an entry point, imported on first use. A broken entry (import
error, missing attribute, wrong type, two distributions claiming one name) is recorded with its
distribution, version and error; it never breaks the other entries, and using it raises a one-line
``PluginError`` that names the distribution.

Entry points are added with ``claim``: a built-in name always stays the built-in's. A plugin declaring a
name that is already taken is kept as a *conflict* entry under ``dist:name`` (``medzoo-x:dann``), usable
by that name; two plugins declaring one new name break the plain name and each stays reachable as
``dist:name``. Any plugin entry may be named ``dist:name``.

Renamed entries keep their old names as aliases, declared once in ``ALIASES`` (kind -> {old: new}): every
lookup (``get``, ``entry``, ``in``) accepts the old name, and the first use of each logs one deprecation line
per process (and a ``DeprecationWarning``); listings show the new name. Names that are not a ``Registry``'s
(the selection rules) use the same table through ``canonical_name``.

Usage::

    from zoo.registry import Registry
    ALGOS = Registry("algorithm", group="medzoo.algorithms")
    @ALGOS.register("my_algo")
    class MyAlgo: ...
    ALGOS.get("my_algo")          # -> MyAlgo
    ALGOS.get("my_algoo")         # UnknownNameError: ... did you mean 'my_algo'?
    ALGOS.claim("my_algo", "pkg.mod:Algo", dist="medzoo-x", version="1.0")   # kept as 'medzoo-x:my_algo'
    ALGOS.get("medzoo-x:my_algo")
    canonical_name("algorithm", "finetune")   # 'source_then_target' (logs the rename once)
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import logging
import re
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from zoo.errors import PluginError, RegistryConflictError, UnknownNameError

logger = logging.getLogger(__name__)

BUILTIN_DIST = "medzoo"

# Old names that still work (issue 18): kind -> {old name: new name}. Never remove an entry: suites, scripts
# and stored records use the old names. Run ids hash the old names (zoo/bench/run_config.py:ID_LEGACY_NAMES)
# and records written before a rename are read as the new name (zoo/results/names.py).
ALIASES: dict[str, dict[str, str]] = {
    "algorithm": {"finetune": "source_then_target"},
    "selection rule": {"dev": "deep_embedded_validation"},
    "split": {"target_val_budget": "target_val"},  # record schema 3: a split has its selection rule's name
}
_warned: set[tuple[str, str]] = set()


def canonical_name(kind: str, name: str, *, warn: bool = True) -> str:
    """The current name of ``name`` (itself unless it is an old name in ``ALIASES[kind]``).

    An old name logs one line per process, ``'finetune' is now called 'source_then_target'; the old name
    still works``, and issues a ``DeprecationWarning`` (``warn=False``: silent, for readers of stored records).

    Usage::

        canonical_name("selection rule", "dev")   # 'deep_embedded_validation'
    """
    new = ALIASES.get(kind, {}).get(name) if isinstance(name, str) else None
    if new is None:
        return name
    if warn and (kind, name) not in _warned:
        _warned.add((kind, name))
        message = f"'{name}' is now called '{new}'; the old name still works"
        logger.warning(message)
        warnings.warn(message, DeprecationWarning, stacklevel=2)
    return new


def former_names(kind: str, name: str) -> list[str]:
    """The old names of ``name`` (``['finetune']`` for ``source_then_target``), for listings and cards.

    Usage::

        former_names("algorithm", "source_then_target")   # ['finetune']
    """
    return sorted(old for old, new in ALIASES.get(kind, {}).items() if new == name)


def normalize_dist(name: str) -> str:
    """A distribution name as PEP 503 compares them: ``Medzoo_Bad.Plugin`` -> ``medzoo-bad-plugin``."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Entry:
    """One named entry of a registry and everything known about where it came from."""

    name: str
    kind: str
    target: Any  # "module:attr" (lazy), or the object itself
    dist: str = BUILTIN_DIST
    version: str = ""
    obj: Any = None
    loaded: bool = False
    error: str | None = None
    disabled: bool = False
    also: list[str] = field(default_factory=list)  # other distributions that claimed this name
    conflict: str | None = None  # why this entry is only reachable as ``dist:name`` (another claims the name)

    @property
    def source(self) -> str:
        """Human-readable origin, e.g. ``medzoo-example-plugin 0.1.0``."""
        return f"{self.dist} {self.version}".strip()

    @property
    def status(self) -> str:
        if self.disabled:
            return "disabled"
        if self.error:
            return "broken"
        if self.conflict:
            return "conflict"
        return "loaded" if self.loaded else "available"

    @property
    def is_builtin(self) -> bool:
        return self.dist == BUILTIN_DIST


def import_target(target: str) -> Any:
    """Import ``"package.module:attr.sub"`` and return the attribute (how every lazy entry is loaded)."""
    module_name, _, attr_path = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in filter(None, attr_path.split(".")):
        obj = getattr(obj, part)
    return obj


class Registry:
    """A name -> object mapping with lazy entry-point targets, conflict detection and helpful misses.

    ``check(obj)`` validates a loaded object and returns an error string (or None); it lets each kind
    state its contract (an Algorithm subclass, a callable, ...) without the registry knowing it.
    ``discover(registry)`` is called once, on first access, to add its entries: ``zoo.plugins.discover_into``
    adds the entry points of ``group`` (the registry never imports ``zoo.plugins`` itself: the layer above
    it passes the callback). Without ``discover`` only entries added in code exist.
    """

    def __init__(
        self,
        kind: str,
        group: str | None = None,
        check: Callable[[Any], str | None] | None = None,
        loader: Callable[[Any], Any] | None = None,
        discover: Callable[["Registry"], None] | None = None,
    ) -> None:
        self.kind = kind
        self.group = group
        self._check = check
        self._loader = loader or import_target
        self._entries: dict[str, Entry] = {}
        self._discover = discover
        self._discovered = discover is None
        self._lock = threading.RLock()

    # -- adding -----------------------------------------------------------------------------------
    def register(self, name: str | None = None, *, dist: str = BUILTIN_DIST, version: str = "") -> Callable:
        """Decorator registering an object under ``name`` (default: its ``__name__``)."""

        def decorator(obj: Any) -> Any:
            self.add(name or obj.__name__, obj, dist=dist, version=version, lazy=False)
            return obj

        return decorator

    def add(self, name: str, target: Any, *, dist: str = BUILTIN_DIST, version: str = "", lazy: bool = True) -> Entry:
        """Add an entry; a second *different* source for one name raises ``RegistryConflictError``."""
        with self._lock:
            existing = self._entries.get(name)
            if existing is not None:
                if existing.dist == dist and existing.target == target:
                    return existing  # the same declaration seen twice (e.g. duplicate metadata paths)
                raise RegistryConflictError(
                    f"{self.kind} '{name}' is registered twice: by {existing.source or existing.dist} "
                    f"({existing.target if isinstance(existing.target, str) else 'code'}) and by "
                    f"{dist} {version}".rstrip() + "; uninstall one of them or rename the entry"
                )
            entry = Entry(name=name, kind=self.kind, target=target, dist=dist, version=version)
            if not lazy:
                entry.obj, entry.loaded = target, True
                entry.error = self._validate(target)
            self._entries[name] = entry
            return entry

    def add_conflict(self, name: str, target: str, *, dist: str, version: str) -> None:
        """Record that another distribution also claims ``name``: the entry becomes broken for both."""
        with self._lock:
            entry = self._entries[name]
            entry.also.append(f"{dist} {version}".strip())
            claimants = ", ".join([entry.source] + entry.also)
            entry.error = f"name claimed by several distributions ({claimants}); uninstall all but one"

    def claim(self, name: str, target: Any, *, dist: str, version: str = "", disabled: bool = False) -> Entry:
        """Add an entry-point declaration; a clash never takes a built-in's name or silently picks a plugin.

        - a built-in keeps its name: the plugin's entry is stored as ``dist:name`` with a conflict note;
        - a disabled plugin (``MEDZOO_DISABLE_PLUGINS``) never takes a name from an enabled claimant: it is
          stored as ``dist:name``, disabled, with no conflict (disabling it restores the other entry);
        - two enabled plugins: the plain name is broken (naming both) and each is reachable as ``dist:name``.

        Which entry gets the plain name does not depend on the order the declarations arrive in.
        """
        with self._lock:
            existing = self._entries.get(name)
            if existing is None:
                entry = self.add(name, target, dist=dist, version=version)
                entry.disabled = disabled
                return entry
            if existing.dist == dist and existing.target == target:
                return existing
            if existing.dist == dist:  # one distribution declaring a name twice: a packaging bug, shown as broken
                self.add_conflict(name, target, dist=dist, version=version)
                return existing
            new = Entry(name=name, kind=self.kind, target=target, dist=dist, version=version, disabled=disabled)
            contested = bool(existing.also)  # the plain name is already a broken multi-claim
            if dist != BUILTIN_DIST and (disabled or existing.is_builtin):
                return self._qualify(new, holder=existing)
            if dist == BUILTIN_DIST or (existing.disabled and not contested):  # the newcomer takes the plain name
                if not existing.is_builtin and not contested:  # (a multi-claim already has its qualified copies)
                    self._qualify(existing, holder=new)
                self._entries[name] = new
                return new
            # two enabled plugins: neither wins the plain name; each stays reachable by its qualified name
            if not contested:
                self._qualify(dataclasses.replace(existing, also=[]), holder=None)
            self._qualify(new, holder=None)
            self.add_conflict(name, target, dist=dist, version=version)
            existing.error += f", or name one as {' or '.join(repr(q) for q in self._qualified_names(name))}"
            return self._entries[new.name]

    def _qualify(self, entry: Entry, holder: Entry | None) -> Entry:
        """Store ``entry`` as ``dist:name``; ``holder`` has the plain name (``None``: several plugins contest it)."""
        plain = entry.name
        entry.name = f"{entry.dist}:{plain}"
        if entry.disabled:
            pass  # disabled on purpose: not a conflict, the other claimant simply keeps the name
        elif holder is None:
            entry.conflict = f"'{plain}' is claimed by several distributions; this one is reachable as '{entry.name}'"
        else:
            what = f"{'built-in ' if holder.is_builtin else ''}{self.kind} of {holder.source}"
            entry.conflict = (f"'{plain}' is the {what}, which keeps the name; this entry is reachable as "
                              f"'{entry.name}' (or rename it in the plugin's entry points)")
        self._entries[entry.name] = entry
        return entry

    def _qualified_names(self, plain: str) -> list[str]:
        """The ``dist:name`` keys stored for ``plain`` (claims that did not get the plain name)."""
        return sorted(k for k in self._entries if k.endswith(f":{plain}") and k.count(":") == 1)

    def alias(self, old: str, new: str) -> None:
        """Let the old name ``old`` name the entry ``new`` (added to ``ALIASES`` under this registry's kind)."""
        with self._lock:
            ALIASES.setdefault(self.kind, {})[old] = new

    def canonical(self, name: str) -> str:
        """``name``, or the entry's current name when ``name`` is an old one (logged once: ``canonical_name``)."""
        if name in self._entries:  # a registered name always wins over an alias
            return name
        return canonical_name(self.kind, name)

    def remove(self, name: str) -> None:
        """Forget an entry (used by tests and by plugin authors re-registering in a session)."""
        with self._lock:
            self._entries.pop(name, None)

    # -- reading ----------------------------------------------------------------------------------
    def _ensure_discovered(self) -> None:
        if self._discovered:
            return
        with self._lock:
            if self._discovered:
                return
            self._discovered = True
            self._discover(self)

    def entries(self) -> list[Entry]:
        """Every entry, sorted by name, broken and disabled ones included (nothing is imported)."""
        self._ensure_discovered()
        return sorted(self._entries.values(), key=lambda e: e.name)

    def names(self, include_broken: bool = False) -> list[str]:
        """Names of usable entries (and of broken ones, if asked)."""
        return [e.name for e in self.entries() if include_broken or (e.error is None and not e.disabled)]

    def __contains__(self, name: str) -> bool:
        self._ensure_discovered()
        name = self.canonical(name)
        return name in self._entries or self._by_qualified_name(name) is not None

    def entry(self, name: str) -> Entry:
        """The ``Entry`` for ``name``, or ``UnknownNameError`` with a did-you-mean hint."""
        self._ensure_discovered()
        name = self.canonical(name)
        entry = self._entries.get(name) or self._by_qualified_name(name)
        if entry is None:
            raise UnknownNameError(self.unknown_message(name))
        return entry

    def _by_qualified_name(self, name: str) -> Entry | None:
        """``dist:name`` (the distribution spelled any PEP 503 way) -> that distribution's entry, if any."""
        dist, sep, plain = name.partition(":")
        if not sep:
            return None
        wanted = normalize_dist(dist)
        for entry in (self._entries.get(plain), *(self._entries.get(q) for q in self._qualified_names(plain))):
            if entry is not None and normalize_dist(entry.dist) == wanted and not (entry.also and entry.error):
                return entry
        return None

    def unknown_message(self, name: str) -> str:
        """'unknown backbone 'resnt18'; did you mean 'resnet18'? available: ...'."""
        names = self.names()
        spellings = {**{old: new for old, new in ALIASES.get(self.kind, {}).items() if new in names},
                     **{n: n for n in names}}  # a typo of an old name suggests the current one
        close = list(dict.fromkeys(spellings[c] for c in difflib.get_close_matches(name, spellings, n=3, cutoff=0.6)))
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        listing = ", ".join(names) if names else "(none)"
        return f"unknown {self.kind} '{name}'{hint} available: {listing}"

    def get(self, name: str) -> Any:
        """Load (once) and return the object registered as ``name`` (or under the new name of an old one)."""
        entry = self.entry(name)
        with self._lock:
            if entry.disabled:
                raise PluginError(
                    f"{self.kind} '{name}' from {entry.source} is disabled (MEDZOO_DISABLE_PLUGINS); "
                    "remove it from that variable to use it"
                )
            if not entry.loaded and entry.error is None:
                self._load(entry)
            if entry.error is not None:
                raise PluginError(f"{self.kind} '{name}' from {entry.source} is broken: {entry.error}")
            return entry.obj

    def load_all(self, builtins: bool = True) -> list[Entry]:
        """Import every entry (for ``medzoo plugins``/strict mode); returns the broken ones.

        ``builtins=False`` imports only third-party entries: ``medzoo list`` uses it to give each plugin its
        final status without paying for medzoo's own heavy modules (timm, datasets).
        """
        for entry in self.entries():
            if not entry.loaded and entry.error is None and not entry.disabled and (builtins or not entry.is_builtin):
                self._load(entry)
        return [e for e in self.entries() if e.error]

    def _load(self, entry: Entry) -> None:
        try:
            obj = self._loader(entry.target)
        except ModuleNotFoundError as exc:
            entry.error = f"missing module '{exc.name}' ({exc}); install the package that provides it"
            return
        except AttributeError as exc:
            entry.error = f"entry point '{entry.target}' names a missing attribute ({exc})"
            return
        except Exception as exc:  # noqa: BLE001 - any import-time failure of third-party code is recorded
            entry.error = f"{type(exc).__name__} while importing '{entry.target}': {exc}"
            logger.debug("failed to load %s %s", self.kind, entry.name, exc_info=True)
            return
        entry.error = self._validate(obj)
        entry.obj, entry.loaded = obj, entry.error is None

    def _validate(self, obj: Any) -> str | None:
        return self._check(obj) if self._check else None

    def __iter__(self) -> Iterable[str]:
        return iter(self.names())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._entries)} entries)"
