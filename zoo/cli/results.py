"""``medzoo results [PATH ...]``: mean +- std (or a 95% CI) over seeds per task x algorithm, from results files.

``--ci t|bootstrap`` puts "mean [low, high]" in the cells; ``--compare BASELINE`` adds the paired gain over
the baseline (same task and seed) on the first metric with its sign-flip p-value; ``--rank`` prints the
average rank of each algorithm across tasks after the table (with ``--format csv``: the rank table alone).
Without ``--metrics`` the first metric is the primary one (``zoo.results.primary``): the suite's declared
``primary_metric``, else balanced accuracy when a target test split's majority class is over 60%.
Rows, gains, ranks and Friedman tests are grouped by task setting (``zoo.results.setting``): a method is
compared only with methods of its own setting; several settings get a ``Setting`` column.

Usage::

    medzoo results
    medzoo results medzoo-runs other-runs/results.jsonl --split target_test --format csv
    medzoo results --ci bootstrap --compare source_only --rank
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
    from zoo.results.integrity import warn_damaged_loaded
    from zoo.results.names import warn_moved_split
    from zoo.results.reader import load_records
    from zoo.results.store import RESULTS_FILENAME
    from zoo.results.table import print_results_table, to_csv, to_markdown

    hub = [*args.hub, *(str(p) for p in args.paths if str(p).startswith("hf:/"))]  # Path("hf://x") -> "hf:/x"
    paths = [p for p in args.paths if not str(p).startswith("hf:/")] or ([] if hub else [args.output_dir])
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise DataError(f"no results at {', '.join(missing)}; run `medzoo run SUITE` first or pass the results folder")
    where = ", ".join([*(str(p) for p in paths), *hub])
    if paths and not any(_has_results_file(Path(p)) for p in paths):
        raise DataError(f"no {RESULTS_FILENAME} in {where}; run `medzoo run SUITE -o FOLDER` first "
                        "or pass the results folder")
    records = load_records(paths) if paths else []
    warn_moved_split(records, args.split)  # target_val meant every label before record schema 3
    warn_damaged_loaded(records)  # numbers stand; a deleted or corrupt checkpoint is said once per folder
    if hub:
        from zoo.hub.results import read_hub_results

        seen = {r["run_id"] for r in records}
        for repo in hub:  # hf://datasets/org/name or org/name; a run already read locally is not repeated
            repo = repo.replace("hf:/datasets/", "hf://datasets/", 1)
            records += [r for r in read_hub_results(repo, endpoint=args.endpoint) if r["run_id"] not in seen]
            seen = {r["run_id"] for r in records}
    if not records:
        raise DataError(f"no finished runs in {where}; run `medzoo run SUITE` first (each finished run adds one line)")
    if args.suite:
        suites = sorted({r["suite"]["name"] for r in records})
        records = [r for r in records if r["suite"]["name"] == args.suite]
        if not records:
            raise DataError(f"no runs of suite '{args.suite}' in {where}; suites there: {', '.join(suites)}")
    if args.selection:
        records = _select(records, args.selection, where)
    from zoo.results.table import COST, METRICS

    chosen = tuple(m.strip() for m in args.metrics.split(",") if m.strip()) if args.metrics else ()
    if args.cost:
        from zoo.results.primary import primary_first

        chosen = (chosen or primary_first(records, METRICS)) + COST
    metrics = {"metrics": chosen} if chosen else {}
    if args.compare:
        from zoo.results.compare import check_baseline, split_baselines

        for baseline in split_baselines(args.compare):  # a baseline with no runs: one line, before any output
            check_baseline(records, baseline)
    options = {"split": args.split, "compare": args.compare, "correction": args.correction, **metrics}
    if args.format == "csv":
        if args.rank:
            print(_ranks(records, args, "csv"), end="")
        else:
            print(to_csv(records, ci=args.ci or "shared", **options), end="")
        return 0
    if args.format == "markdown":
        print(to_markdown(records, ci=args.ci, **options), end="")
    else:
        from zoo.cli.common import stdout_console

        print_results_table(records, console=stdout_console(), ci=args.ci, **options)
    if args.rank:
        print("\n" + _ranks(records, args, args.format), end="")
    return 0


def _select(records: list[dict], selection: str, where: str) -> list[dict]:
    """Each record as selected by each rule of ``selection`` (``all``: every rule a record has)."""
    import logging

    from zoo.results.record import select_views

    out, missing = select_views(records, selection)
    if not out:
        raise DataError(f"no run in {where} was selected by {selection}: the rule does not apply to these runs "
                        "(e.g. source_val to target-only strategies) or they were recorded before every rule was kept")
    if missing:
        logging.getLogger(__name__).warning("%d run(s) have no %s selection (the rule does not apply to them, or the "
                                            "record predates selection after training); left out", missing, selection)
    return out


def _ranks(records: list[dict], args: argparse.Namespace, fmt: str) -> str:
    from zoo.cli.common import stdout_console
    from zoo.results.primary import primary_first
    from zoo.results.ranks import format_ranks
    from zoo.results.table import METRICS

    metrics = tuple(m.strip() for m in (args.metrics or "").split(",") if m.strip()) or primary_first(records, METRICS)
    width = stdout_console().width
    from zoo.results.compare import split_baselines

    first = (split_baselines(args.compare) or [None])[0]  # the pooled gain beside the ranks: the first baseline
    return format_ranks(records, metrics, args.split, fmt, compare=first, width=width, correction=args.correction)


def add_parser(sub: argparse._SubParsersAction) -> None:
    from zoo.cli.common import split_arg

    parser = sub.add_parser(
        "results", help="summarise results over seeds",
        description="Summarise finished runs: mean +- std over seeds per task x algorithm x backbone x selection.",
        epilog="examples:\n  medzoo results\n  medzoo results medzoo-runs --format markdown\n"
               "  medzoo results --metrics balanced_accuracy,f1,recall:malignant   # per-class: METRIC:CLASS\n"
               "  medzoo results --cost                                  # + train s, images/s, peak MB\n"
               "  medzoo results --ci shared                   # 84.5 [81.2, 87.9]: seeds x the shared test images\n"
               "  medzoo results --compare source_only --rank  # gain + p per row; ranks and pooled gain\n"
               "  medzoo results --compare task=scratch-breast # compare tasks (pretraining) with one task\n"
               "  medzoo results --selection all               # every selection rule, one training each\n"
               "  medzoo results --selection last --compare source_only\n"
               "  medzoo results --compare source_only,adabn,twin # UDA gains beside their controls\n"
               "  medzoo results --hub my-lab/medzoo-results     # a results dataset (medzoo publish-results)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="*", type=Path, help="results folders or .jsonl files (default: --output-dir)")
    parser.add_argument("--suite", help="only this suite")
    parser.add_argument("--split", default="target_test", type=split_arg,
                        help="which split's metrics (default target_test)")
    parser.add_argument("--format", choices=("table", "csv", "markdown"), default="table")
    parser.add_argument("--ci", choices=("shared", "t", "bootstrap"),
                        help="cells show the mean and its 95%% interval: shared (seeds and the target test images "
                             "every seed shares, from the runs' stored predictions; t where a run has none), t "
                             "(Student-t over seeds only) or bootstrap (seeds, then test samples per seed; both "
                             "under-cover on a shared test set); csv: the ci columns' method (default shared)")
    parser.add_argument("--correction", choices=("holm", "bh", "none"), default="holm",
                        help="adjust every table of p-values for multiple comparisons: holm (family-wise error, "
                             "default), bh (Benjamini-Hochberg false discovery rate) or none")
    parser.add_argument("--compare", metavar="BASELINE",
                        help="add the paired gain over BASELINE (an algorithm, twin for each method's weight-0 twin, "
                             "or FIELD=VALUE for task, backbone, selection) on the first metric, matched on task and "
                             "seed, with its p-value (images+seeds where runs kept predictions); several, "
                             "comma-separated: source_only,adabn,twin")
    parser.add_argument("--selection", metavar="RULE",
                        help="view runs as selected by RULE (source_val, target_val, target_val_oracle, "
                             "deep_embedded_validation (formerly dev), last; comma-separated, or all): every rule "
                             "comes from the same training (default: the rule each suite reports)")
    parser.add_argument("--cost", action="store_true",
                        help="add cost columns: training seconds, images/s, peak memory (MB) per run, over seeds")
    parser.add_argument("--rank", action="store_true",
                        help="also print each algorithm's average rank across tasks per metric (with --compare: "
                             "the gain pooled over all tasks); with --format csv, print only this table")
    parser.add_argument("--metrics", help="comma-separated columns; the first one is compared and ranked (default: "
                                          "the primary metric, then the others of accuracy,balanced_accuracy,f1,"
                                          "auroc: the suite's primary_metric, else balanced_accuracy when a target "
                                          "test split's majority class is over 60%%, else accuracy); METRIC:CLASS "
                                          "reads the per-class report, e.g. recall:malignant")
    parser.add_argument("--hub", action="append", default=[], metavar="ORG/NAME",
                        help="also read a results dataset from the Hub (medzoo publish-results; repeatable); "
                             "hf://datasets/ORG/NAME as a path does the same")
    from zoo.cli.common import add_output_dir
    from zoo.cli.hub_options import add_endpoint

    add_endpoint(parser)
    add_output_dir(parser)
    parser.set_defaults(func=run)
