"""Fixtures shared by the whole test suite (keep this file light: nothing heavy is imported here)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests never reach a hub: set before any test imports huggingface_hub/datasets (they read it at import).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


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
