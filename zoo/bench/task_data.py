"""Build the tensors of a task from its resolved config: source and target domains, label map, budgets.

A domain spec names a registered dataset and its options, plus two optional medzoo keys:
``partition: {part, of, seed, group_copies}`` (disjoint stratified parts of every split) and
``shift: {name, severity, seed}`` (an acquisition shift, applied once, at the image size the run trains
on, so that a severity means the same whatever the dataset's native size). When source and target come
from the same dataset they must be different parts of one partition: they may never share an image
(checked on the specs here, and on the images themselves by ``zoo.bench.leakage``).

Usage::

    data = build_task_data(run.config, data_dir=None)
    data.source.splits["train"], data.target_labeled        # labeled target budget (or None)
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from zoo.datasets import DATASETS, Domain, Split
from zoo.errors import ConfigError, DataError
from zoo.task_settings import TASK_SETTINGS

MEDZOO_KEYS = ("dataset", "partition", "shift", "patient_level")


@dataclass
class TaskData:
    """Tensors of one task: labels of ``source`` already mapped into the target's label space."""

    source: Domain | None  # None for a fine-tuning task without a source (pretrain steps only)
    target: Domain
    target_labeled: Split | None  # the budgeted labeled subset of target train (None for budget 0)
    target_val_labeled: Split | None  # the budgeted labeled subset of target val
    # domain name -> {dataset, licence, citation} of every domain the run reads (sources, target, pretraining):
    # what each result record carries as ``datasets``
    terms: dict[str, dict[str, str]] = field(default_factory=dict)
    setting: str = "transfer"  # zoo.task_settings: what the run's streams and hooks may read
    # (M,) rows of target val that target_val_labeled holds: evaluation reads its logits from target val's
    target_val_rows: torch.Tensor | None = None

    def __post_init__(self) -> None:
        # evaluation slices target_val's logits from target val's by these rows: they must be its images
        if self.target_val_rows is not None:
            val = self.target.splits["val"]
            if self.target_val_labeled is None or not torch.equal(val.labels[self.target_val_rows],
                                                                  self.target_val_labeled.labels):
                raise ValueError("TaskData.target_val_rows must be the rows of target val that target_val_labeled "
                                 "holds; build both with zoo.datasets.partition.label_budget_and_rows")

    @property
    def num_classes(self) -> int:
        return self.target.num_classes

    @property
    def label_names(self) -> list[str]:
        return self.target.label_names


def _base_spec(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if k not in ("partition", "shift", "patient_level")}


def check_disjoint(sources: dict[str, dict], target: dict[str, dict]) -> None:
    """Raise if a source and the target would draw the same images from one dataset."""
    (target_name, target_spec), = target.items()
    for name, spec in sources.items():
        if _base_spec(spec) != _base_spec(target_spec):
            continue
        sp, tp = spec.get("partition"), target_spec.get("partition")
        same_scheme = sp and tp and sp.get("of", 2) == tp.get("of", 2) and sp.get("seed", 0) == tp.get("seed", 0)
        if not same_scheme or sp.get("part") == tp.get("part"):
            raise ConfigError(
                f"source '{name}' and target '{target_name}' read the same dataset and could share images; "
                "give both a 'partition' with the same 'of' and 'seed' and different 'part'"
            )


def _resize(domain: Domain, image_size: int | None, channels: int | None) -> Domain:
    """Resize (antialiased, once, as uint8) and/or convert channels so every domain of a task matches."""
    if image_size is None and channels is None:
        return domain
    splits = {}
    for key, split in domain.splits.items():
        images = split.images  # (N, C, H, W) uint8
        if channels is not None and images.shape[1] != channels:
            if channels == 3 and images.shape[1] == 1:
                images = images.expand(-1, 3, -1, -1).contiguous()
            elif channels == 1 and images.shape[1] == 3:  # ITU-R 601 luma, as PIL's convert('L')
                weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
                images = (images.float() * weights).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)
            else:
                raise ConfigError(f"cannot convert {images.shape[1]} channels to {channels} for domain '{domain.name}'")
        if image_size is not None and images.shape[-1] != image_size:
            images = F.interpolate(images.float(), size=(image_size, image_size), mode="bilinear", antialias=True)
            images = images.round().clamp(0, 255).to(torch.uint8)
        splits[key] = Split(images, split.labels)
    return domain.with_splits(splits, info={"resized": {"image_size": image_size, "channels": channels}})


def _call_factory(name: str, spec: dict[str, Any], data_dir: Path | None, download: bool) -> Domain:
    factory = DATASETS.get(spec["dataset"])
    kwargs = {k: v for k, v in spec.items() if k not in MEDZOO_KEYS}
    params = inspect.signature(factory).parameters
    if data_dir is not None and "data_dir" in params and "data_dir" not in kwargs:
        kwargs["data_dir"] = data_dir
    if download and "download" in params and "download" not in kwargs:
        kwargs["download"] = True
    try:
        return factory(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"domain '{name}' (dataset '{spec['dataset']}'): {exc}") from exc


def _check_classes(name: str, spec: dict[str, Any], domain: Domain) -> None:
    """A domain must name two classes and hold images of two: one class cannot train or score a classifier."""
    present = sorted({int(v) for split in domain.splits.values() for v in split.labels.unique().tolist()})
    if domain.num_classes >= 2 and len(present) >= 2:
        return
    what = (f"names a single class {domain.label_names}" if domain.num_classes < 2 else
            f"has images of one class only ('{domain.label_names[present[0]]}')" if present else "has no images")
    raise DataError(f"domain '{name}' (dataset '{spec['dataset']}') {what}; a classifier needs at least two classes: "
                    "check the dataset's labels (and label_names)")


@lru_cache(maxsize=16)
def _build_domain_cached(name: str, spec_json: str, data_dir: str | None, download: bool, image_size: int | None,
                         channels: int | None) -> Domain:
    spec = json.loads(spec_json)
    domain = _call_factory(name, spec, Path(data_dir) if data_dir else None, download)
    if spec.get("partition"):
        from zoo.datasets.partition import partition_domain

        p = spec["partition"]
        domain = partition_domain(domain, part=p["part"], of=p.get("of", 2), seed=p.get("seed", 0),
                                  group_copies=p.get("group_copies", False))
    _check_classes(name, spec, domain)
    domain = _resize(domain, image_size, channels)
    if spec.get("shift"):  # after resizing: noise of severity 4 is severity 4 at the size the network sees
        from zoo.datasets.shift import shift_domain

        s = spec["shift"]
        domain = shift_domain(domain, s["name"], severity=s.get("severity", 3), seed=s.get("seed", 0))
    return domain


def build_domain(name: str, spec: dict[str, Any], data_dir: Path | None = None, download: bool = False,
                 image_size: int | None = None, channels: int | None = None) -> Domain:
    """Build (and cache for the process) one domain of a suite, at ``image_size`` and ``channels`` when given
    (its acquisition shift applied after resizing); ``download`` fetches missing official files.

    Usage::

        domain = build_domain("xray_noise4", spec, data_dir, image_size=28)
    """
    return _build_domain_cached(name, json.dumps(spec, sort_keys=True), str(data_dir) if data_dir else None, download,
                                image_size, channels)


def _map_labels(source: Domain, target: Domain, label_map: dict[str, str] | None) -> Domain:
    """Express source labels as target label indices; with a partial map, unmapped classes are dropped."""
    if label_map is None:
        if [n.lower() for n in source.label_names] == [n.lower() for n in target.label_names]:
            return source
        raise ConfigError(
            f"label mismatch: source '{source.name}' has {source.num_classes} classes {source.label_names}, "
            f"target '{target.name}' has {target.num_classes} {target.label_names}; add a label_map to the task, or "
            "give the domains the same label_names (classes are matched by name, in order)"
        )
    lookup = torch.full((source.num_classes,), -1, dtype=torch.long)
    for src_name, tgt_name in label_map.items():
        if src_name not in source.label_names or tgt_name not in target.label_names:
            raise ConfigError(
                f"label_map entry '{src_name}: {tgt_name}' names a label that does not exist; "
                f"source labels {source.label_names}, target labels {target.label_names}"
            )
        lookup[source.label_names.index(src_name)] = target.label_names.index(tgt_name)
    splits = {}
    for key, split in source.splits.items():
        mapped = lookup[split.labels]  # (N,) target indices, -1 where unmapped
        keep = (mapped >= 0).nonzero().squeeze(1)
        splits[key] = Split(split.images[keep], mapped[keep])
    return source.with_splits(splits, label_names=list(target.label_names), info={"label_map": label_map})


def _concat(domains: list[Domain]) -> Domain:
    """Several source domains as one; each split's ``domains`` holds the index of the source of each row."""
    if len(domains) == 1:
        return domains[0]
    first = domains[0]
    splits = {
        key: Split(
            torch.cat([d.splits[key].images for d in domains]),
            torch.cat([d.splits[key].labels for d in domains]),
            torch.cat([torch.full((len(d.splits[key]),), i, dtype=torch.long) for i, d in enumerate(domains)]),
        )
        for key in first.splits
    }
    name = "+".join(d.name for d in domains)
    return first.with_splits(splits, name=name, info={"sources": [d.name for d in domains]})


def build_matching_domain(name: str, spec: dict[str, Any], target: Domain, config: dict[str, Any],
                          data_dir: Path | None = None, download: bool = False) -> Domain:
    """Domain ``name`` at the run's image size and channels; a one-line error if it cannot match ``target``.

    Usage::

        source = build_matching_domain("xray", spec, data.target, run.config)
    """
    source = build_domain(name, spec, data_dir, download, config.get("image_size"), config.get("channels"))
    if source.image_size != target.image_size or source.channels != target.channels:
        raise ConfigError(
            f"domain '{name}' images are {source.channels}x{source.image_size}px but target '{target.name}' "
            f"are {target.channels}x{target.image_size}px; set image_size (and channels) in the suite defaults"
        )
    return source


def build_task_data(config: dict[str, Any], data_dir: Path | None = None, download: bool = False) -> TaskData:
    """Everything a run trains and evaluates on, from the run's resolved config."""
    from zoo.datasets.partition import label_budget, label_budget_and_rows

    task = config["task"]
    setting = task.get("setting", "transfer")
    if not TASK_SETTINGS[setting].reads_source and task["sources"]:  # refused at resolution; never read here either
        raise ConfigError(f"a {setting} task reads no source images, but its config names {', '.join(task['sources'])}")
    check_disjoint(task["sources"], task["target"])
    size, channels = config.get("image_size"), config.get("channels")
    (target_name, target_spec), = task["target"].items()
    target = build_domain(target_name, target_spec, data_dir, download, size, channels)
    sources = [
        _map_labels(build_matching_domain(name, spec, target, config, data_dir, download), target,
                    task.get("label_map"))
        for name, spec in task["sources"].items()
    ]
    budget, seed = task["target_budget"], config["seed"]
    labeled = val_labeled = val_rows = None
    if budget > 0:
        labeled = label_budget(target.splits["train"], budget, seed)
        # (M,) rows too: evaluation slices target_val's logits from target val's by them
        val_labeled, val_rows = label_budget_and_rows(target.splits["val"], budget, seed)
    # Pretraining domains are built here too (cached: the pre-flight check and the pretraining step build the
    # same ones) so that their licence and citation reach the record even when the step's checkpoint is reused.
    pretrain = {name: build_matching_domain(name, spec, target, config, data_dir, download)
                for step in task.get("pretrain") or [] for name, spec in step["domain"].items()}
    used = {**dict(zip(task["sources"], sources)), **pretrain, target_name: target}
    specs = {**task["sources"], **{n: s for step in task.get("pretrain") or [] for n, s in step["domain"].items()},
             **task["target"]}
    terms = {name: {"dataset": specs[name]["dataset"], **domain.terms()} for name, domain in used.items()}
    return TaskData(_concat(sources) if sources else None, target, labeled, val_labeled, terms, setting, val_rows)


SMALL_TEST_SPLIT = 100  # below this many target test images, one image moves accuracy by over a point
FEW_LABELS_PER_CLASS = 5  # below this many labeled images of a class, a budget barely trains or selects


def small_split_warnings(data: TaskData) -> list[str]:
    """Warnings for a target test split under 100 images and label budgets under 5 images of some class.

    Usage::

        for warning in small_split_warnings(build_task_data(run.config)): logger.warning(warning)
    """
    warnings = []
    n_test = len(data.target.splits["test"])
    if n_test < SMALL_TEST_SPLIT:
        warnings.append(f"the target test split has {n_test} images (< {SMALL_TEST_SPLIT}): one image is "
                        f"{100 / max(n_test, 1):.1f} accuracy points, so differences between methods "
                        "need wide intervals")
    for part, split in (("training", data.target_labeled), ("validation", data.target_val_labeled)):
        if split is None:
            continue
        counts = torch.bincount(split.labels, minlength=data.num_classes).tolist()  # (K,) labeled images per class
        if min(counts) < FEW_LABELS_PER_CLASS:
            per_class = ", ".join(f"'{name}' {count}" for name, count in zip(data.label_names, counts))
            warnings.append(f"the target {part} label budget has under {FEW_LABELS_PER_CLASS} images of some class "
                            f"({per_class}): selection and fine-tuning on it are noisy; raise target_budget")
    return warnings
