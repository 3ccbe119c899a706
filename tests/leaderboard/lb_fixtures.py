"""Records for the leaderboard tests: real runs of the ``quick`` suite, and variants derived from them.

``real_quick_records`` runs the real ``medzoo run quick`` on its 10%-label task (1 epoch of 2 steps, 3 seeds,
source_only and source_then_target: 6 runs, ~10 s on an idle 2-core CPU, on PneumoniaMNIST). Everything else is a copy
of a real record with named fields changed (``derive``), so every record the site is built from has the
shape the runner writes: an oracle-selected row, the source_only runs as a second selection rule chose
(two source_only rows on one task), a plugin algorithm with too few seeds, a cross-modality-like suite
(pretraining vs from-scratch tasks at 1/10/100% labels), runs of a shipped suite's one-seed preset
(``progressive --preset quick``: three algorithms, with the settings that preset resolves to) and a suite
whose strings are script-injection payloads.

Usage::

    records = real_quick_records(tmp_path)
    site_records = scenario(records)
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from helpers.cli import cli_env, medzoo_executable

from zoo.results.record import view_record

QUICK = ["run", "quick", "--task", "pneumonia-shift-10pct", "train.epochs=1", "train.max_steps_per_epoch=2",
         "seeds=[0,1,2]", "--no-progress"]
PLUGIN_DIST = {"name": "medzoo-example-plugin", "version": "0.1.0"}
# Each payload would change the page title or set a global if it ever ran as markup or script.
XSS_ALGO = "<script>document.title='pwned';window.__pwned=1</script>"
XSS_TASK = '<img src=x onerror="window.__pwned=2">'
XSS_SUITE = "x</script><svg onload=window.__pwned=3>"
XSS_PLUGIN = "<script>alert(1)</script>"
# ... and this one would run as a formula in a spreadsheet that opens the CSV, were it not quoted
XSS_BACKBONE = "=HYPERLINK(\"http://x\")</td><b onmouseover=window.__pwned=4>bb"
ONE_SEED_PRESET = ("progressive", 1, "quick")  # a shipped suite, its version and its one-seed preset
ROOT = Path(__file__).resolve().parents[2]


def real_quick_records(out: Path, data_dir: Path) -> list[dict[str, Any]]:
    """Run the real quick suite's 10% task once into ``out`` and return its 6 records."""
    env = cli_env({"MEDZOO_DATA": str(data_dir), "HF_HUB_OFFLINE": "1", "HF_HOME": str(out / "hf-home")})
    proc = subprocess.run([medzoo_executable(), *QUICK, "-o", str(out)], env=env, cwd=out.parent,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines() if line.strip()]


def derive(record: dict[str, Any], run_id: str, **changes: Any) -> dict[str, Any]:
    """A deep copy of a real record with a new run_id and dotted-path fields replaced.

    Usage::

        derive(rec, "x-1", **{"selection.rule": "target_val_oracle", "metrics.target_test.accuracy": 0.9})
    """
    out = copy.deepcopy(record)
    out["run_id"] = run_id
    for path, value in changes.items():
        node = out
        *parents, last = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return out


def _acc(base: float, seed: int) -> dict[str, Any]:
    value = round(base + 0.01 * (seed - 1), 6)
    return {"metrics.target_test.accuracy": value, "metrics.target_test.balanced_accuracy": value - 0.02}


def scenario(real: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records every leaderboard test builds from (see the module docstring)."""
    real = sorted(real, key=lambda r: r["run_id"])
    ft = [r for r in real if r["algorithm"] == "source_then_target"]
    out = list(real)
    for r in ft:  # the same finetune runs selected by the oracle rule: an upper bound
        acc = r["metrics"]["target_test"]["accuracy"] + 0.05
        out.append(derive(r, f"oracle-{r['seed']}", **{"selection.rule": "target_val_oracle",
                                                        "metrics.target_test.accuracy": acc}))
    for r in (r for r in real if r["algorithm"] == "source_only"):  # the same runs as source_val chose: 2nd row
        out.append(derive(view_record(r, "source_val"), f"source-val-{r['seed']}",
                          **{"metrics.target_test.accuracy": 0.55 + 0.01 * r["seed"]}))
    for r in ft[:2]:  # a plugin algorithm with two of the three seeds
        comp = copy.deepcopy(r["provenance"]["components"])
        comp["algorithm"] = {"name": "example_algo", **{"dist": PLUGIN_DIST["name"], "version": PLUGIN_DIST["version"]}}
        out.append(derive(r, f"plugin-{r['seed']}", algorithm="example_algo", **{
            "provenance.components": comp, "provenance.plugins": [PLUGIN_DIST],
            "metrics.target_test.accuracy": 0.7 + 0.01 * r["seed"]}))
    template = ft[0]
    budgets = {"1pct": 0.01, "10pct": 0.1, "100pct": 1.0}
    for tag, budget in budgets.items():
        for origin, algos, base in (("xray", ("full_ft", "lp_ft"), 0.70), ("scratch", ("full_ft",), 0.62)):
            task = {**template["task"], "name": f"{origin}-to-breast-{tag}", "target": "breast",
                    "target_budget": budget, "source": [], "pretrain": [] if origin == "scratch" else ["xray"]}
            for algo in algos:
                for seed in (0, 1, 2):
                    level = base + 0.1 * list(budgets).index(tag) + (0.02 if algo == "lp_ft" else 0)
                    out.append(derive(template, f"cm-{origin}-{tag}-{algo}-{seed}", algorithm=algo, seed=seed,
                                      task=task, **{"suite": {"name": "cross-modality", "version": 1},
                                                    "selection.rule": "target_val", **_acc(level, seed)}))
    out += one_seed_preset(template)
    comp = copy.deepcopy(template["provenance"]["components"])
    comp["algorithm"] = {"name": XSS_ALGO, "dist": XSS_PLUGIN, "version": "6.6.6"}
    for seed in (0, 1):
        out.append(derive(template, f"xss-{seed}", algorithm=XSS_ALGO, seed=seed, **{
            "suite": {"name": XSS_SUITE, "version": 1}, "task.name": XSS_TASK, "backbone.name": XSS_BACKBONE,
            "provenance.components": comp, "provenance.plugins": [{"name": XSS_PLUGIN, "version": "6.6.6"}],
            "provenance.git.sha": "<b>not-a-sha</b>"}))
    for seed in (0, 1):
        out.append(derive(template, f"xss-base-{seed}", algorithm="source_only", seed=seed, **{
            "suite": {"name": XSS_SUITE, "version": 1}, "task.name": XSS_TASK}))
    return out


def one_seed_preset(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Runs of ``medzoo run progressive --preset quick`` (seeds [0]): the train settings and backbone that preset
    resolves to, on a pretraining task (three algorithms) and its from-scratch baseline."""
    from zoo.bench.suite import load_suite

    name, version, preset = ONE_SEED_PRESET
    suite = load_suite(name, preset=preset)
    assert suite.version == version and [len(suite.task_defaults[t.name]["seeds"]) for t in suite.tasks][0] == 1
    out = []
    for task, pretrain, base in (("xray-breast", ["xray"], 0.66), ("scratch-breast", [], 0.6)):
        settings = suite.task_defaults[task]
        algorithms = next(t.algorithms for t in suite.tasks if t.name == task)
        backbone = {**template["backbone"], "name": settings["backbone"]["name"],
                    "options": {k: v for k, v in settings["backbone"].items() if k != "name"}}
        spec = {**template["task"], "name": task, "source": [], "pretrain": pretrain, "target": "breast",
                "target_budget": 0.1}
        for i, algorithm in enumerate(algorithms):
            out.append(derive(template, f"preset-{task}-{algorithm}", algorithm=algorithm, seed=0, task=spec,
                              backbone=backbone, train=dict(settings["train"]), **{
                                  "suite": {"name": name, "version": version}, "selection.rule": "target_val",
                                  **_acc(base + 0.03 * i, 1)}))
    return out


def write_jsonl(records: list[dict[str, Any]], path: Path) -> Path:
    """Write records as a results.jsonl file (one line each)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def keep_artifact(path: Path) -> None:
    """Copy an artifact (a screenshot) into leaderboard/screenshots/ of the checkout (git-ignored)."""
    target = ROOT / "leaderboard" / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, target / path.name)
