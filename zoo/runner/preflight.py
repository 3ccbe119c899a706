"""The runner's pre-flight conformance check of third-party plugins: a broken plugin fails before training.

``medzoo plugins`` can only tell that a plugin *imports*; whether its algorithm returns a loss or its
dataset's labels index its label names shows when the runner uses it, mid-suite, as a traceback that
never names the plugin. So before the first run trains, ``check_plugins`` runs the conformance kit
(``zoo.testing``) on each third-party algorithm and dataset the runs will use, and turns the first failure
into one line naming the distribution, the entry, the broken rule and how to get going again.

What is checked, and what it costs:

- each plugin **algorithm** once, by ``zoo.testing.check_algorithm`` (with the hyperparameters of its first
  run): tiny synthetic 28 px batches on ``simple_cnn``, a few seconds on one CPU thread;
- each plugin **dataset** once, by ``zoo.testing.check_dataset``: with the factory's own small
  ``conformance_kwargs`` when it declares them (milliseconds to a second), else with the options of the
  first domain that uses it (the factory then builds that domain twice more: the kit checks determinism);
- medzoo's built-ins never: medzoo's conformance test suite checks them, and they cost nothing here.

Plugin backbones are left to ``check_buildable``, which builds the run's model and runs a forward pass.

Usage::

    from zoo.runner.preflight import check_plugins
    check_plugins(runs, data_dir=None, download=False)    # PluginError: plugin 'medzoo-x' (algorithm 'y'): ...
"""

from __future__ import annotations

import inspect
import logging
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from zoo.bench.run_spec import RunSpec
from zoo.errors import MedzooError, PluginError
from zoo.registry import Entry

logger = logging.getLogger(__name__)


def _plugin_components(runs: Iterable[RunSpec]) -> list[tuple[Entry, str, RunSpec, dict[str, Any] | None]]:
    """``(entry, name as named, first run using it, domain spec)`` of each third-party algorithm and dataset."""
    from zoo.algorithms import ALGORITHMS
    from zoo.algorithms.variants import base_algorithm
    from zoo.datasets import DATASETS

    found: dict[tuple[str, str], tuple[Entry, str, RunSpec, dict[str, Any] | None]] = {}
    for run in runs:
        task = run.config["task"]
        name = base_algorithm(run.algorithm)
        entry = ALGORITHMS.entry(name)
        if not entry.is_builtin:
            found.setdefault(("algorithm", entry.name), (entry, name, run, None))
        steps = [step["domain"] for step in task.get("pretrain") or []]
        for domains in (task["sources"], task["target"], *steps):
            for spec in domains.values():
                entry = DATASETS.entry(spec["dataset"])
                if not entry.is_builtin:
                    found.setdefault(("dataset", entry.name), (entry, spec["dataset"], run, dict(spec)))
    return list(found.values())


def _factory_kwargs(spec: dict[str, Any], data_dir: Path | None, download: bool) -> dict[str, Any]:
    """The options the runner gives the factory for this domain (as ``zoo.bench.task_data`` does)."""
    from zoo.bench.task_data import MEDZOO_KEYS
    from zoo.datasets import DATASETS

    kwargs = {k: v for k, v in spec.items() if k not in MEDZOO_KEYS}
    params = inspect.signature(DATASETS.get(spec["dataset"])).parameters
    if data_dir is not None and "data_dir" in params and "data_dir" not in kwargs:
        kwargs["data_dir"] = data_dir
    if download and "download" in params and "download" not in kwargs:
        kwargs["download"] = True
    return kwargs


def _check_algorithm(name: str, run: RunSpec) -> None:
    from zoo.testing import check_algorithm

    if "hparams" in inspect.signature(check_algorithm).parameters:
        check_algorithm(name, hparams=dict(run.config["hparams"]))
    else:  # a kit that predates hyperparameters checks the defaults
        check_algorithm(name)


def _has_conformance_kwargs(name: str) -> bool:
    from zoo.datasets import DATASETS

    return getattr(DATASETS.get(name), "conformance_kwargs", None) is not None


def _check_dataset(name: str, spec: dict[str, Any], data_dir: Path | None, download: bool) -> None:
    from zoo.testing import check_dataset

    with tempfile.TemporaryDirectory(prefix="medzoo-preflight-") as tmp:
        if _has_conformance_kwargs(name):
            check_dataset(name, tmp_dir=tmp)  # the plugin's own small, offline example
        else:
            check_dataset(name, tmp_dir=tmp, **_factory_kwargs(spec, data_dir, download))


def _one_line(entry: Entry, kind: str, name: str, exc: BaseException) -> str:
    """``plugin 'dist' (algorithm 'x'): <the kit's finding>; fix ... or disable ...``, on one line."""
    from zoo.testing import ConformanceError

    label = f"{kind} '{name}'"
    detail = " ".join(str(exc).split()).rstrip(" :;")  # a plugin's own exception text may span lines, or be empty
    if isinstance(exc, ConformanceError) and detail.startswith(label):
        detail = detail[len(label):].lstrip(": ")  # the kit names the entry first; we already have
    elif not isinstance(exc, ConformanceError):
        detail = f"{type(exc).__name__}: {detail}"
    return (f"plugin '{entry.dist}' ({label}): {detail}; fix the plugin or disable it with "
            f"MEDZOO_DISABLE_PLUGINS={entry.dist}")


def check_plugins(runs: Iterable[RunSpec], data_dir: Path | None = None, download: bool = False) -> None:
    """Run the conformance kit on every third-party algorithm and dataset of ``runs``; the first failure raises.

    Raises ``PluginError`` with one line naming the distribution (see the module docstring for the cost).
    """
    for entry, name, run, spec in _plugin_components(runs):
        kind = "dataset" if spec is not None else "algorithm"
        started = time.perf_counter()
        try:
            if spec is not None:
                _check_dataset(name, spec, data_dir, download)
            else:
                _check_algorithm(name, run)
        except MedzooError:
            raise  # already one line: a broken or disabled entry names its distribution
        except Exception as exc:  # noqa: BLE001 - the kit's finding, or the plugin's own failure under the kit
            # Built with the suite's options, a factory's own one-line error (a missing data file, a bad option)
            # is the user's to fix, as it says; under synthetic batches or its own example, it is the plugin's.
            users = spec is not None and not _has_conformance_kwargs(name)
            if users and isinstance(exc.__cause__, MedzooError):
                raise exc.__cause__ from None
            raise PluginError(_one_line(entry, kind, name, exc)) from None
        logger.debug("pre-flight: %s '%s' (%s) passed the conformance kit in %.2f s", kind, name, entry.source,
                     time.perf_counter() - started)
