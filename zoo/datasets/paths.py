"""Where data lives: one data directory, MedMNIST files in ``<data_dir>/medmnist/<official file name>``.

The data directory is, in order: the explicit ``data_dir`` argument, ``$MEDZOO_DATA``, ``~/.medzoo/data``.
MedMNIST files keep their official names (``pneumoniamnist.npz``, ``pneumoniamnist_64.npz``) in one flat
folder, the same layout as the ``medmnist`` package cache, so a user can point both tools at one copy.
Relative paths in suite files (``path: busi/busi.npz``) resolve against the data directory, so a suite
file runs unchanged on every machine that sets ``MEDZOO_DATA``.

Usage::

    from zoo.datasets.paths import resolve_data_dir, resolve_path
    root = resolve_data_dir()                       # $MEDZOO_DATA or ~/.medzoo/data
    npz = resolve_path("busi/busi.npz")             # <root>/busi/busi.npz
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "MEDZOO_DATA"
DEFAULT_DATA_DIR = Path("~/.medzoo/data")
MEDMNIST_SUBDIR = "medmnist"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The data directory: ``data_dir`` if given, else ``$MEDZOO_DATA``, else ``~/.medzoo/data``.

    The result is absolute (a relative ``$MEDZOO_DATA`` is taken relative to the working directory) so
    that error messages and provenance name one unambiguous folder. It need not exist yet.

    Usage::

        resolve_data_dir()               # Path('/home/me/.medzoo/data') when MEDZOO_DATA is unset
        resolve_data_dir("/mnt/data")    # Path('/mnt/data')
    """
    if data_dir is None or str(data_dir) == "":
        data_dir = os.environ.get(DATA_ENV) or DEFAULT_DATA_DIR
    return Path(data_dir).expanduser().absolute()


def resolve_path(path: str | os.PathLike, data_dir: str | os.PathLike | None = None) -> Path:
    """``path`` itself if absolute (or ``~/...``), else ``path`` inside the data directory.

    Usage::

        resolve_path("busi/busi.npz", "/mnt/data")   # Path('/mnt/data/busi/busi.npz')
        resolve_path("/tmp/x.npz")                   # Path('/tmp/x.npz')
    """
    p = Path(path).expanduser()
    return p if p.is_absolute() else resolve_data_dir(data_dir) / p


def medmnist_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The folder holding the official MedMNIST files: ``<data_dir>/medmnist``.

    Usage::

        medmnist_dir("/mnt/data") / "pneumoniamnist_64.npz"
    """
    return resolve_data_dir(data_dir) / MEDMNIST_SUBDIR


def portable_path(path: str | os.PathLike, data_dir: str | os.PathLike | None = None) -> str:
    """``path`` relative to the data directory when inside it (so provenance compares across machines).

    Usage::

        portable_path("/mnt/data/busi/busi.npz", "/mnt/data")   # 'busi/busi.npz'
        portable_path("/elsewhere/x.npz", "/mnt/data")          # '/elsewhere/x.npz'
    """
    p = Path(path)
    try:
        return p.relative_to(resolve_data_dir(data_dir)).as_posix()
    except ValueError:
        return str(p)
