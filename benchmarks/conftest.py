"""Fixtures for the performance benchmarks: the real data directory (never skipped when missing)."""

import os
from pathlib import Path

import pytest

from zoo.runner.host_memory import retain_freed_memory

# Benchmarks train in this process as a `medzoo run` process does: with its host-memory setting (freed
# activation blocks reused; zoo/runner/host_memory.py), for medzoo's loops and the plain ones alike.
retain_freed_memory()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = Path(os.environ.get("MEDZOO_DATA", "../shared/data")).resolve()
    if not (path / "medmnist" / "pneumoniamnist.npz").is_file():
        pytest.fail(f"MEDZOO_DATA={path} has no medmnist/pneumoniamnist.npz; set MEDZOO_DATA to the data folder")
    return path
