"""Checkpoints and the Hugging Face Hub: the catalogue, pull, push, ``medzoo zoo build``, results as datasets.

Every Hub call goes through ``huggingface_hub`` (its cache, ``HF_ENDPOINT``, ``HF_HUB_OFFLINE``, ``HF_TOKEN``);
medzoo adds the catalogue (``catalogue.yaml``), sha256 verification, the safetensors-only policy, the
checkpoint format and model cards (``export.py``, ``card.py``) and one-line errors (``client.py``).

Usage::

    from zoo.hub import load_pretrained
    model = load_pretrained("resnet18_28-pneumoniamnist@main")   # pulled, verified, normalising its inputs
    probs = model.predict_images(uint8_images).softmax(-1)        # (N, 1, 28, 28) uint8 -> (N, 2)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def load_pretrained(name: str, trust_pickle: bool = False, **pull_options: Any):
    """Pull ``name`` (catalogue name or ``org/repo``, ``@REV`` allowed) and load it as a ``PretrainedModel``.

    A local checkpoint folder (``medzoo zoo build`` output) is loaded without any download.
    """
    from zoo.hub.export import load_pretrained_dir
    from zoo.hub.pull import pull

    if Path(name).is_dir():
        return load_pretrained_dir(Path(name), trust_pickle)
    pulled = pull(name, trust_pickle=trust_pickle, **pull_options)
    return load_pretrained_dir(pulled.folder, trust_pickle, where=f"{pulled.repo}@{pulled.commit}")


__all__ = ["load_pretrained"]
