"""The critical-difference diagram: a real ``friedman()`` block drawn as SVG, checked by parsing what it emits."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET

import pytest

from zoo.leaderboard.cd_diagram import cd_diagram_svg
from zoo.results import make_record
from zoo.results.friedman import friedman

NS = "{http://www.w3.org/2000/svg}"
XSS = "<script>alert(1)</script>"
# algorithm -> true mean accuracy; five source datasets x four seeds = 20 independent blocks
ALGORITHMS = {"source_only": 0.70, "source_then_target": 0.78, "dann": 0.80, "coral@w0": 0.74, XSS: 0.76}
SOURCES = ("pneumoniamnist", "breastmnist", "dermamnist", "bloodmnist", "organamnist")


def _records(algorithms: dict[str, float] = ALGORITHMS, seeds: int = 4) -> list[dict]:
    rng = random.Random(0)
    out = []
    for t, src in enumerate(SOURCES):
        for a, (algorithm, base) in enumerate(sorted(algorithms.items())):
            for seed in range(seeds):
                out.append(make_record(
                    run_id=f"t{t}-a{a}-s{seed}", suite={"name": "quick", "version": 1},
                    task={"name": f"{src}->{src}_blur", "source": [src], "target": f"{src}_blur", "target_budget": 0,
                          "domains": {src: {"dataset": src}, f"{src}_blur": {"dataset": src, "shift": "blur"}}},
                    algorithm=algorithm, backbone={"name": "simple_cnn", "options": {}}, hparams={},
                    train={"epochs": 1, "batch_size": 32, "lr": 1e-3, "optimizer": "adamw"}, seed=seed,
                    selection={"rule": "source_val", "epoch": 0, "score": 0.9},
                    metrics={"target_test": {"accuracy": base + rng.gauss(0, 0.03)}},
                    timings={"train_s": 1.0, "eval_s": 0.5, "total_s": 1.6}, provenance={"medzoo_version": "0.1.0"}))
    return out


@pytest.fixture(scope="module")
def block() -> dict:
    blocks = friedman(_records(), "accuracy", n_perm=200)
    assert len(blocks) == 1 and blocks[0]["n_units"] == 20
    return blocks[0]


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def _ticks(root: ET.Element) -> dict[str, float]:
    return {el.get("data-method"): float(el.get("x1")) for el in root.iter(f"{NS}line") if el.get("data-method")}


def _per_rank(root: ET.Element) -> float:
    axis = {int(el.get("data-rank")): float(el.get("x1")) for el in root.iter(f"{NS}line") if el.get("data-rank")}
    return (axis[max(axis)] - axis[1]) / (max(axis) - 1)


def test_parses_and_names_each_method_once(block):
    svg = cd_diagram_svg(block)
    root = _parse(svg)
    assert root.tag == f"{NS}svg" and root.get("role") == "img" and root.get("aria-label")
    assert root.get("viewBox").startswith("0 0 640 ")
    assert root.find(f"{NS}title") is not None and block["label"] in root.find(f"{NS}title").text
    names = [el.text for el in root.iter(f"{NS}text") if el.get("class") == "method-name"]
    assert sorted(names) == sorted(block["methods"])
    all_text = ["".join(el.itertext()) for el in root.iter(f"{NS}text")]
    for method in block["methods"]:
        assert sum(method in text for text in all_text) == 1
        assert any(text == f"{method} {block['mean_ranks'][method]:.2f}" for text in all_text)
    assert svg == cd_diagram_svg(block)  # deterministic
    assert "<script" not in svg.lower() and "@import" not in svg and "url(" not in svg


def test_ticks_follow_mean_ranks_and_cd_bar_has_cd_length(block):
    root = _parse(cd_diagram_svg(block))
    ticks = _ticks(root)
    assert set(ticks) == set(block["methods"])
    by_rank = sorted(block["methods"], key=lambda m: block["mean_ranks"][m])
    xs = [ticks[m] for m in by_rank]
    assert xs == sorted(xs) and len(set(xs)) == len(set(block["mean_ranks"].values()))
    per_rank = _per_rank(root)
    for m in by_rank:  # rank 1 on the left: x = x(1) + (rank - 1) * pixels per rank
        assert abs(ticks[m] - (xs[0] - (block["mean_ranks"][by_rank[0]] - 1) * per_rank)
                   - (block["mean_ranks"][m] - 1) * per_rank) < 0.5
    (bar,) = [el for el in root.iter(f"{NS}line") if el.get("class") == "cd-bar"]
    assert 0 < block["cd"] < len(block["methods"]) - 1
    assert abs(float(bar.get("x2")) - float(bar.get("x1")) - block["cd"] * per_rank) < 0.5
    assert any(f"CD = {block['cd']:.2f}" == el.text for el in root.iter(f"{NS}text"))


def test_one_bar_per_clique_spanning_its_members(block):
    assert len(block["cliques"]) >= 2  # the fixture's data has overlapping groups
    root = _parse(cd_diagram_svg(block))
    ticks = _ticks(root)
    bars = [el for el in root.iter(f"{NS}line") if el.get("class") == "clique"]
    assert len(bars) == len(block["cliques"])
    assert len({el.get("y1") for el in bars}) == len(bars)  # stacked, not drawn over each other
    for bar, clique in zip(bars, block["cliques"]):
        assert float(bar.get("x1")) < min(ticks[m] for m in clique)
        assert float(bar.get("x2")) > max(ticks[m] for m in clique)


def test_script_name_is_escaped(block):
    svg = cd_diagram_svg(block)
    assert XSS not in svg and "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    root = _parse(svg)
    assert XSS in _ticks(root) and not list(root.iter(f"{NS}script")) and not list(root.iter("script"))


@pytest.mark.parametrize("k", [2, 3, 7, 10])
def test_legible_for_k_methods_with_long_names(k):
    names = [f"algorithm_{i}_with_a_long_nm"[:24] for i in range(k)]
    ranks = {m: 1 + i * (k - 1) / max(1, k - 1) for i, m in enumerate(names)}
    ranks[names[0]] = 0.2  # out of range: clamped onto the axis
    block = {"methods": names, "order": names, "mean_ranks": ranks, "cd": 1.2, "cliques": [names[:2]],
             "n_units": 10, "label": f"{k} algorithms x 5 tasks", "p": 0.01, "chi2": 12.0, "metric": "accuracy"}
    root = _parse(cd_diagram_svg(block))
    ticks, per_rank = _ticks(root), _per_rank(root)
    width = float(root.get("viewBox").split()[2])
    assert per_rank * (k - 1) >= 180 and 0 < min(ticks.values()) and max(ticks.values()) < width
    assert ticks[names[0]] == pytest.approx(ticks[names[1]] - per_rank * (ranks[names[1]] - 1), abs=0.2)
    names_drawn = [el for el in root.iter(f"{NS}text") if el.get("class") == "method-name"]
    assert [el.text for el in names_drawn] == names  # 24 characters fit whole at width 640
    rows = sorted(float(el.get("y")) for el in names_drawn)
    assert float(root.get("viewBox").split()[3]) > rows[-1]
