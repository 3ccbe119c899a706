"""Options the Hub subcommands share (pull, push, publish-results, results --hub, zoo build).

The token is never an option (it would show in shell history and process lists): huggingface_hub reads
``$HF_TOKEN`` or the token saved by ``hf auth login``.

Usage::

    add_endpoint(parser); add_cache_dir(parser)
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_endpoint(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint", default=None,
                        help="Hub URL (default: the catalogue entry's endpoint, else $HF_ENDPOINT, else "
                             "https://huggingface.co); tokens come from $HF_TOKEN or `hf auth login`")


def add_cache_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="huggingface_hub cache folder (default: $HF_HUB_CACHE, ~/.cache/huggingface/hub)")


def add_catalogue(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--catalogue", type=Path, default=None,
                        help="checkpoint catalogue YAML (default: $MEDZOO_CATALOGUE, else the one shipped with medzoo)")
