"""``medzoo``: the entry point. Parses the subcommand, runs it, and turns user errors into one line.

A ``MedzooError`` (bad name, malformed suite, missing file, ...) prints ``medzoo: error: <what and how to
fix it>`` on stderr and exits 2; anything else is a bug and keeps its traceback.

Usage::

    medzoo list algorithms
    medzoo run quick train.epochs=1
"""

from __future__ import annotations

import argparse
import sys

from zoo import __version__
from zoo.cli import (
    doctor,
    download,
    info,
    leaderboard,
    listing,
    plugin_new,
    plugins,
    publish_results,
    pull,
    push,
    results,
    run,
    sweep_summary,
    zoo_build,
)
from zoo.errors import MedzooError

SUBCOMMANDS = (listing, info, run, results, leaderboard, sweep_summary, plugins, plugin_new, doctor,
               download, zoo_build, pull, push, publish_results)

EPILOG = """examples:
  medzoo list                       every backbone, algorithm, dataset and suite
  medzoo info breastmnist           one entry: classes, split sizes, licence, citation, file (or a paper, ...)
  medzoo run quick                  the few-minute CPU benchmark, with a results table
  medzoo run quick train.epochs=1 seeds=[0]
  accelerate launch --multi_gpu --num_processes 2 -m zoo.cli.main run quick
  medzoo results                    mean +- std over seeds of everything in ./medzoo-runs
  medzoo leaderboard build          a static leaderboard site of ./medzoo-runs in leaderboard/site
  medzoo run my-sweep.yaml --launcher workers --workers 4   random search on 4 local processes
  medzoo sweep-summary              best trial per task x algorithm, chosen on validation
  medzoo doctor                     environment, devices, data files found and verified
  medzoo download breastmnist       an official MedMNIST file into the data folder (md5-checked)
  medzoo plugin new my_algo --kind algorithm   scaffold a plugin package that passes its own tests
  medzoo zoo build resnet18_28-pneumoniamnist  train a catalogue checkpoint here (weights, config, card)
  medzoo pull resnet18_28-pneumoniamnist@main  download + sha256-check a checkpoint (HF cache)
  medzoo push RUN --repo org/name              publish a run as safetensors + config + model card
  medzoo publish-results --repo org/results    append results.jsonl runs to a Hub dataset
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="medzoo",
        description="Transfer-learning benchmarks and model zoo for medical imaging.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"medzoo {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # ``medzoo run quick -o out train.epochs=1``: argparse stops filling the ``overrides`` positional at the
    # first option, so key=value words after an option come back unparsed; they are overrides all the same.
    args, extra = parser.parse_known_args(argv)
    if extra:
        unknown = [a for a in extra if a.startswith("-") or "=" not in a] if hasattr(args, "overrides") else extra
        if unknown:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        args.overrides = [*args.overrides, *extra]
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from zoo.cli.common import setup_logging

    setup_logging(args.verbose)
    stop_on_sigterm()
    try:
        return int(args.func(args) or 0)
    except MedzooError as exc:
        message = str(exc).replace("\n", " ")
        print(f"medzoo: error: {message}", file=sys.stderr)
        return exc.exit_code
    except Terminated as exc:
        print(f"medzoo: stopped by SIGTERM; {_cleanup(exc)}finished runs are saved, rerun the same command to resume",
              file=sys.stderr)
        return 143
    except KeyboardInterrupt as exc:
        print(f"medzoo: interrupted; {_cleanup(exc)}finished runs are saved, rerun the same command to resume",
              file=sys.stderr)
        return 130


def _cleanup(stop: BaseException) -> str:
    """What was cleaned up on the way out (notes added while unwinding, e.g. "stopped 2 worker processes; ")."""
    return "".join(f"{note}; " for note in getattr(stop, "__notes__", ()))


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that ``finally`` blocks run and the user is told what happened."""


def stop_on_sigterm() -> None:
    """Turn SIGTERM (a scheduler's or ``kill``'s stop) into :class:`Terminated` instead of a silent death."""
    import signal
    import threading

    def handler(signum, frame):  # noqa: ARG001 (signal handler signature)
        raise Terminated()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def entry() -> int:
    """The ``medzoo`` console script (and ``python -m zoo.cli.main``): ``main`` in a process that exits when it
    returns, so the heap torch's import made is frozen rather than walked by the collector
    (``zoo.runner.process_heap``)."""
    from zoo.runner import process_heap

    process_heap.mark_dedicated_process()
    try:
        return main()
    finally:
        process_heap.freeze_before_exit()


if __name__ == "__main__":
    sys.exit(entry())
