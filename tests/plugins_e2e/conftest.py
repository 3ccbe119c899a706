"""Fixtures of the plugin end-to-end tests: medzoo's wheel and the shared dependency folder, built once.

Every test then makes its own fresh virtual environment (``plugin_env.FreshEnv``, a fraction of a second)
and pip-installs into it what it needs. Nothing here touches the checkout: wheels are built from copies.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from plugin_env import FreshEnv, build_medzoo_wheel, make_deps_folder


@pytest.fixture(scope="session")
def deps_folder(tmp_path_factory) -> Path:
    """Symlinks to the test environment's packages, without medzoo or any medzoo plugin."""
    return make_deps_folder(tmp_path_factory.mktemp("deps") / "site")


@pytest.fixture(scope="session")
def medzoo_wheel(tmp_path_factory) -> Path:
    """medzoo's wheel, built by setuptools from a copy of this checkout."""
    return build_medzoo_wheel(tmp_path_factory.mktemp("medzoo-wheel"))


@pytest.fixture
def fresh_env(tmp_path, deps_folder, medzoo_wheel) -> FreshEnv:
    """A new virtual environment with medzoo pip-installed (from its wheel) and no plugin."""
    env = FreshEnv.create(tmp_path / "venv", deps_folder)
    env.pip_install(medzoo_wheel, cwd=tmp_path)
    return env
