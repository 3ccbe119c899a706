"""The local test hub speaks enough of the Hub API for the real huggingface_hub client (models, datasets, spaces).

The client runs in a subprocess with ``HF_ENDPOINT`` pointing at the server, exactly as medzoo's commands do.
"""

from __future__ import annotations

import json
import subprocess
import sys

CLIENT = r"""
import json, os, sys
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub import errors
api, out = HfApi(), {}
up = sys.argv[1]
for kind in ("model", "dataset", "space"):
    api.create_repo("lab/r", repo_type=kind, exist_ok=True, space_sdk="static" if kind == "space" else None)
    first = api.upload_folder(repo_id="lab/r", folder_path=up, repo_type=kind).oid
    open(os.path.join(up, "index.html"), "w").write("v2")
    second = api.upload_folder(repo_id="lab/r", folder_path=up, repo_type=kind).oid
    open(os.path.join(up, "index.html"), "w").write("v1")
    old = open(hf_hub_download("lab/r", "index.html", repo_type=kind, revision=first)).read()
    new = open(hf_hub_download("lab/r", "index.html", repo_type=kind)).read()
    out[kind] = {"files": api.list_repo_files("lab/r", repo_type=kind), "old": old, "new": new,
                 "sha": api.repo_info("lab/r", repo_type=kind).sha == second, "first": first, "second": second}
for name, call in {"missing_repo": lambda: hf_hub_download("lab/none", "x"),
                   "missing_rev": lambda: hf_hub_download("lab/r", "index.html", revision="0" * 40),
                   "missing_file": lambda: hf_hub_download("lab/r", "nope.txt"),
                   "gated": lambda: hf_hub_download("lab/gated", "a.txt", token=False)}.items():
    try:
        call()
        out[name] = "no error"
    except Exception as exc:
        out[name] = type(exc).__name__
out["gated_with_token"] = open(hf_hub_download("lab/gated", "a.txt", token="hf_allowed_token")).read()
print(json.dumps(out))
"""


def test_real_client_uploads_and_downloads_every_repo_type(hub_server, hub_env, tmp_path):
    hub_server.add_repo("lab/gated", gated=True, files={"a.txt": b"behind the gate"})
    hub_server.allow_token("hf_allowed_token")
    up = tmp_path / "up"
    (up / "assets").mkdir(parents=True)
    (up / "README.md").write_text("---\nlicense: mit\n---\n# site\n")
    (up / "index.html").write_text("v1")
    (up / "assets" / "x.bin").write_bytes(bytes(range(256)))
    proc = subprocess.run([sys.executable, "-c", CLIENT, str(up)], env={**__import__("os").environ, **hub_env},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for kind in ("model", "dataset", "space"):
        got = out[kind]
        assert sorted(got["files"]) == [".gitattributes", "README.md", "assets/x.bin", "index.html"]
        assert (got["old"], got["new"], got["sha"]) == ("v1", "v2", True)  # history kept, main moved
        assert hub_server.files("lab/r", kind)["assets/x.bin"] == bytes(range(256))
        assert hub_server.files("lab/r", kind, revision=got["first"])["index.html"] == b"v1"
        assert [c["sha"] for c in hub_server.commits("lab/r", kind)][-2:] == [got["first"], got["second"]]
    assert out["missing_repo"] == "RepositoryNotFoundError"
    assert out["missing_rev"] == "RevisionNotFoundError"
    assert out["missing_file"] == "RemoteEntryNotFoundError"
    assert out["gated"] == "GatedRepoError"
    assert out["gated_with_token"] == "behind the gate"
    assert ("POST", "/api/spaces/lab/r/preupload/main") in hub_server.state.requests
