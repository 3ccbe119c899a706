"""Progressive transfer: supervised pretraining steps on other domains before a run's algorithm starts.

A task's ``pretrain`` lists steps, each a domain with its own labels (``{domain, epochs, lr_mult, train}``),
e.g. brain-tumour MRI (3 classes) -> PneumoniaMNIST (2) -> the target BreastMNIST. Each step trains the
backbone with a fresh linear head for that domain's classes (cross-entropy, the run's optimizer and
augmentation), only the layers ``train`` names (``zoo.algorithms.freezing``), keeps the epoch with the best
accuracy on that domain's validation split, and hands the backbone to the next step; the algorithm then
starts from the last step's backbone with its own head for the target's classes. In a source-free task the
last step is the shipped source model (``head: true``, set by resolution): its head, for the target's
classes, is kept too and the algorithm starts from both (``HEAD_PREFIX`` keys of the returned state).

Every step is a checkpoint, ``<output>/pretrain/<key>/backbone.safetensors`` + ``step.json``, keyed by the
hash of everything that determines it (backbone, image size, seed, training options, ``train.compile``
when set, and all the steps up to it). Runs that share a pretraining (every algorithm and seed-mate of a
task) reuse it, so strategies are compared from identical weights, and an interrupted suite does not
pretrain twice. Each step trains as a run's stage does (``zoo.runner.stage_loop``), its backbone compiled
under ``train.compile`` as a run's is.

Usage::

    state, stages = pretrain_backbone(run, data.target, accelerator, Path("medzoo-runs"))
    outcome = train_run(run, data, accelerator, backbone_state=state)
"""

from __future__ import annotations

import hashlib
import json
import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from accelerate.utils import set_seed

try:  # POSIX only
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from zoo.algorithms.base import Stage
from zoo.algorithms.freezing import set_trainable
from zoo.algorithms.source_only import SourceOnly
from zoo.backbones import create_backbone, declares_option
from zoo.backbones.normalize import Normalizer
from zoo.bench.run_config import ID_DEFAULTS
from zoo.bench.task_data import TaskData, build_matching_domain
from zoo.datasets.base import Domain
from zoo.errors import ConfigError
from zoo.runner.compiled import compile_as_configured
from zoo.runner.epoch_metrics import epoch_metrics
from zoo.runner.evaluate import isolated_rng, predict
from zoo.runner.seed_streams import seed_stream
from zoo.runner.stage_loop import StageRunner, progress_bar, snapshot, stage_inputs, to_channels_last
from zoo.runner.streams import eval_loaders

logger = logging.getLogger(__name__)

# In the state a step returns, the kept head's weights (``head: true``) sit under this prefix: no module of a
# backbone can be named so ('@' is not a Python identifier), so the backbone's own keys never clash with it.
HEAD_PREFIX = "@head."

# Training options that change a pretraining step's weights (epochs is per step; max_steps_per_epoch too).
KEY_TRAIN_OPTIONS = ("batch_size", "lr", "optimizer", "weight_decay", "momentum", "scheduler", "milestones", "gamma",
                     "max_steps_per_epoch", "mixed_precision", "augment", "epochs", "drop_last")
# ... and those that change them only to float tolerance, keyed only off their default, as run ids key them: a
# step checkpointed before the option existed keeps its key (compile: a compiled backbone, zoo.runner.compiled)
KEY_UNLESS_DEFAULT = {name: ID_DEFAULTS["train"][name] for name in ("compile",)}


def step_key(config: dict[str, Any], upto: int) -> str:
    """16 hex digits naming pretraining steps ``0..upto`` of ``config`` (see the module docstring)."""
    train = config["train"]
    keyed = {k: train[k] for k in KEY_TRAIN_OPTIONS if k in train}
    keyed.update({k: train[k] for k, default in KEY_UNLESS_DEFAULT.items() if train.get(k, default) != default})
    wanted = {
        "backbone": config["backbone"], "image_size": config.get("image_size"), "channels": config.get("channels"),
        "seed": config["seed"], "train": keyed, "steps": config["task"]["pretrain"][: upto + 1],
    }
    return hashlib.sha256(json.dumps(wanted, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _train_step(step: dict[str, Any], domain: Domain, backbone, config: dict[str, Any], accelerator,
                show_progress: bool) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Train ``backbone`` + a fresh head on ``domain``; the backbone state of the best val epoch and a summary.

    One stage of ``zoo.runner.stage_loop`` (the batches, optimizer and epochs of a run's stage), evaluated on
    the domain's validation split after every epoch; the backbone of the best accuracy is kept.
    """
    train = config["train"]
    model = SourceOnly(backbone, domain.num_classes)
    keep_head = bool(step.get("head"))  # a source-free task's source model: the head is shipped with it
    set_trainable(backbone, step["train"], owner=f"pretrain step on '{domain.name}'")
    stage = Stage(f"pretrain:{domain.name}", "source", epochs=step["epochs"], lr_mult=step["lr_mult"])
    model.set_stage(stage)
    channels_last = to_channels_last(model)  # as a run's model (snapshots are contiguous copies either way)
    # train.compile: the backbone compiled as a run's is (the compiled graphs of a shape are reused by the run)
    compile_as_configured(model, train, accelerator.device)
    cfg = backbone.config
    normalizer = Normalizer(cfg.mean, cfg.std, cfg.in_chans).to(accelerator.device)
    prepared = accelerator.prepare_model(model)
    data = TaskData(source=domain, target=domain, target_labeled=None, target_val_labeled=None)
    inputs = stage_inputs(accelerator, data, train, config["seed"], "pretrain_augment", normalizer,
                          channels_last=channels_last)
    val = eval_loaders(accelerator, data, train["eval_batch_size"])[0]["source_val"]
    epochs = step["epochs"] or train["epochs"]
    bar = progress_bar(accelerator, inputs.steps * epochs, stage.name, show_progress)
    best, best_acc, curve = None, float("-inf"), []

    def evaluate(epoch: int, train_log: dict[str, float]) -> None:
        nonlocal best, best_acc
        with isolated_rng(accelerator):  # evaluation never changes the next epoch's batches
            logits, labels = predict(accelerator, prepared, val, normalizer)  # (N, K), (N,)
            # the cheap per-epoch report: its accuracy is the full report's, bit for bit (zoo.runner.epoch_metrics)
            acc = epoch_metrics(logits, labels, domain.label_names, "accuracy")["accuracy"]
        curve.append(round(acc, 6))
        if acc > best_acc:  # the backbone only (the next step brings its own head), unless the head is kept
            best_acc, best = acc, snapshot(backbone)
            if keep_head:
                best.update({HEAD_PREFIX + k: v for k, v in snapshot(model.classifier).items()})

    # No divergence check (diverged_as=None): a step whose loss blows up late still hands over the backbone
    # of its best epoch, as pretraining always has; the run's own stages do check.
    StageRunner(accelerator, prepared, inputs, train, bar, label=f"pretrain on {domain.name}").run(
        stage, epochs, evaluate=evaluate, diverged_as=None)
    bar.close()
    backbone.requires_grad_(True)  # the algorithm decides what trains next
    accelerator.free_memory()
    return best, {"epochs": epochs, "val_accuracy": best_acc, "val_accuracy_curve": curve}


@contextmanager
def _step_lock(folder: Path, key: str, num_processes: int):
    """Only one single-process worker trains a given step; the others wait, then reuse its checkpoint.

    Under ``accelerate launch`` the processes of one group train the step together, so no lock is taken
    there (a rank waiting on a lock its peer holds would deadlock the collective calls).
    """
    if num_processes > 1 or fcntl is None:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f".{key}.lock", "w") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _run_step(k: int, step: dict[str, Any], state, records: list, run, target: Domain, accelerator, output_dir: Path,
              options: dict[str, Any], data_dir, download: bool, show_progress: bool):
    """Reuse step ``k``'s checkpoint or train it; append its record; return the backbone state after it."""
    from safetensors.torch import load_file

    from zoo.checkpoint import atomic_write, save_weights
    from zoo.digests import sha256_file

    config = run.config
    (name, spec), = step["domain"].items()
    key = step_key(config, k)
    folder = output_dir / "pretrain" / key
    weights, meta_path = folder / "backbone.safetensors", folder / "step.json"
    record = {"name": f"pretrain:{name}", "data": name, "epochs": step["epochs"], "lr_mult": step["lr_mult"],
              "train": step["train"], "checkpoint": str(weights.relative_to(output_dir))}
    if weights.is_file() and meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        if meta.get("sha256") in (None, sha256_file(weights)):  # steps saved before digests: trusted as before
            records.append({**record, **meta["summary"], "reused": True})
            return load_file(str(weights))
        logger.warning("%s: sha256 differs from %s (damaged); training pretraining step %d again", weights,
                       meta_path.name, k + 1)
    domain = build_matching_domain(name, spec, target, config, data_dir, download)
    if step.get("head") and [n.lower() for n in domain.label_names] != [n.lower() for n in target.label_names]:
        raise ConfigError(f"the source model of a source_free task is trained on '{name}', whose classes "
                          f"{domain.label_names} differ from the target's {target.label_names}; its head must "
                          "predict the target's classes")
    set_seed(seed_stream(config["seed"], "pretrain_step", k))  # same head and order on every process
    backbone = create_backbone(config["backbone"]["name"], **options)
    if state is not None:
        backbone.load_state_dict(state)
    state, summary = _train_step(step, domain, backbone, config, accelerator, show_progress)
    if accelerator.is_main_process:
        folder.mkdir(parents=True, exist_ok=True)
        save_weights(weights, state)
        meta = {"key": key, "step": step, "label_names": domain.label_names, "summary": summary,
                "sha256": sha256_file(weights)}
        atomic_write(meta_path, lambda p: p.write_text(json.dumps(meta, indent=2, default=str)))
        logger.info("pretrained on %s (%d classes): best val accuracy %.4f -> %s", name, domain.num_classes,
                    summary["val_accuracy"], weights)
    accelerator.wait_for_everyone()
    records.append({**record, **summary, "reused": False})
    return state


def pretrain_backbone(run, target: Domain, accelerator, output_dir: Path, data_dir: Path | None = None,
                      download: bool = False, show_progress: bool = True
                      ) -> tuple[dict[str, torch.Tensor] | None, list[dict[str, Any]]]:
    """Run (or reuse) the task's pretraining steps; the final backbone state and one record per step."""
    config = run.config
    steps = config["task"].get("pretrain") or []
    if not steps:
        return None, []
    options = {k: v for k, v in config["backbone"].items() if k != "name"}
    options.setdefault("in_chans", target.channels)
    if declares_option(config["backbone"]["name"], "image_size"):
        options.setdefault("image_size", target.image_size)
    state, records = None, []
    for k, step in enumerate(steps):
        with _step_lock(output_dir / "pretrain", step_key(config, k), accelerator.num_processes):
            state = _run_step(k, step, state, records, run, target, accelerator, output_dir, options, data_dir,
                              download, show_progress)
    return state, records


__all__ = ["HEAD_PREFIX", "pretrain_backbone", "step_key"]
