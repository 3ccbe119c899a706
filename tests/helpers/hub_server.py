"""A local, in-memory Hugging Face Hub for tests: the real ``huggingface_hub`` client talks to it over HTTP.

It speaks the part of the Hub's HTTP API that uploads and downloads use, for models, datasets and spaces,
with real git-like history (every commit gets a sha; branch ``main`` and any commit sha resolve):

- ``POST /api/repos/create``, ``POST /api/validate-yaml`` (README front matter is parsed with PyYAML)
- ``POST /api/{models,datasets,spaces}/{org}/{name}/preupload/{rev}`` (every file ``uploadMode: regular``,
  so contents travel inline, base64, in the commit; no LFS/Xet) and ``.../commit/{rev}`` (NDJSON)
- ``GET /api/{type}s/{org}/{name}[/revision/{rev}]`` (repo_info: sha, siblings), ``.../tree/{rev}``
  (list_repo_files / list_repo_tree), ``.../refs``
- ``HEAD``/``GET /{org}/{name}/resolve/{rev}/{path}`` (``/datasets/...``, ``/spaces/...``) with ``ETag``
  (the file's sha256, as the Hub gives for LFS files), ``X-Repo-Commit``, ``Content-Length``, byte ranges
- errors as the Hub sends them (``X-Error-Code``: ``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``,
  ``GatedRepo``), so ``hf_raise_for_status`` raises the same exception classes as against huggingface.co.

Writes need an ``Authorization: Bearer ...`` header (any token); a gated repo (``add_repo(..., gated=True)``)
answers 401 ``GatedRepo`` to a request without a token and 403 to a token not in ``allowed_tokens``.

Usage (pytest; ``tests/`` is on ``sys.path``)::

    from helpers.hub_server import hub_server   # noqa: F401  (re-export the fixture in your conftest/test)

    def test_upload(hub_server, tmp_path):
        env = {"HF_ENDPOINT": hub_server.endpoint, "HF_HUB_OFFLINE": "0", "HF_TOKEN": "hf_test_x"}
        ... run the real client (in a subprocess with that env, or pass endpoint= explicitly) ...
        assert hub_server.files("org/name", repo_type="space")["index.html"].startswith(b"<!doctype")
        hub_server.commits("org/name")          # [{"sha", "message", "files"}, ...] oldest first

Without pytest: ``with HubServer() as hub: print(hub.endpoint)``. The request handler and the in-memory
repos live in ``helpers/hub_app.py``; ``hub.state.requests`` lists every (method, path) served.
"""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from urllib.parse import quote

import pytest

from helpers.hub_app import URL_PREFIX, Handler, HubState, Repo, git_blob_sha1, sha256_hex

__all__ = ["HubServer", "hub_server", "git_blob_sha1", "sha256_hex"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: HubState
    endpoint: str


class HubServer:
    """The test hub on ``127.0.0.1`` (a free port), served from a thread; ``stop()`` shuts it down.

    Usage::

        with HubServer() as hub:
            hub.add_repo("org/gated", gated=True, files={"model.safetensors": b"..."})
            hub.files("org/gated")           # {"model.safetensors": b"...", ".gitattributes": b"..."}
    """

    def __init__(self) -> None:
        self.state = HubState()
        self._httpd = _Server(("127.0.0.1", 0), Handler)
        self._httpd.state = self.state
        self.port = self._httpd.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._httpd.endpoint = self.endpoint
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="test-hub", daemon=True)
        self._thread.start()
        self.running = True

    def __enter__(self) -> "HubServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop listening (later requests get 'connection refused', as with no network)."""
        if self.running:
            self._httpd.shutdown()
            self._httpd.server_close()
            self.running = False

    def _get(self, repo_id: str, repo_type: str) -> Repo:
        repo = self.state.repos.get((repo_type, repo_id))
        if repo is None:
            raise KeyError(f"no {repo_type} repo {repo_id}; repos: {sorted(self.state.repos)}")
        return repo

    def add_repo(self, repo_id: str, repo_type: str = "model", gated: bool = False,
                 files: dict[str, bytes] | None = None, message: str = "seed files") -> str:
        """Create a repo (optionally gated) holding ``files``; returns the commit sha."""
        with self.state.lock:
            repo = self.state.create(repo_id, repo_type, gated)
            if files:
                return self.state.commit(repo, "main", message, {**repo.resolve("main").files, **files}).sha
            return repo.branches["main"]

    def allow_token(self, token: str) -> None:
        """Let requests with ``token`` read gated repos."""
        with self.state.lock:
            self.state.allowed_tokens.add(token)

    def files(self, repo_id: str, repo_type: str = "model", revision: str = "main") -> dict[str, bytes]:
        """The tree of ``repo_id`` at ``revision`` (a branch or a commit sha)."""
        with self.state.lock:
            commit = self._get(repo_id, repo_type).resolve(revision)
            if commit is None:
                raise KeyError(f"{repo_id} has no revision {revision}")
            return dict(commit.files)

    def commits(self, repo_id: str, repo_type: str = "model") -> list[dict]:
        """``[{"sha", "message", "files"}]`` oldest first (``files``: the paths in the tree then)."""
        with self.state.lock:
            return [{"sha": c.sha, "message": c.message, "files": sorted(c.files)}
                    for c in self._get(repo_id, repo_type).commits]

    def tamper(self, repo_id: str, path: str, repo_type: str = "model", offset: int = -1) -> None:
        """Flip one byte of ``path`` in place at the head of ``main`` (same commit sha): a corrupted download."""
        with self.state.lock:
            commit = self._get(repo_id, repo_type).resolve("main")
            data = bytearray(commit.files[path])
            data[offset] ^= 0xFF
            commit.files[path] = bytes(data)

    def url(self, repo_id: str, repo_type: str = "model") -> str:
        return f"{self.endpoint}/{URL_PREFIX[repo_type]}{quote(repo_id)}"


@pytest.fixture
def hub_server():
    """A fresh, empty test hub for one test; stopped afterwards. ``.endpoint`` is its URL."""
    server = HubServer()
    try:
        yield server
    finally:
        server.stop()
