"""Fixtures for the performance benchmarks: the real data directory (never skipped when missing)."""

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = Path(os.environ.get("MEDZOO_DATA", "../shared/data")).resolve()
    if not (path / "medmnist" / "pneumoniamnist.npz").is_file():
        pytest.fail(f"MEDZOO_DATA={path} has no medmnist/pneumoniamnist.npz; set MEDZOO_DATA to the data folder")
    return path
