"""``medzoo results [PATH ...]``: mean +- std over seeds per task x algorithm, from results files.

Usage::

    medzoo results
    medzoo results medzoo-runs other-runs/results.jsonl --split target_test --format csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

from zoo.errors import DataError


def _has_results_file(path: Path) -> bool:
    """A results file given directly, or a folder holding one (directly or below, as ``load_records`` reads)."""
    from zoo.results.store import RESULTS_FILENAME

    return path.is_file() or (path / RESULTS_FILENAME).is_file() or any(path.rglob(RESULTS_FILENAME))


def run(args: argparse.Namespace) -> int:
    from zoo.results.store import RESULTS_FILENAME, load_records
    from zoo.results.table import print_results_table, to_csv, to_markdown

    paths = args.paths or [args.output_dir]
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise DataError(f"no results at {', '.join(missing)}; run `medzoo run SUITE` first or pass the results folder")
    where = ", ".join(str(p) for p in paths)
    if not any(_has_results_file(Path(p)) for p in paths):
        raise DataError(f"no {RESULTS_FILENAME} in {where}; run `medzoo run SUITE -o FOLDER` first or pass the results folder")
    records = load_records(paths)
    if not records:
        raise DataError(f"no finished runs in {where}; run `medzoo run SUITE` first (each finished run adds one line)")
    if args.suite:
        suites = sorted({r["suite"]["name"] for r in records})
        records = [r for r in records if r["suite"]["name"] == args.suite]
        if not records:
            raise DataError(f"no runs of suite '{args.suite}' in {where}; suites there: {', '.join(suites)}")
    metrics = {"metrics": tuple(m.strip() for m in args.metrics.split(",") if m.strip())} if args.metrics else {}
    if args.format == "csv":
        print(to_csv(records, split=args.split, **metrics), end="")
    elif args.format == "markdown":
        print(to_markdown(records, split=args.split, **metrics), end="")
    else:
        from zoo.cli.common import stdout_console

        print_results_table(records, console=stdout_console(), split=args.split, **metrics)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "results", help="summarise results over seeds",
        description="Summarise finished runs: mean +- std over seeds per task x algorithm x backbone x selection.",
        epilog="examples:\n  medzoo results\n  medzoo results medzoo-runs --format markdown\n"
               "  medzoo results --metrics balanced_accuracy,f1,recall:malignant   # per-class: METRIC:CLASS",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="*", type=Path, help="results folders or .jsonl files (default: --output-dir)")
    parser.add_argument("--suite", help="only this suite")
    parser.add_argument("--split", default="target_test", help="which split's metrics (default target_test)")
    parser.add_argument("--format", choices=("table", "csv", "markdown"), default="table")
    parser.add_argument("--metrics", help="comma-separated columns (default accuracy,balanced_accuracy,f1,auroc); "
                                          "METRIC:CLASS reads the per-class report, e.g. recall:malignant")
    from zoo.cli.common import add_output_dir

    add_output_dir(parser)
    parser.set_defaults(func=run)
