"""A folder of image files as a domain: ``root/<class>/*.png`` or ``root/{train,val,test}/<class>/*``.

With class folders only, a seeded stratified train/val/test split is made. With split folders those splits
are kept (``validation``/``valid`` count as ``val``; a missing val or test split is carved out of train).
Class names are the folder names, sorted, unless ``label_names`` gives their order. Images are decoded
with Pillow, converted to gray (``L``) or RGB (``channels``; by default gray when every image is gray),
and resized to ``image_size`` when given; otherwise every image must already have the same size.

Usage::

    from zoo.datasets.folder import load_image_folder
    dom = load_image_folder("my_xrays", channels=1, image_size=64, modality="chest X-ray")
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zoo.datasets.base import Domain, Split
from zoo.datasets.partition import complete_splits, split_pool
from zoo.datasets.paths import portable_path, resolve_path
from zoo.errors import ConfigError, DataError

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
GRAY_MODES = {"1", "L", "LA", "I", "F", "I;16", "I;16B", "I;16L", "I;16N"}
SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
                 "test": "test", "testing": "test"}


def pil_to_chw(img: Any, channels: int | None = None, image_size: int | None = None) -> np.ndarray:
    """A PIL image -> uint8 ``(C, H, W)``: gray ``L`` (C=1) or ``RGB`` (C=3), resized to ``image_size``.

    ``channels=None`` keeps gray images gray and makes everything else RGB. 16-bit gray is scaled to
    8 bits (value / 257) rather than clipped, as PIL's ``convert("L")`` would.

    Usage::

        pil_to_chw(Image.open("x.png"), channels=1, image_size=64).shape   # (1, 64, 64)
    """
    from PIL import Image

    if channels not in (None, 1, 3):
        raise ConfigError(f"channels must be 1 (gray), 3 (RGB) or unset, got {channels!r}")
    if channels is None:
        channels = 1 if img.mode in GRAY_MODES else 3
    if img.mode.startswith("I;16"):  # 16-bit gray (common for X-ray PNGs): scale 0..65535 -> 0..255
        img = Image.fromarray((np.asarray(img, dtype=np.float64) / 257.0).round().astype(np.uint8))
    img = img.convert("L" if channels == 1 else "RGB")
    if image_size is not None:
        img = img.resize((int(image_size), int(image_size)), Image.Resampling.LANCZOS)
    arr = np.asarray(img, dtype=np.uint8)  # (H, W) or (H, W, 3)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)  # (C, H, W)


def stack_chw(arrays: list[np.ndarray], sources: list[str], where: str) -> torch.Tensor:
    """Stack ``(C, H, W)`` arrays -> uint8 ``(N, C, H, W)``; gray ones become RGB when any is RGB.

    Different sizes are a ``DataError`` naming two files and suggesting ``image_size``.

    Usage::

        images = stack_chw([a, b], ["a.png", "b.png"], "my_folder")
    """
    if not arrays:
        return torch.empty(0, 1, 1, 1, dtype=torch.uint8)
    sizes = {a.shape[1:] for a in arrays}
    if len(sizes) > 1:
        first = arrays[0].shape[1:]
        other = next(i for i, a in enumerate(arrays) if a.shape[1:] != first)
        raise DataError(f"images in {where} differ in size ({sources[0]} is {first[1]}x{first[0]}, {sources[other]} is "
                        f"{arrays[other].shape[2]}x{arrays[other].shape[1]}); pass image_size=<pixels> to resize all")
    channels = max(a.shape[0] for a in arrays)
    return torch.from_numpy(np.stack([np.repeat(a, channels // a.shape[0], axis=0) for a in arrays]))


def _decode(path: Path, channels: int | None, image_size: int | None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return pil_to_chw(img, channels, image_size)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"cannot decode image {path} ({exc}); remove or replace the file") from exc


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith("."))


def _subdirs(folder: Path) -> list[Path]:
    return sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))


def _scan(root: Path) -> tuple[str, dict[str, dict[str, list[Path]]]]:
    """(layout, {split: {class name: [files]}}) for either supported layout."""
    dirs = _subdirs(root)
    split_dirs = {SPLIT_ALIASES[d.name.lower()]: d for d in dirs if d.name.lower() in SPLIT_ALIASES}
    if not split_dirs:
        return "class-folders", {"train": {d.name: _images_in(d) for d in dirs}}
    ignored = [d.name for d in dirs if d.name.lower() not in SPLIT_ALIASES]
    if ignored:
        logger.warning("%s: ignoring folders %s next to the split folders", root, ", ".join(ignored))
    tree = {split: {d.name: _images_in(d) for d in _subdirs(folder)} for split, folder in split_dirs.items()}
    return "split-folders", tree


def load_image_folder(
    path: str | os.PathLike,
    name: str | None = None,
    image_size: int | None = None,
    channels: int | None = None,
    label_names: list[str] | None = None,
    modality: str = "unknown",
    license: str = "unknown",
    citation: str = "",
    val: float = 0.1,
    test: float = 0.2,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
) -> Domain:
    """A ``Domain`` from a folder of images (layouts in the module docstring).

    A relative ``path`` resolves against the data directory. ``label_names`` fixes the class order (and
    must name every class folder); by default classes are the sorted folder names.

    Usage::

        dom = load_image_folder("busi_png", image_size=64, channels=1, label_names=["normal", "benign", "malignant"])
    """
    root = resolve_path(path, data_dir)
    if not root.is_dir():
        raise DataError(f"image folder {root} not found; check the path (relative paths resolve against the data "
                        "dir, $MEDZOO_DATA) or pass an absolute path")
    layout, tree = _scan(root)
    found = sorted({cls for classes in tree.values() for cls in classes})
    if not found:
        raise DataError(f"{root} has no class folders; lay it out as {root}/<class>/*.png or "
                        f"{root}/train/<class>/*.png")
    names = [str(n) for n in label_names] if label_names is not None else found
    unknown = [c for c in found if c not in names]
    if unknown:
        raise DataError(f"{root} has class folders {unknown} not in label_names {names}; add them or remove "
                        "the folders")
    for split, classes in tree.items():
        empty = [c for c, files in classes.items() if not files]
        if empty and layout == "class-folders":
            raise DataError(f"class folder(s) {', '.join(empty)} in {root} hold no images "
                            f"({', '.join(IMAGE_EXTENSIONS)})")
    decoded: dict[str, tuple[list[np.ndarray], list[int], list[str]]] = {}
    for split, classes in tree.items():
        items = [(f, names.index(c)) for c, files in classes.items() for f in files]
        decoded[split] = ([_decode(f, channels, image_size) for f, _ in items], [lbl for _, lbl in items],
                          [str(f.relative_to(root)) for f, _ in items])
    if not any(arrays for arrays, _, _ in decoded.values()):
        raise DataError(f"{root} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
    all_sources = [s for _, _, sources in decoded.values() for s in sources]
    every = [a for arrays, _, _ in decoded.values() for a in arrays]  # [(C, H, W)] in split order
    stacked = stack_chw(every, all_sources, str(root))  # (N, C, H, W)
    splits, start = {}, 0
    for split, (arrays, labels, _) in decoded.items():
        splits[split] = Split(stacked[start:start + len(arrays)], torch.tensor(labels, dtype=torch.long))
        start += len(arrays)
    if layout == "class-folders":
        splits = split_pool(splits["train"].images, splits["train"].labels, val, test, seed, str(root))
        how: dict[str, Any] = {"method": "stratified", "val": val, "test": test, "seed": seed}
    else:
        kept = sorted(splits)
        splits = complete_splits(splits, val, test, seed, str(root))
        how = {"method": "folders", "kept": kept}
        if len(kept) < 3:
            how.update(method="folders+stratified", val=val, test=test, seed=seed)
    info = {"path": portable_path(root, data_dir), "layout": layout, "files": len(all_sources), "split": how,
            "image_size": image_size}
    return Domain(name=name or root.name, splits=splits, label_names=names, modality=modality, license=license,
                  citation=citation, info=info)


def _conformance_kwargs(tmp_dir: Path) -> dict[str, Any]:
    """Kwargs building a small domain offline: PNGs of a generated 2-class domain under ``tmp_dir``."""
    from PIL import Image

    from zoo.datasets.synthetic import synthetic_domain

    domain = synthetic_domain(num_classes=2, n_per_class=10, image_size=16, seed=2)
    root = Path(tmp_dir) / "example_folder"
    for split_name, split in domain.splits.items():
        for i, (img, lbl) in enumerate(zip(split.images, split.labels)):
            out = root / domain.label_names[int(lbl)] / f"{split_name}_{i:03d}.png"
            out.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img[0].numpy()).save(out)  # (H, W) uint8 -> mode L
    return {"path": str(root), "modality": "synthetic", "license": "CC0-1.0",
            "citation": "medzoo conformance example (generated by zoo.datasets.synthetic)"}


load_image_folder.conformance_kwargs = _conformance_kwargs
