"""``medzoo doctor``: the environment, devices, plugins and data files, found and verified, in one report.

It answers "why does my run fail here?" before a run starts: package versions, whether CUDA is usable,
which data directory is read, which MedMNIST files are there and whether their md5 matches the published
checksum, and how many plugin entries are broken. Exits 1 when something needs fixing (a corrupt file, a
broken plugin), so CI can run it.

Usage::

    medzoo doctor
    medzoo doctor --data-dir /mnt/data
"""

from __future__ import annotations

import argparse
import csv
import platform
from importlib.resources import files
from pathlib import Path

from rich.table import Table

from zoo.cli.common import add_data_dir

PACKAGES = ("torch", "torchvision", "timm", "accelerate", "datasets", "huggingface-hub", "safetensors", "numpy")


def _medmnist_checksums() -> dict[str, str]:
    """Official file name -> md5, from the table shipped with medzoo (comment lines start with '#')."""
    text = files("zoo.datasets").joinpath("medmnist_info.tsv").read_text(encoding="utf-8")
    rows = csv.DictReader((line for line in text.splitlines() if not line.startswith("#")), delimiter="\t")
    return {row["file"]: row["md5"] for row in rows}


def _data_rows(data_dir: Path) -> tuple[list[tuple[str, str, str]], int]:
    """(file, status, detail) for every MedMNIST file present; and the number of bad ones."""
    from zoo.datasets.download import file_md5
    from zoo.datasets.paths import medmnist_dir

    folder = medmnist_dir(data_dir)
    checksums = _medmnist_checksums()
    rows, bad = [], 0
    for path in sorted(folder.glob("*.npz")) if folder.is_dir() else []:
        expected = checksums.get(path.name)
        if expected is None:
            rows.append((str(path), "unknown", "not an official MedMNIST file name"))
            continue
        ok = file_md5(path) == expected
        bad += not ok
        rows.append((str(path), "ok" if ok else "CORRUPT", "md5 matches" if ok else f"md5 differs from {expected}; delete it"))
    return rows, bad


def run(args: argparse.Namespace) -> int:
    import torch

    from zoo import __version__
    from zoo.cli.common import stdout_console
    from zoo.datasets.paths import resolve_data_dir
    from zoo.plugins import plugin_entries
    from zoo.provenance import package_versions

    console = stdout_console()
    env = Table(title="environment", show_header=False)
    env.add_row("medzoo", __version__)
    env.add_row("python", f"{platform.python_version()} ({platform.platform()})")
    for name, version in package_versions(PACKAGES).items():
        env.add_row(name, version or "[red]not installed[/red]")
    cuda = torch.cuda.is_available()
    devices = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())) if cuda else "none (CPU)"
    env.add_row("cuda devices", devices)
    console.print(env)

    broken = [e for e in plugin_entries(load=True) if e.error]
    for entry in broken:
        console.print(f"[red]broken {entry.kind} '{entry.name}'[/red] from {entry.source}: {entry.error}")

    data_dir = resolve_data_dir(args.data_dir)
    rows, bad = _data_rows(data_dir)
    data = Table(title=f"data in {data_dir}")
    for column in ("file", "status", "detail"):
        data.add_column(column, overflow="fold")
    for row in rows:
        data.add_row(*row)
    if rows:
        console.print(data)
    else:
        console.print(f"no MedMNIST files under {data_dir}/medmnist (set MEDZOO_DATA or --data-dir)")
    return 1 if broken or bad else 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "doctor", help="check the environment, devices, plugins and data files",
        description="Report package versions, devices, broken plugins and data files (md5-verified).",
        epilog="examples:\n  medzoo doctor\n  medzoo doctor --data-dir /mnt/data",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_dir(parser)
    parser.set_defaults(func=run)
