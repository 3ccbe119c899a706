"""Leakage checked on the data: no image a run trains on may reappear in its target's test split.

Before training, the images a run learns from (its sources' training splits, every pretraining step's
domain, and what an ``init:`` checkpoint was trained on, read from that run's recorded config) are
compared with the target's test images by content fingerprint (``zoo.datasets.copies``: the same image
resized, renamed, re-split with another seed or re-encoded is still found). Images are compared before any
acquisition shift, so a shifted copy is a copy. Test images that already have a copy in the target's own
training split are the dataset's (BreastMNIST's official splits share some); they are reported as a
caveat, not refused, since every method on that target sees them alike. Anything else is refused in one
line with the count and the domains.

Also here: the caveats a task's data carry (``patient_level: false`` when source and target, or a
dataset's own splits, are cut image by image from data with several images per patient).

Usage::

    caveats = check_leakage(run.config, data_dir)      # raises LeakageError on an overlap
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import torch

from zoo.datasets.copies import COPY_THRESHOLD, fingerprints, has_copy
from zoo.errors import ConfigError


class LeakageError(ConfigError):
    """Training images of a run reappear among its target's test images."""


def _unshifted(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if k != "shift"}


@lru_cache(maxsize=64)
def _split_fingerprints(name: str, spec_json: str, split: str, data_dir: str | None, download: bool) -> torch.Tensor:
    from zoo.bench.task_data import build_domain

    domain = build_domain(name, json.loads(spec_json), Path(data_dir) if data_dir else None, download)
    return fingerprints(domain.splits[split].images)  # (N, 256)


def domain_fingerprints(name: str, spec: dict[str, Any], split: str, data_dir: Path | None = None,
                        download: bool = False) -> torch.Tensor:
    """Fingerprints of one split of a domain as its dataset and partition give it (no shift, native size)."""
    spec_json = json.dumps(_unshifted(spec), sort_keys=True)
    return _split_fingerprints(name, spec_json, split, str(data_dir) if data_dir else None, download)


def training_domains(config: dict[str, Any], seen: frozenset[str] = frozenset()) -> Iterator[tuple[str, str, dict]]:
    """``(role, name, spec)`` of every domain whose training images a run (and its ``init:`` run) learns from."""
    task = config["task"]
    for name, spec in task["sources"].items():
        yield "source", name, spec
    for step in task.get("pretrain") or []:
        (name, spec), = step["domain"].items()
        yield "pretraining domain", name, spec
    init = config.get("init")
    if init:
        from zoo.bench.init_from import init_run_config

        path, earlier = init_run_config(init)
        if path in seen:  # a chain of inits that loops back
            return
        label = f"init checkpoint {path}"
        (target_name, target_spec), = earlier["task"]["target"].items()
        for role, name, spec in training_domains(earlier, seen | {path}):
            yield f"{label} ({role})", name, spec
        if earlier["task"].get("target_budget") or not earlier["task"]["sources"]:
            yield f"{label} (its target labels)", target_name, target_spec


def check_leakage(config: dict[str, Any], data_dir: Path | None = None, download: bool = False) -> list[str]:
    """Refuse a run whose training images reappear in its target's test split; return the data's caveats."""
    (target_name, target_spec), = config["task"]["target"].items()
    test = domain_fingerprints(target_name, target_spec, "test", data_dir, download)  # (N_test, 256)
    own = has_copy(test, domain_fingerprints(target_name, target_spec, "train", data_dir, download))  # (N_test,)
    caveats = []
    if own.any():
        caveats.append(f"{int(own.sum())} of {len(test)} test images of '{target_name}' have a near-identical copy "
                       f"in its own training split (the dataset's splits share them)")
    for role, name, spec in training_domains(config):
        hit = has_copy(test, domain_fingerprints(name, spec, "train", data_dir, download)) & ~own
        if hit.any():
            raise LeakageError(
                f"leakage: {int(hit.sum())} of {len(test)} test images of target '{target_name}' are copies of "
                f"training images of {role} '{name}' (fingerprint cosine >= {COPY_THRESHOLD}, before any shift); "
                "make them disjoint (different parts of one partition, with group_copies: true if the dataset "
                "holds copies) or use another dataset"
            )
    return caveats + patient_caveats(config, data_dir, download)


def patient_caveats(config: dict[str, Any], data_dir: Path | None = None, download: bool = False) -> list[str]:
    """``patient_level: false`` caveats: where medzoo itself cut a task's data image by image.

    A partition (source and target from one dataset) or validation/test splits that medzoo carved from a
    pool are image-level unless the dataset has patient ids (none of the loaders here has any). With
    several images per patient (the brain MRI set: 3,064 slices of 233 patients), one patient can then be
    on both sides. A domain spec may state ``patient_level: true`` (one image per patient) to lift it.
    """
    from zoo.bench.task_data import build_domain

    cut: dict[str, list[str]] = {}
    for name, spec in {**config["task"]["sources"], **config["task"]["target"]}.items():
        if spec.get("patient_level") is True:
            continue
        info = build_domain(name, _unshifted(spec), data_dir, download).info
        if info.get("patient_ids"):
            continue
        dataset = spec["dataset"] + (f" {spec['path']}" if "path" in spec else "")
        if spec.get("partition"):
            cut.setdefault(dataset, []).append("the source/target parts")
        if "stratified" in str((info.get("split") or {}).get("method", "")):
            cut.setdefault(dataset, []).append("its train/val/test splits")
    return [f"patient_level: false: {dataset} has no patient ids and medzoo cut {' and '.join(sorted(set(what)))} "
            "image by image, so one patient's images can be on both sides" for dataset, what in sorted(cut.items())]
