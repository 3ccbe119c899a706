"""Run a whole suite: skip finished runs, train the rest, save a checkpoint and append a record for each.

Runs are named by the hash of their resolved config, so rerunning a suite skips what is finished and an
interrupted suite resumes where it stopped. Only the main process writes; every process trains.

Usage::

    records = run_suite(load_suite("quick"), output_dir=Path("medzoo-runs"))
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from zoo.bench.suite import RunSpec, Suite
from zoo.errors import ConfigError, OutputError

logger = logging.getLogger(__name__)


def _launched_without_device() -> bool:
    """True under a multi-process launch (``accelerate launch``, torchrun) on a machine with no usable device.

    Accelerate only joins CPU processes into one gloo group when asked for the CPU; otherwise, with no GPU,
    every launched process would silently run the whole suite on its own, each as "process 0 of 1".
    """
    if int(os.environ.get("WORLD_SIZE", "1") or 1) <= 1:
        return False
    import torch

    devices = getattr(torch, "accelerator", None)  # torch >= 2.6: any device backend (cuda, xpu, npu, mps...)
    if devices is None:
        return not torch.cuda.is_available()
    # MPS has no distributed backend: several processes on a Mac can only share work on the CPU.
    return not devices.is_available() or devices.current_accelerator().type == "mps"


def make_accelerator(mixed_precision: str = "no", cpu: bool = False):
    """One Accelerator for the whole suite; DDP tolerates parameters a stage leaves unused.

    Several launched processes without a GPU train together on the CPU (gloo), as the README promises.

    Usage::

        accelerator = make_accelerator("no")      # under `accelerate launch --num_processes 2`: 2 CPU ranks
    """
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs

    ddp = DistributedDataParallelKwargs(find_unused_parameters=True)
    cpu = cpu or _launched_without_device()
    return Accelerator(mixed_precision=mixed_precision, cpu=cpu, kwargs_handlers=[ddp])


def check_buildable(run: RunSpec, data, data_dir: Path | None, download: bool) -> None:
    """Build the run's model once (no training) and check each pretraining domain and layer spec.

    What only a built model can tell (``last:9`` on a 5-block backbone, a layer name that does not exist,
    a pretraining domain of another image size) then fails in one line before the first run trains.
    """
    import torch

    from zoo.algorithms.freezing import trainable_backbone_modules
    from zoo.bench.task_data import build_matching_domain
    from zoo.runner.loop import build_model

    algorithm, normalizer = build_model(run.config, data)
    with torch.no_grad():  # one forward pass: an input the network cannot take fails here, not mid-suite
        algorithm.eval().predict(normalizer(data.target.splits["val"].images[:2]))
    if run.config["train"]["augment"] != "none":  # e.g. stain jitter on 1-channel images: refused here
        from zoo.augment import build_augment

        build_augment(run.config["train"]["augment"])(data.target.splits["train"].images[:2], torch.Generator())
    for i, step in enumerate(run.config["task"].get("pretrain") or []):
        (name, spec), = step["domain"].items()
        build_matching_domain(name, spec, data.target, run.config, data_dir, download)
        trainable_backbone_modules(algorithm.backbone, step["train"], owner=f"pretrain step #{i + 1} ({name})")


def _record(run: RunSpec, outcome, checkpoint: str | None, total_s: float, processes: int,
            selections: dict[str, Any] | None = None, caveats: list[str] | None = None) -> dict[str, Any]:
    from zoo.algorithms.variants import base_algorithm
    from zoo.provenance import collect_provenance, component_sources
    from zoo.results.record import make_record

    config = run.config
    task = config["task"]
    history = outcome.history
    # split names per part from the first epoch that has it (test splits may wait for the selected epochs)
    split_names = {part: next((list(h[part]) for h in history if h[part] is not None), []) for part in ("val", "test")}
    curves = {
        "epoch": [h["epoch"] for h in history],
        "stage": [h["stage"] for h in history],
        "train_loss": [h["train"]["loss"] for h in history],
        # per epoch and split: accuracy, AUROC and the number of classes predicted (1: a constant predictor),
        # classification splits only (not DEV's scores); None for an epoch not evaluated (train.eval_every),
        # and for test splits, None at the epochs no rule selected unless train.test_curves is set
        **{
            f"{split}_{metric}": [h[part][split].get(metric) if h[part] else None for h in history]
            for part in ("val", "test")
            for split in split_names[part]
            if split != "dev"
            for metric in ("accuracy", "auroc", "predicted_classes")
            if metric in next(h[part][split] for h in history if h[part] is not None)
        },
    }
    if "dev" in history[-1]["val"]:  # label-free selection: its score, where it was computed (else None)
        curves["dev_score"] = [(h["val"] or {}).get("dev", {}).get("score") for h in history]
    domains = {**task["sources"], **{k: v for s in task.get("pretrain") or [] for k, v in s["domain"].items()},
               **task["target"]}
    provenance = collect_provenance(num_processes=processes)
    datasets = sorted({spec["dataset"] for spec in domains.values() if isinstance(spec, dict) and "dataset" in spec})
    provenance["components"] = component_sources(  # which distribution supplied each part: plugins are labeled
        {"algorithm": base_algorithm(run.algorithm), "backbone": config["backbone"]["name"], "dataset": datasets})
    record = make_record(
        run_id=run.run_id,
        # the declared primary metric rides in the record, not in the hashed config (zoo.results.primary)
        suite={**config["suite"], **({"primary_metric": run.primary_metric} if run.primary_metric else {})},
        task={
            "name": task["name"],
            "source": list(task["sources"]),
            "target": next(iter(task["target"])),
            "target_budget": task["target_budget"],
            "label_map": task["label_map"],
            "pretrain": [next(iter(step["domain"])) for step in task.get("pretrain") or []],
            "domains": domains,
        },
        algorithm=run.algorithm,
        backbone={"name": config["backbone"]["name"],
                  "options": {k: v for k, v in config["backbone"].items() if k != "name"},
                  "config": outcome.backbone_config},
        hparams=config["hparams"],
        train=config["train"],
        seed=run.seed,
        selection={**outcome.selection, "selection_set": outcome.selections[outcome.selection["rule"]]["selection_set"]},
        selections=selections,
        caveats=caveats or None,
        metrics=outcome.metrics,
        curves=curves,
        timings={**outcome.timings, "total_s": round(total_s, 3)},
        provenance=provenance,
        checkpoint=checkpoint,
        stages=outcome.stages,
        datasets=outcome.datasets or None,  # licence and citation of every domain read (TaskData.terms)
    )
    if "sweep" in config:  # which random-search trial this run is (zoo.results.best_trial groups by it)
        record["sweep"] = dict(config["sweep"])
    return record


def run_label(run: RunSpec) -> str:
    """``task algorithm seed 0`` (``... trial 3`` in a sweep), for progress bars and logs."""
    trial = run.config.get("sweep", {}).get("trial")
    return f"{run.task.name} {run.algorithm} seed {run.seed}" + (f" trial {trial}" if trial is not None else "")


def train_and_record(run: RunSpec, accelerator, store, data_dir: Path | None, download: bool,
                     show_progress: bool) -> dict[str, Any] | None:
    """Train one run (after its pretraining steps); the main process saves its checkpoint and appends its record.

    Every launcher trains a run through here: the sequential loop below, worker processes and cluster jobs
    (``zoo.runner.launchers``). Returns the record on the main process, else ``None``.

    Usage::

        record = train_and_record(run, make_accelerator(), ResultStore("medzoo-runs"), None, False, False)
    """
    from zoo.bench.task_data import build_task_data
    from zoo.runner.loop import train_run
    from zoo.runner.pretrain import pretrain_backbone
    from zoo.runner.run_outputs import save_run_outputs

    from zoo.bench.leakage import check_leakage
    from zoo.results.integrity import describe_files

    started = time.perf_counter()
    caveats = check_leakage(run.config, data_dir, download)  # refuses overlap (again: workers start here)
    data = build_task_data(run.config, data_dir, download)
    backbone_state, pretrain_stages = pretrain_backbone(run, data.target, accelerator, store.root, data_dir,
                                                        download, show_progress)
    outcome = train_run(run, data, accelerator, show_progress=show_progress, backbone_state=backbone_state)
    outcome.stages = pretrain_stages + outcome.stages
    if not accelerator.is_main_process:
        return None
    run_dir = store.run_dir(run.run_id)
    meta = {"run": run.config.to_dict(), "label_names": data.label_names, "selection": outcome.selection,
            "selections": {rule: {"stage": s["stage"], "epoch": s["epoch"]} for rule, s in outcome.selections.items()},
            "backbone": outcome.backbone_config, "datasets": data.terms}  # licence and citation beside the weights
    try:
        selections = save_run_outputs(run_dir, store.root, outcome, data, meta)
        checkpoint = str(run_dir.relative_to(store.root) / "model.safetensors")
        written = [checkpoint, str(run_dir.relative_to(store.root) / "config.json")]
        files = describe_files(store.root, written + [s["checkpoint"] for s in selections.values()])
    except OSError as err:  # e.g. a full disk: the run has no record, so a rerun trains it again
        raise OutputError(f"cannot write run {run.run_id}'s checkpoint to {run_dir}: "
                          f"{(err.strerror or str(err)).lower()}; free space or pass --output-dir on another disk, "
                          "then rerun the same command (finished runs are kept)") from None
    record = _record(run, outcome, checkpoint, time.perf_counter() - started, accelerator.num_processes, selections,
                     caveats)
    record["files"] = files  # checked before a resume skips this run (zoo.results.integrity)
    store.append(record)
    target = outcome.metrics["target_test"]
    logger.info("%s: target-test accuracy %.4f (selected %s epoch %d by %s)", run_label(run), target["accuracy"],
                outcome.selection["stage"], outcome.selection["epoch"], outcome.selection["rule"])
    return record


def run_suite(
    suite: Suite,
    output_dir: Path,
    data_dir: Path | None = None,
    download: bool = False,
    cpu: bool = False,
    tasks: list[str] | None = None,
    algorithms: list[str] | None = None,
    show_progress: bool = True,
    launcher=None,
    require_all_data: bool = False,
) -> list[dict[str, Any]]:
    """Train every unfinished run of ``suite``; return the records of all its (selected) runs.

    ``launcher``: ``None`` trains the runs one after the other in this process (and in every process of
    an ``accelerate launch``); a launcher of ``zoo.runner.launchers`` hands them to worker processes or
    cluster jobs instead, after the same checks. Tasks whose data files are missing are skipped with a
    warning naming the download command (``zoo.bench.data_needs``); ``require_all_data`` makes that an error.
    """
    from tqdm.auto import tqdm

    from zoo.bench.leakage import check_leakage
    from zoo.bench.task_data import build_task_data, small_split_warnings
    from zoo.results.integrity import retire_damaged
    from zoo.results.store import ResultStore
    from zoo.runner.init_from import check_init
    from zoo.runner.preflight import check_plugins

    from zoo.bench.data_needs import missing_hint, skip_missing_data

    runs = suite.runs(tasks=tasks, algorithms=algorithms)  # validates names and hparams before any work
    precisions = {run.config["train"]["mixed_precision"] for run in runs}
    if len(precisions) > 1:
        raise ConfigError(f"tasks of one suite run must share train.mixed_precision, got {sorted(precisions)}")
    accelerator = make_accelerator(precisions.pop() if precisions else "no", cpu)
    mixed_precision = accelerator.mixed_precision
    if launcher is not None and accelerator.num_processes > 1:
        raise ConfigError(f"--launcher {launcher.name} starts its own processes; run it without accelerate launch "
                          "(accelerate launch ... medzoo run trains each run on several processes instead)")
    store = ResultStore(output_dir)
    if accelerator.is_main_process:
        store.check_writable()  # first: a wrong -o should not cost a data check
        retire_damaged(store, {run.run_id for run in runs})  # a damaged checkpoint is not "finished"
    accelerator.wait_for_everyone()
    runs, skipped = skip_missing_data(suite, runs, data_dir, download, require_all_data, tasks)  # after -o's check
    finished = store.finished_run_ids()
    first_of_pair, shown, small = {}, {}, {}
    for run in runs:
        if run.run_id not in finished:
            first_of_pair.setdefault((run.task.name, run.algorithm), run)
    with accelerator.main_process_first():  # one process downloads and verifies; the others then read
        check_plugins(first_of_pair.values(), data_dir, download)  # the kit on third-party entries: one line
        for run in first_of_pair.values():  # files, checksums, label spaces and models, before any training
            try:
                data = build_task_data(run.config, data_dir, download)
                check_init(run.config.get("init"), data.label_names, run.config["backbone"], run.task.name)
                caveats = check_leakage(run.config, data_dir, download)  # overlap of images, on the data
                for warning in small_split_warnings(data):
                    small.setdefault(warning, {})[run.task.name] = None  # ordered set of the tasks it concerns
                check_buildable(run, data, data_dir, download)
            except ConfigError as err:  # say which suite file and task the bad setting is in
                raise ConfigError(f"{suite.path}: task '{run.task.name}' ({run.algorithm}): {err}") from None
            for caveat in caveats:
                shown.setdefault(caveat, run.task.name)
    todo = [r for r in runs if r.run_id not in finished]
    if accelerator.is_main_process:
        logger.info(
            "suite %s v%d: %d runs, %d already finished, %d to train on %s x%d (mixed precision: %s)",
            suite.name, suite.version, len(runs), len(runs) - len(todo), len(todo),
            accelerator.device, accelerator.num_processes, mixed_precision,
        )
        for status in skipped:
            logger.warning("skipping task %s: %s not found; get the files with: %s (or pass --download; "
                           "--require-all-data makes a missing file an error)", status.task,
                           ", ".join(str(need.path) for need in status.missing), missing_hint(status.missing))
        for warning, names in small.items():
            logger.warning("task%s %s: %s", "s" * (len(names) > 1), ", ".join(names), warning)
        for caveat, task in shown.items():  # the suite header's caveats, also in every record and the leaderboard
            logger.warning("caveat (task %s): %s", task, caveat)
    if launcher is not None:
        launcher.launch(todo, output_dir=store.root, data_dir=data_dir, download=download, cpu=cpu,
                        mixed_precision=mixed_precision, show_progress=show_progress)
    else:
        from zoo.runner.run_lock import agreement, claim_runs

        bar = tqdm(total=len(todo), desc=f"suite {suite.name}", unit="run",
                   disable=not (show_progress and accelerator.is_main_process))
        # Another medzoo run on this folder may train some of these: each run is trained under its lock, and
        # the ones held elsewhere are waited for last (only the main process locks; the other ranks follow).
        for run in claim_runs(todo, store.root if accelerator.is_main_process else None, store.finished_run_ids,
                              agree=agreement(accelerator), label=run_label):
            bar.set_postfix_str(run_label(run))
            train_and_record(run, accelerator, store, data_dir, download, show_progress)
            accelerator.wait_for_everyone()  # under the run's lock: it is released once every rank is done
            bar.update(1)
        bar.close()
    wanted = {r.run_id for r in runs}
    records = [r for r in store.records() if r["run_id"] in wanted]
    accelerator.end_training()  # tears down the process group cleanly (gloo aborts at exit otherwise)
    return records
