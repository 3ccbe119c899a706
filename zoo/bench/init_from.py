"""Start a run from a finished run's checkpoint (``init: PATH`` in a suite's defaults or a task).

``PATH`` is a run folder (``medzoo-runs/runs/<run_id>``) or its ``model.safetensors``; relative paths are
read from the working directory. The backbone and the classifier head are loaded; anything else an
algorithm owns (a domain discriminator, a second head) starts fresh. Because the head is loaded, the
checkpoint's classes must be the task's classes, in the same order: a mismatch is a one-line error
before any training, never a silently permuted head.

The checkpoint's sha256 goes into the resolved config, so the run id changes when the weights do.

Usage::

    init = resolve_init("medzoo-runs/runs/3f9c2a1b0d4e5f60")   # {"path": ..., "sha256": ...}
    check_init(init, data.label_names, run.config["backbone"], task="pneumonia-shift-10pct")
    load_init(algorithm, init)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zoo.digests import sha256_file
from zoo.errors import ConfigError

LOADED_PREFIXES = ("backbone.", "classifier.")


def _weights_path(path: str) -> Path:
    given = Path(path).expanduser()
    weights = given / "model.safetensors" if given.is_dir() else given
    if not weights.is_file():
        raise ConfigError(f"init: no checkpoint at '{path}'; give a medzoo run folder (runs/<run_id>) "
                          "or its model.safetensors")
    return weights


def resolve_init(path: str | None) -> dict[str, str] | None:
    """``{"path", "sha256"}`` of the checkpoint ``path`` names (``None`` passes through)."""
    if path is None:
        return None
    return {"path": str(path), "sha256": sha256_file(_weights_path(path))}


def _check_safetensors(weights: Path, given: str) -> None:
    """One line if ``weights`` is not a whole safetensors file: a pickle is never loaded, a damaged file is named."""
    from safetensors import SafetensorError, safe_open

    with open(weights, "rb") as handle:
        head = handle.read(2)
    if head[:1] == b"\x80" or head == b"PK":  # pickle protocol 2+ / torch.save's zip archive (pickle inside)
        raise ConfigError(f"init: '{given}' is a PyTorch pickle (torch.save), which medzoo never loads (it can run "
                          "code); give a medzoo run folder, or re-save the state dict with safetensors.torch.save_file")
    try:
        with safe_open(str(weights), framework="pt") as handle:
            handle.keys()
    except SafetensorError as err:  # truncated, overwritten or not a safetensors file at all
        reason = str(err).removeprefix("Error while deserializing header: ")
        raise ConfigError(f"init: '{given}' is not a readable safetensors checkpoint ({reason}); it may be truncated "
                          "or corrupt: give another run folder, or retrain the run that wrote it") from None


def _checkpoint_meta(weights: Path) -> dict[str, Any]:
    meta_path = weights.with_name("config.json")
    try:
        return json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError(f"init: '{meta_path}' is missing or unreadable ({err.__class__.__name__}); "
                          "init needs a checkpoint written by medzoo (model.safetensors + config.json)") from None


def init_run_config(init: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """``(folder, resolved config)`` of the run an ``init`` checkpoint came from (its recorded training data).

    Usage::

        folder, config = init_run_config(run.config["init"])     # config["task"]["sources"], ...
    """
    weights = _weights_path(init["path"])
    meta = _checkpoint_meta(weights)
    if not isinstance(meta.get("run"), dict) or "task" not in meta["run"]:
        raise ConfigError(f"init: '{weights.with_name('config.json')}' does not record the run's data; "
                          "init needs a checkpoint written by medzoo run")
    return str(weights.parent.resolve()), meta["run"]


def check_init(init: dict[str, str] | None, label_names: list[str], backbone: dict[str, Any], task: str) -> None:
    """One-line ``ConfigError`` unless the checkpoint has the task's labels and this run's backbone.

    ``backbone`` is the run config's ``{"name": ..., **options}``; it must equal the checkpoint run's.
    """
    if init is None:
        return
    weights = _weights_path(init["path"])
    _check_safetensors(weights, init["path"])
    meta = _checkpoint_meta(weights)
    trained = list(meta.get("label_names") or [])
    if len(trained) != len(label_names):
        raise ConfigError(
            f"label count mismatch: init checkpoint '{init['path']}' has a {len(trained)}-class head {trained}, "
            f"task '{task}' has {len(label_names)} classes {label_names}; initialise from a run with the task's labels"
        )
    if [n.lower() for n in trained] != [n.lower() for n in label_names]:
        raise ConfigError(
            f"label mismatch: init checkpoint '{init['path']}' was trained on {trained}, task '{task}' has "
            f"{label_names}; initialise from a run with the task's labels (same names, same order)"
        )
    theirs = meta.get("run", {}).get("backbone")
    if theirs != backbone:
        raise ConfigError(f"init checkpoint '{init['path']}' (backbone {_describe(theirs)}) does not fit this run's "
                          f"model (backbone {_describe(backbone)}); use the same backbone and options as its run")


def _describe(backbone: dict[str, Any] | None) -> str:
    if not backbone:
        return "unknown"
    options = ", ".join(f"{k}={v}" for k, v in sorted(backbone.items()) if k != "name")
    return f"{backbone.get('name')}[{options}]" if options else str(backbone.get("name"))


def load_init(algorithm, init: dict[str, str] | None) -> None:
    """Copy the checkpoint's backbone and classifier weights into ``algorithm`` (shapes must match)."""
    if init is None:
        return
    from safetensors.torch import load_file

    weights = _weights_path(init["path"])
    state = {k: v for k, v in load_file(str(weights)).items() if k.startswith(LOADED_PREFIXES)}
    own = {k: v for k, v in algorithm.state_dict().items() if k.startswith(LOADED_PREFIXES)}
    missing = sorted(set(own) - set(state))
    misshapen = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or misshapen:
        first = (f"missing {missing[0]}" if missing else
                 f"{misshapen[0]} is {tuple(state[misshapen[0]].shape)}, expected {tuple(own[misshapen[0]].shape)}")
        backbone = _checkpoint_meta(weights).get("run", {}).get("backbone", {}).get("name", "?")
        raise ConfigError(f"init checkpoint '{init['path']}' (backbone {backbone}) does not fit this run's model: "
                          f"{first}; use the same backbone and options as the checkpoint's run")
    algorithm.load_state_dict(state, strict=False)
