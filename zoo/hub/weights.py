"""Reading weight files safely: safetensors by default, pickles only when the user says they trust them.

A PyTorch pickle (``.bin``, ``.pt``, ``.pth``, ``.ckpt``) can run code when unpickled, so it is refused
unless ``trust_pickle=True``, and even then it is read with ``torch.load(weights_only=True)``, which only
rebuilds tensors and plain containers.

Usage::

    digest = sha256_file(path)
    state = read_state(path)                         # safetensors
    state = read_state("pytorch_model.bin", trust_pickle=True)
"""

from __future__ import annotations

from pathlib import Path

import torch

from zoo.digests import sha256_file  # noqa: F401  (re-exported for the hub modules)
from zoo.errors import HubError

SAFE_SUFFIXES = (".safetensors",)
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


def is_pickle(filename: str) -> bool:
    return filename.endswith(PICKLE_SUFFIXES)


def refuse_pickle(filename: str, where: str) -> HubError:
    return HubError(f"{where}: '{filename}' is a pickle checkpoint, which can run code when loaded; medzoo loads "
                    "safetensors only. If you trust its author, pass --trust-pickle (trust_pickle=True): it is "
                    "then read with torch.load(weights_only=True)")


def read_state(path: str | Path, trust_pickle: bool = False, where: str | None = None) -> dict[str, torch.Tensor]:
    """The tensors of a weight file (safetensors; a pickle only with ``trust_pickle``)."""
    path = Path(path)
    where = where or str(path)
    if path.name.endswith(SAFE_SUFFIXES):
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except SafetensorError as err:
            raise HubError(f"{where}: '{path.name}' is not a valid safetensors file ({err})") from None
    if is_pickle(path.name):
        if not trust_pickle:
            raise refuse_pickle(path.name, where)
        state = torch.load(str(path), map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
            state = state["state_dict"]  # Lightning-style wrapper
        if not isinstance(state, dict):
            raise HubError(f"{where}: '{path.name}' holds a {type(state).__name__}, not a state dict")
        return state
    raise HubError(f"{where}: '{path.name}' is neither a .safetensors file nor a known PyTorch checkpoint")
