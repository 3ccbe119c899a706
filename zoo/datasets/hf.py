"""Any Hugging Face ``datasets`` dataset as a domain: a Hub id, a local builder (parquet, imagefolder, ...)
or a folder written by ``save_to_disk``.

Columns are mapped (``image_column``, ``label_column``); label names come from a ``ClassLabel`` feature
when there is one (else integer labels are named "0".."K-1" and string labels become sorted classes).
Split names are mapped to medzoo's (``validation``/``valid``/``dev`` -> ``val`` by default, or
``splits={"<hf split>": "train"|"val"|"test"}``); missing val/test splits are carved out of train,
stratified and seeded. ``datasets`` is imported only when this function runs.

Usage::

    from zoo.datasets.hf import load_hf_domain
    dom = load_hf_domain("parquet", data_files={"train": "pneu/train.parquet"}, channels=1)
    dom = load_hf_domain("user/chest-xray", revision="v1.0", splits={"dev": "val"}, image_size=64)
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zoo.datasets.base import SPLITS, Domain, Split
from zoo.datasets.folder import SPLIT_ALIASES, pil_to_chw, stack_chw
from zoo.datasets.partition import complete_splits
from zoo.datasets.paths import resolve_path
from zoo.errors import ConfigError, DataError

logger = logging.getLogger(__name__)

LOCAL_BUILDERS = {"parquet", "imagefolder", "csv", "json", "arrow", "webdataset", "text", "pandas"}
DEFAULT_SPLITS = {**SPLIT_ALIASES, "dev": "val"}
BATCH = 256  # rows decoded at a time: bounds the number of live PIL images


def _resolve_source(path: str, data_dir: Any) -> str:
    """Builder names and Hub ids pass through; an existing local path resolves against the data dir."""
    if path in LOCAL_BUILDERS:
        return path
    local = resolve_path(path, data_dir)
    return str(local) if local.exists() else path


def _resolve_files(files: Any, data_dir: Any) -> Any:
    """Relative paths (and globs) in ``data_files`` resolve against the data dir; URLs stay as they are."""
    if files is None:
        return None
    if isinstance(files, (str, os.PathLike)):
        return str(files) if "://" in str(files) else str(resolve_path(files, data_dir))
    if isinstance(files, dict):
        return {k: _resolve_files(v, data_dir) for k, v in files.items()}
    return [_resolve_files(f, data_dir) for f in files]


def _load(source: str, path: str, **kwargs: Any) -> Any:
    """``datasets.load_dataset`` (or ``load_from_disk``) -> DatasetDict; failures are one-line DataErrors."""
    import datasets

    try:
        saved = [Path(source) / marker for marker in ("dataset_dict.json", "state.json")]  # save_to_disk output
        if any(p.exists() for p in saved):
            loaded = datasets.load_from_disk(source)
        else:
            loaded = datasets.load_dataset(source, **kwargs)
    except (datasets.exceptions.DatasetsError, FileNotFoundError, ConnectionError, ValueError) as exc:
        offline = " (offline mode is on: only local or cached datasets load)" if datasets.config.HF_HUB_OFFLINE else ""
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot load Hugging Face dataset '{path}'{offline}: {reason}; check the id, revision, "
                        "config_name and data_files") from exc
    if isinstance(loaded, datasets.Dataset):
        loaded = datasets.DatasetDict({"train": loaded})
    return loaded


def _split_mapping(available: list[str], splits: dict[str, str] | None, path: str) -> dict[str, str]:
    """{hf split: medzoo split} for the splits to use; unknown names and clashes are ConfigErrors."""
    if splits is None:
        mapping = {s: DEFAULT_SPLITS[s.lower()] for s in available if s.lower() in DEFAULT_SPLITS}
        ignored = [s for s in available if s not in mapping]
        if ignored:
            logger.info("%s: ignoring splits %s (map them with splits={name: train|val|test})", path, ignored)
    else:
        mapping = dict(splits)
        for hf_name, ours in mapping.items():
            if hf_name not in available:
                raise ConfigError(f"splits maps Hugging Face split names to medzoo's (e.g. {{validation: val}}); "
                                  f"'{hf_name}' is not a split of {path} (splits: {', '.join(available)})")
            if ours not in SPLITS:
                raise ConfigError(f"splits: '{hf_name}' maps to '{ours}'; map it to one of {', '.join(SPLITS)}")
    targets = list(mapping.values())
    clash = sorted({t for t in targets if targets.count(t) > 1})
    if clash:
        raise ConfigError(f"{path}: several splits map to {clash}; pass splits={{...}} naming one per medzoo split")
    if "train" not in targets:
        raise DataError(f"{path} has no train split (splits: {', '.join(available)}); pass "
                        "splits={'<name>': 'train'}")
    return mapping


def _to_chw(value: Any, channels: int | None, image_size: int | None, where: str) -> np.ndarray:
    """One cell of the image column (PIL image, encoded dict or array) -> uint8 (C, H, W)."""
    from PIL import Image

    if isinstance(value, Image.Image):
        return pil_to_chw(value, channels, image_size)
    if isinstance(value, dict) and (value.get("bytes") or value.get("path")):  # an undecoded Image feature
        import io

        with Image.open(io.BytesIO(value["bytes"]) if value.get("bytes") else value["path"]) as img:
            return pil_to_chw(img, channels, image_size)
    arr = np.asarray(value)
    if arr.dtype != np.uint8:
        raise DataError(f"{where} holds {arr.dtype} arrays; store uint8 images (or an Image feature)")
    if arr.ndim == 3 and arr.shape[0] in (1, 3) and arr.shape[-1] not in (1, 3):
        arr = arr.transpose(1, 2, 0)  # (C, H, W) -> (H, W, C) for PIL
    return pil_to_chw(Image.fromarray(arr.squeeze(-1) if arr.ndim == 3 and arr.shape[-1] == 1 else arr),
                      channels, image_size)


def _label_names(feature: Any, columns: list[list[Any]], label_column: str) -> tuple[list[str], dict[Any, int] | None]:
    """(label names, value->index map for string labels or None when values are already indices)."""
    import datasets

    if isinstance(feature, datasets.ClassLabel):
        return list(feature.names), None
    dtype = getattr(feature, "dtype", "")
    if isinstance(feature, datasets.Value) and dtype.startswith(("int", "uint")):
        top = max((max(col) for col in columns if col), default=0)
        return [str(i) for i in range(int(top) + 1)], None
    if isinstance(feature, datasets.Value) and dtype in ("string", "large_string"):
        names = sorted({v for col in columns for v in col})
        return names, {n: i for i, n in enumerate(names)}
    raise ConfigError(f"label column '{label_column}' has type {feature}; it must hold class indices, a ClassLabel "
                      "or class names (set label_column=...)")


def load_hf_domain(
    path: str,
    name: str | None = None,
    image_column: str = "image",
    label_column: str = "label",
    splits: dict[str, str] | None = None,
    revision: str | None = None,
    config_name: str | None = None,
    image_size: int | None = None,
    channels: int | None = None,
    modality: str = "unknown",
    license: str = "unknown",
    citation: str = "",
    val: float = 0.1,
    test: float = 0.2,
    seed: int = 0,
    data_files: Any = None,
    hf_data_dir: str | None = None,
    cache_dir: str | None = None,
    data_dir: str | os.PathLike | None = None,
) -> Domain:
    """A ``Domain`` from a Hugging Face dataset (see the module docstring).

    ``path`` is a Hub id (pin ``revision`` for reproducible results), a builder name (``parquet``,
    ``imagefolder``, ... with ``data_files`` or ``hf_data_dir``) or a local folder. Relative local paths
    resolve against medzoo's data directory (``data_dir``/``$MEDZOO_DATA``). ``cache_dir`` is passed to
    ``datasets`` (default: its own cache).

    Usage::

        dom = load_hf_domain("imagefolder", hf_data_dir="xray_folders", channels=1, modality="chest X-ray")
    """
    source = _resolve_source(path, data_dir)
    files = _resolve_files(data_files, data_dir)
    folder = str(resolve_path(hf_data_dir, data_dir)) if hf_data_dir else None
    loaded = _load(source, path, name=config_name, revision=revision, data_files=files, data_dir=folder,
                   cache_dir=cache_dir)
    mapping = _split_mapping(list(loaded.keys()), splits, path)
    features = loaded[next(iter(mapping))].features
    for column in (image_column, label_column):
        if column not in features:
            raise ConfigError(f"column '{column}' is not in {path} (columns: {', '.join(features)}); set "
                              f"image_column=/label_column= to the right names")
    raw_labels = {hf: list(loaded[hf][label_column]) for hf in mapping}  # {split: [N values]}
    label_names, to_index = _label_names(features[label_column], list(raw_labels.values()), label_column)
    arrays, labels, sources = [], {}, []
    for hf_name in mapping:
        dataset = loaded[hf_name].select_columns([image_column])
        for start, batch in enumerate(dataset.iter(batch_size=BATCH)):
            for i, value in enumerate(batch[image_column]):
                arrays.append(_to_chw(value, channels, image_size, f"{path}:{hf_name}:{image_column}"))
                sources.append(f"{hf_name}[{start * BATCH + i}]")
        values = raw_labels[hf_name]
        labels[hf_name] = torch.tensor([to_index[v] for v in values] if to_index else values, dtype=torch.long)
    images = stack_chw(arrays, sources, path)  # (N_total, C, H, W)
    out, offset = {}, 0
    for hf_name, ours in mapping.items():
        n = len(labels[hf_name])
        out[ours] = Split(images[offset:offset + n], labels[hf_name])
        offset += n
    for ours, split in out.items():
        if len(split) and (int(split.labels.min()) < 0 or int(split.labels.max()) >= len(label_names)):
            raise DataError(f"{path}:{ours} has labels outside 0..{len(label_names) - 1}; fix column '{label_column}'")
    kept = sorted(out)
    out = complete_splits(out, val, test, seed, path)
    how: dict[str, Any] = {"method": "hf", "kept": kept, "map": mapping}
    if len(kept) < len(SPLITS):
        how.update(method="hf+stratified", val=val, test=test, seed=seed)
    info = {"hf": {"path": path, "revision": revision, "config_name": config_name, "data_files": data_files,
                   "fingerprints": {hf: loaded[hf]._fingerprint for hf in mapping}}, "split": how}
    default_name = Path(str(next(iter(files.values())) if isinstance(files, dict) else files or "")).stem
    # Unstated in the suite: the dataset card's own licence and citation (a Hub dataset usually has them).
    card = loaded[next(iter(mapping))].info
    license = license if license not in ("", "unknown") else (card.license or "").strip() or license
    citation = citation or (card.citation or "").strip()
    return Domain(name=name or (default_name if source in LOCAL_BUILDERS and default_name else Path(path).name),
                  splits=out, label_names=label_names, modality=modality, license=license, citation=citation, info=info)


def _conformance_kwargs(tmp_dir: Path) -> dict[str, Any]:
    """Kwargs building a small domain offline: a generated 2-class parquet file (Image + ClassLabel)."""
    import datasets
    from PIL import Image

    from zoo.datasets.synthetic import synthetic_domain

    domain = synthetic_domain(num_classes=2, n_per_class=10, image_size=16, seed=3)
    images = torch.cat([s.images for s in domain.splits.values()])  # (N, 1, 16, 16)
    labels = torch.cat([s.labels for s in domain.splits.values()]).tolist()
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=domain.label_names)})
    table = datasets.Dataset.from_dict({"image": [Image.fromarray(x[0].numpy()) for x in images], "label": labels},
                                       features=features)
    file = Path(tmp_dir) / "example_hf" / "train.parquet"
    file.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(str(file))
    return {"path": "parquet", "data_files": {"train": str(file)}, "cache_dir": str(Path(tmp_dir) / "hf_cache"),
            "name": "example_hf", "modality": "synthetic", "license": "CC0-1.0",
            "citation": "medzoo conformance example (generated by zoo.datasets.synthetic)"}


load_hf_domain.conformance_kwargs = _conformance_kwargs
