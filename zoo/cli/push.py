"""``medzoo push RUN_OR_CHECKPOINT --repo org/name``: publish weights, config.json and a model card.

A run folder (``medzoo-runs/runs/<run_id>``, or just the run id) is exported first: timm-style
safetensors, config.json with the input size, mean/std and label names, and a model card whose numbers
come from the run's result record. A checkpoint folder (``medzoo zoo build`` output) is pushed as is.

Usage::

    medzoo push medzoo-runs/runs/3f9c2a1b0d4e5f60 --repo my-lab/resnet18_28-pneumonia
"""

from __future__ import annotations

import argparse

EPILOG = """examples:
  HF_TOKEN=hf_... medzoo push medzoo-runs/runs/3f9c2a1b0d4e5f60 --repo my-lab/resnet18_28-pneumonia
  medzoo push 3f9c2a1b0d4e5f60 -o medzoo-runs --repo my-lab/resnet18_28-pneumonia   a run id of -o
  medzoo push medzoo-zoo/checkpoints/resnet18_28-pneumoniamnist --repo my-lab/resnet18_28-pneumoniamnist
  medzoo push RUN --repo my-lab/x --endpoint http://127.0.0.1:8080   another Hub (or $HF_ENDPOINT)
the token comes from $HF_TOKEN or `hf auth login`; it is never written to a card, config or log.
"""


def run(args: argparse.Namespace) -> int:
    from zoo.cli.common import print_fields
    from zoo.hub.push import push_checkpoint

    info = push_checkpoint(args.source, args.repo, endpoint=args.endpoint, output_dir=args.output_dir,
                           revision=args.revision, private=args.private)
    print_fields(f"pushed {args.repo}", [*((key, str(info[key])) for key in ("url", "commit", "sha256")),
                                         ("files", ", ".join(info["files"]))])
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    from zoo.cli.common import add_output_dir
    from zoo.cli.hub_options import add_endpoint

    parser = sub.add_parser("push", help="publish a run or checkpoint to a Hub model repo (with a model card)",
                            description="Publish a run or a checkpoint folder to a Hugging Face model repo: "
                                        "model.safetensors, config.json and a medical model card.",
                            epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="run folder (runs/<run_id>), run id of --output-dir, or checkpoint folder")
    parser.add_argument("--repo", required=True, help="Hub model repo, org/name (created if missing)")
    parser.add_argument("--revision", default=None, help="branch to commit to (default main)")
    parser.add_argument("--private", action="store_true", help="create the repo private")
    add_endpoint(parser)
    add_output_dir(parser)
    parser.set_defaults(func=run)
