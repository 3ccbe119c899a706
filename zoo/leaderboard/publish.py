"""Publish a built site: to a folder any static host serves, or as a static Hugging Face Space.

A Space gets the site's files plus a ``README.md`` whose front matter says ``sdk: static`` (the Hub serves
``index.html``); each publish is one commit that uploads the site and deletes every other file of the Space
(``delete_patterns="*"``; the Hub keeps ``.gitattributes``), so pages of runs that are gone do not linger.
A folder is replaced the same way the build replaces its output (only an empty folder or an earlier site).

Usage::

    publish_folder("leaderboard/site", "/var/www/leaderboard")
    url = publish_space("leaderboard/site", "my-org/medzoo-leaderboard", endpoint=None, token=None)
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from zoo.errors import ConfigError, DataError, HubError
from zoo.leaderboard.build import MARKER, write_tree

SPACE_README = """---
title: medzoo leaderboard
emoji: 🩻
colorFrom: blue
colorTo: green
sdk: static
app_file: index.html
pinned: false
---

The medzoo leaderboard: a static site built by `medzoo leaderboard build` from result records, and
published with `medzoo leaderboard publish --space`. The raw records are in `data/results.json`.
"""


def check_site(site: str | os.PathLike[str]) -> Path:
    """The folder of a site ``medzoo leaderboard build`` wrote; DataError with the fix otherwise.

    Usage::

        check_site("leaderboard/site")
    """
    site = Path(site)
    index = site / "index.html"
    if not index.is_file():
        raise DataError(f"no site at {site} (no index.html); run `medzoo leaderboard build -o {site}` first")
    if MARKER not in index.read_text(encoding="utf-8", errors="replace")[:2000]:
        raise DataError(f"{site} does not hold a medzoo leaderboard; publish the folder that "
                        "`medzoo leaderboard build` wrote")
    return site


def _tree(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


def publish_folder(site: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Path:
    """Copy the site to ``dest``, replacing an earlier site there (stale files go with it).

    Usage::

        publish_folder("leaderboard/site", "public/")
    """
    site = check_site(site)
    if Path(dest).resolve() == site.resolve():
        raise ConfigError(f"--folder {dest} is the site itself; name another folder")
    return write_tree(_tree(site), dest)


def publish_space(site: str | os.PathLike[str], repo_id: str, *, endpoint: str | None = None,
                  token: str | None = None, private: bool = False) -> str:
    """Upload the site as the static Space ``repo_id`` (created if needed); returns the Space's URL.

    Usage::

        publish_space("leaderboard/site", "my-org/medzoo-leaderboard")
    """
    from zoo.hub.client import hub_errors, offline, reachable, resolve_endpoint, token_from

    site = check_site(site)
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ConfigError(f"--space takes ORG/NAME, got {repo_id!r}")
    endpoint = resolve_endpoint(endpoint)
    if offline():
        raise HubError("HF_HUB_OFFLINE=1: publishing needs the Hub; unset HF_HUB_OFFLINE (or publish --folder)")
    if not reachable(endpoint):
        raise HubError(f"cannot reach the Hub at {endpoint}; check the network (or HF_ENDPOINT / --endpoint)")
    token = token_from(token)
    if not token:
        raise HubError("publishing a Space needs a token with write access: set HF_TOKEN or run `hf auth login`")
    from huggingface_hub import HfApi

    api = HfApi(endpoint=endpoint, token=token)
    with tempfile.TemporaryDirectory(prefix="medzoo-space-") as tmp:
        staged = Path(tmp) / "space"
        shutil.copytree(site, staged)
        (staged / "README.md").write_text(SPACE_README, encoding="utf-8")
        with hub_errors(repo_id, endpoint, what="the site", token=token, repo_type="space"):
            api.create_repo(repo_id, repo_type="space", space_sdk="static", exist_ok=True, private=private)
            api.upload_folder(repo_id=repo_id, repo_type="space", folder_path=staged, delete_patterns="*",
                              commit_message="medzoo leaderboard: publish the site")
    return f"{endpoint}/spaces/{repo_id}"
