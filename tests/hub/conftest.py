"""Fixtures of the Hub tests: the local test hub, a subprocess environment pointing at it, a tiny trained run.

Hub traffic runs in ``medzoo`` subprocesses (``HF_HUB_OFFLINE=0`` there only): this test process keeps
``HF_HUB_OFFLINE=1`` from tests/conftest.py, so whatever it loads itself must come from a cache.
"""

from __future__ import annotations

import pytest
from helpers.hub_server import hub_server  # noqa: F401  (the fixture, re-exported for these tests)
from hub_helpers import FAKE_TOKEN


@pytest.fixture
def hub_env(hub_server, tmp_path, data_dir):  # noqa: F811
    """Environment for ``run_medzoo``: the test hub as HF_ENDPOINT, online, a fresh cache, the fake token.

    MEDZOO_DATA is the resolved data folder: CI sets it relative (``../shared/data``) and the subprocesses run
    in ``tmp_path``."""
    home = tmp_path / "hf-home"
    return {
        "HF_ENDPOINT": hub_server.endpoint,
        "HF_HUB_OFFLINE": "0",
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(tmp_path / "hf-cache"),
        "HF_TOKEN": FAKE_TOKEN,
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "MEDZOO_DATA": str(data_dir),
    }


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory, data_dir):
    """``simple_cnn-pneumoniamnist`` built from its catalogue recipe on a tiny budget (3 steps), once per session."""
    from zoo.hub.build import build_checkpoint

    out = tmp_path_factory.mktemp("zoo-build")
    return build_checkpoint("simple_cnn-pneumoniamnist", out, data_dir=data_dir, show_progress=False,
                            train_overrides={"epochs": 1, "max_steps_per_epoch": 3})
