"""Catch an algorithm that moves tensors to a device itself, on any machine (a CPU-only one included).

The runner owns devices (docs/architecture.md, "Contracts"): it puts the model and every batch on the device, so an
algorithm creates tensors with ``device=x.device`` and never calls ``.to(device)``, ``.cuda()`` or
``.cpu()``. ``DeviceGuard`` is a ``TorchFunctionMode``: it sees every torch call made while it is active
and raises a ``ConformanceError`` on the first one that targets another device than the batches', before
it runs, so a ``.cuda()`` call is reported as what it is even where CUDA does not exist.

Usage::

    with DeviceGuard("algorithm 'bnm'", torch.device("cpu")):
        algo.training_step(source_batch, target_batch)
"""

from __future__ import annotations

from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from zoo.testing.core import ConformanceError

# Tensor methods that always move to an accelerator (``Module.cuda()`` calls ``Tensor.cuda`` on every tensor).
_TO_ACCELERATOR = {"cuda", "xpu", "hpu", "npu", "ipu", "mtia"}


def _as_device(value: Any) -> torch.device | None:
    """A device named by a ``.to()``/``device=`` argument (a device, a string, an int, a tensor), else None."""
    if isinstance(value, torch.device):
        return value
    if isinstance(value, torch.Tensor):
        return value.device
    if isinstance(value, str):
        try:
            return torch.device(value)
        except RuntimeError:
            return None
    if isinstance(value, int) and not isinstance(value, bool):
        return torch.device("cuda", value)  # torch reads a bare int as a CUDA ordinal
    return None


def _to_target(args: tuple, kwargs: dict) -> torch.device | None:
    """The device of ``tensor.to(...)``: ``to(device)``, ``to(other_tensor)``, ``to(device=...)``; None for dtypes."""
    if "device" in kwargs:
        return _as_device(kwargs["device"])
    for value in args[1:2]:  # the first argument after self; a dtype names no device
        return _as_device(value)
    if "other" in kwargs:
        return _as_device(kwargs["other"])
    return None


def _same(device: torch.device, allowed: torch.device) -> bool:
    if device.type != allowed.type:
        return False
    return device.index is None or allowed.index is None or device.index == allowed.index


class DeviceGuard(TorchFunctionMode):
    """Raise ``ConformanceError`` on any torch call that moves or creates a tensor off ``allowed``."""

    def __init__(self, what: str, allowed: torch.device, where: str = "training_step") -> None:
        super().__init__()
        self.what, self.allowed, self.where = what, allowed, where

    def _fail(self, call: str, device: torch.device) -> None:
        raise ConformanceError(
            f"{self.what} moves tensors to a device itself ({call} targets '{device}' in {self.where}, while the "
            f"batches are on '{self.allowed}'); the runner owns devices: never call .to(device), .cuda() or "
            ".cpu(), and create new tensors with device=x.device"
        )

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if func is torch.Tensor.to:
            target = _to_target(args, kwargs)
            if target is not None and not _same(target, self.allowed):
                self._fail(f"Tensor.to({target})", target)
        elif name in _TO_ACCELERATOR and args and isinstance(args[0], torch.Tensor):
            self._fail(f"Tensor.{name}()", torch.device(name))
        elif name == "cpu" and args and isinstance(args[0], torch.Tensor) and self.allowed.type != "cpu":
            self._fail("Tensor.cpu()", torch.device("cpu"))
        elif kwargs.get("device") is not None:  # factories: torch.zeros(..., device=...), torch.tensor(...)
            target = _as_device(kwargs["device"])
            if target is not None and not _same(target, self.allowed):
                self._fail(f"{name}(device='{target}')", target)
        return func(*args, **kwargs)
