"""The 12 MedMNIST v2 2D datasets (28/64/128/224 px) as domains: official ``.npz`` files, md5-verified.

Everything known about each file (name, md5, URL, split sizes, task, channels, licence, label names,
modality, source citation) comes from ``medmnist_info.tsv`` next to this module; one factory per flag
(``pneumoniamnist``, ``organamnist``, ...) is generated from that table for the entry points.

Files live in ``<data_dir>/medmnist/<official file name>`` (the ``medmnist`` package cache layout). A
missing file is downloaded only when asked (``download=True``, CLI ``--download``) and never in offline
mode (``MEDZOO_OFFLINE=1`` or ``HF_HUB_OFFLINE=1``). ``MEDZOO_MEDMNIST_URL`` replaces the Zenodo base URL
(a mirror, or a local server in tests).

Usage::

    from zoo.datasets.medmnist import load_medmnist, pneumoniamnist
    dom = pneumoniamnist(size=28)                  # train (4708, 1, 28, 28) uint8, labels (4708,)
    chest = load_medmnist("chestmnist", size=64, label="effusion", download=True)   # binary task
"""

from __future__ import annotations

import csv
import difflib
import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from zoo.datasets.arrays import check_label_range, read_npz, to_labels, to_nchw
from zoo.datasets.base import SPLITS, Domain, Split
from zoo.datasets.download import download_file, file_md5, is_offline
from zoo.datasets.paths import medmnist_dir
from zoo.errors import ConfigError, DataError

INFO_FILE = Path(__file__).with_name("medmnist_info.tsv")
URL_ENV = "MEDZOO_MEDMNIST_URL"
MEDMNIST_CITATION = (
    'J. Yang, R. Shi, D. Wei, Z. Liu, L. Zhao, B. Ke, H. Pfister, B. Ni, "MedMNIST v2 - A large-scale lightweight '
    'benchmark for 2D and 3D biomedical image classification," Scientific Data 10, 41 (2023), '
    'doi:10.1038/s41597-022-01721-8; J. Yang, R. Shi, B. Ni, "MedMNIST Classification Decathlon: A lightweight '
    'AutoML benchmark for medical image analysis," ISBI 2021, pp. 191-195'
)


@dataclass(frozen=True)
class MedMNISTFile:
    """One row of ``medmnist_info.tsv``: the published facts about one official file.

    Usage::

        meta = medmnist_file("bloodmnist", 64); meta.file, meta.md5, meta.n["train"]   # 'bloodmnist_64.npz', ...
    """

    flag: str
    size: int
    file: str
    md5: str
    url: str
    n: dict[str, int]  # split -> number of images
    task: str
    channels: int
    license: str
    label_names: tuple[str, ...]
    modality: str
    source_citation: str

    @property
    def multi_label(self) -> bool:
        """True for ChestMNIST (14 findings per image), whose loader needs ``label=``.

        Usage::

            medmnist_file("chestmnist").multi_label     # True
        """
        return "multi-label" in self.task

    @property
    def download_url(self) -> str:
        """The official URL, or ``$MEDZOO_MEDMNIST_URL/<file>`` when that mirror is set.

        Usage::

            medmnist_file("breastmnist").download_url   # 'https://zenodo.org/records/10519652/files/...'
        """
        base = os.environ.get(URL_ENV, "").strip()
        return f"{base.rstrip('/')}/{self.file}" if base else self.url


@functools.lru_cache(maxsize=1)
def medmnist_table() -> dict[tuple[str, int], MedMNISTFile]:
    """Every official 2D MedMNIST file, keyed by ``(flag, size)``, read from ``medmnist_info.tsv``.

    Usage::

        medmnist_table()[("breastmnist", 28)].md5     # '750601b1f35ba3300ea97c75c52ff8f6'
    """
    lines = [line for line in INFO_FILE.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    table = {}
    for row in csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE):
        meta = MedMNISTFile(
            flag=row["flag"], size=int(row["size"]), file=row["file"], md5=row["md5"], url=row["url"],
            n={s: int(row[f"n_{s}"]) for s in SPLITS}, task=row["task"], channels=int(row["n_channels"]),
            license=row["license"], label_names=tuple(json.loads(row["label_names"])), modality=row["modality"],
            source_citation=row["source_citation"],
        )
        table[(meta.flag, meta.size)] = meta
    return table


FLAGS: tuple[str, ...] = tuple(dict.fromkeys(flag for flag, _ in medmnist_table()))
SIZES: tuple[int, ...] = tuple(sorted({size for _, size in medmnist_table()}))


def medmnist_file(flag: str, size: int = 28) -> MedMNISTFile:
    """The table row for ``flag`` at ``size``; unknown names or sizes are a ``ConfigError`` with hints.

    Usage::

        medmnist_file("pneumoniamnist", 64).file      # 'pneumoniamnist_64.npz'
    """
    if flag not in FLAGS:
        close = difflib.get_close_matches(str(flag), FLAGS, n=2, cutoff=0.6)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ConfigError(f"unknown MedMNIST dataset '{flag}'{hint} available (2D): {', '.join(FLAGS)}")
    try:
        size = int(size)
    except (TypeError, ValueError):
        size = -1
    if (flag, size) not in medmnist_table():
        raise ConfigError(f"{flag} has no size {size!r}; MedMNIST sizes are {', '.join(map(str, SIZES))}")
    return medmnist_table()[(flag, size)]


def _finding_index(meta: MedMNISTFile, label: str | int | None) -> int | None:
    """Column of the chosen finding for a multi-label file (None for single-label files)."""
    findings = ", ".join(meta.label_names)
    if not meta.multi_label:
        if label is not None:
            raise ConfigError(f"{meta.flag} is single-label ({meta.task}); remove 'label: {label}' (it only picks a "
                              "finding of a multi-label dataset such as chestmnist)")
        return None
    if label is None:
        raise ConfigError(f"{meta.flag} is multi-label ({len(meta.label_names)} findings per image); add "
                          f"'label: <name>' (e.g. label: {meta.label_names[0]}) "
                          "to make a binary absent/present task of one finding; "
                          f"findings: {findings}")
    names = [n.lower() for n in meta.label_names]
    if isinstance(label, int) and 0 <= label < len(names):
        return label
    if str(label).lower() in names:
        return names.index(str(label).lower())
    close = difflib.get_close_matches(str(label).lower(), names, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise ConfigError(f"{meta.flag} has no finding '{label}'{hint} findings: {findings}")


def _ensure_file(meta: MedMNISTFile, path: Path, download: bool, verify: bool) -> None:
    """Make sure ``path`` exists: download it if allowed, else a one-line ``DataError`` saying how."""
    if path.is_file():
        return
    url = meta.download_url
    if not download:
        raise DataError(f"{meta.file} not found in {path.parent}; download it from {url} into that folder, "
                        "or pass --download (download=True)")
    if is_offline():
        raise DataError(f"{meta.file} not found in {path.parent} and offline mode is on (MEDZOO_OFFLINE or "
                        f"HF_HUB_OFFLINE); download it from {url} into that folder, or unset the variable")
    download_file(url, path, md5=meta.md5 if verify else None, desc=meta.file)


def load_medmnist(
    flag: str,
    size: int = 28,
    data_dir: str | os.PathLike | None = None,
    download: bool = False,
    verify: bool = True,
    label: str | int | None = None,
) -> Domain:
    """Load an official MedMNIST v2 2D file as a ``Domain`` with its published train/val/test splits.

    ``verify`` checks the md5 (cached per file version) and the published split sizes; ``verify=False``
    skips both (for mirrors of other versions and for generated test files) but still checks the format.
    ``label`` picks one finding of the multi-label ChestMNIST, giving a binary absent/present task.

    Usage::

        dom = load_medmnist("breastmnist", size=28, data_dir="/data")   # train (546, 1, 28, 28)
    """
    meta = medmnist_file(flag, size)
    finding = _finding_index(meta, label)  # fails fast, before any file is touched
    path = medmnist_dir(data_dir) / meta.file
    _ensure_file(meta, path, download, verify)
    md5 = None
    if verify:
        md5 = file_md5(path)
        if md5 != meta.md5:
            raise DataError(f"{path} has md5 {md5} but the official {meta.file} has {meta.md5}; the file is corrupt "
                            f"or not the official one: delete it and download it again from {meta.download_url}")
    arrays = read_npz(path)
    splits = {s: _read_split(arrays, s, meta, path, finding, verify) for s in SPLITS}
    name = meta.flag if meta.size == 28 else f"{meta.flag}_{meta.size}"
    label_names = list(meta.label_names)
    info: dict[str, Any] = {"file": meta.file, "md5": md5, "verified": bool(verify), "flag": meta.flag,
                            "size": meta.size, "task": meta.task}
    if finding is not None:
        chosen = meta.label_names[finding]
        name, label_names = f"{name}_{chosen.replace(' ', '_')}", [f"{chosen} absent", f"{chosen} present"]
        info.update(label=chosen, task="binary-class (one finding of a multi-label dataset)")
    return Domain(name=name, splits=splits, label_names=label_names, modality=meta.modality, license=meta.license,
                  citation=f"{MEDMNIST_CITATION}; source data: {meta.source_citation}", info=info)


def _read_split(arrays: dict[str, np.ndarray], split: str, meta: MedMNISTFile, path: Path,
                finding: int | None, verify: bool) -> Split:
    """One split of an official file: images (N,H,W[,3]) -> (N,C,H,W); labels (N,1) or (N,14) -> (N,)."""
    for key in (f"{split}_images", f"{split}_labels"):
        if key not in arrays:
            raise DataError(f"{path} has no key '{key}', so it is not a MedMNIST file; delete it and download "
                            f"{meta.file} again from {meta.download_url}")
    where = f"{path.name}:{split}"
    images = to_nchw(arrays[f"{split}_images"], f"{where}_images")  # (N, C, H, W) uint8
    if tuple(images.shape[1:]) != (meta.channels, meta.size, meta.size):
        raise DataError(f"{where}_images holds images of shape {tuple(images.shape[1:])} (C, H, W), expected "
                        f"({meta.channels}, {meta.size}, {meta.size}); the file is not {meta.file}: re-download it")
    raw = arrays[f"{split}_labels"]
    if finding is not None:  # multi-label (N, K) 0/1 -> binary (N,) of one finding
        if raw.ndim != 2 or raw.shape[1] != len(meta.label_names):
            raise DataError(f"{where}_labels has shape {raw.shape}, expected (N, {len(meta.label_names)}); "
                            "re-download it")
        labels = to_labels(raw[:, finding], f"{where}_labels")
        check_label_range(labels, 2, f"{where}_labels")
    else:
        labels = to_labels(raw, f"{where}_labels")  # (N,)
        check_label_range(labels, len(meta.label_names), f"{where}_labels")
    if len(labels) != len(images):
        raise DataError(f"{where}: {len(images)} images but {len(labels)} labels; re-download {meta.file}")
    if verify and len(images) != meta.n[split]:
        raise DataError(f"{where} has {len(images)} images, the official {meta.file} has {meta.n[split]}; "
                        f"delete it and download it again from {meta.download_url}")
    return Split(images, labels)


def write_example_file(flag: str, size: int, data_dir: str | os.PathLike, n: tuple[int, int, int] | None = None,
                       seed: int = 0) -> Path:
    """Write a small file *format-identical* to the official one into ``<data_dir>/medmnist/``.

    Same name, keys (in the official order), dtypes, per-image shape and label range; fewer images
    (default ``4K``/``2K``/``2K`` for K classes, every class present in every split); random pixels.
    Load it with ``verify=False``: its md5 and split sizes are not the official ones.

    Usage::

        write_example_file("organamnist", 64, tmp_path); load_medmnist("organamnist", 64, tmp_path, verify=False)
    """
    meta = medmnist_file(flag, size)
    k = len(meta.label_names)
    n = n or (4 * k, 2 * k, 2 * k)
    rng = np.random.default_rng(seed)
    shape = (meta.size, meta.size) + ((3,) if meta.channels == 3 else ())  # (H, W) or (H, W, 3)
    arrays: dict[str, np.ndarray] = {}
    for split, count in zip(SPLITS, n):
        arrays[f"{split}_images"] = rng.integers(0, 256, size=(count, *shape), dtype=np.uint8)
    for split, count in zip(SPLITS, n):
        if meta.multi_label:  # (N, K) 0/1; the first two rows make every finding both absent and present
            labels = rng.integers(0, 2, size=(count, k), dtype=np.uint8)
            labels[0], labels[1 % count] = 0, 1
        else:  # (N, 1), cycling through the classes
            labels = (np.arange(count) % k).astype(np.uint8)[:, None]
        arrays[f"{split}_labels"] = labels
    path = medmnist_dir(data_dir) / meta.file
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


def _conformance_kwargs(flag: str, tmp_dir: Path) -> dict[str, Any]:
    """Kwargs building a small ``flag`` domain offline from a generated file written under ``tmp_dir``."""
    write_example_file(flag, 28, tmp_dir)
    meta = medmnist_file(flag, 28)
    kwargs: dict[str, Any] = {"size": 28, "data_dir": str(tmp_dir), "verify": False}
    if meta.multi_label:
        kwargs["label"] = meta.label_names[0]
    return kwargs


def _make_factory(flag: str) -> Callable[..., Domain]:
    """The registered factory for one flag: ``load_medmnist`` with ``flag`` bound, documented from the table."""
    meta = medmnist_file(flag, 28)

    def factory(size: int = 28, data_dir: str | os.PathLike | None = None, download: bool = False,
                verify: bool = True, label: str | int | None = None) -> Domain:
        return load_medmnist(flag, size=size, data_dir=data_dir, download=download, verify=verify, label=label)

    label_hint = f', label="{meta.label_names[0]}"' if meta.multi_label else ""
    factory.__name__ = factory.__qualname__ = flag
    factory.__doc__ = (
        f"{flag}: MedMNIST v2 {meta.modality}, {meta.task}, {len(meta.label_names)} classes "
        f"({', '.join(map(repr, meta.label_names))}); licence {meta.license}.\n\n"  # quoted: 'normal, benign' is one
        f"Sizes {', '.join(map(str, SIZES))}; splits {meta.n['train']}/{meta.n['val']}/{meta.n['test']}. "
        f"See ``load_medmnist`` for the arguments.\nSource data: {meta.source_citation}\n\n"
        f"Usage::\n\n    domain = {flag}(size=28{label_hint}, download=True)\n"
    )
    factory.conformance_kwargs = functools.partial(_conformance_kwargs, flag)
    return factory


for _flag in FLAGS:
    globals()[_flag] = _make_factory(_flag)

__all__ = ["FLAGS", "SIZES", "MedMNISTFile", "load_medmnist", "medmnist_file", "medmnist_table",
           "write_example_file", *FLAGS]
