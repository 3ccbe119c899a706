"""The built site in a real headless Chromium, loaded from file://: sorting, filtering, provenance, injection,
phone and desktop widths, screenshots.

Screenshots (PNG, full page) go to ``$MEDZOO_ARTIFACTS`` (else a pytest tmp folder) and are copied to
``leaderboard/screenshots/`` (git-ignored): ``index-1280.png``, ``index-390.png``, ``suite-quick-1280.png``,
``suite-quick-390.png``, ``suite-cross-modality-1280.png``.

Usage::

    python -m pytest tests/leaderboard/test_browser.py -q
"""

from __future__ import annotations

import json

import pytest
from lb_fixtures import PLUGIN_DIST, XSS_ALGO, XSS_BACKBONE, XSS_PLUGIN, XSS_SUITE, XSS_TASK, keep_artifact
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from zoo.leaderboard.html import pct
from zoo.leaderboard.pages import suite_file


def _open(browser, site, page, width=1280, height=900):
    browser.set_window_size(width, height)
    browser.get((site / page).as_uri())
    assert browser.execute_script("return document.readyState") == "complete"


def _shot(browser, artifacts_dir, name, width):
    """A full-page screenshot at ``width`` px (the window is made as tall as the page)."""
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(width, min(max(height, 600), 8000))
    path = artifacts_dir / f"{name}-{width}.png"
    assert browser.save_screenshot(str(path)) and path.stat().st_size > 10_000
    keep_artifact(path)
    return path


def _shown_rows(browser):
    rows = browser.find_elements(By.CSS_SELECTOR, "table.lb tbody tr:not(.divider)")
    return [row for row in rows if row.is_displayed()]


def _visible_rows(table):
    return [row for row in table.find_elements(By.CSS_SELECTOR, "tbody tr:not(.divider)") if row.is_displayed()]


def test_index_lists_every_suite_and_links_to_its_page(browser, site, lb_records, artifacts_dir):
    _open(browser, site, "index.html")
    assert browser.title == "medzoo leaderboard"
    links = browser.find_elements(By.CSS_SELECTOR, "#suites tbody td:first-child a")
    suites = sorted({f"{r['suite']['name']}@{r['suite']['version']}" for r in lb_records})
    assert sorted(link.text for link in links) == suites
    _shot(browser, artifacts_dir, "index", 1280)
    next(link for link in links if link.text == "quick@1").click()
    assert browser.current_url.endswith(suite_file("quick@1"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "quick@1"


def test_the_table_shows_what_the_records_say_and_sorts_by_a_column(browser, site, lb_records):
    _open(browser, site, suite_file("quick@1"))
    table = browser.find_element(By.ID, "task-table-0")
    rows = _visible_rows(table)
    cells = {}
    for r in lb_records:
        if r["suite"]["name"] == "quick":
            key = (r["algorithm"], r["selection"]["rule"])
            cells.setdefault(key, []).append(r["metrics"]["target_test"]["accuracy"])
    shown = {(row.get_attribute("data-algorithm"), row.get_attribute("data-selection")):
             row.find_element(By.CSS_SELECTOR, "td.score").text.split(" ")[0] for row in rows}
    assert shown == {key: pct(sum(v) / len(v)) for key, v in cells.items()}
    header = table.find_element(By.XPATH, ".//thead//th[starts-with(normalize-space(.), 'Accuracy')]//button")

    def honest_scores():
        body = table.find_element(By.CSS_SELECTOR, "tbody.honest")
        return [float(td.get_attribute("data-v")) for td in body.find_elements(By.CSS_SELECTOR, "td.score")]

    header.click()
    ascending = honest_scores()
    assert ascending == sorted(ascending) and len(ascending) == 3
    assert header.find_element(By.XPATH, "..").get_attribute("aria-sort") == "ascending"
    header.click()
    assert honest_scores() == sorted(ascending, reverse=True)
    oracle = table.find_elements(By.CSS_SELECTOR, "tbody.oracle tr:not(.divider)")  # still apart after sorting
    assert [row.get_attribute("data-selection") for row in oracle] == ["target_val_oracle"]
    algo = table.find_element(By.XPATH, ".//thead//th[normalize-space(.)='Algorithm']//button")
    algo.click()
    names = [row.get_attribute("data-algorithm") for row in table.find_elements(By.CSS_SELECTOR, "tbody.honest tr")]
    assert names == sorted(names)


def test_filter_by_algorithm_hides_the_other_rows(browser, site):
    _open(browser, site, suite_file("quick@1"))
    total = len(browser.find_elements(By.CSS_SELECTOR, "table.lb tbody tr:not(.divider)"))
    Select(browser.find_element(By.ID, "f-algorithm")).select_by_value("finetune")
    shown = _shown_rows(browser)
    assert {row.get_attribute("data-algorithm") for row in shown} == {"finetune"}
    assert len(shown) == 4  # overall + task table, each an honest and an oracle row
    assert browser.find_element(By.ID, "f-count").text == f"4 of {total} rows"
    text = browser.find_element(By.ID, "f-text")
    Select(browser.find_element(By.ID, "f-algorithm")).select_by_value("")
    text.send_keys("oracle")
    shown = _shown_rows(browser)
    assert {row.get_attribute("data-selection") for row in shown} == {"target_val_oracle"}


def test_a_row_opens_the_provenance_of_its_runs(browser, site, lb_records):
    _open(browser, site, suite_file("quick@1"))
    row = browser.find_element(By.CSS_SELECTOR, '#task-table-0 tbody.honest tr[data-algorithm="example_algo"]')
    assert f"plugin: {PLUGIN_DIST['name']} {PLUGIN_DIST['version']}" in row.text and "2/3 seeds" in row.text
    row = browser.find_element(By.CSS_SELECTOR, '#task-table-0 tbody.honest tr[data-algorithm="finetune"]')
    row.find_element(By.LINK_TEXT, "seed 1").click()
    run_id = browser.current_url.rsplit("/", 1)[1].removesuffix(".html")
    record = next(r for r in lb_records if r["run_id"] == run_id)
    assert (record["algorithm"], record["seed"], record["selection"]["rule"]) == ("finetune", 1, "target_val")
    prov = record["provenance"]
    assert browser.find_element(By.ID, "git-sha").text == prov["git"]["sha"]
    assert browser.find_element(By.ID, "medzoo-version").text == prov["medzoo_version"]
    assert browser.find_element(By.ID, "seed").text == "1"
    assert browser.find_element(By.ID, "algorithm").text == "finetune"
    hardware = browser.find_element(By.ID, "hardware").text
    assert f"cpu_count\n{prov['hardware']['cpu_count']}" in hardware
    versions = browser.find_element(By.ID, "versions").text
    assert f"torch\n{prov['packages']['torch']}" in versions
    assert json.loads(browser.find_element(By.ID, "train").text) == record["train"]
    acc = browser.find_element(By.XPATH, "//table[@id='metrics']//tr[th='target_test']/td[1]").text
    assert acc == pct(record["metrics"]["target_test"]["accuracy"])
    browser.find_element(By.CSS_SELECTOR, "dl#run-summary a").click()  # back to the suite
    assert browser.current_url.endswith(suite_file("quick@1"))


def test_injected_names_render_as_text_and_never_run(browser, site):
    xss_page = suite_file(f"{XSS_SUITE}@1")
    for page, title in (("index.html", "medzoo leaderboard"), (xss_page, f"{XSS_SUITE}@1 · medzoo leaderboard"),
                        ("runs/xss-0.html", f"run xss-0: {XSS_ALGO} on {XSS_TASK}, seed 0")):
        _open(browser, site, page)
        assert browser.execute_script("return window.__pwned") is None, page
        assert browser.title == title, page  # the payload would have set document.title to 'pwned'
        body = browser.find_element(By.TAG_NAME, "body").text
        assert f"{XSS_SUITE}@1" in body, page
        if page != "index.html":
            assert XSS_ALGO in body and XSS_TASK in body and XSS_PLUGIN in body and XSS_BACKBONE in body, page
        for element in browser.find_elements(By.CSS_SELECTOR, "img, svg:not(.plot), b, script:not([src]):not([type])"):
            pytest.fail(f"{page}: a record string became an element: {element.get_attribute('outerHTML')[:80]}")
    _open(browser, site, xss_page)
    Select(browser.find_element(By.ID, "f-algorithm")).select_by_visible_text(XSS_ALGO)  # the filter reads it as text
    shown = [r for r in browser.find_elements(By.CSS_SELECTOR, "table.lb tbody tr:not(.divider)") if r.is_displayed()]
    assert shown and all(XSS_ALGO in r.text for r in shown)
    assert browser.execute_script("return window.__pwned") is None


@pytest.mark.parametrize("page,name", [("index.html", "index"), (suite_file("quick@1"), "suite-quick"),
                                       (suite_file("cross-modality@1"), "suite-cross-modality")])
def test_pages_fit_a_phone_and_a_desktop(browser, site, artifacts_dir, page, name):
    for width in (390, 1280):
        _open(browser, site, page, width=width)
        inner, scroll = browser.execute_script(
            "return [window.innerWidth, document.documentElement.scrollWidth]")
        assert scroll <= inner, f"{page} overflows horizontally at {width} px ({scroll} > {inner})"
        for element in [browser.find_element(By.TAG_NAME, "h1"), *browser.find_elements(By.ID, "f-algorithm"),
                        *browser.find_elements(By.CSS_SELECTOR, "table.lb tbody tr td:first-child")[:1]]:
            assert element.is_displayed()
            left, right = browser.execute_script(
                "const r = arguments[0].getBoundingClientRect(); return [r.left, r.right];", element)
            assert 0 <= left and right <= inner, f"{page} at {width} px: {element.tag_name} is off screen"
        if width == 390 and page != "index.html":  # wide tables scroll inside their own container
            wide = browser.execute_script("return [...document.querySelectorAll('.scroll')]"
                                          ".filter(e => e.scrollWidth > e.clientWidth).length")
            assert wide > 0
        if name != "suite-cross-modality" or width == 1280:
            _shot(browser, artifacts_dir, name, width)
    if name == "suite-cross-modality":  # the label-budget plot is there: one line per origin x algorithm
        plots = browser.find_elements(By.CSS_SELECTOR, "svg.plot[aria-label*='label budget']")
        assert len(plots) == 1 and len(plots[0].find_elements(By.CSS_SELECTOR, "path[fill='none']")) == 3


def test_the_suite_page_draws_the_critical_difference_diagram(browser, tmp_path, artifacts_dir):
    # 5 algorithms on 5 tasks with different sources, 4 seeds: one Friedman block of 20 independent units
    from test_cd_diagram import _records

    from zoo.leaderboard import build_site

    records = _records()
    out = build_site(records, tmp_path / "site", metric="accuracy").out
    _open(browser, out, suite_file("quick@1"))
    section = browser.find_element(By.CSS_SELECTOR, "section.friedman")
    assert section.is_displayed() and "5 algorithms x 5 tasks" in section.find_element(By.TAG_NAME, "h2").text
    assert "20 independent blocks" in section.text and "Nemenyi critical difference" in section.text
    svg = section.find_element(By.CSS_SELECTOR, "svg.cd-diagram")
    assert svg.size["width"] >= 600 and svg.size["height"] > 100  # drawn at a readable size on a 1280 px page
    names = {el.text for el in svg.find_elements(By.CSS_SELECTOR, "text.method-name")}
    assert {"finetune", "dann", "source_only", "coral@w0"} <= {n.split(" ")[0] for n in names}
    assert not browser.execute_script("return window.__xss || null")  # the <script> algorithm name stays text
    browser.execute_script("arguments[0].scrollIntoView()", section)
    _shot(browser, artifacts_dir, "suite-cd-diagram", 1280)
