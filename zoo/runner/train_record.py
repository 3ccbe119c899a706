"""One run, trained and recorded: the path every launcher trains a run through (``train_and_record``).

The main process saves the run's checkpoint and predictions and appends its record; the other processes
of an ``accelerate launch`` train alongside. ``check_buildable`` builds a run's model once before a suite
trains anything, so what only a built model can tell fails in one line first.

Usage::

    accelerator = make_accelerator("no")
    record = train_and_record(run, accelerator, ResultStore("medzoo-runs"), None, False, show_progress=False)
    run_label(run)            # 'pneumonia-shift-10pct dann seed 0'
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from zoo.bench.run_spec import RunSpec
from zoo.errors import OutputError

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
        "train_loss": [h["train"].get("loss") for h in history],  # None: a source model evaluated untrained
        # per epoch and split: accuracy, AUROC and the number of classes predicted (1: a constant predictor),
        # classification splits only (not DEV's scores); None for an epoch not evaluated (train.eval_every, or
        # an earlier stage's epoch before its last unless train.stage_curves),
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
            "setting": task.get("setting", "transfer"),  # results and the leaderboard rank within a setting
        },
        algorithm=run.algorithm,
        backbone={"name": config["backbone"]["name"],
                  "options": {k: v for k, v in config["backbone"].items() if k != "name"},
                  "config": outcome.backbone_config},
        hparams=config["hparams"],
        train=config["train"],
        seed=run.seed,
        selection={**outcome.selection,
                   "selection_set": outcome.selections[outcome.selection["rule"]]["selection_set"]},
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

    Every launcher trains a run through here: the local loop, worker processes and cluster jobs
    (``zoo.runner.launchers``). Returns the record on the main process, else ``None``.

    Usage::

        record = train_and_record(run, make_accelerator(), ResultStore("medzoo-runs"), None, False, False)
    """
    from zoo.bench.leakage import check_leakage
    from zoo.bench.task_data import build_task_data
    from zoo.results.integrity import describe_files
    from zoo.runner.loop import train_run
    from zoo.runner.pretrain import pretrain_backbone
    from zoo.runner.run_outputs import save_run_outputs

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
