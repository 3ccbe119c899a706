"""``medzoo run SUITE --plan``: print what the run would train, what is finished, the data and the time.

Usage::

    medzoo run quick --plan
    medzoo run progressive --preset quick --plan
    medzoo run quick --add-algorithm mcc --plan -o medzoo-runs
"""

from __future__ import annotations

import argparse

from rich.table import Table

from zoo.bench.data_needs import missing_hint
from zoo.bench.plan import Plan


def duration(seconds: float | None) -> str:
    """``42 s``, ``3.5 min``, ``2.1 h``; ``?`` when unknown."""
    if seconds is None:
        return "?"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def plan_table(plan: Plan) -> Table:
    table = Table(title=f"plan: suite {plan.suite}")
    for column in ("task", "algorithm", "runs", "finished", "to train", "per run", "estimate from"):
        table.add_column(column, justify="right" if column in ("runs", "finished", "to train", "per run") else "left")
    for row in plan.rows:
        if not row.runnable:
            table.add_row(row.task, row.algorithm, str(row.runs), str(row.finished), "[yellow]skipped[/yellow]", "",
                          "[yellow]data missing[/yellow]")
            continue
        per_run = duration(row.seconds) if row.to_train else ""
        table.add_row(row.task, row.algorithm, str(row.runs), str(row.finished), str(row.to_train), per_run,
                      row.basis if row.to_train else "")
    return table


def data_table(plan: Plan) -> Table:
    table = Table(title="data files")
    for column in ("task", "file", "status"):
        table.add_column(column)
    for status in plan.data:
        for need in status.files:
            state = "[green]present[/green]" if need.present else f"[red]missing[/red]: {need.download or 'your file'}"
            table.add_row(status.task, str(need.path), state)
    return table


def render_plan(plan: Plan, console, args: argparse.Namespace) -> None:
    """The plan's tables and its summary lines."""
    console.print(plan_table(plan))
    if any(status.files for status in plan.data):
        console.print(data_table(plan))
    skipped = [s for s in plan.data if not s.runnable and any(r.task == s.task and not r.runnable for r in plan.rows)]
    for status in skipped:
        console.print(f"[yellow]task {status.task} will be skipped[/yellow]: get its files with "
                      f"`{missing_hint(status.missing)}` (or run with --download)")
    skipped_runs = sum(r.runs for r in plan.rows if not r.runnable)
    estimate = (f"estimated {duration(plan.seconds)}" + (f" (pretraining included: {duration(plan.pretrain_s)})"
                                                         if plan.pretrain_s else "")
                if plan.seconds is not None else "no time estimate (no finished run of some configuration"
                + (", and --no-probe)" if args.no_probe else ")"))
    console.print(f"{plan.runs} runs: {plan.finished} finished, {plan.to_train} to train, {estimate}"
                  + (f"; {skipped_runs} runs skipped for missing data" if skipped_runs else ""))
    if any(r.basis == "probe" for r in plan.rows):
        console.print("a probe trains a few steps of a configuration here and errs long; finished runs of the same "
                      f"configuration in {args.output_dir} give better estimates")
    console.print("to train: the same command without --plan")
