"""The downloadable data of the site: every record (JSON), one line per run (CSV), the tables (JSON, CSV).

``results.json`` holds the records exactly as read (a JSON array, one record a line, sorted by run_id), so
anyone can recompute every number
on the site; ``results.csv`` flattens each run to one row; ``leaderboard.json`` and ``cells.csv`` are the
computed tables. Output is deterministic (sorted keys, fixed float formatting through
:func:`zoo.results.render.csv_text`).

Usage::

    files = data_files(records, summaries, metric="accuracy", split="target_test")
    files["data/results.csv"]   # bytes
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from zoo.results.record import to_jsonable
from zoo.results.render import csv_text
from zoo.results.setting import record_setting
from zoo.results.stats import backbone_label

CSV_METRICS = ("accuracy", "balanced_accuracy", "f1", "auroc")
TIMINGS = ("train_s", "eval_s", "total_s", "images_per_s", "peak_memory_mb")


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(to_jsonable(obj), sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            + "\n").encode("utf-8")


def _plugins(record: dict[str, Any]) -> str:
    plugins = (record.get("provenance") or {}).get("plugins")
    if not isinstance(plugins, list):
        return ""
    return ";".join(f"{p.get('name')} {p.get('version')}" for p in plugins if isinstance(p, dict))


def runs_csv(records: Sequence[dict[str, Any]], split: str) -> str:
    """One row per run: what ran (its task's ``setting`` too), its scores on ``split``, its cost and its provenance
    in short.

    Usage::

        Path("runs.csv").write_text(runs_csv(records, "target_test"))
    """
    header = ["run_id", "suite", "suite_version", "setting", "task", "source", "pretrain", "target", "target_budget",
              "algorithm", "backbone", "selection", "seed", *[f"{split}.{m}" for m in CSV_METRICS], *TIMINGS,
              "medzoo_version", "git_sha", "plugins", "created_at"]
    rows = []
    for r in records:
        prov = r.get("provenance") or {}
        git = prov.get("git") if isinstance(prov.get("git"), dict) else {}
        scores = r["metrics"].get(split) if isinstance(r["metrics"].get(split), dict) else {}
        rows.append([r["run_id"], r["suite"]["name"], r["suite"]["version"], record_setting(r), r["task"]["name"],
                     "+".join(r["task"]["source"]), "+".join(r["task"].get("pretrain") or []), r["task"]["target"],
                     r["task"]["target_budget"], r["algorithm"], backbone_label(r["backbone"]),
                     r["selection"]["rule"], r["seed"], *[scores.get(m) for m in CSV_METRICS],
                     *[(r.get("timings") or {}).get(t) for t in TIMINGS], prov.get("medzoo_version"),
                     git.get("sha"), _plugins(r), r["created_at"]])
    return csv_text(header, rows)


def cells_csv(summaries: Sequence[dict[str, Any]]) -> str:
    """One row per suite x setting x task x algorithm x backbone x selection rule, as the task tables show them;
    ``metric`` is the one the suite is ranked by, ``constant_predictor`` says a run of the cell predicted one class
    only; ``preset`` is the one its runs matched (empty: none), ``seeds_from`` what ``required_seeds`` counts
    against.

    Usage::

        Path("cells.csv").write_text(cells_csv(summarize_suites(records)))
    """
    header = ["suite", "setting", "task", "algorithm", "backbone", "selection", "oracle", "n", "required_seeds", "mean",
              "ci_low", "ci_high", "baseline", "gain", "p", "p_raw", "test", "rank", "train_s", "peak_memory_mb",
              "images_per_s", "plugins", "metric", "constant_predictor", "constant_runs", "baseline_constant", "preset",
              "seeds_from"]
    rows = []
    for suite in summaries:
        for task in suite["tasks"]:
            for c in task["cells"]:
                gain = c["gain"] or {}
                rows.append([suite["suite"], task.get("setting", ""), c["task"], c["algorithm"], c["backbone"],
                             c["selection"], c["oracle"],
                             c["n"], c["required_seeds"], c["mean"], c["ci_low"], c["ci_high"],
                             gain.get("baseline", ""), gain.get("gain"), gain.get("p"), gain.get("p_raw"),
                             gain.get("test", ""),
                             c["rank"],
                             *[c["cost"][k] for k in ("train_s", "peak_memory_mb", "images_per_s")],
                             ";".join(c["plugins"]), suite["metric"], c["constant_predictor"], c["constant_runs"],
                             bool(gain.get("baseline_constant")), c["preset"] or "", c["seeds_from"]])
    return csv_text(header, rows)


def data_files(records: Sequence[dict[str, Any]], summaries: Sequence[dict[str, Any]], split: str,
               dumped: Sequence[str] | None = None) -> dict[str, bytes]:
    """``{path in the site: bytes}`` of the data folder; ``dumped``: each record as JSON text, if at hand.

    Usage::

        data_files(records, summarize_suites(records), "target_test")
    """
    if dumped is None:
        from zoo.leaderboard.run_page import record_json

        dumped = [record_json(record) for record in records]
    return {
        "data/results.json": ("[\n" + ",\n".join(dumped) + "\n]\n").encode("utf-8"),
        "data/results.csv": runs_csv(records, split).encode("utf-8"),
        "data/leaderboard.json": _json_bytes({"generator": "medzoo leaderboard", "suites": list(summaries)}),
        "data/cells.csv": cells_csv(summaries).encode("utf-8"),
    }
