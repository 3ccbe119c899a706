"""``medzoo info NAME``: everything medzoo knows about one backbone, algorithm, dataset or suite.

The name is looked up in every registry: an algorithm shows its paper, hyperparameters (defaults, types,
search spaces), stages and the settings it supports; a dataset its modality, classes, split sizes, licence,
citation and file (present or not); a backbone its parameter count, input, normalisation and weights; a
suite its tasks, presets with their run counts, primary metric and the data each task needs. A name found
in several kinds shows each (``--kind`` picks one); an unknown name is one line with a did-you-mean over
every kind. The cards are built by ``zoo/cli/info_models.py`` and ``zoo/cli/info_data.py`` and printed by
``zoo/cli/info_render.py``.

Usage::

    medzoo info breastmnist              # also: breastmnist_64, or breastmnist --size 64
    medzoo info dann
    medzoo info timm/resnet18 --in-chans 1
    medzoo info quick --data-dir /data
"""

from __future__ import annotations

import argparse
import difflib
import os
import re

from zoo.errors import ConfigError, UnknownNameError
from zoo.registries import KINDS  # the order cards print in

SINGULAR = {kind[:-1]: kind for kind in KINDS}


def _key(kind: str, name: str) -> str:
    """The registry key ``name`` is found under in ``kind``: ``dann@w0`` -> ``dann``, ``timm/x`` -> ``timm``."""
    if kind == "algorithms":
        from zoo.algorithms.variants import base_algorithm

        return base_algorithm(name)
    if kind == "backbones" and "/" in name:
        return name.partition("/")[0]
    return name


def medmnist_size_name(name: str) -> tuple[str, int] | None:
    """``breastmnist_64`` -> ``("breastmnist", 64)`` (a domain's name at another size), else None."""
    match = re.fullmatch(r"(.+)_(\d+)", name)
    if not match:
        return None
    from zoo.datasets.medmnist import FLAGS

    return (match[1], int(match[2])) if match[1] in FLAGS else None


def is_suite_path(name: str) -> bool:
    return name.endswith((".yaml", ".yml")) or os.sep in name and not name.startswith("timm/")


def find_kinds(name: str) -> list[str]:
    """The kinds (plural, in ``KINDS`` order) that have an entry ``name``.

    Usage::

        find_kinds("dann")          # ['algorithms']
        find_kinds("timm/resnet18") # ['backbones']
    """
    from zoo.backbones import is_hub_name
    from zoo.registries import registry_for

    if is_hub_name(name):
        return ["backbones"]
    if is_suite_path(name):
        return ["suites"]
    return [kind for kind in KINDS if _key(kind, name) in registry_for(kind)]


def unknown_name_message(name: str) -> str:
    """One line: what ``name`` is not, the closest names of every kind, and where to look."""
    if name in KINDS or name in SINGULAR:
        return f"'{name}' is a kind, not an entry: `medzoo list {SINGULAR.get(name, name)}` lists them"
    if any(c in name for c in "*?["):
        return f"'{name}' is a pattern: `medzoo list '{name}'` lists the names it matches; info takes one name"
    return (f"unknown name '{name}'{close_names(name) or ';'} no backbone, algorithm, dataset or suite has it; "
            f"`medzoo list` shows every name")


def close_names(name: str) -> str:
    """``"; did you mean 'dann' (algorithm) or 'dan' (algorithm)?"``, or ``""`` when nothing is close."""
    from zoo.registries import registry_for

    kinds: dict[str, list[str]] = {}
    for kind in KINDS:
        for entry in registry_for(kind).names():
            kinds.setdefault(entry, []).append(kind[:-1])
    close = difflib.get_close_matches(name, list(kinds), n=3, cutoff=0.6)
    return "; did you mean " + " or ".join(f"'{c}' ({', '.join(kinds[c])})" for c in close) + "?" if close else ""


def cards(name: str, kind: str | None, size: int | None, in_chans: int | None, data_dir) -> list:
    """The cards of ``name``: one per kind it is found in (only ``kind`` when given)."""
    from zoo.cli.info_data import dataset_card, suite_card
    from zoo.cli.info_models import algorithm_card, backbone_card

    if kind is not None:
        plural = SINGULAR.get(kind, kind)
        if plural not in KINDS:
            close = difflib.get_close_matches(kind, [*SINGULAR, *KINDS], n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"unknown kind '{kind}' for --kind{hint} choose one of: {', '.join(SINGULAR)}")
        kinds = [plural]
    else:
        kinds = find_kinds(name)
        if not kinds and size is None and (sized := medmnist_size_name(name)):
            name, size = sized
            kinds = ["datasets"]
        if not kinds:
            raise UnknownNameError(unknown_name_message(name))
    if size is not None and "datasets" not in kinds:
        raise ConfigError(f"--size picks the image size of a MedMNIST dataset; '{name}' is not a dataset")
    builders = {
        "algorithms": lambda: algorithm_card(name),
        "backbones": lambda: backbone_card(name, in_chans=in_chans),
        "datasets": lambda: dataset_card(name, size=size, data_dir=data_dir),
        "suites": lambda: suite_card(name, data_dir=data_dir),
    }
    return [builders[k]() for k in kinds]


def run(args: argparse.Namespace) -> int:
    from zoo.cli.common import stdout_console
    from zoo.cli.info_render import render_card

    found = cards(args.name, args.kind, args.size, args.in_chans, args.data_dir)
    console = stdout_console()
    if len(found) > 1:
        console.print(f"'{args.name}' names {len(found)} entries: " + ", ".join(c.kind for c in found)
                      + " (--kind picks one)", markup=False)
    for card in found:
        console.print(render_card(card))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    from zoo.cli.common import add_data_dir

    parser = sub.add_parser(
        "info", help="everything about one backbone, algorithm, dataset or suite",
        description="Show one entry: an algorithm's paper, hyperparameters and stages; a dataset's classes, split "
                    "sizes, licence, citation and file; a backbone's parameters, input and weights; a suite's tasks, "
                    "presets (with run counts) and data.",
        epilog="examples:\n  medzoo info breastmnist\n  medzoo info breastmnist --size 64\n  medzoo info dann\n"
               "  medzoo info resnet18_28\n  medzoo info timm/convnext_atto --in-chans 1\n  medzoo info quick",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", metavar="NAME", help="a name from `medzoo list` (timm/<arch> for any timm model)")
    parser.add_argument("--kind", default=None, help="only this kind, when a name exists in several: "
                                                     f"{', '.join(SINGULAR)}")
    parser.add_argument("--size", type=int, default=None, help="MedMNIST image size: 28 (default), 64, 128 or 224")
    parser.add_argument("--in-chans", type=int, default=None, help="build a backbone for this many input channels")
    add_data_dir(parser)
    parser.set_defaults(func=run)
