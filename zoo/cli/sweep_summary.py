"""``medzoo sweep-summary [PATH ...]``: the best random-search trial per task x algorithm, chosen on validation.

The choice reads only the validation split each run's selection rule names (``zoo.results.best_trial``);
the ``--split`` column (default ``target_test``) reports the chosen trial, it never chooses it.

Usage::

    medzoo sweep-summary
    medzoo sweep-summary medzoo-runs --trials            # every trial, ranked by its validation score
    medzoo sweep-summary --format csv > best.csv
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from zoo.errors import DataError

FORMATS = ("table", "markdown", "csv")
COLUMNS = ("task", "algorithm", "backbone", "selection", "trials", "trial", "val", "seeds", "report", "hparams")


def _mean_std(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else math.nan
    return mean, std


def _percent(values: list[float]) -> str:
    if not values:
        return "–"
    mean, std = _mean_std(values)
    return f"{100 * mean:.1f}" + ("" if math.isnan(std) else f" ± {100 * std:.1f}")


def _searched(choice) -> list[str]:
    """Hyperparameters that differ between the experiment's trials (the ones the sweep searched)."""
    names = sorted({name for t in choice.trials for name in t.hparams})
    return [n for n in names if len({json.dumps(t.hparams.get(n), sort_keys=True) for t in choice.trials}) > 1]


def _hparams_text(hparams: dict[str, Any], names: list[str]) -> str:
    def fmt(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.4g}"
        return value if isinstance(value, str) else json.dumps(value)

    return ", ".join(f"{n}={fmt(hparams.get(n))}" for n in names)


def _score_text(score: float | None, metric: str) -> str:
    """A fraction as a percentage; a rule's own score (DEV's ``score``, a negative risk) as it is."""
    if score is None:
        return "–"
    return f"{score:.4g}" if metric == "score" else f"{100 * score:.1f}"


def summary_rows(choices, split: str = "target_test", metric: str = "accuracy", all_trials: bool = False
                 ) -> list[dict[str, Any]]:
    """One row per experiment (its best trial), or per trial with ``all_trials``; cells as strings.

    Usage::

        rows = summary_rows(best_trials(records), split="target_test")
    """
    rows = []
    for choice in choices:
        names = _searched(choice)
        for rank, trial in enumerate(choice.trials if all_trials else [choice.best], 1):
            report = [r["metrics"][split][metric] for r in trial.records
                      if isinstance(r.get("metrics", {}).get(split, {}).get(metric), (int, float))]
            rows.append({
                "task": choice.task, "algorithm": choice.algorithm, "backbone": choice.backbone,
                "selection": f"{choice.rule} ({choice.split} {choice.metric})",
                "trials": str(len(choice.trials)) if not all_trials else f"#{rank}",
                "trial": "-" if trial.trial is None else str(trial.trial),
                "val": _score_text(trial.score, choice.metric),
                "seeds": str(trial.n),
                "report": _percent(report),
                "hparams": _hparams_text(trial.hparams, names),
            })
    return rows


def _headers(split: str, metric: str, all_trials: bool) -> dict[str, str]:
    return {"task": "Task", "algorithm": "Algorithm", "backbone": "Backbone", "selection": "Selected by",
            "trials": "Rank" if all_trials else "Trials", "trial": "Trial", "val": "Val score",
            "seeds": "Seeds", "report": f"{split} {metric} (%)", "hparams": "Searched hparams"}


def render(rows: list[dict[str, Any]], fmt: str, split: str, metric: str, all_trials: bool = False, console=None
           ) -> str | None:
    """``table`` prints to ``console`` (a rich Console); ``markdown`` and ``csv`` return the text."""
    headers = _headers(split, metric, all_trials)
    columns = [c for c in COLUMNS if c != "backbone" or len({r["backbone"] for r in rows}) > 1]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()
    if fmt == "markdown":
        lines = ["| " + " | ".join(headers[c] for c in columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(row[c] for c in columns) + " |" for row in rows]
        return "\n".join(lines) + "\n"
    from rich.table import Table

    title = f"Best trial per task x algorithm (chosen on validation; {split} only reported)"
    table = Table(title=title if not all_trials else "Every trial, ranked on validation")
    for column in columns:
        table.add_column(headers[column], justify="right" if column in ("val", "report", "seeds") else "left")
    for row in rows:
        table.add_row(*(row[c] for c in columns))
    console.print(table)
    return None


def run(args: argparse.Namespace) -> int:
    from zoo.results.best_trial import best_trials
    from zoo.results.names import warn_moved_split
    from zoo.results.reader import load_records

    paths = args.paths or [args.output_dir]
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise DataError(f"no results at {', '.join(missing)}; run `medzoo run SUITE` first or pass the results folder")
    records = load_records(paths)
    warn_moved_split(records, args.split)  # target_val meant every label before record schema 3
    if args.suite:
        records = [r for r in records if r["suite"]["name"] == args.suite]
    if args.sweeps_only:
        records = [r for r in records if "sweep" in r]
    if args.selection and records:  # choose trials by another rule, from the same trainings
        from zoo.results.record import select_views

        records, _ = select_views(records, args.selection)
    if not records:
        where = ", ".join(str(p) for p in paths)
        raise DataError(f"no finished runs{f' of suite {args.suite!r}' if args.suite else ''} in {where}; "
                        "run `medzoo run SUITE` with a sweep block first")
    rows = summary_rows(best_trials(records), args.split, args.metric, args.trials)
    if args.format == "table":
        from zoo.cli.common import stdout_console

        render(rows, "table", args.split, args.metric, args.trials, console=stdout_console())
    else:
        print(render(rows, args.format, args.split, args.metric, args.trials), end="")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    from zoo.cli.common import split_arg

    parser = sub.add_parser(
        "sweep-summary", help="best hyperparameter trial per task x algorithm (chosen on validation)",
        description="Pick the best random-search trial of each task x algorithm by the mean over seeds of the "
                    "validation metric its selection rule names; test splits are only reported.",
        epilog="examples:\n  medzoo sweep-summary\n  medzoo sweep-summary medzoo-runs --trials\n"
               "  medzoo sweep-summary --format markdown --split target_test --metric balanced_accuracy",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="*", type=Path, help="results folders or .jsonl files (default: --output-dir)")
    parser.add_argument("--suite", help="only this suite")
    parser.add_argument("--split", default="target_test", type=split_arg,
                        help="split reported for the chosen trial (default target_test)")
    parser.add_argument("--metric", default="accuracy", help="metric reported on --split (default accuracy)")
    parser.add_argument("--selection", metavar="RULE",
                        help="choose the best trial by RULE's validation split (source_val, target_val, "
                             "target_val_oracle, deep_embedded_validation (formerly dev)) instead of the rule each "
                             "run reports; no retraining")
    parser.add_argument("--trials", action="store_true", help="list every trial, ranked, not only the best")
    parser.add_argument("--sweeps-only", action="store_true", help="leave out runs that are not part of a sweep")
    parser.add_argument("--format", choices=FORMATS, default="table")
    from zoo.cli.common import add_output_dir

    add_output_dir(parser)
    parser.set_defaults(func=run)
