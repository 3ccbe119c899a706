"""``train.compile``: the backbone under ``torch.compile``, in the mode its device runs best.

What is compiled is the backbone's ``forward_features`` (what algorithms call: (N, C, H, W) -> (N, D), where a
step's compute is), replaced on the instance by its compiled form: same parameters, same state-dict keys;
evaluation runs it too, in its eval-mode graph. The rest of ``training_step`` stays eager: its Python reads
per-step state (DANN's gradient-reversal coefficient, a float set by ``set_progress``) that a whole-step
graph specialises on, recompiling at every step (measured: 126 s for a 10-step DANN run).

The setting names the mode as ``torch.compile`` does:

- ``true``: ``"reduce-overhead"`` on CUDA when training batches have one shape (``train.drop_last``, the
  default), else ``"default"``. ``reduce-overhead`` records the compiled kernels as CUDA graphs and replays
  a step with one launch: at 28 px a step is hundreds of small kernels, and the host, not the GPU, sets the
  pace (issue 16: an H100 is busy 1-15% of a small-model step). On a CPU there are no graphs to record.
- ``"default"``, ``"reduce-overhead"``, ``"max-autotune"``, ``"max-autotune-no-cudagraphs"``: that mode.

Under CUDA graphs only training-mode calls are graphed: evaluation, feature caches and DEV come in many batch
sizes (the last chunk of each split), each of which would record a graph of its own and keep its memory; they
run the same compiled code without graphs.

Compiled graphs are cached per function and options, guarded on shapes, not on the module object: a later run of
the same shapes in this process (the next seed or trial of a suite) compiles nothing again
(``tests/runner/test_step_overhead.py``); another process reuses inductor's on-disk cache. CUDA graphs hold
the parameters' addresses: each run records its own (one step's worth of time, no compilation).

Usage::

    compile_as_configured(algorithm, train, accelerator.device)   # a run's or a pretraining step's model
    compile_networks(algorithm, compile_mode("max-autotune", accelerator.device))   # or a mode by hand
"""

from __future__ import annotations

import torch

from zoo.bench.suite import COMPILE_MODES as MODES  # torch.compile's modes, by name
from zoo.errors import ConfigError


def compile_mode(setting: bool | str, device: torch.device, static_shapes: bool = True) -> str | None:
    """The ``torch.compile`` mode of a ``train.compile`` setting on ``device`` (module docstring); ``None``
    for ``false``."""
    if setting is False:
        return None
    if setting is True:
        return "reduce-overhead" if torch.device(device).type == "cuda" and static_shapes else "default"
    if setting not in MODES:  # the suite loader names the setting; this guards direct callers
        raise ConfigError(f"train.compile must be true, false or one of {', '.join(MODES)}; got {setting!r}")
    return setting


def records_cuda_graphs(mode: str | None) -> bool:
    """Whether ``mode`` records CUDA graphs (when the compiled code runs on CUDA), by its options or by
    inductor's global setting (``TORCHINDUCTOR_CUDAGRAPHS=1`` turns them on in every mode)."""
    if mode is None:
        return False
    from torch._inductor import config

    return bool(_mode_options(mode).get("triton.cudagraphs") or config.triton.cudagraphs)


def _mode_options(mode: str) -> dict:
    from torch._inductor import list_mode_options

    return dict(list_mode_options(mode))


def compile_networks(algorithm, mode: str | None) -> None:
    """Replace ``algorithm.backbone.forward_features`` by its compiled form in ``mode`` (``None``: no-op).

    Losses match eager to float tolerance (``tests/runner/test_step_overhead.py``): ``fallback_random``
    keeps dropout on the eager RNG stream, so compiled and eager runs draw the same masks (inductor's own
    Philox stream would give a different, equally valid, loss curve).
    """
    if mode is None:
        return
    backbone = algorithm.backbone
    # torch.compile takes a mode or options, not both: the mode's options, plus fallback_random
    options = {**_mode_options(mode), "fallback_random": True}
    compiled = torch.compile(backbone.forward_features, options=options)
    if not records_cuda_graphs(mode):
        backbone.forward_features = compiled
        return
    ungraphed = torch.compile(backbone.forward_features, options={**options, "triton.cudagraphs": False})

    def forward_features(x: torch.Tensor) -> torch.Tensor:
        if not backbone.training:  # evaluation's many batch sizes: no graph per size (module docstring)
            return ungraphed(x)
        # A CUDA graph writes each call's output into memory that a later iteration reuses (CUDAGraph Trees:
        # a new iteration starts at every call with no backward pending). An algorithm may keep features
        # past its step (a memory bank): each call returns its own copy, (N, D); the copy's backward passes
        # the gradient straight through.
        return compiled(x).clone()

    backbone.forward_features = forward_features


def compile_as_configured(algorithm, train: dict, device: torch.device) -> None:
    """``train.compile`` of a run's ``train`` options applied to ``algorithm``'s backbone on ``device``: the
    one call of runs and pretraining steps alike (``true``'s mode needs ``train.drop_last``: static shapes)."""
    compile_networks(algorithm, compile_mode(train.get("compile", False), device, train.get("drop_last", True)))


__all__ = ["MODES", "compile_as_configured", "compile_mode", "compile_networks", "records_cuda_graphs"]
