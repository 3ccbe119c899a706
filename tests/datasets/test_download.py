"""Downloads through a local HTTP server on 127.0.0.1 (the only network tests may use)."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from zoo.datasets import download
from zoo.datasets import medmnist as mm
from zoo.datasets.download import download_file
from zoo.errors import DataError


@pytest.fixture(autouse=True)
def online(monkeypatch):
    """CI may run with offline switches set; these tests only ever reach 127.0.0.1."""
    for env in download.OFFLINE_ENVS:
        monkeypatch.delenv(env, raising=False)


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_file_verifies_and_replaces_atomically(http_server, tmp_path):
    served, base = http_server
    payload = bytes(range(256)) * 5000  # 1.28 MB: several chunks
    (served / "blob.bin").write_bytes(payload)
    dest = tmp_path / "out" / "blob.bin"
    result = download_file(f"{base}/blob.bin", dest, md5=hashlib.md5(payload).hexdigest())
    assert result == dest and dest.read_bytes() == payload
    assert _leftovers(dest.parent) == ["blob.bin"]  # no temporary file left
    assert download.file_md5(dest) == hashlib.md5(payload).hexdigest()


def test_checksum_mismatch_leaves_nothing_behind(http_server, tmp_path):
    served, base = http_server
    (served / "blob.bin").write_bytes(b"not what you expected")
    dest = tmp_path / "out" / "blob.bin"
    with pytest.raises(DataError) as err:
        download_file(f"{base}/blob.bin", dest, md5="0" * 32)
    assert "expected " + "0" * 32 in str(err.value) and "\n" not in str(err.value)
    assert _leftovers(dest.parent) == []


def test_http_error_is_one_line_data_error(http_server, tmp_path):
    _, base = http_server
    with pytest.raises(DataError, match="download of .*missing.bin failed \\(HTTP 404"):
        download_file(f"{base}/missing.bin", tmp_path / "dest" / "missing.bin")
    assert _leftovers(tmp_path / "dest") == []


def test_unreachable_host_is_data_error(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DataError, match="failed"):
        download_file(f"http://127.0.0.1:{port}/x.npz", tmp_path / "x.npz")
    assert _leftovers(tmp_path) == []


def test_medmnist_downloads_the_official_file_from_a_mirror(http_server, tmp_path, real_file, monkeypatch):
    """--download with MEDZOO_MEDMNIST_URL: the real file, served locally, lands md5-verified in the layout."""
    served, base = http_server
    shutil.copy2(real_file("medmnist/breastmnist.npz"), served / "breastmnist.npz")
    monkeypatch.setenv("MEDZOO_MEDMNIST_URL", base + "/")
    data_dir = tmp_path / "data"
    domain = mm.breastmnist(data_dir=data_dir, download=True)
    assert (data_dir / "medmnist" / "breastmnist.npz").is_file()
    assert tuple(len(domain.splits[s]) for s in ("train", "val", "test")) == (546, 78, 156)
    assert domain.info["md5"] == "750601b1f35ba3300ea97c75c52ff8f6"
    assert mm.breastmnist(data_dir=data_dir).name == "breastmnist"  # second load: no download needed


def test_medmnist_download_with_wrong_checksum_fails_cleanly(http_server, tmp_path, monkeypatch):
    served, base = http_server
    mm.write_example_file("organsmnist", 64, served.parent / "gen")  # not the official file
    shutil.copy2(served.parent / "gen" / "medmnist" / "organsmnist_64.npz", served / "organsmnist_64.npz")
    monkeypatch.setenv("MEDZOO_MEDMNIST_URL", base)
    data_dir = tmp_path / "data"
    with pytest.raises(DataError, match="organsmnist_64.npz from .* has md5 .*expected 53a6d115"):
        mm.organsmnist(size=64, data_dir=data_dir, download=True)
    assert _leftovers(data_dir / "medmnist") == []


def test_medmnist_download_unverified_accepts_a_mirror_of_another_version(http_server, tmp_path, monkeypatch):
    served, base = http_server
    mm.write_example_file("dermamnist", 28, served.parent / "gen")
    shutil.copy2(served.parent / "gen" / "medmnist" / "dermamnist.npz", served / "dermamnist.npz")
    monkeypatch.setenv("MEDZOO_MEDMNIST_URL", base)
    domain = mm.dermamnist(data_dir=tmp_path / "data", download=True, verify=False)
    assert domain.channels == 3 and domain.num_classes == 7


def test_truncated_transfer_leaves_nothing_behind(tmp_path):
    import http.server
    import threading

    class Truncating(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # announces 100000 bytes, sends 10, hangs up
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Truncating)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(DataError, match="failed|stopped after"):
            download_file(f"http://127.0.0.1:{server.server_address[1]}/x.npz", tmp_path / "d" / "x.npz")
    finally:
        server.shutdown()
        server.server_close()
    assert _leftovers(tmp_path / "d") == []
