"""pytest plugin of the conformance kit: a ``medzoo_kit`` fixture bound to the test's ``tmp_path``.

Loaded automatically wherever medzoo is installed: medzoo declares it as the ``pytest11`` entry point
``zoo.testing.pytest_plugin`` (``-p no:zoo.testing.pytest_plugin`` turns it off). With plugin autoloading off
(``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1``), ``pytest -p zoo.testing.pytest_plugin`` loads it; the entry point is
named after the module so that ``-p`` (or ``pytest_plugins = ["zoo.testing.pytest_plugin"]`` in a
conftest) finds it already registered rather than registering it twice, which pytest refuses. Importing it
imports neither torch nor any plugin: every check runs on first use. The plain functions of ``zoo.testing``
work without it.

Usage::

    def test_my_algorithm_conforms(medzoo_kit):
        medzoo_kit.check_algorithm("my_algo", hparams={"lambda": 0.3})

    def test_one_epoch_through_the_runner(medzoo_kit):
        record = medzoo_kit.check_runs_one_epoch(algorithm="my_algo")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


class Kit:
    """The functions of ``zoo.testing`` with the files they write kept under one test's ``tmp_path``."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = Path(tmp_path)

    def check_algorithm(self, algorithm: str | type, hparams: dict[str, Any] | None = None) -> None:
        """Every algorithm check (``zoo.testing.check_algorithm``), with ``hparams`` over the defaults."""
        from zoo.testing import check_algorithm

        check_algorithm(algorithm, hparams=hparams)

    def check_backbone(self, name: str) -> None:
        """Every backbone check (``zoo.testing.check_backbone``)."""
        from zoo.testing import check_backbone

        check_backbone(name)

    def check_dataset(self, dataset: Any, **kwargs: Any):
        """Every dataset check; example files go to ``tmp_path / "data"``. Returns the ``Domain``."""
        from zoo.testing import check_dataset

        return check_dataset(dataset, self.tmp_path / "data", **kwargs)

    def check_runs_one_epoch(self, **kwargs: Any) -> dict[str, Any]:
        """One epoch through the real runner (``hparams=`` as in ``check_algorithm``), written under
        ``tmp_path / "smoke"``. Returns the record."""
        from zoo.testing import check_runs_one_epoch

        kwargs.setdefault("output_dir", self.tmp_path / "smoke")
        return check_runs_one_epoch(**kwargs)


@pytest.fixture
def medzoo_kit(tmp_path: Path) -> Kit:
    """The conformance kit for this test (see ``zoo.testing``)."""
    return Kit(tmp_path)


def pytest_report_header(config: pytest.Config) -> str:
    from zoo import __version__

    return f"medzoo {__version__}: conformance kit zoo.testing (fixture medzoo_kit)"
