"""``medzoo publish-results --repo org/name [RESULTS ...]``: results records as a Hub dataset (parquet).

Appends: rows already in the dataset are kept, runs are deduplicated by ``run_id``, and the dataset card
is rewritten. Read them back with ``medzoo results --hub org/name``.

Usage::

    medzoo publish-results --repo my-lab/medzoo-results medzoo-runs
"""

from __future__ import annotations

import argparse

EPILOG = """examples:
  HF_TOKEN=hf_... medzoo publish-results --repo my-lab/medzoo-results            ./medzoo-runs
  medzoo publish-results --repo my-lab/medzoo-results runs-a runs-b/results.jsonl
  medzoo results --hub my-lab/medzoo-results                                     read them back
"""


def run(args: argparse.Namespace) -> int:
    from zoo.cli.common import stdout_console
    from zoo.hub.results import publish_results

    info = publish_results(args.paths or [args.output_dir], args.repo, endpoint=args.endpoint,
                           cache_dir=args.cache_dir)
    stdout_console().print(f"dataset {info['url']}: {info['added']} runs added, {info['kept']} kept, "
                           f"{info['total']} in all (commit {info['commit']})")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    from zoo.cli.common import add_output_dir
    from zoo.cli.hub_options import add_cache_dir, add_endpoint

    parser = sub.add_parser("publish-results", help="append result records to a Hub dataset (parquet)",
                            description="Publish result records as a Hugging Face dataset: one parquet row per run, "
                                        "earlier rows kept, deduplicated by run_id, with a dataset card.",
                            epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", help="results folders or .jsonl files (default: --output-dir)")
    parser.add_argument("--repo", required=True, help="Hub dataset repo, org/name (created if missing)")
    add_endpoint(parser)
    add_cache_dir(parser)
    add_output_dir(parser)
    parser.set_defaults(func=run)
