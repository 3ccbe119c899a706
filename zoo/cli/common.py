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


def print_fields(title: str, rows: list[tuple[str, str]]) -> None:
    """Print a two-column field/value table (what ``pull`` and ``push`` report).

    Usage::

        print_fields("pushed lab/x", [("url", url), ("sha256", sha)])
    """
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    stdout_console().print(table)


def split_arg(name: str) -> str:
    """A ``--split`` value: a split's old name (``target_val_budget``, before record schema 3) gives its name now.

    Usage::

        parser.add_argument("--split", default="target_test", type=split_arg)
    """
    from zoo.registry import canonical_name

    return canonical_name("split", name)


def setup_logging(verbose: bool = False) -> None:
    """INFO (or DEBUG) logs to stderr through rich; noisy third-party loggers stay at WARNING."""
    from rich.logging import RichHandler

    handler = RichHandler(console=stderr_console(), show_path=False, rich_tracebacks=False, markup=False)
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s", handlers=[handler],
                        force=True)
    # httpx2/httpcore2: the HTTP stack huggingface_hub >= 2 vendors (it logs every request at INFO)
    for name in ("urllib3", "httpx", "httpcore", "httpx2", "httpcore2", "filelock", "huggingface_hub", "datasets",
                 "fsspec", "accelerate", "timm"):
        logging.getLogger(name).setLevel(logging.WARNING)


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder with the data files (default: $MEDZOO_DATA, else ~/.medzoo/data); "
                             "MedMNIST files go in its medmnist/ subfolder")


def default_output_dir() -> Path:
    """Where results go when ``-o`` is not given: ``$MEDZOO_OUTPUT``, else ``./medzoo-runs``."""
    return Path(os.environ.get("MEDZOO_OUTPUT", DEFAULT_OUTPUT))


def add_output_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output-dir", "-o", type=Path, default=default_output_dir(),
                        help=f"where results.jsonl and checkpoints go (default: $MEDZOO_OUTPUT or ./{DEFAULT_OUTPUT})")
