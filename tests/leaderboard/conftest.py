"""Fixtures of the leaderboard tests: real records (one real ``medzoo run``), the site built from them, a browser.

The runner runs once per session; every test reads copies. The browser is Debian's chromium with its
chromedriver (``apt-get install chromium chromium-driver``; .ci/run installs them): a missing browser
fails the tests with that command, it never skips them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lb_fixtures import real_quick_records, scenario, write_jsonl

CHROMIUM = os.environ.get("MEDZOO_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("MEDZOO_CHROMEDRIVER", "/usr/bin/chromedriver")


@pytest.fixture(scope="session")
def real_records(tmp_path_factory, data_dir) -> list[dict]:
    """The records of one real ``medzoo run quick`` (10% task, 3 seeds, source_only + source_then_target)."""
    return real_quick_records(tmp_path_factory.mktemp("real-run") / "runs", data_dir)


@pytest.fixture(scope="session")
def lb_records(real_records) -> list[dict]:
    """The scenario: real records plus variants derived from them (oracle, plugin, cross-modality, injection)."""
    return scenario(real_records)


@pytest.fixture(scope="session")
def results_file(tmp_path_factory, lb_records) -> Path:
    return write_jsonl(lb_records, tmp_path_factory.mktemp("results") / "results.jsonl")


@pytest.fixture(scope="session")
def site(tmp_path_factory, lb_records) -> Path:
    """The site built from the scenario's records, ranked by accuracy: the derived records vary accuracy alone
    (their confusion matrices are the real runs', 62.5% one class, which would rank by balanced accuracy)."""
    from zoo.leaderboard import build_site

    return build_site(lb_records, tmp_path_factory.mktemp("site") / "site", metric="accuracy").out


@pytest.fixture(scope="session")
def artifacts_dir(tmp_path_factory) -> Path:
    """Where screenshots go: ``$MEDZOO_ARTIFACTS`` if set, else a session tmp folder (also copied to
    ``leaderboard/screenshots/``, which git ignores, so they are easy to find after a local run)."""
    given = os.environ.get("MEDZOO_ARTIFACTS")
    path = Path(given) if given else tmp_path_factory.mktemp("artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (Selenium + Debian's chromium-driver)."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).is_file()]
    if missing:
        pytest.fail(f"no browser for the leaderboard tests ({', '.join(missing)} missing): install it with "
                    "`apt-get update && apt-get install -y chromium chromium-driver` (as .ci/run does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--force-device-scale-factor=1", "--hide-scrollbars"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
