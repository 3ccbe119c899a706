"""``medzoo download NAME...``: fetch official dataset files into the data folder, md5-verified.

A NAME is a MedMNIST dataset (``pathmnist``: the 28 px file; ``--size 64`` or ``pathmnist_64`` for
another size) or a suite (every official file its tasks read: ``medzoo download progressive``). Files
already present are checked against their published md5 and kept; a corrupt one is an error (delete it and
download again), never overwritten silently. Downloads show a progress bar and are written atomically.
``$MEDZOO_MEDMNIST_URL`` points the downloads at a mirror.

Usage::

    medzoo download breastmnist pneumoniamnist
    medzoo download pathmnist --size 64 --data-dir ~/data
    medzoo download progressive               # the official files of a suite's tasks
"""

from __future__ import annotations

import argparse
from pathlib import Path

from zoo.cli.common import add_data_dir


def official_files(name: str, size: int | None):
    """The MedMNIST table rows ``name`` stands for: a flag, ``flag_SIZE``, or a suite's official files."""
    from zoo.datasets.medmnist import FLAGS, medmnist_file

    flag, _, suffix = name.partition("_")
    if flag in FLAGS and (not suffix or suffix.isdigit()):
        return [medmnist_file(flag, int(suffix) if suffix else size or 28)]
    from zoo.bench.data_needs import suite_data_status
    from zoo.bench.suite import load_suite
    from zoo.bench.suites_registry import SUITES
    from zoo.errors import UnknownNameError

    is_file = name.endswith((".yaml", ".yml")) and Path(name).is_file()
    if not is_file and name not in SUITES.names():
        import difflib

        options = [*FLAGS, *SUITES.names()]
        close = difflib.get_close_matches(name, options, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise UnknownNameError(f"nothing to download for '{name}': {hint}give a MedMNIST dataset ({', '.join(FLAGS)}), "
                               "optionally with a size (pathmnist_64), or a suite (`medzoo list suites`)")
    metas = {}
    for status in suite_data_status(load_suite(name), None):
        for need in status.files:
            if need.download:
                stem = need.download.removeprefix("medzoo download ")
                flag, _, suffix = stem.partition("_")
                metas[stem] = medmnist_file(flag, int(suffix) if suffix else 28)
    return list(metas.values())


def fetch(meta, data_dir: Path | None) -> tuple[str, Path]:
    """Download ``meta``'s file unless present; verify its md5 either way. Returns (what happened, path)."""
    from zoo.datasets.download import download_file, file_md5
    from zoo.datasets.paths import medmnist_dir
    from zoo.errors import DataError

    path = medmnist_dir(data_dir) / meta.file
    if path.is_file():
        if file_md5(path) != meta.md5:
            raise DataError(f"{path} is present but its md5 is not the official {meta.md5}: the file is corrupt or "
                            f"another version; delete it and run the same command again")
        return "present, md5 ok", path
    download_file(meta.download_url, path, md5=meta.md5, desc=meta.file)
    return "downloaded, md5 ok", path


def run(args: argparse.Namespace) -> int:
    from rich.table import Table

    from zoo.cli.common import stdout_console

    metas = list({meta.file: meta for name in args.names for meta in official_files(name, args.size)}.values())
    table = Table(title="official files")
    for column in ("file", "status", "md5", "path"):
        table.add_column(column, overflow="fold")
    console = stdout_console()
    for meta in metas:  # one at a time: a failure stops here, and every file already fetched stays
        status, path = fetch(meta, args.data_dir)
        table.add_row(meta.file, status, meta.md5, str(path))
    console.print(table if metas else "the suite reads no official file: its data are your own files")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "download", help="download official dataset files (md5-checked) into the data folder",
        description="Download official MedMNIST files, by dataset or for every task of a suite, md5-verified.",
        epilog="examples:\n  medzoo download breastmnist pneumoniamnist\n  medzoo download pathmnist_64\n"
               "  medzoo download progressive            # what the suite's tasks read\n"
               "  MEDZOO_MEDMNIST_URL=https://mirror.example/medmnist medzoo download breastmnist",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("names", nargs="+", metavar="NAME",
                        help="a MedMNIST dataset (pathmnist, pathmnist_64) or a suite")
    parser.add_argument("--size", type=int, default=None, help="image size of the MedMNIST files (28, 64, 128, 224)")
    add_data_dir(parser)
    parser.set_defaults(func=run)
