"""The built site in a real headless Chromium, loaded from file://: sorting, filtering, provenance, injection,
phone and desktop widths, plots, screenshots.

The layout rule, at 1280 and 390 px, on the index, every suite page and run pages: the document never
scrolls sideways; no table needs its scroll container (columns fit at 1280, each row is a card at 390), and
no element of the page lies outside the viewport; nothing with ``overflow`` set hides content sideways (a
``pre`` wraps); every plot lies inside its figure, every text of a plot inside the plot, and its text is no
larger than the page's body text. Within each figure the labels of its marks (bar labels, legend entries,
method names) and their hover titles are unique, so two rows that differ only by selection rule stay apart;
the hover titles (full labels; a bar's names its task) are unique on the whole page.
Bars start at 0 (their length is the score), each algorithm has its own colour, budgets read in percent,
and the seed badge counts against the preset the runs used.

Screenshots (PNG, full page) go to ``$MEDZOO_ARTIFACTS`` (else a pytest tmp folder; e.g.
``MEDZOO_ARTIFACTS=/work/screens``) and are copied to ``leaderboard/screenshots/`` (git-ignored):
``index-1280.png``, ``index-390.png``, ``suite-quick-1280.png``, ``suite-quick-390.png``,
``suite-progressive-1280.png``, ``suite-progressive-390.png``, ``suite-cross-modality-1280.png``,
``suite-settings-1280.png`` (a suite of two task settings: a headed section each).

Usage::

    python -m pytest tests/leaderboard/test_browser.py -q
"""

from __future__ import annotations

import json

import pytest
from lb_fixtures import (
    ONE_SEED_PRESET,
    PLUGIN_DIST,
    XSS_ALGO,
    XSS_BACKBONE,
    XSS_PLUGIN,
    XSS_SUITE,
    XSS_TASK,
    keep_artifact,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from zoo.leaderboard.html import pct
from zoo.leaderboard.pages import suite_file

pytestmark = pytest.mark.slow  # a real browser on eight pages at two widths


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
    assert ascending == sorted(ascending) and len(ascending) == 4  # source_only twice: two selection rules
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
    Select(browser.find_element(By.ID, "f-algorithm")).select_by_value("source_then_target")
    shown = _shown_rows(browser)
    assert {row.get_attribute("data-algorithm") for row in shown} == {"source_then_target"}
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
    row = browser.find_element(By.CSS_SELECTOR, '#task-table-0 tbody.honest tr[data-algorithm="source_then_target"]')
    row.find_element(By.LINK_TEXT, "seed 1").click()
    run_id = browser.current_url.rsplit("/", 1)[1].removesuffix(".html")
    record = next(r for r in lb_records if r["run_id"] == run_id)
    assert (record["algorithm"], record["seed"], record["selection"]["rule"]) == ("source_then_target", 1, "target_val")
    prov = record["provenance"]
    assert browser.find_element(By.ID, "git-sha").text == prov["git"]["sha"]
    assert browser.find_element(By.ID, "medzoo-version").text == prov["medzoo_version"]
    assert browser.find_element(By.ID, "seed").text == "1"
    assert browser.find_element(By.ID, "algorithm").text == "source_then_target"
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


# What the layout rule checks, in the page: a list of problems (empty when it holds) and what it looked at.
LAYOUT_JS = """
const problems = [], vw = window.innerWidth, body = parseFloat(getComputedStyle(document.body).fontSize);
const name = e => e.id || e.getAttribute('aria-label') || e.className.baseVal || e.className || e.tagName;
const doc = document.documentElement;
if (doc.scrollWidth > vw) problems.push(`the document is ${doc.scrollWidth} px wide in ${vw}`);
for (const e of document.querySelectorAll('main *, header *')) {
  const r = e.getBoundingClientRect();
  if (r.width && (r.left < -0.5 || r.right > vw + 0.5)) problems.push(`${name(e)} spans ${r.left}..${r.right}`);
  const x = getComputedStyle(e).overflowX, readerOnly = r.width <= 1 && r.height <= 1;  // for screen readers
  if (x !== 'visible' && !readerOnly && e.scrollWidth > e.clientWidth + 1)
    problems.push(`${name(e)} hides ${e.scrollWidth - e.clientWidth} px sideways (overflow-x ${x})`);
}
for (const t of document.querySelectorAll('table')) {
  const box = t.parentElement.getBoundingClientRect(), r = t.getBoundingClientRect();
  if (r.right > box.right + 1 || r.left < box.left - 1) problems.push(`table ${name(t)} is wider than its box`);
  for (const c of t.querySelectorAll('*')) {
    const b = c.getBoundingClientRect();
    if (b.width && (b.right > r.right + 1 || b.left < r.left - 1)) problems.push(`${name(t)}: ${c.tagName} sticks out`);
  }
}
let texts = 0;
for (const svg of document.querySelectorAll('svg.plot')) {
  const r = svg.getBoundingClientRect(), fig = svg.parentElement.getBoundingClientRect();
  if (r.right > fig.right + 1 || r.left < fig.left - 1) problems.push(`plot ${name(svg)} is wider than its figure`);
  const scale = r.width / svg.viewBox.baseVal.width;
  for (const t of svg.querySelectorAll('text')) {
    texts += 1;
    const b = t.getBoundingClientRect();
    if (b.left < r.left - 1 || b.right > r.right + 1 || b.top < r.top - 1 || b.bottom > r.bottom + 1)
      problems.push(`plot ${name(svg)}: '${t.textContent}' runs off it`);
    const px = parseFloat(getComputedStyle(t).fontSize) * scale;
    if (px > body + 0.01) problems.push(`plot ${name(svg)}: '${t.textContent}' is ${px} px, the page ${body} px`);
  }
}
for (const fig of document.querySelectorAll('figure')) {
  for (const sel of ['svg text.mark, svg text.method-name, ul.key li',
                     'svg g.bar-row > title, svg g.point > title, svg g.series > title, svg g.method > title']) {
    const seen = new Set();
    for (const e of fig.querySelectorAll(sel)) {
      const label = e.textContent.trim();
      if (seen.has(label)) problems.push(`figure '${fig.querySelector('figcaption, svg').textContent.slice(0, 60)}': ` +
                                         `'${label}' twice`);
      seen.add(label);
    }
  }
}
// hover titles carry the full label (a bar's names its task): unique on the whole page
const titles = new Set();
for (const t of document.querySelectorAll('svg g.bar-row > title, svg g.point > title, svg g.series > title')) {
  const label = t.textContent.trim();
  if (titles.has(label)) problems.push(`hover title '${label}' twice on the page`);
  titles.add(label);
}
return {problems: problems, tables: document.querySelectorAll('table').length,
        plots: document.querySelectorAll('svg.plot').length, texts: texts};
"""
LAYOUT_PAGES = [("index.html", "index"), (suite_file("quick@1"), "suite-quick"),
                (suite_file(f"{ONE_SEED_PRESET[0]}@{ONE_SEED_PRESET[1]}"), "suite-progressive"),
                (suite_file("cross-modality@1"), "suite-cross-modality"), (suite_file(f"{XSS_SUITE}@1"), "suite-xss"),
                ("runs/source-val-0.html", "run"), ("runs/preset-xray-breast-lp_ft.html", "run-preset"),
                ("runs/xss-0.html", "run-xss")]
SHOTS = {"index": (1280, 390), "suite-quick": (1280, 390), "suite-progressive": (1280, 390),
         "suite-cross-modality": (1280,)}


@pytest.mark.parametrize("page,name", LAYOUT_PAGES)
def test_pages_fit_a_phone_and_a_desktop_with_nothing_cut_off(browser, site, artifacts_dir, page, name):
    for width in (1280, 390):
        _open(browser, site, page, width=width)
        found = browser.execute_script(LAYOUT_JS)
        assert not found["problems"], f"{page} at {width} px:\n" + "\n".join(found["problems"][:20])
        assert found["tables"] >= 1 and (found["plots"] >= 1) == name.startswith("suite"), (page, found)
        if name.startswith("suite"):
            assert found["texts"] > 10, found  # the plots were looked at, text by text
        inner = browser.execute_script("return window.innerWidth")
        for element in [browser.find_element(By.TAG_NAME, "h1"), *browser.find_elements(By.ID, "f-algorithm"),
                        *browser.find_elements(By.CSS_SELECTOR, "table.lb tbody tr td:first-child")[:1]]:
            assert element.is_displayed()
            left, right = browser.execute_script(
                "const r = arguments[0].getBoundingClientRect(); return [r.left, r.right];", element)
            assert 0 <= left and right <= inner, f"{page} at {width} px: {element.tag_name} is off screen"
        if width in SHOTS.get(name, ()):
            _shot(browser, artifacts_dir, name, width)
    if name == "suite-cross-modality":  # the label-budget plot is there: one line per origin x algorithm
        plots = browser.find_elements(By.CSS_SELECTOR, "svg.plot[aria-label*='label budget']")
        assert len(plots) == 1 and len(plots[0].find_elements(By.CSS_SELECTOR, "path[fill='none']")) == 3


def test_bars_start_at_zero_and_each_algorithm_has_its_own_colour(browser, site):
    for page in (suite_file("quick@1"), suite_file("progressive@1"), suite_file("cross-modality@1")):
        _open(browser, site, page)
        colours: dict[str, set[str]] = {}
        charts = browser.find_elements(By.CSS_SELECTOR, "figure.bars svg.bars")
        assert charts, page
        for svg in charts:
            ticks = svg.find_elements(By.CSS_SELECTOR, "text.tick")
            assert [t.text for t in ticks] == ["0", "20", "40", "60", "80", "100"], page
            x0, x100 = float(ticks[0].get_attribute("x")), float(ticks[-1].get_attribute("x"))
            rows = svg.find_elements(By.CSS_SELECTOR, "g.bar-row")
            for row in rows:
                bar = row.find_element(By.CSS_SELECTOR, "rect.bar")
                mean = float(row.find_element(By.CSS_SELECTOR, "text.value").text.split(" ")[0]) / 100
                assert float(bar.get_attribute("x")) == x0  # from 0, not from the lowest score
                assert float(bar.get_attribute("width")) == pytest.approx(mean * (x100 - x0), abs=0.2)
                fill = bar.get_attribute("fill")
                if fill.startswith("url(#"):  # an oracle bar: hatched in its algorithm's colour
                    fill = svg.find_element(By.CSS_SELECTOR, f"{fill[4:-1]} line").get_attribute("stroke")
                colours.setdefault(bar.get_attribute("data-algorithm"), set()).add(fill)
            legend = [li.text for li in svg.find_elements(By.XPATH, "following-sibling::ul[@class='key']/li")]
            assert {bar.get_attribute("data-algorithm") for bar in svg.find_elements(By.CSS_SELECTOR, "rect.bar")} \
                <= set(legend), (page, legend)
        assert all(len(fills) == 1 for fills in colours.values()), (page, colours)  # one colour per algorithm
        assert len({next(iter(f)) for f in colours.values()}) == len(colours) >= 2, (page, colours)  # all differ


def test_two_source_only_points_are_told_apart_in_the_cost_plot(browser, site):
    _open(browser, site, suite_file("quick@1"))
    figure = browser.find_element(By.CSS_SELECTOR, "figure.cost")
    titles = [t.get_attribute("textContent") for t in figure.find_elements(By.CSS_SELECTOR, "g.point > title")]
    source_only = sorted(t for t in titles if t.startswith("source_only"))
    assert [t.split(":")[0] for t in source_only] == ["source_only · simple_cnn · source_val",
                                                      "source_only · simple_cnn · target_val"]
    points = [p for p in figure.find_elements(By.CSS_SELECTOR, "g.point")
              if p.find_element(By.TAG_NAME, "title").get_attribute("textContent").startswith("source_only")]
    marks = [p.find_element(By.CSS_SELECTOR, "circle, rect, polygon") for p in points]
    assert len({m.tag_name for m in marks}) == 2 and len({m.get_attribute("fill") for m in marks}) == 1  # shape, colour
    legend = [li.text for li in figure.find_elements(By.CSS_SELECTOR, "ul.key li")]
    assert (sum(item.startswith("source_only") for item in legend) == 2
            and len(set(legend)) == len(legend) == len(titles))


def test_budgets_read_in_percent(browser, site):
    _open(browser, site, suite_file("cross-modality@1"))
    budgets = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "section.task span.budget")]
    assert set(budgets) == {"target budget 1%", "target budget 10%", "target budget 100%"}
    ticks = browser.find_elements(By.CSS_SELECTOR, "svg.budget text.tick")
    assert [t.text for t in ticks if t.text.endswith("%")] == ["1%", "10%", "100%"]
    _open(browser, site, "runs/source-val-0.html")
    assert "target budget 10%" in browser.find_element(By.ID, "run-summary").text


def test_the_preset_is_named_and_the_seed_badge_counts_against_it(browser, site):
    name, version, preset = ONE_SEED_PRESET
    _open(browser, site, "index.html")
    row = browser.find_element(By.XPATH, f"//table[@id='suites']//tr[td[1]//a[text()='{name}@{version}']]")
    assert row.find_element(By.CSS_SELECTOR, "td[data-label='Preset']").text == f"{preset} · 1 seed"
    _open(browser, site, suite_file(f"{name}@{version}"))
    assert browser.find_element(By.ID, "preset").text.startswith(f"Preset {preset} (1 seed)")
    rows = _shown_rows(browser)
    assert len({r.get_attribute("data-algorithm") for r in rows}) == 3  # linear_probe, lp_ft, full_ft
    badges = [b.text for r in rows for b in r.find_elements(By.CSS_SELECTOR, ".badge")]
    assert badges and not [b for b in badges if "seed" in b]  # no "1/3 seeds" on the runs of a one-seed preset
    _open(browser, site, "runs/preset-xray-breast-lp_ft.html")
    assert browser.find_element(By.ID, "preset").text == preset
    assert "asks for 1 seed (0)" in browser.find_element(By.ID, "run-summary").text
    _open(browser, site, suite_file("quick@1"))  # runs whose settings match no preset: the most seeds a row has
    assert "match no preset" in browser.find_element(By.ID, "preset").text
    row = browser.find_element(By.CSS_SELECTOR, '#task-table-0 tbody.honest tr[data-algorithm="example_algo"]')
    assert "2/3 seeds" in row.text


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
    assert {"source_then_target", "dann", "source_only", "coral@w0"} <= {n.split(" ")[0] for n in names}
    assert not browser.execute_script("return window.__xss || null")  # the <script> algorithm name stays text
    browser.execute_script("arguments[0].scrollIntoView()", section)
    _shot(browser, artifacts_dir, "suite-cd-diagram", 1280)


def test_a_suite_of_several_settings_has_a_section_each_and_fits(browser, real_records, tmp_path, artifacts_dir):
    # transfer and source-free runs of one task name: a headed section per setting, a CD diagram in each
    from test_lb_settings import settings_records

    from zoo.leaderboard import build_site

    out = build_site(settings_records(real_records), tmp_path / "site", metric="accuracy").out
    for width in (1280, 390):
        _open(browser, out, suite_file("mixed@1"), width=width)
        found = browser.execute_script(LAYOUT_JS)
        assert not found["problems"], f"mixed@1 at {width} px:\n" + "\n".join(found["problems"][:20])
        headings = browser.find_elements(By.CSS_SELECTOR, "section.setting > h2")
        assert [h.text for h in headings] == ["Setting: transfer", "Setting: source_free"]
        assert all(h.is_displayed() for h in headings)
        for section in browser.find_elements(By.CSS_SELECTOR, "section.setting"):
            assert len(section.find_elements(By.CSS_SELECTOR, "svg.cd-diagram")) == 1
            assert section.find_element(By.CSS_SELECTOR, "p.setting-summary").is_displayed()
        if width == 1280:
            _shot(browser, artifacts_dir, "suite-settings", width)
