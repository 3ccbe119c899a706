"""Pull a checkpoint from the Hub into huggingface_hub's cache: pinned revision, safetensors only, sha256-checked.

``NAME`` is a catalogue name or a Hub repo ``org/name``, optionally ``@REVISION`` (branch, tag or commit
sha). Files go through ``hf_hub_download`` (its cache, its progress bar, ``HF_HUB_OFFLINE=1`` served from
the cache). The weights' sha256 must equal the catalogue's (else the one the checkpoint's config.json or
the Hub's ETag declares); a mismatch deletes the download and is a one-line error naming both hashes.

Usage::

    pulled = pull("resnet18_28-pneumoniamnist@main")
    pulled.folder / "model.safetensors", pulled.commit, pulled.sha256
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from zoo.errors import HubError
from zoo.hub.catalogue import Entry, load_catalogue, split_revision
from zoo.hub.client import hub_errors, offline, reachable, resolve_endpoint, unreachable_error
from zoo.hub.weights import is_pickle, refuse_pickle, sha256_file

logger = logging.getLogger(__name__)
PREFERRED = ("model.safetensors", "open_clip_model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class Pulled:
    """Where a pulled checkpoint lies and what was checked."""

    name: str
    repo: str
    revision: str  # as asked
    commit: str  # the commit it resolved to (the cache's snapshot folder)
    folder: Path
    weights: str  # the weights file name in the repo
    sha256: str
    verified_against: str  # "catalogue", "config.json", "hub etag"
    entry: Entry | None
    endpoint: str


def _choose_weights(repo: str, revision: str, endpoint: str, token: str | None, local_only: bool,
                    cache_dir: str | Path | None) -> str:
    """The repo's weights file: a safetensors file when there is one (offline: the first one in the cache)."""
    if local_only:
        from huggingface_hub import try_to_load_from_cache

        cached = [n for n in PREFERRED
                  if isinstance(try_to_load_from_cache(repo, n, cache_dir=cache_dir, revision=revision), str)]
        return cached[0] if cached else PREFERRED[0]
    from huggingface_hub import HfApi

    with hub_errors(repo, endpoint, revision, "file list", token):
        files = HfApi(endpoint=endpoint, token=token).list_repo_files(repo, revision=revision)
    for name in PREFERRED:
        if name in files:
            return name
    safes = sorted(f for f in files if f.endswith(".safetensors"))
    pickles = sorted(f for f in files if is_pickle(f))
    if safes or pickles:
        return (safes or pickles)[0]
    raise HubError(f"repo '{repo}' at revision '{revision}' has no weights file (.safetensors or a PyTorch checkpoint)")


def _expand_cached_revision(repo: str, revision: str, cache_dir: str | Path | None) -> str:
    """A short commit sha -> the full sha of the one cached snapshot it starts (offline, the Hub cannot say)."""
    from huggingface_hub import constants

    if not re.fullmatch(r"[0-9a-f]{7,39}", revision):
        return revision
    snapshots = Path(cache_dir or constants.HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}" / "snapshots"
    matches = [p.name for p in snapshots.glob(f"{revision}*")] if snapshots.is_dir() else []
    return matches[0] if len(matches) == 1 else revision


def _discard(path: str) -> None:
    """Remove a bad download from the cache (blob and snapshot link), so a retry downloads it again."""
    blob = os.path.realpath(path)
    for p in {path, blob}:
        try:
            os.unlink(p)
        except OSError:
            pass


def _hub_etag(repo: str, filename: str, revision: str, endpoint: str, token: str | None) -> str | None:
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    with hub_errors(repo, endpoint, revision, filename, token):
        meta = get_hf_file_metadata(hf_hub_url(repo, filename, revision=revision, endpoint=endpoint), token=token)
    return meta.etag


def pull(name: str, endpoint: str | None = None, cache_dir: str | Path | None = None, trust_pickle: bool = False,
         catalogue: str | Path | None = None, token: str | None = None, revision: str | None = None) -> Pulled:
    """Download (or find in the cache) config.json, README.md and the weights of ``name``; verify the weights."""
    from huggingface_hub import hf_hub_download

    base, rev = split_revision(name)
    cat = load_catalogue(catalogue)
    if "/" in base:
        repo, entry = base, cat.find_repo(base)
    else:
        entry = cat.get(base)
        repo = entry.repo
    revision = rev or revision or (entry.revision if entry else "main")
    endpoint = resolve_endpoint(endpoint, entry.endpoint if entry else None)
    local_only = offline() or not reachable(endpoint)
    if local_only:
        revision = _expand_cached_revision(repo, revision, cache_dir)
    weights = entry.file if entry and entry.kind == "medzoo" else _choose_weights(repo, revision, endpoint, token,
                                                                                 local_only, cache_dir)
    if is_pickle(weights) and not trust_pickle:
        raise refuse_pickle(weights, f"repo '{repo}'")

    def fetch(filename: str, required: bool = True) -> str | None:
        try:
            with hub_errors(repo, endpoint, revision, filename, token):
                return hf_hub_download(repo, filename, revision=revision, endpoint=endpoint, cache_dir=cache_dir,
                                       token=token, local_files_only=local_only)
        except HubError as err:
            if required:
                if entry is not None and entry.kind == "medzoo" and entry.info.get("published") is False:
                    raise HubError(f"'{entry.name}' is not published yet (its catalogue entry says published: false), "
                                   f"and {endpoint} did not give {repo}; `medzoo zoo build {entry.name}` trains it "
                                   "here from its recipe (then `medzoo push` shares it)") from None
                if local_only and not offline():
                    raise unreachable_error(endpoint, repo, filename) from None
                raise err
            return None

    config_path = fetch("config.json")
    fetch("README.md", required=False)
    weights_path = fetch(weights)
    actual = sha256_file(weights_path)
    expected, against = None, ""
    if entry and entry.sha256:
        expected, against = entry.sha256, f"the catalogue ({cat.path.name})"
    else:
        declared = (json.loads(Path(config_path).read_text(encoding="utf-8")).get("medzoo") or {}).get("weights_sha256")
        if declared:
            expected, against = declared, "its config.json"
        elif not local_only:
            etag = _hub_etag(repo, weights, revision, endpoint, token)
            if etag and _SHA256.match(etag):
                expected, against = etag, "the Hub's ETag"
    if expected and actual != expected:
        _discard(weights_path)
        raise HubError(f"{repo}@{revision}: '{weights}' failed verification: sha256 {actual} but {against} says "
                       f"{expected}; the download was deleted (tampered or corrupted); pull again or check the entry")
    if not expected:
        logger.warning("%s: no sha256 to check '%s' against (not in the catalogue); sha256 %s", repo, weights, actual)
    if local_only and not offline():  # said only once it worked: on failure the error line says it all
        logger.warning("could not reach %s: %s served from the local cache", endpoint, repo)
    folder = Path(weights_path).parent
    return Pulled(name=base, repo=repo, revision=revision, commit=folder.name, folder=folder, weights=weights,
                  sha256=actual, verified_against=against or "nothing", entry=entry, endpoint=endpoint)
