"""Downloads that never leave a partial file behind, and md5 checks that are computed once per file version.

A download streams into a temporary file in the destination folder (same filesystem, so the final
``os.replace`` is atomic), hashes while it writes, and only renames when the checksum matches. Whatever
goes wrong (network error, checksum mismatch, Ctrl-C) the temporary file is removed.

``file_md5`` caches its answer keyed by (path, size, mtime): in-process, and in a hidden sidecar
``.<name>.md5.json`` next to the file when that folder is writable, so that verifying a multi-GB MedMNIST
file costs one read per file version, not one per run.

Usage::

    from zoo.datasets.download import download_file, file_md5
    download_file("https://zenodo.org/records/10519652/files/breastmnist.npz?download=1",
                  Path("~/.medzoo/data/medmnist/breastmnist.npz").expanduser(),
                  md5="750601b1f35ba3300ea97c75c52ff8f6")
    file_md5(path)   # '750601b1...' (second call: no read)
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from zoo.errors import DataError

logger = logging.getLogger(__name__)

OFFLINE_ENVS = ("MEDZOO_OFFLINE", "HF_HUB_OFFLINE")
CHUNK = 1 << 20  # 1 MiB reads: large enough for throughput, small enough for a smooth progress bar
TIMEOUT_S = 60

_MD5_CACHE: dict[tuple[str, int, int], str] = {}


def is_offline() -> bool:
    """True when ``MEDZOO_OFFLINE`` or ``HF_HUB_OFFLINE`` is set to a true value (1/true/yes/on).

    Usage::

        if is_offline(): raise DataError("... not found and offline mode is on")
    """
    return any(os.environ.get(k, "").strip().lower() in {"1", "true", "yes", "on"} for k in OFFLINE_ENVS)


def _sidecar(path: Path) -> Path:
    return path.with_name(f".{path.name}.md5.json")


def _read_sidecar(sidecar: Path) -> dict:
    """The sidecar's record, or {} when there is none (or it is unreadable: then the file is re-hashed)."""
    if not sidecar.is_file():
        return {}
    try:
        record = json.loads(sidecar.read_text())
    except (OSError, ValueError) as exc:
        logger.debug("ignoring unreadable md5 sidecar %s: %s", sidecar, exc)
        return {}
    return record if isinstance(record, dict) else {}


def file_md5(path: str | os.PathLike) -> str:
    """The md5 hex digest of ``path``, cached by (resolved path, size, mtime_ns).

    Usage::

        file_md5("/data/medmnist/pneumoniamnist.npz")   # '28209eda62fecd6e6a2d98b1501bb15f'
    """
    path = Path(path).resolve()
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key in _MD5_CACHE:
        return _MD5_CACHE[key]
    sidecar = _sidecar(path)
    record = _read_sidecar(sidecar)
    if (record.get("size"), record.get("mtime_ns")) == (st.st_size, st.st_mtime_ns) and "md5" in record:
        _MD5_CACHE[key] = str(record["md5"])
        return _MD5_CACHE[key]
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    _MD5_CACHE[key] = digest.hexdigest()
    try:
        sidecar.write_text(json.dumps({"size": st.st_size, "mtime_ns": st.st_mtime_ns, "md5": _MD5_CACHE[key]}))
    except OSError as exc:  # a read-only data folder (shared copies): the in-process cache still works
        logger.debug("could not write md5 sidecar %s: %s", sidecar, exc)
    return _MD5_CACHE[key]


def _remember_md5(path: Path, md5: str) -> None:
    """Seed the cache after a verified download so the first load does not hash the file again."""
    st = path.stat()
    _MD5_CACHE[(str(path.resolve()), st.st_size, st.st_mtime_ns)] = md5


def download_file(url: str, dest: str | os.PathLike, md5: str | None = None, desc: str | None = None) -> Path:
    """Download ``url`` to ``dest`` atomically, with a progress bar, verifying ``md5`` when given.

    Raises ``DataError`` (one line) on a network error or a checksum mismatch; ``dest`` is then left as
    it was and no partial file remains in its folder.

    Usage::

        download_file(url, Path("data/medmnist/breastmnist.npz"), md5="750601b1f35ba3300ea97c75c52ff8f6")
    """
    from tqdm.auto import tqdm  # local import: keeps ``import zoo.datasets.download`` light

    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create folder {dest.parent} for {dest.name} ({exc}); choose a writable data dir "
                        f"with --data-dir or MEDZOO_DATA") from exc
    # same folder => os.replace is atomic; opened "x" with a unique name (not mkstemp) so the file gets the
    # usual umask permissions and a shared data folder stays readable by others
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:12]}.part")
    digest, received = hashlib.md5(), 0
    logger.info("downloading %s -> %s", url, dest)
    try:
        with open(tmp, "xb") as out:
            try:
                with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
                    total = int(response.headers.get("Content-Length") or 0) or None
                    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                              desc=desc or dest.name, disable=None, leave=False) as bar:
                        for chunk in iter(lambda: response.read(CHUNK), b""):
                            out.write(chunk)
                            digest.update(chunk)
                            received += len(chunk)
                            bar.update(len(chunk))
            # HTTPError is a URLError; a connection dropped mid-body is an HTTPException
            except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
                code = getattr(exc, "code", None)  # HTTPError: say the status ("HTTP 404 Not Found")
                reason = f"HTTP {code} {exc.reason}" if code else (getattr(exc, "reason", None) or exc)
                raise DataError(f"download of {url} failed ({reason}); check the network (or a proxy), or download "
                                f"it by hand into {dest.parent}") from exc
        if total is not None and received != total:
            raise DataError(f"download of {url} stopped after {received} of {total} bytes; retry, or download it "
                            f"by hand into {dest.parent}")
        actual = digest.hexdigest()
        if md5 is not None and actual != md5.lower():
            raise DataError(f"downloaded {dest.name} from {url} has md5 {actual}, expected {md5}: the download is "
                            f"corrupt or the server sent another file; retry, or download it by hand into "
                            f"{dest.parent}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)  # after a successful replace the temp name no longer exists
    _remember_md5(dest, actual)
    return dest
