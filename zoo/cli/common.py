"""Shared CLI helpers: consoles, logging through rich, option groups several subcommands use.

Usage::

    console = stdout_console()
    setup_logging(verbose=False)
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from rich.console import Console

DEFAULT_OUTPUT = "medzoo-runs"


def stdout_console() -> Console:
    """The console tables go to (wide enough that CI logs are readable)."""
    return Console(width=None if os.isatty(1) else 160)


def stderr_console() -> Console:
    return Console(stderr=True, width=None if os.isatty(2) else 160)


def setup_logging(verbose: bool = False) -> None:
    """INFO (or DEBUG) logs to stderr through rich; noisy third-party loggers stay at WARNING."""
    from rich.logging import RichHandler

    handler = RichHandler(console=stderr_console(), show_path=False, rich_tracebacks=False, markup=False)
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s", handlers=[handler], force=True)
    for name in ("urllib3", "filelock", "huggingface_hub", "datasets", "fsspec", "accelerate", "timm"):
        logging.getLogger(name).setLevel(logging.WARNING)


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder with the data files (default: $MEDZOO_DATA, else ~/.medzoo/data); "
                             "MedMNIST files go in its medmnist/ subfolder")


def add_output_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output-dir", "-o", type=Path, default=Path(os.environ.get("MEDZOO_OUTPUT", DEFAULT_OUTPUT)),
                        help=f"where results.jsonl and checkpoints go (default: $MEDZOO_OUTPUT or ./{DEFAULT_OUTPUT})")
