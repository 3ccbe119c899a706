"""Fixtures shared by the whole test suite (keep this file light: nothing heavy is imported here)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests never reach a hub: set before any test imports huggingface_hub/datasets (they read it at import).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


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
