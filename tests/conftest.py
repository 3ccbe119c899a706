"""Fixtures shared by the whole test suite (keep this file light: nothing heavy is imported here)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from zoo.runner.host_memory import retain_freed_memory

# Tests never reach a hub: set before any test imports huggingface_hub/datasets (they read it at import).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

# Each pytest-xdist worker gets its share of the cores, and so do the processes it starts (the variables are
# inherited; torch reads them when it is imported). With torch's default of one thread per core, `pytest -n 2`
# on 2 cores runs 4 busy threads: measured on the 2-core CI machine, four of the slow tests took 305 s so and
# 171 s with one thread per worker.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    _THREADS = max(1, (os.cpu_count() or 1) // _WORKERS)
    for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_variable, str(_THREADS))
    if "torch" in sys.modules:  # a plugin imported it already: its thread pool is sized, resize it
        sys.modules["torch"].set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


# Tests train in their own processes as `medzoo run` does: the same host-memory setting (freed activation
# blocks reused, not faulted in again every step; zoo/runner/host_memory.py).
retain_freed_memory()

TESTS = Path(__file__).resolve().parent
SLOW_FOLDERS = {"e2e", "plugins_e2e"}  # whole suites, fresh virtual environments, real browsers


@pytest.hookimpl(tryfirst=True)  # before pytest's own -m selection reads the marks
def pytest_collection_modifyitems(config, items):
    """Every test under tests/e2e and tests/plugins_e2e is ``slow``: ``pytest`` alone skips them (not run,
    not reported as skipped: deselected); the README's test command runs them."""
    for item in items:
        try:
            folder = Path(str(item.fspath)).resolve().relative_to(TESTS).parts[0]
        except ValueError:
            continue
        if folder in SLOW_FOLDERS:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real data folder (``$MEDZOO_DATA``, default ``/work/shared/data``); fails loudly if it is not there."""
    root = Path(os.environ.get("MEDZOO_DATA", "/work/shared/data")).resolve()  # subprocesses run elsewhere
    if not (root / "medmnist" / "pneumoniamnist.npz").is_file():
        pytest.fail(
            f"no medmnist/pneumoniamnist.npz under {root}: set MEDZOO_DATA to the folder holding "
            "medmnist/pneumoniamnist.npz (the official MedMNIST v2 file)"
        )
    return root
