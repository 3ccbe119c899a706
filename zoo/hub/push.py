"""Push a run or a checkpoint folder to a Hub model repo: safetensors, timm-style config.json, model card.

``source`` is a checkpoint folder (``medzoo zoo build`` output or an earlier export), a run folder
(``medzoo-runs/runs/<run_id>``; its record is read from that results store for the card's numbers), or a
bare run id looked up in ``output_dir``. The token comes from ``--token``/``$HF_TOKEN``/``hf auth login``
and is never written anywhere.

Usage::

    info = push_checkpoint("medzoo-runs/runs/3f9c2a1b", "my-lab/resnet18_28-pneumonia")
    info["commit"], info["url"], info["sha256"]
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from zoo.errors import ConfigError, HubError
from zoo.hub.client import hub_errors, reachable, resolve_endpoint, token_from

logger = logging.getLogger(__name__)
RECEIPT = "hub.json"  # in a pushed run's folder: where its checkpoint went


def _is_checkpoint_folder(folder: Path) -> bool:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return "medzoo" in config and (folder / "model.safetensors").is_file()


def _run_record(run_dir: Path) -> dict[str, Any] | None:
    """The record of the run saved in ``run_dir`` (``<store>/runs/<run_id>``), if its store has one."""
    from zoo.results.store import ResultStore

    store_root = run_dir.parent.parent
    if not (store_root / "results.jsonl").is_file():
        return None
    return ResultStore(store_root).get(run_dir.name)


def locate(source: str, output_dir: Path) -> tuple[str, Path]:
    """``("checkpoint", folder)`` or ``("run", run_dir)`` for what ``source`` names."""
    path = Path(source)
    if not path.exists() and (output_dir / "runs" / source).is_dir():
        path = output_dir / "runs" / source
    if path.is_file() and path.name == "model.safetensors":
        path = path.parent
    if not path.is_dir():
        raise ConfigError(f"nothing to push at '{source}': give a checkpoint folder, a run folder "
                          f"(runs/<run_id>) or a run id of {output_dir}")
    if _is_checkpoint_folder(path):
        return "checkpoint", path
    if (path / "model.safetensors").is_file() and (path / "config.json").is_file():
        return "run", path
    raise ConfigError(f"'{path}' holds no medzoo checkpoint (model.safetensors + config.json)")


def prepare(source: str, output_dir: Path, workdir: Path) -> Path:
    """The folder to upload: a checkpoint folder as is, a run exported (weights, config, card) into ``workdir``."""
    from zoo.hub.export import export_run

    kind, path = locate(source, output_dir)
    if kind == "checkpoint":
        return path
    record = _run_record(path)
    if record is None:
        logger.warning("%s: no result record found next to it; the card will have no evaluation numbers", path)
    return export_run(path, workdir / "checkpoint", record=record)


def upload(folder: Path, repo: str, repo_type: str, endpoint: str | None, token: str | None,
           message: str, revision: str | None = None, private: bool = False) -> dict[str, str]:
    """Create ``repo`` if needed and commit every file of ``folder``; returns {"commit", "url"}."""
    from huggingface_hub import HfApi

    endpoint = resolve_endpoint(endpoint)
    token = token_from(token)
    if not token:
        raise HubError(f"pushing to {endpoint} needs a token: set HF_TOKEN (a write token) or run `hf auth login`")
    if not reachable(endpoint):
        raise HubError(f"cannot reach the Hub at {endpoint} to push '{repo}'; check the network "
                       "(or HF_ENDPOINT / --endpoint)")
    if repo.count("/") != 1:
        raise ConfigError(f"--repo must be org/name, got '{repo}'")
    api = HfApi(endpoint=endpoint, token=token)
    with hub_errors(repo, endpoint, revision, "files", token, repo_type):
        api.create_repo(repo, repo_type=repo_type, exist_ok=True, private=private,
                        space_sdk="static" if repo_type == "space" else None)
        info = api.upload_folder(repo_id=repo, folder_path=str(folder), repo_type=repo_type, revision=revision,
                                 commit_message=message)
    return {"commit": info.oid, "url": str(info.repo_url)}


def push_checkpoint(source: str, repo: str, endpoint: str | None = None, token: str | None = None,
                    output_dir: Path = Path("medzoo-runs"), revision: str | None = None,
                    private: bool = False) -> dict[str, Any]:
    """Export (if needed) and upload one checkpoint; returns {"commit", "url", "sha256", "files"}."""
    from zoo.hub.weights import sha256_file

    with tempfile.TemporaryDirectory(prefix="medzoo-push-") as tmp:
        folder = prepare(source, Path(output_dir), Path(tmp))
        sha = sha256_file(folder / "model.safetensors")
        result = upload(folder, repo, "model", endpoint, token, f"medzoo push: model.safetensors sha256 {sha[:12]}",
                        revision, private)
        files = sorted(p.name for p in folder.iterdir() if p.is_file())
    kind, path = locate(source, Path(output_dir))
    if kind == "run":
        write_receipt(path, {"repo_id": repo, "revision": revision or "main", "commit": result["commit"],
                             "endpoint": resolve_endpoint(endpoint)})
    return {**result, "sha256": sha, "files": files}


def write_receipt(run_dir: Path, receipt: dict[str, str]) -> None:
    """Note in the run folder where its checkpoint was published (``hub.json``; never a token).

    The leaderboard links the run's page to that model card (:func:`zoo.leaderboard.load.read_records`).
    A folder that cannot be written only costs the link, so a failure is a warning, not an error.

    Usage::

        write_receipt(Path("medzoo-runs/runs/3f9c2a1b"), {"repo_id": "lab/x", "revision": "main", ...})
    """
    try:
        tmp = run_dir / ".hub.json.tmp"
        tmp.write_text(json.dumps(receipt, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(run_dir / RECEIPT)
    except OSError as err:
        logger.warning("pushed, but could not note it in %s: %s", run_dir, (err.strerror or str(err)).lower())
