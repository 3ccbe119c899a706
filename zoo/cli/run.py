"""``medzoo run SUITE [key=value ...]``: run a benchmark suite and print its results table.

Finished runs (same resolved config) are skipped, so rerunning resumes an interrupted suite or sweep.
Under ``accelerate launch`` every process trains and the main process writes. ``--launcher`` picks who
trains the runs (``zoo.runner.launchers``): this process (``local``), N local worker processes
(``workers``) or one submitit job per run (``submitit``: Slurm, or its local/debug executors). A suite
with a ``sweep`` block ends with its best trials, chosen on validation.

Usage::

    medzoo run quick
    medzoo run quick train.epochs=1 seeds=[0] --task pneumonia-shift-unsup
    accelerate launch --num_processes 2 -m zoo.cli.main run quick
    medzoo run my-sweep.yaml --launcher workers --workers 4
    medzoo run my-sweep.yaml --launcher workers --workers-per-gpu 4
    medzoo run my-sweep.yaml --launcher submitit --partition gpu --gpus-per-job 1 --time 120 --workers 32
"""

from __future__ import annotations

import argparse
from pathlib import Path

from zoo.cli.common import add_data_dir, add_output_dir

EPILOG = """overrides (key=value, values parsed as YAML; bare keys are suite defaults):
  train.epochs=1  train.lr=3e-4  train.batch_size=64  seeds=[0,1]  backbone.name=timm/resnet18
  backbone.small_input=true  selection.rule=target_val_oracle  hparams.source_then_target.target_lr_mult=0.3

examples:
  medzoo run quick
  medzoo run quick --preset full
  medzoo run ./my-suite.yaml --data-dir ~/data -o results/mine
  medzoo run quick --mixed-precision bf16
  medzoo run quick --plan                            # runs, finished, data needed, estimated time; trains nothing
  medzoo run quick --add-algorithm mcc               # a method beside the suite's baselines (not retrained)
  medzoo run progressive --preset quick              # tasks whose files are missing are skipped (and named)
  medzoo run quick sweep.trials=8 --launcher workers --workers 2     # random search, 2 local processes
  medzoo run quick sweep.trials=16 --launcher workers --workers-per-gpu 4   # 4 runs at once on each GPU
  medzoo run ./sweep.yaml --launcher submitit --partition gpu --gpus-per-job 1 --time 120 --workers 16
  medzoo run ./sweep.yaml --launcher submitit --cluster local --workers 2   # submitit without Slurm

A killed sweep resumes with the same command (any launcher): finished runs are skipped.
"""

SUBMITIT_ONLY = ("cluster", "partition", "gpus_per_job", "cpus_per_job", "mem_gb", "time", "slurm", "submitit_folder")


def _slurm_options(items: list[str]) -> dict:
    """``--slurm account=lab --slurm qos=high`` -> {'account': 'lab', 'qos': 'high'} (values parsed as YAML)."""
    import yaml

    from zoo.errors import ConfigError

    options = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--slurm '{item}' must look like KEY=VALUE, e.g. --slurm account=mylab")
        options[key.strip().replace("-", "_")] = yaml.safe_load(raw)
    return options


def make_cli_launcher(args: argparse.Namespace):
    """The launcher the options ask for (``local``: this process); options of another launcher are errors."""
    from zoo.errors import ConfigError
    from zoo.runner.launchers import make_launcher

    if args.launcher != "submitit":
        given = [f"--{name.replace('_', '-')}" for name in SUBMITIT_ONLY if getattr(args, name) is not None]
        if given:
            raise ConfigError(f"{', '.join(given)}: only for --launcher submitit (got --launcher {args.launcher})")
        return make_launcher(args.launcher, args.workers, args.threads, workers_per_gpu=args.workers_per_gpu,
                             cpu=args.cpu)

    def given(name: str, default):  # submitit options default to None on the parser, so misuse shows
        value = getattr(args, name)
        return default if value is None else value

    return make_launcher("submitit", args.workers, args.threads, workers_per_gpu=args.workers_per_gpu,
                         cluster=given("cluster", "auto"),
                         folder=args.submitit_folder, partition=args.partition, gpus_per_job=given("gpus_per_job", 0),
                         cpus_per_job=args.cpus_per_job, mem_gb=args.mem_gb, time_min=given("time", 240),
                         slurm_options=_slurm_options(args.slurm or []))


def print_summary(records: list, console) -> None:
    """Sweep records: the best trial of each task x algorithm; other records: the usual results table."""
    from zoo.results.table import print_results_table

    plain = [r for r in records if "sweep" not in r]
    swept = [r for r in records if "sweep" in r]
    if plain or not swept:
        print_results_table(plain, console=console)
    if swept:
        from zoo.cli.sweep_summary import render, summary_rows
        from zoo.results.best_trial import best_trials

        render(summary_rows(best_trials(swept)), "table", "target_test", "accuracy", console=console)


def run(args: argparse.Namespace) -> int:
    from zoo.bench.run_filters import add_algorithms
    from zoo.bench.suite import load_suite
    from zoo.runner.process_heap import prepare_to_train, settled_imports
    from zoo.runner.suite_runner import run_suite

    launcher = make_cli_launcher(args)  # option mistakes first, before the suite is expanded
    with settled_imports():  # torch's objects, frozen in the console process (zoo.runner.process_heap)
        launcher.check(args.output_dir)  # the local launcher sets --threads here; workers and jobs set theirs
        if launcher.in_process and not args.plan:
            prepare_to_train()  # the training runtime imported (and frozen); freed host memory kept for reuse
    overrides = list(args.overrides)
    if args.mixed_precision:  # sugar for the override: precision changes results, so it is part of the run id
        overrides.append(f"train.mixed_precision={args.mixed_precision}")
    suite = add_algorithms(load_suite(args.suite, overrides=overrides, preset=args.preset), args.add_algorithm)
    if args.plan:
        return show_plan(suite, args)
    records = run_suite(
        suite,
        output_dir=args.output_dir,
        data_dir=args.data_dir,
        download=args.download,
        cpu=args.cpu,
        tasks=args.task,
        algorithms=args.algorithm,
        show_progress=not args.no_progress,
        launcher=launcher,
        require_all_data=args.require_all_data,
    )
    from accelerate import PartialState

    if PartialState().is_main_process:
        from zoo.cli.common import stdout_console

        console = stdout_console()
        print_summary(records, console)
        console.print(f"{len(records)} runs in {args.output_dir / 'results.jsonl'} "
                      f"(checkpoints in {args.output_dir / 'runs'}); "
                      f"`medzoo results -o {args.output_dir}` shows them again")
        if not args.download:
            from zoo.bench.data_needs import missing_hint, suite_data_status

            for status in suite_data_status(suite, args.data_dir):
                if not status.runnable:
                    console.print(f"[yellow]skipped task {status.task}[/yellow] (data missing): get its files with "
                                  f"`{missing_hint(status.missing)}`, then rerun (finished runs are kept)")
    return 0


def show_plan(suite, args: argparse.Namespace) -> int:
    """``--plan``: the runs, what is finished, the data and the time, without training anything."""
    from zoo.bench.plan import make_plan
    from zoo.cli.common import stdout_console
    from zoo.cli.plan_view import render_plan
    from zoo.results.store import ResultStore
    from zoo.runner.probe import probe_run
    from zoo.runner.train_record import make_accelerator

    runs = suite.runs(tasks=args.task, algorithms=args.algorithm)
    store = ResultStore(args.output_dir)
    finished, records = (store.finished_run_ids(), store.records()) if store.path.exists() else (set(), [])
    accelerator = make_accelerator(cpu=args.cpu)
    plan = make_plan(suite, runs, finished, records, args.data_dir,
                     probe=None if args.no_probe else lambda run: probe_run(run, accelerator, args.data_dir),
                     download=args.download)
    render_plan(plan, stdout_console(), args)
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
    parser.add_argument("--add-algorithm", action="append", metavar="NAME",
                        help="also run this registered algorithm on every task, beside the suite's own: "
                             "their runs keep their ids, so finished baselines are not retrained (repeatable)")
    parser.add_argument("--plan", action="store_true",
                        help="print the runs, which are finished, the data needed and an estimated time; train nothing")
    parser.add_argument("--no-probe", action="store_true",
                        help="with --plan: estimate only from finished runs, without timing a few training steps")
    parser.add_argument("--require-all-data", action="store_true",
                        help="fail when a task's data files are missing (default: skip those tasks and say how "
                             "to get their files)")
    parser.add_argument("--mixed-precision", choices=("no", "fp16", "bf16"), default=None,
                        help="autocast precision (same as train.mixed_precision=...)")
    parser.add_argument("--download", action="store_true",
                        help="download missing official dataset files (md5-verified) into the data folder")
    parser.add_argument("--cpu", action="store_true", help="train on CPU even if a GPU is available")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    launch = parser.add_argument_group("launchers", "who trains the runs; any of them resumes a killed sweep")
    launch.add_argument("--launcher", choices=("local", "workers", "submitit"), default="local",
                        help="local: one run after the other here (default); workers: N local processes; "
                             "submitit: one job per run (Slurm, or --cluster local)")
    launch.add_argument("--workers", type=int, default=None,
                        help="workers: processes (default 2); submitit: jobs at once (default: all on Slurm, 1 local)")
    launch.add_argument("--workers-per-gpu", type=int, default=None, metavar="N",
                        help="workers: N processes on each visible GPU (G GPUs: G*N workers, worker i on GPU i mod G), "
                             "each training one run after the other; instead of --workers")
    launch.add_argument("--threads", type=int, default=None,
                        help="CPU threads of each process that trains (default: torch's own for local; "
                             "the CPUs divided among workers or local jobs)")
    launch.add_argument("--cluster", choices=("auto", "slurm", "local", "debug"), default=None,
                        help="submitit executor: auto = Slurm if available, else local (default auto)")
    launch.add_argument("--partition", help="Slurm partition")
    launch.add_argument("--gpus-per-job", type=int, default=None, help="GPUs per job (default 0)")
    launch.add_argument("--cpus-per-job", type=int, default=None, help="CPUs per job (Slurm cpus_per_task)")
    launch.add_argument("--mem-gb", type=float, default=None, help="memory per job in GB")
    launch.add_argument("--time", type=int, default=None, help="time limit per job in minutes (default 240)")
    launch.add_argument("--slurm", action="append", metavar="KEY=VALUE",
                        help="any other Slurm option, e.g. --slurm account=mylab --slurm qos=high (repeatable)")
    launch.add_argument("--submitit-folder", type=Path, default=None,
                        help="where submitit keeps job pickles and logs (default: OUTPUT/submitit)")
    add_data_dir(parser)
    add_output_dir(parser)
    parser.set_defaults(func=run)
