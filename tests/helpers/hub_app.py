"""The request handler and in-memory state behind ``helpers.hub_server`` (see its docstring for the API served).

Usage::

    from helpers.hub_app import Handler, HubState    # HubServer wires them to a ThreadingHTTPServer
"""


from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob: what the Hub reports as ``oid`` of a regular (non-LFS) file."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Commit:
    sha: str
    message: str
    files: dict[str, bytes]  # the whole tree at this commit (path -> content)
    parent: str | None


@dataclass
class Repo:
    repo_id: str
    repo_type: str
    gated: bool = False
    commits: list[Commit] = field(default_factory=list)
    branches: dict[str, str] = field(default_factory=dict)  # branch -> commit sha

    def resolve(self, revision: str) -> Commit | None:
        sha = self.branches.get(revision, revision)
        matches = [c for c in self.commits if c.sha == sha or (len(sha) >= 7 and c.sha.startswith(sha))]
        return matches[-1] if matches else None


class HubState:
    """Every repo the server holds; all access goes through one lock (the server is threaded)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.repos: dict[tuple[str, str], Repo] = {}
        self.allowed_tokens: set[str] = set()  # tokens that may read gated repos
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, for assertions
        self._counter = 0

    def new_sha(self, repo: Repo, message: str) -> str:
        self._counter += 1
        return hashlib.sha1(f"{repo.repo_type}/{repo.repo_id}/{self._counter}/{message}".encode()).hexdigest()

    def commit(self, repo: Repo, branch: str, message: str, files: dict[str, bytes]) -> Commit:
        parent = repo.branches.get(branch)
        commit = Commit(self.new_sha(repo, message), message, dict(files), parent)
        repo.commits.append(commit)
        repo.branches[branch] = commit.sha
        return commit

    def create(self, repo_id: str, repo_type: str, gated: bool = False) -> Repo:
        repo = Repo(repo_id, repo_type, gated)
        self.repos[(repo_type, repo_id)] = repo
        self.commit(repo, "main", "initial commit", {".gitattributes": b"*.safetensors filter=lfs diff=lfs\n"})
        return repo


class HubError(Exception):
    def __init__(self, status: int, code: str | None, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects; every answer sets Content-Length
    server: Any  # helpers.hub_server._Server: has .state and .endpoint

    def log_message(self, *args) -> None:  # quiet: pytest shows failures, not access logs
        pass

    # ---- plumbing -------------------------------------------------------------------------------------
    @property
    def state(self) -> HubState:
        return self.server.state

    def _token(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        return auth[len("Bearer "):].strip() or None if auth.startswith("Bearer ") else None

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, obj, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), headers)

    def _error(self, err: HubError) -> None:
        headers = {"X-Error-Message": err.message}
        if err.code:
            headers["X-Error-Code"] = err.code
        self._json({"error": err.message}, err.status, headers)

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        with self.state.lock:
            self.state.requests.append((self.command, url.path))
        try:
            self._route(url.path, parse_qs(url.query))
        except HubError as err:
            self._error(err)

    do_GET = do_HEAD = do_POST = _dispatch

    # ---- lookups ----------------------------------------------------------------------------------------
    def _repo(self, repo_type: str, repo_id: str, read_files: bool = False) -> Repo:
        repo = self.state.repos.get((repo_type, repo_id))
        if repo is None:
            raise HubError(404, "RepoNotFound", "Repository not found")
        if read_files and repo.gated:
            token = self._token()
            if token is None:
                raise HubError(401, "GatedRepo", f"Access to {repo_type} {repo_id} is restricted. You must have "
                                                 "access to it and be authenticated to access it. Please log in.")
            if token not in self.state.allowed_tokens:
                raise HubError(403, "GatedRepo", f"Access to {repo_type} {repo_id} is restricted and you are not "
                                                 "in the authorized list.")
        return repo

    @staticmethod
    def _commit(repo: Repo, revision: str) -> Commit:
        commit = repo.resolve(unquote(revision))
        if commit is None:
            raise HubError(404, "RevisionNotFound", f"Invalid rev id: {unquote(revision)}")
        return commit

    def _require_write_token(self) -> None:
        if self._token() is None:
            raise HubError(401, None, "Invalid username or password.")

    # ---- routes -----------------------------------------------------------------------------------------
    def _route(self, path: str, query: dict[str, list[str]]) -> None:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if path == "/api/repos/create" and self.command == "POST":
            return self._create_repo()
        if path == "/api/validate-yaml" and self.command == "POST":
            return self._validate_yaml()
        if len(parts) >= 4 and parts[0] == "api" and parts[1] in REPO_TYPES:
            return self._api(REPO_TYPES[parts[1]], f"{parts[2]}/{parts[3]}", parts[4:], query)
        repo_type = "model"
        if parts and parts[0] in ("datasets", "spaces"):
            repo_type, parts = REPO_TYPES[parts[0]], parts[1:]
        if len(parts) >= 5 and parts[2] == "resolve" and self.command in ("GET", "HEAD"):
            return self._resolve(repo_type, f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:]))
        raise HubError(404, None, f"no route for {self.command} {path}")

    def _create_repo(self) -> None:
        self._require_write_token()
        payload = json.loads(self._body() or b"{}")
        repo_type = payload.get("type") or "model"
        repo_id = f"{payload['organization']}/{payload['name']}" if payload.get("organization") else payload["name"]
        url = f"{self.server.endpoint}/{URL_PREFIX[repo_type]}{repo_id}"
        with self.state.lock:
            if (repo_type, repo_id) in self.state.repos:
                return self._json({"error": "You already created this repo", "url": url}, 409)
            self.state.create(repo_id, repo_type)
        self._json({"url": url, "name": repo_id})

    def _validate_yaml(self) -> None:
        import yaml

        content = json.loads(self._body() or b"{}").get("content", "")
        if content.startswith("---"):
            front = content.split("---", 2)[1] if content.count("---") >= 2 else ""
            try:
                meta = yaml.safe_load(front)
            except yaml.YAMLError as err:
                return self._json({"errors": [{"message": f"invalid YAML: {err}"}], "warnings": []}, 400)
            if meta is not None and not isinstance(meta, dict):
                return self._json({"errors": [{"message": "metadata must be a mapping"}], "warnings": []}, 400)
        self._json({"errors": [], "warnings": []})

    def _api(self, repo_type: str, repo_id: str, rest: list[str], query: dict[str, list[str]]) -> None:
        with self.state.lock:
            if self.command == "POST" and rest[:1] == ["preupload"]:
                self._require_write_token()
                return self._preupload(self._repo(repo_type, repo_id), "/".join(rest[1:]))
            if self.command == "POST" and rest[:1] == ["commit"]:
                self._require_write_token()
                return self._commit_files(self._repo(repo_type, repo_id), "/".join(rest[1:]), query)
            if self.command != "GET":
                raise HubError(405, None, f"{self.command} not allowed here")
            repo = self._repo(repo_type, repo_id)
            if not rest:
                return self._json(self._info(repo, self._commit(repo, "main")))
            if rest[0] == "revision":
                return self._json(self._info(repo, self._commit(repo, "/".join(rest[1:]))))
            if rest[0] == "tree":
                return self._tree(repo, rest[1], "/".join(rest[2:]), query)
            if rest[0] == "refs":
                branches = [{"name": b, "ref": f"refs/heads/{b}", "targetCommit": s} for b, s in repo.branches.items()]
                return self._json({"branches": branches, "converts": [], "tags": []})
        raise HubError(404, None, f"no route for {self.path}")

    def _info(self, repo: Repo, commit: Commit) -> dict:
        return {
            "id": repo.repo_id, "_id": hashlib.md5(repo.repo_id.encode()).hexdigest()[:24], "sha": commit.sha,
            "private": False, "gated": "manual" if repo.gated else False, "disabled": False,
            "lastModified": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()), "tags": [],
            "siblings": [{"rfilename": p} for p in sorted(commit.files)], "downloads": 0, "likes": 0,
        }

    def _tree(self, repo: Repo, revision: str, under: str, query: dict[str, list[str]]) -> None:
        commit = self._commit(repo, revision)
        recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
        prefix = f"{under.strip('/')}/" if under.strip("/") else ""
        entries, folders = [], set()
        for path in sorted(commit.files):
            if not path.startswith(prefix):
                continue
            rest = path[len(prefix):]
            if "/" in rest and not recursive:
                folders.add(prefix + rest.split("/", 1)[0])
                continue
            data = commit.files[path]
            entries.append({"type": "file", "path": path, "size": len(data), "oid": git_blob_sha1(data)})
        entries += [{"type": "directory", "path": f, "oid": git_blob_sha1(f.encode()), "size": 0}
                    for f in sorted(folders)]
        if prefix and not entries:
            raise HubError(404, "EntryNotFound", f"{under} does not exist on {revision}")
        self._json(entries)

    def _preupload(self, repo: Repo, revision: str) -> None:
        files = json.loads(self._body() or b"{}").get("files", [])
        commit = repo.resolve(unquote(revision))
        existing = commit.files if commit else {}
        answer = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
                   "oid": git_blob_sha1(existing[f["path"]]) if f["path"] in existing else None} for f in files]
        self._json({"files": answer, "commitOid": commit.sha if commit else None})

    def _commit_files(self, repo: Repo, revision: str, query: dict[str, list[str]]) -> None:
        branch = unquote(revision)
        if query.get("create_pr", ["0"])[0] == "1":
            raise HubError(400, None, "pull requests are not supported by the test hub")
        lines = [json.loads(line) for line in self._body().decode().splitlines() if line.strip()]
        if branch not in repo.branches and repo.resolve(branch) is None:
            raise HubError(404, "RevisionNotFound", f"Invalid rev id: {branch}")
        head = repo.resolve(branch)
        files = dict(head.files)
        summary = "commit"
        for line in lines:
            key, value = line["key"], line["value"]
            if key == "header":
                summary = value.get("summary") or summary
                parent = value.get("parentCommit")
                if parent and parent != head.sha:
                    raise HubError(412, None, f"parent commit {parent} is not the head of {branch}")
            elif key == "file":
                files[value["path"]] = base64.b64decode(value["content"]) if value.get("encoding") == "base64" \
                    else value["content"].encode()
            elif key == "deletedFile":
                if value["path"] not in files:
                    raise HubError(404, "EntryNotFound", "A file with this name doesn't exist")
                del files[value["path"]]
            elif key == "deletedFolder":
                folder = value["path"].rstrip("/") + "/"
                files = {p: d for p, d in files.items() if not p.startswith(folder)}
            else:  # lfsFile / copies: this hub stores everything as regular files
                raise HubError(400, None, f"the test hub does not support '{key}' operations")
        target = branch if branch in repo.branches else "main"
        commit = self.state.commit(repo, target, summary, files)
        url = f"{self.server.endpoint}/{URL_PREFIX[repo.repo_type]}{repo.repo_id}/commit/{commit.sha}"
        self._json({"commitUrl": url, "commitOid": commit.sha, "pullRequestUrl": None})

    def _resolve(self, repo_type: str, repo_id: str, revision: str, path: str) -> None:
        with self.state.lock:
            repo = self._repo(repo_type, repo_id, read_files=True)
            commit = self._commit(repo, revision)
            if path not in commit.files:
                raise HubError(404, "EntryNotFound", f"{path} does not exist on \"{unquote(revision)}\"")
            data = commit.files[path]
        headers = {"ETag": f'"{sha256_hex(data)}"', "X-Repo-Commit": commit.sha, "Accept-Ranges": "bytes"}
        start = 0
        ranged = self.headers.get("Range", "")
        if ranged.startswith("bytes=") and self.command == "GET":
            start = int(ranged[len("bytes="):].split("-")[0] or 0)
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        self._send(206 if start else 200, data[start:], headers, "application/octet-stream")
