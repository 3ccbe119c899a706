"""``medzoo leaderboard build|publish``: results -> a static site; the site -> a folder or a static HF Space.

``build`` reads results files or run folders (default ``-o/--output-dir``, the results folder as in every
medzoo command), and/or a results dataset on the Hub (``--hub org/name``), reports every malformed line
(file, line, field) and skips it, and writes the site to ``--site`` (default ``leaderboard/site``): the same
records always give the same bytes. ``--out`` is the old spelling of ``--site``: it still works, with a
warning, because ``-o`` beside ``--out`` read as its short form while it names the results folder. ``publish`` uploads a
built site as a static Space (``--space org/name``) or copies it to a folder (``--folder DEST``); either
replaces what an earlier publish put there.

Usage::

    medzoo leaderboard build medzoo-runs --site leaderboard/site
    medzoo leaderboard build --hub my-lab/medzoo-results
    medzoo leaderboard publish leaderboard/site --space my-lab/medzoo-leaderboard
    medzoo leaderboard publish leaderboard/site --folder /var/www/leaderboard
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from zoo.errors import ConfigError, DataError

logger = logging.getLogger(__name__)
DEFAULT_SITE = Path("leaderboard") / "site"


def _build(args: argparse.Namespace) -> int:
    from zoo.cli.common import default_output_dir
    from zoo.leaderboard import build_site, read_records
    from zoo.results.names import warn_moved_split

    if args.out is not None:  # the old spelling: "-o" read as its short form, and -o is the results folder
        if args.site is not None:
            raise ConfigError("--out is the old spelling of --site: give only --site")
        logger.warning("--out is deprecated: name the site's folder with --site (-o/--output-dir is the results "
                       "folder, as in every medzoo command)")
        args.site = args.out
    site = args.site if args.site is not None else DEFAULT_SITE
    if args.paths and args.output_dir is not None:  # "-o public" reads as the site's folder: it is not
        raise ConfigError(f"-o/--output-dir is the results folder read when no paths are given, and {len(args.paths)} "
                          f"path(s) were given; the site's folder is --site (e.g. --site {args.output_dir})")
    paths = list(args.paths) or ([] if args.hub else [args.output_dir or default_output_dir()])
    records, problems = read_records(paths) if paths else ([], [])
    warn_moved_split(records, args.split)  # target_val meant every label before record schema 3
    for repo in args.hub or []:
        from zoo.hub.results import read_hub_results

        seen = {r["run_id"] for r in records}
        records += [r for r in read_hub_results(repo, endpoint=args.endpoint) if r["run_id"] not in seen]
    if args.selection:  # rows per rule, every rule from the same trainings (zoo.selection)
        from zoo.results.record import select_views

        records, missing = select_views(records, args.selection)
        if missing:
            logger.warning("%d run(s) have no %s selection; left out", missing, args.selection)
    report = build_site(records, site, metric=args.metric, split=args.split, min_seeds=args.min_seeds,
                        problems=problems)
    # plain lines on stdout (no wrapping): each skipped line is one "FILE:LINE: FIELD: problem" line to grep
    if problems:
        print(f"skipped {len(problems)} malformed record(s):")
        for problem in problems:
            print(f"  {problem}")
    print(f"leaderboard of {report.runs} runs ({', '.join(report.suites)}) in {report.out}: {report.files} files; "
          f"open {report.out / 'index.html'}")
    return 0


def _publish(args: argparse.Namespace) -> int:
    from zoo.leaderboard.publish import publish_folder, publish_space

    if bool(args.space) == bool(args.folder):
        raise ConfigError("say where to publish: --space ORG/NAME (a static Hugging Face Space) or --folder DEST")
    if args.space:
        where = publish_space(args.site, args.space, endpoint=args.endpoint, token=args.token, private=args.private)
    else:
        where = str(publish_folder(args.site, args.folder))
    print(f"published {args.site} to {where}")
    return 0


def _metric(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("empty metric name")
    return text.strip()


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``medzoo leaderboard build|publish``.

    Usage::

        leaderboard.add_parser(parser.add_subparsers())   # zoo.cli.main does this
    """
    from zoo.cli.common import split_arg

    parser = sub.add_parser(
        "leaderboard", help="build a static leaderboard site from results, or publish it",
        description="Build a static leaderboard site from result records (a function of them and their "
                    "predictions files), or publish it.",
        epilog="examples:\n  medzoo leaderboard build                         # ./medzoo-runs -> leaderboard/site\n"
               "  medzoo leaderboard build runs-a runs-b/results.jsonl --site public\n"
               "  medzoo leaderboard build -o runs-a --site public   # -o/--output-dir: the results folder\n"
               "  medzoo leaderboard build --hub my-lab/medzoo-results\n"
               "  medzoo leaderboard build --selection source_val,deep_embedded_validation,last   # rows per rule\n"
               "  medzoo leaderboard publish --space my-lab/medzoo-leaderboard\n"
               "  medzoo leaderboard publish --folder /var/www/leaderboard",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    build = actions.add_parser("build", help="results -> static site",
                               description="Build the static site from results files, run folders or a Hub dataset.")
    build.add_argument("paths", nargs="*", type=Path, help="results folders or .jsonl files (default: -o/--output-dir)")
    build.add_argument("--hub", action="append", metavar="ORG/NAME",
                       help="also read a results dataset from the Hub (repeatable; `medzoo publish-results` "
                            "writes one)")
    build.add_argument("--endpoint", help="Hub URL for --hub (default: $HF_ENDPOINT or huggingface.co)")
    build.add_argument("--site", type=Path, default=None, metavar="DIR",
                       help=f"folder of the site (default {DEFAULT_SITE}); an earlier site there is replaced")
    # the old spelling, kept so scripts keep working (with a warning); not shown, and it never means -o
    build.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    build.add_argument("--metric", type=_metric, default=None,
                       help="the ranked metric of every suite (default: each suite's primary metric: its declared "
                            "primary_metric, else balanced_accuracy when a target test split's majority class is "
                            "over 60%%, else accuracy)")
    build.add_argument("--split", default="target_test", type=split_arg, help="the split scored (default target_test)")
    build.add_argument("--selection", metavar="RULE",
                       help="rank runs as selected by RULE (source_val, target_val, target_val_oracle, "
                            "deep_embedded_validation (formerly dev), last; comma-separated or all: one row per "
                            "rule); default: the rule each suite reports")
    build.add_argument("--min-seeds", type=int, default=None,
                       help="seeds a row needs not to be marked (default: the suite's own seeds, else the most seen)")
    from zoo.cli.common import add_output_dir

    add_output_dir(build)
    build.set_defaults(func=_build, output_dir=None)  # None: not given (then $MEDZOO_OUTPUT or ./medzoo-runs)
    publish = actions.add_parser("publish", help="upload a built site to a static Space or copy it to a folder",
                                 description="Publish a built site; a second publish replaces the first.")
    publish.add_argument("site", nargs="?", type=Path, default=DEFAULT_SITE, help=f"the site (default {DEFAULT_SITE})")
    publish.add_argument("--space", metavar="ORG/NAME", help="a static Hugging Face Space (created if missing)")
    publish.add_argument("--folder", type=Path, metavar="DEST", help="a folder for any static web server")
    publish.add_argument("--endpoint", help="Hub URL (default: $HF_ENDPOINT or huggingface.co)")
    publish.add_argument("--token", help="Hub token (default: $HF_TOKEN or `hf auth login`)")
    publish.add_argument("--private", action="store_true", help="create the Space private")
    publish.set_defaults(func=_publish)
    parser.set_defaults(func=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    raise DataError("say what to do: `medzoo leaderboard build` or `medzoo leaderboard publish` (see --help)")
