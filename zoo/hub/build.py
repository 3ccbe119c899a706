"""``medzoo zoo build NAME``: train a catalogue checkpoint from its recipe through the suite runner.

The recipe becomes a one-task suite (written next to the results, so the run is inspectable and
resumable): the recipe's dataset is the task's target, every training label is used
(``target_budget: 1.0``), the model is selected on the validation split, and the run is an ordinary
medzoo run with a result record. The selected weights are then exported as a checkpoint folder
(``zoo/hub/export.py``) whose card quotes that record. Same recipe, seed and software -> same weights and
the same sha256 (the runner seeds everything; CPU kernels are deterministic).

Usage::

    built = build_checkpoint("resnet18_28-pneumoniamnist", output_dir=Path("medzoo-zoo"))
    built["sha256"], built["folder"], built["record"]["metrics"]["target_test"]["accuracy"]
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

from zoo.errors import ConfigError
from zoo.hub.catalogue import Entry, load_catalogue


def effective_recipe(entry: Entry, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The entry's recipe with ``overrides`` applied to its train block (what is actually trained)."""
    recipe = copy.deepcopy(entry.recipe or {})
    recipe["train"] = {**recipe["train"], **(overrides or {})}
    return recipe


def recipe_suite(entry: Entry, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The one-task suite (as YAML data) that trains ``entry``'s recipe; ``overrides`` change the train block."""
    recipe = effective_recipe(entry, overrides)
    domain = re.sub(r"[^A-Za-z0-9_-]+", "-", str(recipe["dataset"].get("name") or recipe["dataset"]["dataset"]))
    return {
        "suite": f"zoo-build-{entry.name}",
        "version": 1,
        "description": f"medzoo zoo build {entry.name}: supervised training from the catalogue recipe",
        "defaults": {
            "backbone": recipe["backbone"],
            "train": recipe["train"],
            "image_size": recipe["image_size"],
            "channels": recipe["channels"],
            "seeds": [int(recipe["seed"])],
            "selection": {"rule": "target_val", "metric": "accuracy"},
        },
        "domains": {domain: recipe["dataset"]},
        "tasks": [{"name": entry.name, "pretrain": [], "target": domain, "target_budget": 1.0,
                   "algorithms": [recipe["algorithm"]]}],
    }


def build_checkpoint(name: str, output_dir: Path, data_dir: Path | None = None, catalogue: str | Path | None = None,
                     train_overrides: dict[str, Any] | None = None, show_progress: bool = True,
                     cpu: bool = True) -> dict[str, Any]:
    """Train (or reuse the finished run of) ``name``'s recipe and export its checkpoint folder.

    Returns {"folder", "sha256", "record", "expected_sha256", "matches_catalogue"}.
    """
    from zoo.bench.suite import load_suite
    from zoo.hub.export import WEIGHTS, export_run
    from zoo.hub.weights import sha256_file
    from zoo.runner.suite_runner import run_suite

    entry = load_catalogue(catalogue).get(name)
    if entry.kind != "medzoo":
        raise ConfigError(f"'{name}' is a public checkpoint ({entry.repo}); only medzoo entries have a recipe to build")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    suite_file = output_dir / f"zoo-build-{name}.yaml"
    suite_file.write_text(yaml.safe_dump(recipe_suite(entry, train_overrides), sort_keys=False), encoding="utf-8")
    suite = load_suite(str(suite_file))
    records = run_suite(suite, output_dir, data_dir=data_dir, cpu=cpu, show_progress=show_progress)
    (record,) = records
    folder = export_run(output_dir / record["checkpoint"].rsplit("/", 1)[0], output_dir / "checkpoints" / name,
                        record=record, recipe=effective_recipe(entry, train_overrides), name=name)
    sha = sha256_file(folder / WEIGHTS)
    same_recipe = not train_overrides
    return {"folder": folder, "sha256": sha, "record": record, "expected_sha256": entry.sha256,
            "matches_catalogue": (sha == entry.sha256) if (entry.sha256 and same_recipe) else None}
