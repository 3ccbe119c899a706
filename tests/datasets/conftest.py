"""Fixtures for the datasets tests: the real data folder (never skipped), PNG trees, a local HTTP server.

Real data comes from ``$MEDZOO_DATA`` (CI: ``../shared/data``), default ``/work/shared/data``. A test that
needs it fails loudly when it is missing: silently skipping would hide that the real-data checks never ran.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The shared real-data folder (read-only)."""
    # absolute: a relative MEDZOO_DATA (CI: ../shared/data) must not be re-joined onto the data dir by loaders
    root = Path(os.environ.get("MEDZOO_DATA", "/work/shared/data")).absolute()
    if not root.is_dir():
        pytest.fail(f"real data folder {root} not found; set MEDZOO_DATA to the shared data folder "
                    "(e.g. MEDZOO_DATA=../shared/data)")
    return root


@pytest.fixture(scope="session")
def real_file(real_data):
    """``real_file("busi/busi.npz")`` -> its path, failing (not skipping) when it is missing."""

    def get(relative: str) -> Path:
        path = real_data / relative
        if not path.is_file():
            pytest.fail(f"{path} not found; set MEDZOO_DATA to the shared data folder holding {relative}")
        return path

    return get


@pytest.fixture(scope="session")
def pneumonia_arrays(real_file):
    """A few real PneumoniaMNIST images per class and split: {split: (images (n,28,28) uint8, labels (n,))}."""
    with np.load(real_file("medmnist/pneumoniamnist.npz")) as npz:
        out = {}
        for split, per_class in (("train", 10), ("val", 4), ("test", 4)):
            images, labels = npz[f"{split}_images"], npz[f"{split}_labels"][:, 0]
            idx = np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in (0, 1)])
            out[split] = (images[idx], labels[idx].astype(np.int64))
    return out


@pytest.fixture(scope="session")
def write_png_tree():
    """``write_png_tree(root, images, labels, class_names, ext=".png")``: ``root/<class>/img_<i><ext>``."""
    from PIL import Image

    def write(root: Path, images: np.ndarray, labels: np.ndarray, class_names: list[str], ext: str = ".png") -> None:
        for i, (img, lbl) in enumerate(zip(images, labels)):  # img (H, W) or (H, W, 3) uint8
            out = root / class_names[int(lbl)] / f"img_{i:04d}{ext}"
            out.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(out)

    return write


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - keep pytest output clean
        pass


@pytest.fixture
def http_server(tmp_path, monkeypatch):
    """A static HTTP server on 127.0.0.1 serving ``tmp_path/served``: yields (folder, base URL)."""
    served = tmp_path / "served"
    served.mkdir()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
