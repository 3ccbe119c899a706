"""The GPU check's compile section: ``train.compile: true`` (on CUDA ``reduce-overhead``: CUDA graphs) against
eager, on simple_cnn at 28 px (the model whose steps are most host-bound), in the runner's own wrapper
(``zoo.runner.compiled.compile_networks``).

What it prints, each a check that a CPU cannot make:

- **dropout**: after warm-up, two training-mode replays on the same batch, both kept, draw different
  dropout masks and the masks eager draws from the same RNG state (``fallback_random``). A replay that
  reused its random numbers, or a first output overwritten by the second replay (the wrapper copies each
  call's features out of the graph's memory), fails it.
- **kept outputs**: features of four equal evaluation chunks, kept and concatenated after the last call,
  equal eager's.
- **loss curve**: ``steps`` Adam steps from the same weights and RNG state, compiled (training graphs,
  backward included) against eager: the largest relative difference of the losses, within
  ``LOSS_TOLERANCE``.
- **graphs recorded**: where the mode records CUDA graphs, inductor skipped none of them (it falls back to
  plain launches silently, e.g. on a CPU tensor or a mutated input: ``counters["inductor"]["cudagraph_skips"]``).
- **speed**: training img/s of both after warm-up (the first calls record the graphs), and their ratio.

Usage::

    result = compile_check(torch.device("cuda"), steps=50, batch=128)    # from gpu_check.py
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import torch
import torch.nn.functional as F

LOSS_TOLERANCE = 1e-2  # relative; float rounding over the steps stays far below, another dropout mask far above


def _model(device: torch.device) -> SimpleNamespace:
    from zoo.backbones.simple_cnn import SimpleCNN

    torch.manual_seed(0)
    backbone = SimpleCNN(in_chans=1).to(device).to(memory_format=torch.channels_last)
    return SimpleNamespace(backbone=backbone, head=torch.nn.Linear(backbone.num_features, 2).to(device))


def _losses(model: SimpleNamespace, x: torch.Tensor, y: torch.Tensor, steps: int) -> list[float]:
    params = [*model.backbone.parameters(), *model.head.parameters()]
    optimizer = torch.optim.Adam(params, lr=1e-3)
    torch.manual_seed(1)
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model.head(model.backbone.forward_features(x)), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.detach())
    return [float(v) for v in losses]


def _img_per_s(model: SimpleNamespace, x: torch.Tensor, y: torch.Tensor, steps: int, device: torch.device) -> float:
    _losses(model, x, y, 3)  # warm-up: compilation, graph recording
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    _losses(model, x, y, steps)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return steps * len(x) / (time.perf_counter() - started)


def compile_check(device: torch.device, steps: int, batch: int) -> dict:
    """Compiled (``train.compile: true`` on ``device``) against eager simple_cnn; prints and returns the checks.

    TF32 is off meanwhile: the checks compare float32 results at 1e-3, and TF32 (cuDNN's default for
    convolutions) rounds inputs to 10 mantissa bits, differently for each algorithm the two sides may pick."""
    flags = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        return _compile_check(device, steps, batch)
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = flags


def _compile_check(device: torch.device, steps: int, batch: int) -> dict:
    from torch._dynamo.utils import counters

    from zoo.runner.compiled import compile_mode, compile_networks, records_cuda_graphs

    mode = compile_mode(True, device)
    skips_before = counters["inductor"]["cudagraph_skips"]
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 1, 28, 28, generator=generator).to(device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 2, (batch,), generator=generator).to(device)
    eager, compiled = _model(device), _model(device)  # the same weights (seeded); a compiled copy would keep
    compile_networks(compiled, mode)                   # calling the original module's forward

    with torch.no_grad():
        for module in (compiled.backbone, eager.backbone):
            module.train()
        for _ in range(3):  # warm-up: under CUDA graphs the first call runs plain, the second records
            compiled.backbone.forward_features(x)
        torch.manual_seed(2)
        first, second = compiled.backbone.forward_features(x), compiled.backbone.forward_features(x)  # replays
        torch.manual_seed(2)
        eager_first, eager_second = eager.backbone.forward_features(x), eager.backbone.forward_features(x)
        # without its copy, `first` would hold the second replay's output (the graph's memory): equal to `second`
        masks_differ = not torch.equal(first, second)
        masks_eager = (torch.allclose(first, eager_first, rtol=1e-3, atol=1e-4)
                       and torch.allclose(second, eager_second, rtol=1e-3, atol=1e-4))
        for module in (compiled.backbone, eager.backbone):
            module.eval()
        chunks = x.chunk(4)  # one size: the later calls reuse what the first compiled
        for _ in range(2):
            kept = torch.cat([compiled.backbone.forward_features(c) for c in chunks])
        kept_ok = torch.allclose(kept, torch.cat([eager.backbone.forward_features(c) for c in chunks]),
                                 rtol=1e-3, atol=1e-4)
    compiled.backbone.train()
    eager.backbone.train()
    trained = {name: _losses(m, x, y, steps) for name, m in (("eager", eager), ("compiled", compiled))}
    loss_diff = max(abs(a - b) / max(abs(a), 1e-8) for a, b in zip(trained["eager"], trained["compiled"]))
    rate = {name: _img_per_s(m, x, y, steps, device) for name, m in (("eager", eager), ("compiled", compiled))}
    print(f"[compile] train.compile: true on {device} -> mode {mode!r}; simple_cnn 28 px, batch {batch}:\n"
          f"  dropout masks differ between calls: {masks_differ}; compiled draws eager's masks: {masks_eager}\n"
          f"  features of 4 evaluation chunks kept across calls equal eager's: {kept_ok}\n"
          f"  {steps} Adam steps, largest relative loss difference compiled vs eager: {loss_diff:.2e} "
          f"(tolerance {LOSS_TOLERANCE})\n"
          f"  img/s eager {rate['eager']:.0f}, compiled {rate['compiled']:.0f} "
          f"({rate['compiled'] / rate['eager']:.2f}x)", flush=True)
    # a replayed graph that reused its dropout masks would leave eager's curve by far more than rounding
    same_curve = loss_diff < LOSS_TOLERANCE
    skipped = counters["inductor"]["cudagraph_skips"] - skips_before
    graphs_ok = skipped == 0 or not (records_cuda_graphs(mode) and device.type == "cuda")
    print(f"  CUDA graphs skipped by inductor: {skipped}" + ("" if graphs_ok else " (expected 0)"), flush=True)
    return {"mode": mode, "passed": masks_differ and masks_eager and kept_ok and same_curve and graphs_ok,
            "masks_differ": masks_differ, "masks_eager": masks_eager, "kept_ok": kept_ok, "loss_diff": loss_diff,
            "speedup": rate["compiled"] / rate["eager"]}


__all__ = ["compile_check"]
