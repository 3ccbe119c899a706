"""``medzoo zoo list`` and ``medzoo zoo build NAME``: the checkpoint catalogue, and training an entry's recipe.

``zoo build`` trains the recipe through the suite runner (an ordinary, resumable run with a result
record), exports ``model.safetensors`` + ``config.json`` + ``README.md`` to ``OUTPUT/checkpoints/NAME`` and
prints the weights' sha256 next to the catalogue's. ``train.KEY=VALUE`` changes the recipe (e.g. a smaller
budget); the result is then not the catalogue checkpoint and is reported as such.

Usage::

    medzoo zoo list
    medzoo zoo build resnet18_28-pneumoniamnist -o medzoo-zoo
"""

from __future__ import annotations

import argparse

EPILOG = """examples:
  medzoo zoo list                                     every catalogue checkpoint (medzoo's and public ones)
  medzoo zoo build resnet18_28-pneumoniamnist         train its recipe here, export + card, print sha256
  medzoo zoo build resnet18_28-brain-mri -o medzoo-zoo
  medzoo zoo build simple_cnn-pneumoniamnist train.epochs=1 train.max_steps_per_epoch=5   a tiny budget
  medzoo push medzoo-zoo/checkpoints/resnet18_28-pneumoniamnist --repo my-lab/resnet18_28-pneumoniamnist
"""


def _list(args: argparse.Namespace) -> int:
    from rich.table import Table

    from zoo.cli.common import stdout_console
    from zoo.hub.catalogue import load_catalogue

    cat = load_catalogue(args.catalogue)
    table = Table(title=f"checkpoint catalogue v{cat.version} ({cat.path})")
    for column in ("name", "kind", "repo", "published", "licence", "gated", "sha256 / verified", "description"):
        table.add_column(column, overflow="fold", no_wrap=column in ("name", "kind"))
    for entry in cat.entries.values():
        check = (entry.sha256[:12] + "…" if entry.sha256 else "not built") if entry.kind == "medzoo" else \
            ("verified" if entry.verified else "not verified from here (no network)")
        gated = "?" if entry.gated is None else ("yes" if entry.gated else "no")
        published = {True: "yes", False: "not yet"}.get(entry.info.get("published"), "-")  # public: see verified
        table.add_row(entry.name, entry.kind, entry.repo, published, entry.licence, gated, check,
                      str(entry.info.get("description", "")))
    stdout_console().print(table)
    unpublished = [e.name for e in cat.entries.values() if e.info.get("published") is False]
    if unpublished:  # said in plain words: `medzoo pull` of these fails until someone builds and pushes them
        print(f"{len(unpublished)} of {len(cat.entries)} entries are not published on the Hub yet; "
              f"`medzoo zoo build NAME` trains one here from its recipe")
    return 0


def _parse_overrides(items: list[str]) -> dict:
    from zoo.bench.yaml_safe import parse_value
    from zoo.errors import ConfigError

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("train.") or len(key) <= len("train."):
            raise ConfigError(f"'{item}': zoo build takes train.KEY=VALUE overrides (e.g. train.epochs=1)")
        out[key[len("train."):]] = parse_value(value)  # as in a suite file: 3e-4 is a number
    return out


def _build(args: argparse.Namespace) -> int:
    from rich.table import Table

    from zoo.cli.common import stdout_console
    from zoo.hub.build import build_checkpoint

    overrides = _parse_overrides(args.overrides)
    built = build_checkpoint(args.name, args.output_dir, data_dir=args.data_dir, catalogue=args.catalogue,
                             train_overrides=overrides, show_progress=not args.no_progress, cpu=args.cpu)
    record = built["record"]
    table = Table(title=f"built {args.name}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    test = record["metrics"]["target_test"]
    table.add_row("folder", str(built["folder"]))
    table.add_row("run", f"{record['run_id']} (selected {record['selection'].get('stage')} epoch "
                         f"{record['selection'].get('epoch')} by {record['selection']['rule']})")
    table.add_row("test", f"accuracy {test['accuracy']:.4f}, balanced accuracy {test['balanced_accuracy']:.4f}, "
                          f"auroc {test.get('auroc', float('nan')):.4f}")
    table.add_row("sha256", built["sha256"])
    expected = built["expected_sha256"]
    verdict = {True: "matches the catalogue", False: f"DIFFERS from the catalogue's {expected}",
               None: "recipe changed by overrides: not comparable" if overrides else "catalogue has no sha256"}
    table.add_row("catalogue", verdict[built["matches_catalogue"]])
    stdout_console().print(table)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    from zoo.cli.common import add_data_dir, add_output_dir
    from zoo.cli.hub_options import add_catalogue

    parser = sub.add_parser("zoo", help="the checkpoint catalogue: list it, build an entry from its recipe",
                            description="The checkpoint catalogue: list it, or train an entry's recipe here.",
                            epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="zoo_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="list the catalogue", epilog=EPILOG,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_catalogue(listing)
    listing.set_defaults(func=_list)
    build = actions.add_parser("build", help="train a catalogue entry's recipe and export its checkpoint",
                               epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    build.add_argument("name", help="a medzoo catalogue entry (see `medzoo zoo list`)")
    build.add_argument("overrides", nargs="*", metavar="train.KEY=VALUE", help="change the recipe's training")
    build.add_argument("--cpu", action="store_true", help="train on CPU even if a GPU is available")
    build.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_catalogue(build)
    add_data_dir(build)
    add_output_dir(build)
    build.set_defaults(func=_build)
