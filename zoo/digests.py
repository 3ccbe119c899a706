"""File digests shared by every layer (checkpoints, predictions, init files): one reader, no torch import.

Usage::

    from zoo.digests import sha256_file
    sha256_file(Path("medzoo-runs/runs/3f9c2a1b/model.safetensors"))   # '9b1c...' (64 hex digits)
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
