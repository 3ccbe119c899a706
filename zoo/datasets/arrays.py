"""A user's own arrays as a domain: one ``.npz`` with ``images`` + ``labels`` (or MedMNIST-style splits).

Accepted layouts (checked, with one-line ``DataError`` naming the file and key otherwise):

- ``images`` uint8 ``(N, H, W)``, ``(N, H, W, C)`` or ``(N, C, H, W)`` with C in {1, 3}; ``labels`` integer
  ``(N,)`` or ``(N, 1)``; optional ``label_names`` (a str array). A seeded stratified train/val/test split
  is made (``val``/``test`` fractions).
- ``train_images``/``train_labels`` (+ ``val_``/``test_``), the MedMNIST layout: those splits are kept; a
  missing val or test split is carved out of train.

Usage::

    from zoo.datasets.arrays import load_npz_domain
    mri = load_npz_domain("brain_tumor_mri/figshare.npz", modality="MRI", license="CC BY 4.0")
    mri.splits["train"].images.shape      # (2144, 1, 64, 64)
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zoo.datasets.base import SPLITS, Domain, Split
from zoo.datasets.download import file_md5
from zoo.datasets.partition import complete_splits, split_pool
from zoo.datasets.paths import portable_path, resolve_path
from zoo.errors import ConfigError, DataError

# ITU-R 601-2 luma, in integer form exactly as PIL's convert("L"): (R*299 + G*587 + B*114 + 500) // 1000
_LUMA = (299, 587, 114)


def to_nchw(images: np.ndarray, where: str) -> torch.Tensor:
    """uint8 images ``(N,H,W)``/``(N,H,W,C)``/``(N,C,H,W)`` (C in 1, 3) -> uint8 tensor ``(N, C, H, W)``.

    Usage::

        to_nchw(np.zeros((5, 28, 28, 3), np.uint8), "x.npz:images").shape   # (5, 3, 28, 28)
    """
    if images.dtype != np.uint8:
        raise DataError(f"{where} has dtype {images.dtype}, expected uint8 (0-255); convert it, e.g. "
                        "np.clip(x * 255, 0, 255).round().astype(np.uint8) for images in [0, 1]")
    x = torch.from_numpy(np.ascontiguousarray(images))
    if x.ndim == 3:
        return x.unsqueeze(1)  # (N, H, W) -> (N, 1, H, W)
    if x.ndim == 4 and x.shape[1] in (1, 3):
        return x  # already (N, C, H, W)
    if x.ndim == 4 and x.shape[-1] in (1, 3):
        return x.permute(0, 3, 1, 2).contiguous()  # (N, H, W, C) -> (N, C, H, W)
    raise DataError(f"{where} has shape {tuple(images.shape)}; expected (N, H, W), (N, H, W, C) or (N, C, H, W) "
                    "with C = 1 (gray) or 3 (RGB)")


def convert_channels(images: torch.Tensor, channels: int | None) -> torch.Tensor:
    """uint8 ``(N, C, H, W)`` -> ``(N, channels, H, W)``: gray->RGB repeats, RGB->gray uses PIL's luma.

    Usage::

        convert_channels(rgb, 1).shape   # (N, 1, H, W)
    """
    if channels is None or images.shape[1] == channels:
        return images
    if channels not in (1, 3):
        raise ConfigError(f"channels must be 1 (gray) or 3 (RGB), got {channels!r}")
    if channels == 3:
        return images.expand(-1, 3, -1, -1).contiguous()  # (N, 1, H, W) -> (N, 3, H, W)
    weights = torch.tensor(_LUMA, dtype=torch.int32).view(1, 3, 1, 1)
    gray = ((images.to(torch.int32) * weights).sum(1, keepdim=True) + 500) // 1000  # (N, 1, H, W)
    return gray.to(torch.uint8)


def to_labels(labels: np.ndarray, where: str) -> torch.Tensor:
    """Integer labels ``(N,)`` or ``(N, 1)`` -> int64 tensor ``(N,)``; anything else is a ``DataError``.

    Usage::

        to_labels(np.array([[0], [1]], np.uint8), "x.npz:labels")   # tensor([0, 1])
    """
    if not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{where} has dtype {labels.dtype}, expected integer class indices 0..K-1")
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]  # (N, 1) -> (N,)
    if labels.ndim != 1:
        raise DataError(f"{where} has shape {tuple(labels.shape)}, expected (N,) or (N, 1) class indices "
                        "(multi-label arrays are not supported: pick one column)")
    return torch.from_numpy(labels.astype(np.int64))


def check_label_range(labels: torch.Tensor, num_classes: int, where: str) -> None:
    """``DataError`` if any label is outside ``0..num_classes-1``.

    Usage::

        check_label_range(split.labels, len(label_names), "busi.npz:labels")
    """
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise DataError(f"{where} has labels in {int(labels.min())}..{int(labels.max())} but {num_classes} classes "
                        f"(0..{num_classes - 1}); fix the labels or the label_names")


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` (no pickles); a missing or unreadable file is a one-line ``DataError``.

    Usage::

        arrays = read_npz(Path("busi/busi.npz"))    # {'images': ..., 'labels': ..., 'label_names': ...}
    """
    if path.is_dir():
        raise DataError(f"{path} is a folder, not an .npz file; give the file inside it (e.g. {path}/data.npz), "
                        "or use dataset: folder for a folder of images")
    if not path.is_file():
        raise DataError(f"{path} not found; check the path (relative paths resolve against the data dir, "
                        f"$MEDZOO_DATA) or pass an absolute path")
    with open(path, "rb") as handle:  # numpy's own error for a non-archive suggests allow_pickle: never here
        magic = handle.read(6)
    if magic[:4] != b"PK\x03\x04" and magic != b"\x93NUMPY":
        raise DataError(f"{path} is not an .npz archive (it starts with {magic!r}); save arrays with "
                        "np.savez(path, images=..., labels=...)")
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{path} is not a readable .npz file ({exc}); re-create or re-download it") from exc
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise DataError(f"{path} holds a single array, not an .npz archive; save it with "
                        "np.savez(path, images=..., labels=...)")
    with npz:
        try:
            return {key: npz[key] for key in npz.files}
        except ValueError as exc:  # object arrays need pickle: refused, unpickling can run code
            raise DataError(f"{path} holds object arrays ({exc}); save label_names as a str array, "
                            "e.g. np.array(names, dtype=str)") from exc
        except (OSError, zipfile.BadZipFile, EOFError) as exc:  # a truncated download
            raise DataError(f"{path} is truncated or corrupt ({exc}); re-create or re-download it") from exc


def _checked_names(arrays: dict[str, np.ndarray], given: list[str] | None, labels: dict[str, torch.Tensor],
                   where: str) -> list[str]:
    """Label names (argument > file's ``label_names`` > "0".."K-1"), with every label checked against them."""
    if given is not None:
        names = [str(n) for n in given]
    elif "label_names" in arrays:
        names = [str(n) for n in np.asarray(arrays["label_names"]).reshape(-1).tolist()]
    else:
        top = max((int(t.max()) for t in labels.values() if len(t)), default=0)
        names = [str(i) for i in range(top + 1)]
    for key, values in labels.items():
        check_label_range(values, len(names), f"{where}:{key}")
    return names


def load_npz_domain(
    path: str | os.PathLike,
    name: str | None = None,
    modality: str = "unknown",
    license: str = "unknown",
    citation: str = "",
    label_names: list[str] | None = None,
    val: float = 0.1,
    test: float = 0.2,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    channels: int | None = None,
) -> Domain:
    """A ``Domain`` from a user's ``.npz`` (see the module docstring for the accepted keys).

    A relative ``path`` resolves against the data directory. ``label_names`` overrides the file's;
    ``channels`` (1 or 3) converts gray/RGB. ``info`` records the file, its md5 and how splits were made.

    Usage::

        busi = load_npz_domain("busi/busi.npz", modality="ultrasound", val=0.1, test=0.2, seed=0)
    """
    file = resolve_path(path, data_dir)
    arrays = read_npz(file)
    where = file.name
    if "train_images" in arrays:  # MedMNIST layout: keep the published splits
        splits = {}
        for split in SPLITS:
            if f"{split}_images" not in arrays:
                continue
            if f"{split}_labels" not in arrays:
                raise DataError(f"{where} has {split}_images but no key '{split}_labels'; add it")
            images = to_nchw(arrays[f"{split}_images"], f"{where}:{split}_images")
            splits[split] = Split(images, _matching(to_labels(arrays[f"{split}_labels"], f"{where}:{split}_labels"),
                                                   images, f"{where}:{split}"))
        names = _checked_names(arrays, label_names, {f"{k}_labels": v.labels for k, v in splits.items()}, where)
        how: dict[str, Any] = {"method": "file", "kept": sorted(splits)}
        if set(splits) != set(SPLITS):
            how.update(method="file+stratified", val=val, test=test, seed=seed)
        splits = complete_splits(splits, val, test, seed, where)
    else:
        for key in ("images", "labels"):
            if key not in arrays:
                raise DataError(f"{where} has no key '{key}' (keys: {', '.join(sorted(arrays)) or 'none'}); save "
                                "images (N,H,W[,C]) uint8 and labels (N,) int, or train_/val_/test_ arrays")
        images = to_nchw(arrays["images"], f"{where}:images")
        labels = _matching(to_labels(arrays["labels"], f"{where}:labels"), images, where)
        names = _checked_names(arrays, label_names, {"labels": labels}, where)
        splits = split_pool(images, labels, val, test, seed, where)
        how = {"method": "stratified", "val": val, "test": test, "seed": seed}
    splits = {k: Split(convert_channels(s.images, channels), s.labels) for k, s in splits.items()}
    info = {"file": portable_path(file, data_dir), "md5": file_md5(file), "split": how}
    return Domain(name=name or file.stem, splits=splits, label_names=names, modality=modality,
                  license=license, citation=citation, info=info)


def _matching(labels: torch.Tensor, images: torch.Tensor, where: str) -> torch.Tensor:
    if len(labels) != len(images):
        raise DataError(f"{where}: {len(images)} images but {len(labels)} labels; they must match one to one")
    return labels


def _write_example(tmp_dir: Path) -> Path:
    """A tiny 3-class npz (no splits) built from the synthetic generator, for conformance tests."""
    from zoo.datasets.synthetic import synthetic_domain

    domain = synthetic_domain(num_classes=3, n_per_class=12, image_size=16, seed=1)
    images = torch.cat([s.images for s in domain.splits.values()])[:, 0].numpy()  # (N, 16, 16)
    labels = torch.cat([s.labels for s in domain.splits.values()]).numpy()  # (N,)
    path = Path(tmp_dir) / "example_arrays.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, images=images, labels=labels, label_names=np.array(["a", "b", "c"]))
    return path


def _conformance_kwargs(tmp_dir: Path) -> dict[str, Any]:
    """Kwargs building a small domain offline: a generated 3-class npz written into ``tmp_dir``."""
    return {"path": str(_write_example(tmp_dir)), "modality": "synthetic", "license": "CC0-1.0",
            "citation": "medzoo conformance example (generated by zoo.datasets.synthetic)"}


load_npz_domain.conformance_kwargs = _conformance_kwargs
