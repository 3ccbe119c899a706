"""The generic Registry (docs/architecture.md, principle 2): lazy targets, conflicts, did-you-mean, broken entries.

Every registry here is a fresh ``Registry`` without an entry-point group, so nothing is discovered and
the tests see exactly the entries they add. Lazy targets are real modules written to ``tmp_path``.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

from zoo.errors import MedzooError, PluginError, RegistryConflictError, UnknownNameError
from zoo.registry import Registry


def _module(tmp_path: Path, source: str) -> str:
    """Write a uniquely named module into ``tmp_path`` (already on sys.path) and return its name."""
    name = f"medzoo_test_mod_{uuid.uuid4().hex[:12]}"
    (tmp_path / f"{name}.py").write_text(source)
    return name


@pytest.fixture
def importable(tmp_path, monkeypatch):
    """``tmp_path`` on sys.path; test modules are removed from sys.modules afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("medzoo_test_mod_"):
            del sys.modules[name]


def _is_class(obj):
    return None if isinstance(obj, type) else f"expected a class, got {obj!r}"


def test_register_decorator_and_get():
    reg = Registry("widget")

    @reg.register("blue")
    class Blue:
        pass

    @reg.register()  # default name: the object's __name__
    class Red:
        pass

    assert reg.get("blue") is Blue
    assert reg.get("Red") is Red
    assert reg.names() == ["Red", "blue"]
    assert "blue" in reg and "green" not in reg
    assert reg.entry("blue").status == "loaded"


def test_lazy_target_is_imported_only_on_first_get(importable):
    mod = _module(importable, "class Thing:\n    '''A thing.'''\n    value = 42\n")
    reg = Registry("widget", check=_is_class)
    reg.add("thing", f"{mod}:Thing", dist="thing-dist", version="1.0")

    # Listing reads the declaration only: the module is not imported.
    assert reg.names() == ["thing"]
    assert reg.entry("thing").status == "available"
    assert mod not in sys.modules

    obj = reg.get("thing")
    assert mod in sys.modules
    assert obj is sys.modules[mod].Thing and obj.value == 42
    assert reg.entry("thing").status == "loaded"
    assert reg.get("thing") is obj  # loaded once, cached


def test_lazy_target_with_dotted_attribute(importable):
    mod = _module(importable, "class Outer:\n    class Inner:\n        pass\n")
    reg = Registry("widget")
    reg.add("inner", f"{mod}:Outer.Inner")
    assert reg.get("inner") is sys.modules[mod].Outer.Inner


def test_conflicting_sources_raise_naming_both():
    reg = Registry("widget")
    reg.add("dup", "pkg_a.mod:Thing", dist="dist-alpha", version="1.0")
    with pytest.raises(RegistryConflictError) as info:
        reg.add("dup", "pkg_b.mod:Thing", dist="dist-beta", version="2.0")
    message = str(info.value)
    assert "dist-alpha" in message and "dist-beta" in message and "'dup'" in message
    assert isinstance(info.value, MedzooError)
    # The first declaration is kept intact.
    assert reg.entry("dup").target == "pkg_a.mod:Thing"


def test_conflict_between_two_objects_registered_in_code():
    reg = Registry("widget")
    reg.register("same")(type("A", (), {}))
    with pytest.raises(RegistryConflictError):
        reg.register("same")(type("B", (), {}))


def test_same_declaration_seen_twice_is_not_a_conflict():
    # The same distribution visible twice on sys.path declares the same target twice: harmless.
    reg = Registry("widget")
    first = reg.add("x", "pkg.mod:X", dist="d", version="1")
    assert reg.add("x", "pkg.mod:X", dist="d", version="1") is first


def test_add_conflict_breaks_the_entry_and_names_every_claimant():
    reg = Registry("widget")
    reg.add("dup", "a:X", dist="dist-alpha", version="1.0")
    reg.add_conflict("dup", "b:X", dist="dist-beta", version="2.0")
    entry = reg.entry("dup")
    assert entry.status == "broken"
    assert "dup" in reg.names(include_broken=True) and "dup" not in reg.names()
    with pytest.raises(PluginError) as info:
        reg.get("dup")
    assert "dist-alpha" in str(info.value) and "dist-beta" in str(info.value)


def test_unknown_name_suggests_and_lists():
    reg = Registry("backbone")
    for name in ("resnet18", "resnet50", "simple_cnn"):
        reg.register(name)(type(name, (), {}))
    with pytest.raises(UnknownNameError) as info:
        reg.get("resnt18")
    message = str(info.value)
    assert "did you mean 'resnet18'" in message
    assert "unknown backbone 'resnt18'" in message
    assert "resnet18, resnet50, simple_cnn" in message  # what exists
    assert not message.startswith(("'", '"'))  # not KeyError's quoted repr
    assert isinstance(info.value, KeyError) and isinstance(info.value, MedzooError)

    with pytest.raises(UnknownNameError) as info:
        reg.get("zzzz")
    assert "did you mean" not in str(info.value)
    assert "available: resnet18, resnet50, simple_cnn" in str(info.value)


def test_unknown_name_in_empty_registry():
    with pytest.raises(UnknownNameError, match=r"available: \(none\)"):
        Registry("widget").get("anything")


@pytest.mark.parametrize(
    "case, source, attr, expected",
    [
        ("missing module", None, "Thing", "missing module"),
        ("missing attribute", "class Other:\n    pass\n", "Thing", "missing attribute"),
        ("raises at import", "raise RuntimeError('plugin exploded at import')\n", "Thing", "plugin exploded at import"),
        ("missing dependency", "import medzoo_no_such_dependency_xyz\nclass Thing:\n    pass\n", "Thing",
         "medzoo_no_such_dependency_xyz"),
        ("wrong type", "Thing = 42\n", "Thing", "expected a class, got 42"),
    ],
)
def test_broken_lazy_target_is_recorded_and_others_keep_working(importable, case, source, attr, expected):
    mod = f"medzoo_test_mod_missing_{uuid.uuid4().hex[:8]}" if source is None else _module(importable, source)
    good = _module(importable, "class Good:\n    pass\n")
    reg = Registry("widget", check=_is_class)
    reg.add("bad", f"{mod}:{attr}", dist="broken-plugin-dist", version="0.3")
    reg.add("good", f"{good}:Good", dist="good-dist", version="1.0")

    # Before loading, nothing is known to be wrong (nothing was imported).
    assert reg.entry("bad").status == "available"

    with pytest.raises(PluginError) as info:
        reg.get("bad")
    message = str(info.value)
    assert "broken-plugin-dist 0.3" in message, message
    assert expected in message, message
    assert "\n" not in message
    entry = reg.entry("bad")
    assert entry.status == "broken" and expected in entry.error
    assert (entry.dist, entry.version) == ("broken-plugin-dist", "0.3")

    # A second get fails the same way (the error is sticky, no re-import storm) ...
    with pytest.raises(PluginError):
        reg.get("bad")
    # ... and the other entry is untouched.
    assert reg.get("good") is sys.modules[good].Good
    assert reg.names() == ["good"]
    assert reg.names(include_broken=True) == ["bad", "good"]


def test_load_all_reports_exactly_the_broken_entries(importable):
    good = _module(importable, "class Good:\n    pass\n")
    reg = Registry("widget", check=_is_class)
    reg.add("good", f"{good}:Good")
    reg.add("bad", f"{good}:Missing", dist="bad-dist")
    broken = reg.load_all()
    assert [e.name for e in broken] == ["bad"]
    assert reg.entry("good").status == "loaded"


def test_wrong_type_registered_in_code_is_broken_not_fatal():
    reg = Registry("widget", check=_is_class)
    reg.add("number", 7, dist="code-dist", lazy=False)  # must not raise at registration
    with pytest.raises(PluginError, match="code-dist"):
        reg.get("number")


def test_disabled_entry_explains_how_to_enable_it():
    reg = Registry("widget")
    reg.add("off", "x:Y", dist="some-dist").disabled = True
    assert reg.entry("off").status == "disabled"
    assert "off" not in reg.names()
    with pytest.raises(PluginError, match="MEDZOO_DISABLE_PLUGINS"):
        reg.get("off")


def test_discover_hook_runs_once_on_first_access():
    calls = []

    def discover(registry):
        calls.append(1)
        registry.add("found", "m:X", dist="plug")

    reg = Registry("widget", discover=discover)
    assert calls == []  # construction discovers nothing
    assert reg.names() == ["found"]
    assert "found" in reg
    reg.entries()
    assert calls == [1]


def test_every_kind_has_one_registry_fed_by_its_entry_point_group():
    # `medzoo list KIND` answers unknown kinds without importing the registries, from this tuple.
    from zoo.registries import KINDS, all_registries, registry_for

    registries = all_registries()
    assert set(KINDS) == set(registries) | {"suites"}
    for kind, registry in registries.items():
        assert registry.group == f"medzoo.{kind}", (kind, registry.group)
        assert registry_for(kind) is registry
    assert "quick" in registry_for("suites").names()


# -- claims from entry points: built-in names win, every plugin entry stays reachable as dist:name --------
BUILTIN = {"target": "builtin.mod:Dann", "dist": "medzoo", "version": "0.1.0"}
PLUGIN = {"target": "bad_plugin.mod:Dann", "dist": "medzoo-bad-plugin", "version": "0.2.0"}


def _claims(*claims: tuple[dict, bool]) -> Registry:
    reg = Registry("widget")
    for claim, disabled in claims:
        reg.claim("dann", claim["target"], dist=claim["dist"], version=claim["version"], disabled=disabled)
    return reg


@pytest.mark.parametrize("plugin_first", [True, False], ids=["plugin-first", "builtin-first"])
def test_a_plugin_claiming_a_builtin_name_never_replaces_the_builtin(plugin_first):
    claims = [(PLUGIN, False), (BUILTIN, False)]
    reg = _claims(*(claims if plugin_first else claims[::-1]))
    assert reg.entry("dann").dist == "medzoo" and reg.entry("dann").status == "available"
    shadowed = reg.entry("medzoo-bad-plugin:dann")
    assert shadowed.target == PLUGIN["target"] and shadowed.status == "conflict"
    assert "built-in widget of medzoo 0.1.0" in shadowed.conflict and "'medzoo-bad-plugin:dann'" in shadowed.conflict
    assert reg.entry("Medzoo_Bad.Plugin:dann") is shadowed  # the distribution spelled any PEP 503 way
    assert reg.names() == ["dann", "medzoo-bad-plugin:dann"]


@pytest.mark.parametrize("plugin_first", [True, False], ids=["plugin-first", "builtin-first"])
def test_disabling_the_plugin_restores_the_builtin_with_no_conflict(plugin_first):
    claims = [(PLUGIN, True), (BUILTIN, False)]
    reg = _claims(*(claims if plugin_first else claims[::-1]))
    assert reg.entry("dann").dist == "medzoo"
    off = reg.entry("medzoo-bad-plugin:dann")
    assert off.status == "disabled" and off.conflict is None
    assert [e.status for e in reg.entries()] == ["available", "disabled"]


def test_two_plugins_claiming_one_new_name_break_it_and_stay_reachable_by_distribution():
    other = {**PLUGIN, "target": "other.mod:Dann", "dist": "medzoo-other"}
    reg = _claims((PLUGIN, False), (other, False))
    plain = reg.entry("dann")
    assert plain.status == "broken" and "'medzoo-bad-plugin:dann' or 'medzoo-other:dann'" in plain.error
    assert reg.entry("medzoo-other:dann").target == "other.mod:Dann"
    assert reg.entry("medzoo-bad-plugin:dann").target == PLUGIN["target"]
    assert "dann" not in reg.names()


def test_any_plugin_entry_can_be_named_by_its_distribution(importable):
    mod = _module(importable, "class Thing:\n    pass\n")
    reg = Registry("widget")
    reg.claim("thing", f"{mod}:Thing", dist="medzoo-things", version="1.0")
    assert reg.get("medzoo-things:thing") is reg.get("thing")
    with pytest.raises(UnknownNameError):
        reg.get("medzoo-other:thing")



def test_one_distribution_declaring_a_name_twice_breaks_it():
    reg = Registry("widget")
    reg.claim("dann", "a:Dann", dist="medzoo", version="0.1.0")
    reg.claim("dann", "b:Dann", dist="medzoo", version="0.1.0")
    assert reg.entry("dann").status == "broken" and reg.names() == []
