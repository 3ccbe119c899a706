"""One provenance page per run (``runs/<run_id>.html``): config, metrics, cost, versions, git sha, hardware.

Everything shown is read from the run's record (escaped); the whole record is on the page too, as JSON
(backbone config, task domains, curves, stages: what the summary leaves out).
The checkpoint is named by its path in the results folder, and linked to its model card when the record
says where the checkpoint was published (``hub: {repo_id, revision?, endpoint?}``: ``medzoo push`` of a run
notes it in the run folder and :func:`zoo.leaderboard.load.read_records` adds it).

Usage::

    Path(f"site/runs/{record['run_id']}.html").write_text(run_page(record, "suite-quick-1.html"))
"""

from __future__ import annotations

import json
import re
from typing import Any

from zoo.leaderboard.html import DASH, badge, budget_text, esc, label_cells, num, page, pct
from zoo.leaderboard.presets import DEFAULT, preset_of, seeds_text
from zoo.leaderboard.summary import ORACLE_RULES, plugin_labels
from zoo.results.setting import record_setting
from zoo.results.stats import backbone_label

SHOWN_METRICS = ("accuracy", "balanced_accuracy", "f1", "auroc", "ece", "nll", "n")
HUB = "https://huggingface.co"
REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


def card_url(record: dict[str, Any]) -> str | None:
    """The Hub page of the run's published checkpoint (its model card), or None.

    Usage::

        card_url({"hub": {"repo_id": "org/dann-quick", "revision": "main"}})   # 'https://huggingface.co/org/dann-quick'
    """
    hub = record.get("hub")
    repo = hub.get("repo_id") if isinstance(hub, dict) else None
    if not (isinstance(repo, str) and REPO_ID.match(repo)):
        return None
    endpoint = hub.get("endpoint") if isinstance(hub.get("endpoint"), str) else HUB
    if not re.match(r"^https?://[A-Za-z0-9.:\[\]-]+/?$", endpoint):
        endpoint = HUB
    return f"{endpoint.rstrip('/')}/{repo}"


def _dl(items: list[tuple[str, str]], dl_id: str = "") -> str:
    """A definition list; values are HTML already."""
    ident = f' id="{dl_id}"' if dl_id else ""
    return f"<dl{ident}>" + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _json(obj: Any) -> str:
    # compact: json's C encoder (indent= would fall back to the pure-Python one, 10x slower on 10k pages)
    return esc(json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(", ", ": ")))


def _metric_text(metric: str, value: Any) -> str:
    """Counts as integers, NLL in nats, everything else in percent."""
    if metric == "n":
        return num(value, 0)
    return num(value, 3) if metric == "nll" else pct(value)


def _metrics_table(metrics: dict[str, Any]) -> str:
    head = "".join(f'<th scope="col">{esc(m)}</th>' for m in SHOWN_METRICS)
    rows = []
    for split in sorted(metrics):
        values = metrics[split] if isinstance(metrics[split], dict) else {}
        cells = "".join(f"<td>{esc(_metric_text(m, values.get(m)))}</td>" for m in SHOWN_METRICS)
        rows.append(label_cells(f'<tr><th scope="row">{esc(split)}</th>{cells}</tr>', SHOWN_METRICS))
    return (f'<div class="scroll" tabindex="0"><table class="plain cards" id="metrics"><caption>Metrics per split (%, '
            f'NLL in nats)</caption><thead><tr><th scope="col">split</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def record_json(record: dict[str, Any]) -> str:
    """The record as compact JSON with sorted keys (the page shows it; ``data/results.json`` joins them).

    Usage::

        record_json({"b": 1, "a": 2})   # '{"a":2,"b":1}'
    """
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _selections_table(record: dict[str, Any]) -> str:
    """Every rule that selected for this run (one training): epoch, score, target-test accuracy, its files."""
    selections = record.get("selections") or {}
    if not selections:
        return "<p>One selection rule (a record from before every rule was kept).</p>"
    status = record.get("prediction_files") or {}
    from zoo.selection import RULES

    rows = []
    order = [r for r in RULES if r in selections] + sorted(r for r in selections if r not in RULES)
    for rule in order:  # a fixed order: a record read back from the Hub has its keys sorted
        chosen = selections[rule]
        chosen_set = chosen.get("selection_set") or {}
        per_class = ", ".join(f"{k}: {v}" for k, v in sorted((chosen_set.get("per_class") or {}).items())) or DASH
        if chosen_set.get("small"):
            per_class += " " + badge("few labels", "warn", "fewer than 5 labelled images in some class")
        files = chosen.get("predictions") or {}
        check = status.get(files.get("file"), "not checked")
        rows.append(f"<tr><td>{esc(rule)}</td><td>{esc(chosen.get('epoch'))}</td>"
                    f"<td>{esc(num(chosen.get('score'), 4))}</td>"
                    f"<td>{esc(pct((chosen.get('metrics') or {}).get('target_test', {}).get('accuracy')))}</td>"
                    f"<td>{per_class}</td><td><code>{_path(chosen.get('checkpoint', DASH))}</code></td>"
                    f"<td><code>{_path(files.get('file', DASH))}</code> ({esc(check)})</td></tr>")
    labels = ("Rule", "Epoch", "Score", "Target-test accuracy", "Selection labels", "Checkpoint",
              "Predictions (sha256)")
    head = "".join(f"<th>{h}</th>" for h in labels)
    body = "".join(label_cells(row, labels) for row in rows)
    return (f'<div class="scroll" tabindex="0"><table class="plain cards" id="selections"><thead><tr>{head}</tr>'
            f'</thead><tbody>{body}</tbody></table></div>')


def _path(path: Any) -> str:
    """A path, escaped, that may wrap after each ``/`` (not inside a file name) in a narrow column."""
    return esc(path).replace("/", "/<wbr>")


def _preset_text(record: dict[str, Any]) -> str:
    """The preset the run's settings match (records do not name it: zoo.leaderboard.presets), as HTML."""
    match = preset_of(record)
    if match is None:
        return ('<span id="preset">none matched</span> (its settings match no preset of a suite medzoo ships: '
                "changed on the command line, or a suite of one's own)")
    seeds = (f": asks for {seeds_text(match.n_seeds)} ({', '.join(map(str, match.seeds))})"
             if match.seeds is not None else "")
    told = f"; {', '.join(match.keys)} tell the presets apart" if match.keys else ""
    name = " or ".join("default (no --preset)" if n == DEFAULT else n for n in match.names)
    return (f'<span id="preset">{esc(name)}</span>{esc(seeds)} <span class="muted">(identified from the run\'s '
            f'settings{esc(told)})</span>')


def run_page(record: dict[str, Any], suite_href: str, dumped: str | None = None) -> str:
    """The provenance page of one run; ``suite_href`` is its suite page's file name (links go ``../``).

    ``dumped``: :func:`record_json` of the record, when the caller has it already.

    Usage::

        run_page(record, "suite-quick-1.html", record_json(record))
    """
    prov = record.get("provenance") or {}
    git = prov.get("git") if isinstance(prov.get("git"), dict) else {}
    task, selection = record["task"], record["selection"]
    badges = []
    if selection.get("rule") in ORACLE_RULES:
        badges.append(badge("oracle · upper bound", "oracle", "selected with all target validation labels"))
    badges += [badge(f"plugin: {label}", "plugin") for label in plugin_labels(record)]
    sha = git.get("sha")
    sha_text = (f'<code id="git-sha">{esc(sha)}</code>' if sha
                else '<span id="git-sha">unknown (not a git checkout)</span>')
    if git.get("dirty"):
        sha_text += " " + badge("uncommitted changes", "warn", "the checkout had uncommitted changes when it ran")
    checkpoint = record.get("checkpoint")
    card = card_url(record)
    ckpt = f"<code>{esc(checkpoint)}</code> (in the results folder)" if checkpoint else "not kept"
    if card:
        ckpt += f' · <a id="checkpoint-card" href="{esc(card)}">checkpoint card</a>'
    timings = record.get("timings") or {}
    summary = _dl([
        ("Suite", f'<a href="../{esc(suite_href)}">{esc(record["suite"]["name"])}@'
                  f'{esc(record["suite"]["version"])}</a>'),
        ("Task", f'{esc(task["name"])}: {esc(" + ".join(task.get("pretrain") or task["source"]) or "from scratch")} → '
                 f'{esc(task["target"])}, target budget {esc(budget_text(task["target_budget"]))}'),
        ("Setting", f'<span id="setting">{esc(record_setting(record))}</span>'),  # transfer for older records
        ("Algorithm", f'<span id="algorithm">{esc(record["algorithm"])}</span> {" ".join(badges)}'),
        ("Backbone", f'<span id="backbone">{esc(backbone_label(record["backbone"]))}</span>'),
        ("Seed", f'<span id="seed">{esc(record["seed"])}</span>'),
        ("Preset", _preset_text(record)),
        ("Selection", f'<span id="selection">{esc(selection.get("rule"))}</span> on '
                      f'{esc(selection.get("metric", DASH))}'
                      f', epoch {esc(selection.get("epoch", DASH))}, stage {esc(selection.get("stage", DASH))}'),
        ("Checkpoint", ckpt),
        ("Finished", esc(record["created_at"])),
    ], "run-summary")
    cost = _dl([(k, esc(num(timings.get(k), 1 if k != "images_per_s" else 0))) for k in
                ("train_s", "eval_s", "total_s", "images_per_s", "peak_memory_mb")], "cost")
    hardware = prov.get("hardware") if isinstance(prov.get("hardware"), dict) else {}
    packages = prov.get("packages") if isinstance(prov.get("packages"), dict) else {}
    plugins = prov.get("plugins") if isinstance(prov.get("plugins"), list) else []
    versions = _dl([
        ("medzoo", f'<span id="medzoo-version">{esc(prov.get("medzoo_version", DASH))}</span>'),
        ("git sha", sha_text),
        ("Python", esc(f'{prov.get("python", DASH)} {prov.get("python_implementation", "")}'.strip())),
        ("Platform", esc(prov.get("platform", DASH))),
        *[(name, esc(packages[name] if packages[name] is not None else "not installed")) for name in sorted(packages)],
        ("Plugins installed", esc(", ".join(f"{p.get('name')} {p.get('version')}" for p in plugins
                                            if isinstance(p, dict)) or "none")),
    ], "versions")
    hw = _dl([(k, esc(json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v))
              for k, v in sorted(hardware.items())], "hardware")
    body = "\n".join([
        "<section><h2>Run</h2>", summary, "</section>",
        "<section><h2>Scores</h2>", _metrics_table(record["metrics"]),
        "<h3>Every selection rule, from this one training</h3>", _selections_table(record),
        *(f'<p class="caveat">Caveat: {esc(c)}.</p>' for c in record.get("caveats") or []),
        "<h3>Cost</h3>", cost, "</section>",
        "<section><h2>Provenance</h2><h3>Versions</h3>", versions, "<h3>Hardware</h3>", hw, "</section>",
        "<section><h2>Configuration</h2>",
        f'<h3>Hyperparameters</h3><pre id="hparams">{_json(record["hparams"])}</pre>',
        f'<h3>Training</h3><pre id="train">{_json(record["train"])}</pre></section>',
        f'<details><summary>The whole record (JSON)</summary><pre id="record" class="wrap">'
        f'{esc(dumped if dumped is not None else record_json(record))}</pre></details>',
    ])
    crumbs = (f' <span class="crumb">/ <a href="../{esc(suite_href)}">{esc(record["suite"]["name"])}</a> / '
              f'run {esc(record["run_id"])}</span>')
    title = f"run {record['run_id']}: {record['algorithm']} on {task['name']}, seed {record['seed']}"
    return page(title, body, root="../", heading=title, crumbs=crumbs)
