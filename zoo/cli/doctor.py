"""``medzoo doctor``: is this environment ready? Versions, devices, data files found and verified, which
suites (how many of their tasks) the data found can run, plugins.

Every MedMNIST file found in the data folder is checked against its published md5; other ``.npz`` files
(a user's own arrays) are listed with their sizes. Exits 1 if a found file is corrupt or a plugin is broken.

Usage::

    medzoo doctor
    medzoo doctor --data-dir ~/medmnist-data
"""

from __future__ import annotations

import argparse
import platform
from importlib.metadata import PackageNotFoundError, version

from rich.table import Table

from zoo.cli.common import add_data_dir

PACKAGES = ("torch", "torchvision", "timm", "accelerate", "huggingface-hub", "datasets", "scikit-learn",
            "imbalanced-learn", "safetensors", "numpy")


def _environment_table() -> Table:
    import torch

    table = Table(title="environment", show_header=False)
    table.add_row("medzoo", version("medzoo"))
    table.add_row("python", platform.python_version())
    for package in PACKAGES:
        try:
            table.add_row(package, version(package))
        except PackageNotFoundError:
            table.add_row(package, "[red]not installed[/red]")
    if torch.cuda.is_available():
        devices = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        table.add_row("devices", f"{torch.cuda.device_count()} CUDA: {devices}")
    else:
        table.add_row("devices", f"CPU only ({torch.get_num_threads()} threads)")
    bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    table.add_row("mixed precision",
                  "fp16, bf16" if bf16 else ("fp16" if torch.cuda.is_available() else "bf16 (CPU autocast)"))
    return table


def _data_table(data_dir) -> tuple[Table, int]:
    from zoo.datasets.download import file_md5
    from zoo.datasets.medmnist import medmnist_table
    from zoo.datasets.paths import medmnist_dir, resolve_data_dir

    root = resolve_data_dir(data_dir)
    table = Table(title=f"data in {root}")
    for column in ("file", "dataset", "status"):
        table.add_column(column)
    bad = 0
    folder = medmnist_dir(root)
    for meta in medmnist_table().values():
        path = folder / meta.file
        if not path.is_file():
            continue
        ok = file_md5(path) == meta.md5
        bad += not ok
        status = ("[green]md5 verified[/green]" if ok
                  else f"[red]md5 mismatch (expected {meta.md5}); download it again[/red]")
        table.add_row(str(path.relative_to(root)), f"{meta.flag} {meta.size}px {meta.modality}", status)
    for path in sorted(p for p in root.rglob("*.npz") if p.parent != folder) if root.is_dir() else []:
        table.add_row(str(path.relative_to(root)), "user arrays (dataset: npz)",
                      f"{path.stat().st_size / 2**20:.1f} MiB")
    if not table.row_count:
        table.add_row("(nothing found)", "", f"put MedMNIST files in {folder} or pass --data-dir")
    return table, bad


def _suites_table(data_dir) -> Table:
    """Per registered suite: how many of its tasks the data found can run, and how to get the rest."""
    from zoo.bench.data_needs import missing_hint, suite_data_status
    from zoo.bench.suite import load_suite
    from zoo.bench.suites_registry import SUITES

    table = Table(title="suites the data found can run")
    for column in ("suite", "tasks runnable", "missing"):
        table.add_column(column, overflow="fold")
    for name in SUITES.names():
        try:
            statuses = suite_data_status(load_suite(name), data_dir)
        except Exception as exc:  # noqa: BLE001 - a broken plugin suite is reported, the check goes on
            table.add_row(name, "[red]cannot load[/red]", str(exc))
            continue
        runnable = [s for s in statuses if s.runnable]
        missing = [need for s in statuses for need in s.missing]
        style = "green" if len(runnable) == len(statuses) else "yellow" if runnable else "red"
        table.add_row(name, f"[{style}]{len(runnable)} of {len(statuses)}[/{style}]",
                      missing_hint(missing) if missing else "")
    return table


def run(args: argparse.Namespace) -> int:
    from zoo.cli.common import stdout_console
    from zoo.registries import all_registries

    console = stdout_console()
    console.print(_environment_table())
    data, bad = _data_table(args.data_dir)
    console.print(data)
    console.print(_suites_table(args.data_dir))  # a suite skips the tasks without their files (names them)
    # A plugin's import errors are only known once it was imported: load third-party entries, as `list` does.
    broken = [e for registry in all_registries().values() for e in registry.load_all(builtins=False)]
    console.print(f"plugins: {len(broken)} broken"
                  + (f" ({', '.join(e.name for e in broken)}; see `medzoo plugins`)" if broken else ""))
    return 1 if bad or broken else 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "doctor", help="check the environment, devices and data files",
        description="Check versions, devices, data files (md5-verified) and plugins.",
        epilog="examples:\n  medzoo doctor\n  MEDZOO_DATA=../shared/data medzoo doctor",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_dir(parser)
    parser.set_defaults(func=run)
