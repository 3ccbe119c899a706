"""``medzoo run SUITE [key=value ...]``: run a benchmark suite and print its results table.

Finished runs (same resolved config) are skipped, so rerunning resumes an interrupted suite. Under
``accelerate launch`` every process trains and the main process writes.

Usage::

    medzoo run quick
    medzoo run quick train.epochs=1 seeds=[0] --task pneumonia-shift-unsup
    accelerate launch --num_processes 2 -m zoo.cli.main run quick
"""

from __future__ import annotations

import argparse

from zoo.cli.common import add_data_dir, add_output_dir

EPILOG = """overrides (key=value, values parsed as YAML; bare keys are suite defaults):
  train.epochs=1  train.lr=3e-4  train.batch_size=64  seeds=[0,1]  backbone.name=timm/resnet18
  backbone.small_input=true  selection.rule=target_val_oracle  hparams.finetune.target_lr_mult=0.3

examples:
  medzoo run quick
  medzoo run quick --preset full
  medzoo run ./my-suite.yaml --data-dir ~/data -o results/mine
  medzoo run quick --mixed-precision bf16
"""


def run(args: argparse.Namespace) -> int:
    from zoo.bench.suite import load_suite
    from zoo.results.table import print_results_table
    from zoo.runner.suite_runner import run_suite

    overrides = list(args.overrides)
    if args.mixed_precision:  # sugar for the override: precision changes results, so it is part of the run id
        overrides.append(f"train.mixed_precision={args.mixed_precision}")
    suite = load_suite(args.suite, overrides=overrides, preset=args.preset)
    records = run_suite(
        suite,
        output_dir=args.output_dir,
        data_dir=args.data_dir,
        download=args.download,
        cpu=args.cpu,
        tasks=args.task,
        algorithms=args.algorithm,
        show_progress=not args.no_progress,
    )
    from accelerate import PartialState

    if PartialState().is_main_process:
        from zoo.cli.common import stdout_console

        console = stdout_console()
        print_results_table(records, console=console)
        console.print(f"{len(records)} runs in {args.output_dir / 'results.jsonl'} "
                      f"(checkpoints in {args.output_dir / 'runs'}); `medzoo results -o {args.output_dir}` shows them again")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "run", help="run a benchmark suite", description="Run a benchmark suite (a registered name or a YAML file).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("suite", help="suite name (see `medzoo list suites`) or path to a suite .yaml")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="override suite defaults")
    parser.add_argument("--preset", help="a preset of the suite, e.g. full")
    parser.add_argument("--task", action="append", help="only this task (repeatable)")
    parser.add_argument("--algorithm", action="append", help="only this algorithm (repeatable)")
    parser.add_argument("--mixed-precision", choices=("no", "fp16", "bf16"), default=None,
                        help="autocast precision (same as train.mixed_precision=...)")
    parser.add_argument("--download", action="store_true",
                        help="download missing official dataset files (md5-verified) into the data folder")
    parser.add_argument("--cpu", action="store_true", help="train on CPU even if a GPU is available")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_data_dir(parser)
    add_output_dir(parser)
    parser.set_defaults(func=run)
