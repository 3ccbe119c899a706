"""Provenance of a run: which medzoo, code, packages, plugins and hardware produced a result.

Everything is read without importing the packages it describes (``importlib.metadata``), so collecting
provenance never pulls in torch or a plugin. The host name is deliberately left out (privacy: records are
published to leaderboards and the Hub). The static part is computed once per process and cached; the
CUDA part is read on every call, and only when torch is already imported (it then costs nothing new).

Usage::

    from zoo.provenance import collect_provenance
    record["provenance"] = collect_provenance(num_processes=accelerator.num_processes)
"""

from __future__ import annotations

import copy
import functools
import logging
import os
import platform
import re
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, entry_points, version
from pathlib import Path
from typing import Any, Iterable

logger = logging.getLogger(__name__)

PACKAGES = (
    "torch", "torchvision", "timm", "accelerate", "datasets", "huggingface_hub", "safetensors", "numpy",
    "scikit-learn", "imbalanced-learn",
)
PLUGIN_GROUPS = ("medzoo.backbones", "medzoo.algorithms", "medzoo.datasets")
BUILTIN_DIST = "medzoo"  # same as zoo.registry.BUILTIN_DIST; not imported to keep this module standalone
_GIT_TIMEOUT_S = 5


def _package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def package_versions(names: Iterable[str]) -> dict[str, str | None]:
    """Installed versions by distribution name (``None`` when not installed), without importing anything.

    Usage::

        package_versions(["torch", "timm"])   # {'torch': '2.4.1', 'timm': '1.0.9'}
    """
    return {name: _package_version(name) for name in names}


def _git(args: list[str], cwd: Path) -> str | None:
    """Output of one git command, or None when git is missing, slow or fails (no repository)."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # `git status` must not take index.lock from a sweep
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=_GIT_TIMEOUT_S,
                              env=env, check=False)
    except (OSError, subprocess.SubprocessError) as err:
        logger.debug("git %s failed: %s", " ".join(args), err)
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip()


def _stamped_state(package_dir: Path) -> dict[str, Any]:
    """The commit stamped into a built wheel, from ``package_dir/_build_info.py`` (read, not imported)."""
    stamp = package_dir / "_build_info.py"
    values: dict[str, Any] = {"GIT_SHA": None, "GIT_DIRTY": None}
    if stamp.is_file():
        import ast

        for node in ast.parse(stamp.read_text()).body:
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id in values:
                values[node.targets[0].id] = ast.literal_eval(node.value)
    return {"sha": values["GIT_SHA"], "dirty": values["GIT_DIRTY"]}


def git_state(package_dir: Path | None = None) -> dict[str, Any]:
    """``{"sha", "dirty"}`` of the git checkout medzoo runs from; both ``None`` when it is not one.

    Only a checkout whose top level holds the ``zoo`` package counts: an installed wheel inside some other
    repository (a virtual environment in a project folder) must not report that project's commit. An
    installed wheel reports the commit it was built from (``zoo/_build_info.py``, written by setup.py).

    Usage::

        git_state()   # {'sha': '5fdec61...', 'dirty': True}
    """
    package_dir = Path(package_dir) if package_dir else Path(__file__).resolve().parent
    top = _git(["rev-parse", "--show-toplevel"], package_dir)
    if not top or Path(top).resolve() != package_dir.parent.resolve():
        return _stamped_state(package_dir)
    sha = _git(["rev-parse", "HEAD"], package_dir)
    status = _git(["status", "--porcelain", "--untracked-files=no"], package_dir) if sha else None
    return {"sha": sha, "dirty": None if status is None else bool(status)}


def plugin_distributions() -> list[dict[str, str]]:
    """Third-party distributions declaring medzoo entry points: ``[{"name", "version"}]``, not imported.

    Usage::

        plugin_distributions()   # [{'name': 'medzoo-example-plugin', 'version': '0.1.0'}]
    """
    found: dict[str, str] = {}
    for group in PLUGIN_GROUPS:
        for ep in entry_points(group=group):
            dist = getattr(ep, "dist", None)
            name = (dist.metadata["Name"] if dist is not None else None) or "unknown"
            if name.lower() != BUILTIN_DIST:
                found[name] = (dist.version if dist is not None else "") or ""
    return [{"name": name, "version": found[name]} for name in sorted(found, key=str.lower)]


@functools.lru_cache(maxsize=1)
def _claimants() -> dict[tuple[str, str], list[tuple[str, str]]]:
    """``{(kind, name): [(dist, version), ...]}``, built-in first: every claimant of a component name.

    Read once per process (about 0.1 s of metadata per read; a process's installed distributions do not
    change while it runs, and a worker or job is a fresh process).
    """
    declared: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for group in PLUGIN_GROUPS:
        kind = group.rsplit(".", 1)[1].rstrip("s")  # "medzoo.algorithms" -> "algorithm"
        for ep in entry_points(group=group):
            dist = getattr(ep, "dist", None)
            name = (dist.metadata["Name"] if dist is not None else None) or "unknown"
            claim = (name, (dist.version if dist is not None else "") or "")
            claimants = declared.setdefault((kind, ep.name), [])
            if claim not in claimants:
                claimants.insert(0 if name == BUILTIN_DIST else len(claimants), claim)
    return declared


def component_sources(components: dict[str, str | Iterable[str]]) -> dict[str, Any]:
    """Which distribution declares each named component (read from entry points, nothing imported).

    ``components`` maps an entry-point kind (``algorithm``, ``backbone``, ``dataset``) to a name or names;
    ``timm/resnet18`` is looked up as its prefix ``timm``. Built-ins answer ``medzoo`` (a built-in's name stays
    the built-in's even when a plugin declares it too, as in ``zoo.registry``); ``dist:name`` answers that
    distribution's entry; a name no entry point declares answers ``None``. Leaderboards label plugin entries
    with this (docs/architecture.md, principle 8).

    Usage::

        component_sources({"algorithm": "dann", "backbone": "timm/resnet18"})
        # {'algorithm': {'name': 'dann', 'dist': 'medzoo', 'version': '0.1.0'}, 'backbone': {...}}
    """
    declared = _claimants()

    def claimant(kind: str, name: str) -> tuple[str, str] | None:
        dist, sep, plain = name.partition(":")
        if sep:  # "medzoo-x:dann": that distribution's entry
            return next((c for c in declared.get((kind, plain), []) if _normal(c[0]) == _normal(dist)), None)
        found = declared.get((kind, name)) or declared.get((kind, name.partition("/")[0]))
        return found[0] if found else None

    def source(kind: str, name: str) -> dict[str, Any]:
        found = claimant(kind, name)
        return {"name": name, "dist": found[0] if found else None, "version": found[1] if found else None}

    out: dict[str, Any] = {}
    for kind, names in components.items():
        out[kind] = source(kind, names) if isinstance(names, str) else [source(kind, n) for n in names]
    return out


def _normal(dist: str) -> str:
    """A distribution name as PEP 503 compares them (as ``zoo.registry.normalize_dist``)."""
    return re.sub(r"[-_.]+", "-", dist).lower()


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware", "cpu model") and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or None


def _usable_cpus() -> int | None:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count()


def _cuda_info() -> dict[str, Any]:
    """CUDA devices, read only when torch was already imported by someone else (never imports it)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return {"cuda_available": None, "cuda_device_count": None, "cuda_devices": None, "cuda_version": None}
    try:
        available = bool(torch.cuda.is_available())
        count = torch.cuda.device_count() if available else 0
        names = [torch.cuda.get_device_name(i) for i in range(count)]
        cuda_version = getattr(torch.version, "cuda", None)
    except Exception as err:  # noqa: BLE001 - a broken driver must not lose a finished run's record
        logger.debug("could not read CUDA devices: %s", err)
        return {"cuda_available": None, "cuda_device_count": None, "cuda_devices": None, "cuda_version": None,
                "cuda_error": f"{type(err).__name__}: {err}"}
    return {"cuda_available": available, "cuda_device_count": count, "cuda_devices": names,
            "cuda_version": cuda_version}


@functools.lru_cache(maxsize=8)
def _static_provenance(extra_packages: tuple[str, ...]) -> dict[str, Any]:
    from zoo.version import __version__

    return {
        "medzoo_version": __version__,
        "git": git_state(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": package_versions(dict.fromkeys(PACKAGES + extra_packages)),
        "plugins": plugin_distributions(),
        "hardware": {"cpu_count": os.cpu_count(), "cpus_usable": _usable_cpus(), "cpu_model": _cpu_model(),
                     "machine": platform.machine()},
    }


def collect_provenance(extra_packages: Iterable[str] = (), num_processes: int | None = None) -> dict[str, Any]:
    """Provenance for a result record (a fresh dict each call; the expensive part is cached per process).

    ``extra_packages`` adds distributions to the version list; ``num_processes`` is how many processes ran
    the job (e.g. ``accelerator.num_processes``). No host name is recorded.

    Usage::

        prov = collect_provenance(extra_packages=["medmnist"], num_processes=2)
        prov["git"]["sha"], prov["packages"]["timm"], prov["hardware"]["cuda_devices"]
    """
    result = copy.deepcopy(_static_provenance(tuple(sorted(set(extra_packages)))))
    result["hardware"].update(_cuda_info())
    result["hardware"]["num_processes"] = num_processes
    # CPU kernels split work by thread count, so weights can differ in the last bits between thread counts:
    # recorded with the run (read from torch only if the caller already imported it: provenance stays light)
    threads = getattr(sys.modules.get("torch"), "get_num_threads", None)
    result["hardware"]["torch_threads"] = threads() if callable(threads) else None
    return result


def clear_cache() -> None:
    """Forget the cached provenance (tests; after installing a plugin in a running process).

    Usage::

        clear_cache()
    """
    _static_provenance.cache_clear()
