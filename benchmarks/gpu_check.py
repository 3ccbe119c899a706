"""The GPU check (issue 16): what medzoo's training loop gets out of one GPU, in one short script (< 8 min on
one H100), each number beside its goal.

1. resnet18_28 (medzoo's 28 px ResNet-18), batch 128, bf16 autocast: images/s and model FLOP utilisation
   (MFU) through medzoo's loop (``zoo.runner.loop.train_epoch`` on Accelerate, with the BatchFeeder,
   TrainStreams and optimizer that ``train_run`` builds) beside a plain PyTorch loop on the same device
   (same model, uint8 data on the device, the same normalisation, fused Adam on CUDA, channels_last, bf16
   autocast, ``loss.backward(); opt.step()``). Goal: medzoo within 1.2x of plain (plain / medzoo <= 1.2).
2. timm resnet50 at 224 px (``pretrained=False``), batch 256, bf16, channels_last, the same two loops on
   synthetic uint8 images. Goal: >= 8000 img/s through medzoo.
3. Wall time of ``medzoo run quick`` (default preset, fresh output folder; data from ``--data-dir``, else
   ``$MEDZOO_DATA``, else ``../shared/data``).
4. ``train.compile: true`` (on CUDA ``reduce-overhead``: CUDA graphs) against eager on simple_cnn at 28 px:
   dropout masks, features kept across calls, the loss curve and img/s (``gpu_check_compile.py``).
5. Packing: 1, 2, 4, 8 runs of the quick suite's unsupervised task (resnet18_28, 28 px, bf16, 20 epochs
   evaluated once: 360 steps a run, so its images/s is training rather than start-up) at once with
   ``--launcher workers --workers-per-gpu N``: images/s summed over the records' ``timings.images_per_s``
   (training throughput while packed) and runs per minute of wall time, each against N = 1, each count
   printed as it is measured. Goal: > 3x at 8.

``--budget-s`` (default 480) bounds the whole check below a device call's 10 minutes: the quick suite and
each packing count get the seconds left (at most 420 and 300), and a section with too little left prints
``FAILED: TimeoutError`` and is skipped, so the numbers already measured are printed, not lost to a kill.

MFU = training FLOPs of one step (``torch.utils.flop_counter.FlopCounterMode`` on the plain model:
forward + backward, counted once) x steps per second / the peak (989 TFLOP/s dense bf16, H100 SXM;
``--peak-tflops`` for another card). Both loops run with torch's defaults (no cudnn.benchmark, as ``medzoo
run``); their rounds are interleaved and medians compared, so machine noise hits both alike.

``--smoke`` (or ``MEDZOO_GPU_CHECK_SMOKE=1``): a tiny mode that proves the script works on a CPU in well
under a minute: a step or two at batch 2 (resnet50 at 32 px; float32 on a CPU), no quick suite, packing 1 and 2
runs of a synthetic two-step suite (``--workers N`` on a CPU, where ``--workers-per-gpu`` has no GPU to pack on).
Goals are printed, not asserted; the exit status is 1 only if a step failed.

Usage::

    MEDZOO_DATA=../shared/data benchmarks/gpu_check.sh            # or: python benchmarks/gpu_check.py
    python benchmarks/gpu_check.py --smoke                        # CPU, seconds
    # on a lent GPU machine: see benchmarks/gpu_check.sh (the data copied into .gpu-data, --install)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

H100_PEAK_TFLOPS = 989.0  # dense bf16, H100 SXM (NVIDIA's datasheet; 1979 is with 2:4 sparsity); H200: the same
GOAL_RESNET50_IMG_S = 8000
GOAL_R18_RATIO = 1.2
GOAL_PACKING_AT_8 = 3.0
TRAIN = {"lr": 1e-3, "optimizer": "adam", "weight_decay": 0.0, "momentum": 0.9, "scheduler": "none",
         "milestones": [], "gamma": 0.1}


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def synthetic_task(n: int, chans: int, size: int, classes: int = 2, seed: int = 0):
    """A TaskData whose source and target are one synthetic domain of ``n`` uint8 (chans, size, size) images."""
    from zoo.bench.task_data import TaskData
    from zoo.datasets.base import Domain, Split

    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, chans, size, size), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, classes, (n,), generator=g)
    split = Split(images, labels)
    domain = Domain(name="synthetic", splits={"train": split, "val": split, "test": split},
                    label_names=[str(c) for c in range(classes)], modality="synthetic", license="none", citation="none")
    return TaskData(source=domain, target=domain, target_labeled=None, target_val_labeled=None)


def build_model(backbone: str, options: dict, classes: int = 2):
    from zoo.algorithms.source_only import SourceOnly
    from zoo.backbones import create_backbone

    torch.manual_seed(0)
    return SourceOnly(create_backbone(backbone, **options), num_classes=classes)


def train_flops(model, x: torch.Tensor, y: torch.Tensor, amp: bool) -> int:
    """FLOPs of one training step (forward + backward) of ``model`` on the batch ``x``, ``y``."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp):
            loss = F.cross_entropy(model.predict(x), y)
        loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


class PlainLoop:
    """The baseline: a hand-written loop (uint8 images on the device, random batches, bf16 autocast if ``amp``)."""

    def __init__(self, model, data, batch: int, device: torch.device, amp: bool) -> None:
        split = data.source.splits["train"]
        self.model = model.to(device).to(memory_format=torch.channels_last)
        self.images, self.labels = split.images.to(device), split.labels.to(device)
        config = model.backbone.config
        self.mean = torch.tensor(config.mean, device=device).view(1, -1, 1, 1)
        self.std = torch.tensor(config.std, device=device).view(1, -1, 1, 1)
        self.batch, self.device, self.amp = batch, device, amp
        extra = {"fused": True} if device.type == "cuda" else {}
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3, **extra)
        self.generator = torch.Generator(device=device).manual_seed(0)

    def batch_xy(self):
        idx = torch.randint(0, len(self.labels), (self.batch,), device=self.device, generator=self.generator)
        x = (self.images[idx].float() / 255.0 - self.mean) / self.std  # (B, C, H, W)
        return x.contiguous(memory_format=torch.channels_last), self.labels[idx]

    def __call__(self, steps: int) -> None:
        self.model.train()
        for _ in range(steps):
            x, y = self.batch_xy()
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
                loss = F.cross_entropy(self.model.predict(x), y)
            loss.backward()
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)


def medzoo_loop(model, data, batch: int, cpu: bool):
    """``steps -> None``: medzoo's epoch loop on what ``train_run`` builds for one source stage (bf16 on CUDA;
    float32 on a CPU, whose bf16 autocast is slower than float32 without AMX units)."""
    from accelerate import Accelerator

    from zoo.algorithms.base import Stage
    from zoo.backbones.normalize import Normalizer
    from zoo.runner.loop import BatchFeeder, train_epoch
    from zoo.runner.optim import build_optimizer, build_scheduler, prepare_optimizer
    from zoo.runner.streams import TrainStreams

    accelerator = Accelerator(mixed_precision="no" if cpu else "bf16", cpu=cpu)
    model.to(memory_format=torch.channels_last)  # as train_run holds a conv net
    prepared = accelerator.prepare_model(model)
    streams = TrainStreams(accelerator, data, batch, seed=0)
    optimizer = prepare_optimizer(accelerator, build_optimizer(model.param_groups(), TRAIN))
    scheduler = build_scheduler(optimizer, TRAIN, streams.steps_per_epoch, 1)
    stage = Stage("train", "source")
    model.set_stage(stage)
    config = model.backbone.config
    normalizer = Normalizer(config.mean, config.std, in_chans=config.in_chans).to(accelerator.device)
    feeder = BatchFeeder(streams, stage, normalizer, channels_last=True)

    def run(steps: int) -> None:
        sums, _ = train_epoch(accelerator, prepared, feeder, optimizer, scheduler, steps)
        float(sums["loss"])  # the runner reads its sums once per epoch

    return run, accelerator.device


def compare_loops(label: str, backbone: str, options: dict, chans: int, size: int, batch: int, n_images: int,
                  steps: int, rounds: int, peak_tflops: float, cpu: bool) -> dict:
    """Images/s and MFU of medzoo's loop and the plain loop on one model, rounds interleaved."""
    data = synthetic_task(n_images, chans, size)
    runner, device = medzoo_loop(build_model(backbone, options), data, batch, cpu)
    amp = device.type == "cuda"
    plain = PlainLoop(build_model(backbone, options), data, batch, device, amp)
    flops = train_flops(plain.model, *plain.batch_xy(), amp)
    times: dict[str, list[float]] = {"plain": [], "medzoo": []}
    for name, fn in (("plain", plain), ("medzoo", runner)):  # warm-up: kernels chosen, memory pools grown
        fn(max(1, steps // 4))
    _sync(device)
    for _ in range(rounds):
        for name, fn in (("plain", plain), ("medzoo", runner)):
            started = time.perf_counter()
            fn(steps)
            _sync(device)
            times[name].append(time.perf_counter() - started)
    rate = {name: steps * batch / statistics.median(t) for name, t in times.items()}
    mfu = {name: flops * r / batch / (peak_tflops * 1e12) for name, r in rate.items()}
    ratio = rate["plain"] / rate["medzoo"]
    print(f"[{label}] {size} px, batch {batch}, {'bf16' if amp else 'float32'}, channels_last, {device}: "
          f"{flops / batch / 1e9:.2f} GFLOP/img per training step")
    for name in ("medzoo", "plain"):
        print(f"  {name:6s} {rate[name]:10.0f} img/s   MFU {100 * mfu[name]:5.2f}% of {peak_tflops:.0f} TFLOP/s")
    print(f"  plain / medzoo: {ratio:.3f}x", flush=True)
    return {"medzoo_img_s": rate["medzoo"], "plain_img_s": rate["plain"], "ratio": ratio,
            "mfu_medzoo": mfu["medzoo"], "mfu_plain": mfu["plain"], "device": str(device)}


def pinned_chunks(n_images: int, size: int, batch: int, cuda: bool) -> dict:
    """A 224 px split streamed in pinned chunks (``DeviceBatches(resident_limit_bytes=0)``) against the same
    split moved to the device whole: the same batches for two passes, and the img/s each delivers."""
    from zoo.runner.batches import DeviceBatches

    split = synthetic_task(n_images, 3, size).source.splits["train"]
    device = torch.device("cuda" if cuda else "cpu")
    streams = {"resident": DeviceBatches(split, batch, 0, device, drop_last=True),
               "streamed": DeviceBatches(split, batch, 0, device, drop_last=True, resident_limit_bytes=0)}
    steps = 2 * len(streams["resident"])
    if cuda:  # hold the copy stream back: a batch read before its copy has landed would differ (a race check)
        with torch.cuda.stream(streams["streamed"].chunks.stream):
            torch.cuda._sleep(200_000_000)  # about 0.1 s of GPU cycles before the first chunk's copy
    same = all(all(torch.equal(a, b) for a, b in zip(next(streams["resident"]), next(streams["streamed"])))
               for _ in range(steps))
    rate = {}
    for name, stream in streams.items():
        _sync(device)
        started = time.perf_counter()
        for _ in range(steps):
            images, _labels = next(stream)
            images.float().sum()  # the step reads the batch
        _sync(device)
        rate[name] = steps * batch / (time.perf_counter() - started)
    print(f"[pinned chunks] {n_images} images of 3x{size}x{size}, batch {batch}: same batches {same}; "
          f"delivered img/s resident {rate['resident']:.0f}, streamed {rate['streamed']:.0f}", flush=True)
    if not same:
        raise AssertionError("streamed batches differ from the resident ones")
    return rate


def main(argv: list[str] | None = None) -> int:
    from gpu_check_runs import packing, quick_suite  # beside this file: the sections that start processes

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", default=os.environ.get("MEDZOO_GPU_CHECK_SMOKE") == "1",
                        help="tiny CPU-sized mode (also MEDZOO_GPU_CHECK_SMOKE=1)")
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("MEDZOO_DATA", "../shared/data")))
    parser.add_argument("--peak-tflops", type=float, default=H100_PEAK_TFLOPS, help="the card's dense bf16 peak")
    parser.add_argument("--budget-s", type=float, default=480.0,
                        help="seconds for the whole check (default 480: a 10-minute device call with room to spare); "
                             "the quick suite and packing get what is left, and a section with none is skipped")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    def time_left() -> float:
        return args.budget_s - (time.perf_counter() - started)

    cuda = torch.cuda.is_available()
    gpus = torch.cuda.device_count() if cuda else 0
    name = torch.cuda.get_device_name(0) if cuda else "CPU (no CUDA device)"
    print(f"medzoo GPU check on {name}{' (smoke mode)' if args.smoke else ''}; torch {torch.__version__}; "
          f"MFU against {args.peak_tflops:.0f} TFLOP/s (H100 SXM dense bf16 unless --peak-tflops)", flush=True)
    if args.smoke:
        # one intra-op thread: on a small shared CPU a second spinning OpenMP thread makes a step 10x slower
        torch.set_num_threads(1)
        sizes = {"r18": dict(batch=2, n_images=8, steps=1, rounds=1),
                 "r50": dict(size=32, batch=2, n_images=8, steps=1, rounds=1)}
        counts = [1, 2]
    else:
        sizes = {"r18": dict(batch=128, n_images=4096, steps=100, rounds=5),
                 "r50": dict(size=224, batch=256, n_images=1024, steps=20, rounds=5)}
        counts = [1, 2, 4, 8]
    summary, failed = [], []

    def step(label: str, fn):
        began = time.perf_counter()
        try:
            return fn()
        except Exception as err:  # noqa: BLE001 - report and go on: the other numbers still matter
            failed.append(label)
            print(f"[{label}] FAILED: {type(err).__name__}: {err}", flush=True)
            return None
        finally:
            print(f"  ({label}: {time.perf_counter() - began:.1f} s)", flush=True)

    r18 = step("resnet18_28", lambda: compare_loops(
        "resnet18_28", "resnet18_28", {"in_chans": 1}, 1, 28, sizes["r18"]["batch"], sizes["r18"]["n_images"],
        sizes["r18"]["steps"], sizes["r18"]["rounds"], args.peak_tflops, cpu=not cuda))
    if r18:
        verdict = "n/a in smoke mode" if args.smoke else _verdict(r18["ratio"] <= GOAL_R18_RATIO)
        summary.append(f"resnet18_28 medzoo {r18['medzoo_img_s']:.0f} img/s, MFU {100 * r18['mfu_medzoo']:.1f}%, "
                       f"plain/medzoo {r18['ratio']:.2f}x (goal <= {GOAL_R18_RATIO}x): {verdict}")
    r50 = step("resnet50", lambda: compare_loops(
        "timm resnet50", "timm/resnet50", {"in_chans": 3, "pretrained": False}, 3, sizes["r50"]["size"],
        sizes["r50"]["batch"], sizes["r50"]["n_images"], sizes["r50"]["steps"], sizes["r50"]["rounds"],
        args.peak_tflops, cpu=not cuda))
    if r50:
        verdict = "n/a in smoke mode" if args.smoke else _verdict(r50["medzoo_img_s"] >= GOAL_RESNET50_IMG_S)
        summary.append(f"resnet50@{sizes['r50']['size']} medzoo {r50['medzoo_img_s']:.0f} img/s, MFU "
                       f"{100 * r50['mfu_medzoo']:.1f}% (goal >= {GOAL_RESNET50_IMG_S} img/s at 224 px): {verdict}")
    chunk_sizes = dict(n_images=8, size=32, batch=2) if args.smoke else dict(n_images=2048, size=224, batch=256)
    chunks = step("pinned chunks", lambda: pinned_chunks(cuda=cuda, **chunk_sizes))
    if chunks:
        summary.append(f"{chunk_sizes['size']} px split streamed in pinned chunks: {chunks['streamed']:.0f} img/s "
                       f"delivered (resident: {chunks['resident']:.0f}); same batches")
    def compile_section():
        from gpu_check_compile import compile_check

        return compile_check(torch.device("cuda" if cuda else "cpu"), steps=3 if args.smoke else 50,
                             batch=4 if args.smoke else 128)

    compiled = step("compile", compile_section)
    if compiled:
        summary.append(f"train.compile ({compiled['mode']}): {compiled['speedup']:.2f}x eager img/s, loss within "
                       f"{compiled['loss_diff']:.1e}; dropout, kept features, curve "
                       f"{'as eager' if compiled['passed'] else 'WRONG'}")
        if not compiled["passed"]:
            failed.append("compile")
    if cuda:  # the runs below start their own processes: give them the memory this one cached
        import gc

        gc.collect()
        try:
            torch.cuda.empty_cache()
        except RuntimeError as err:  # a sticky CUDA error of a section above: the processes below still run
            print(f"(could not empty the CUDA cache: {err})", flush=True)
    with tempfile.TemporaryDirectory(prefix="medzoo-gpu-check-") as tmp:
        work = Path(tmp)
        if args.smoke:
            print("[quick suite] skipped in smoke mode")
        else:
            quick = step("quick suite", lambda: quick_suite(args.data_dir, work, min(420.0, time_left() - 60)))
            if quick:
                summary.append(f"medzoo run quick: {quick['wall_s']:.0f} s wall ({quick['runs']} runs)")
        packed = step("packing", lambda: packing(counts, work, args.data_dir, gpus, args.smoke, time_left))
    if packed:
        last = packed[counts[-1]]
        verdict = _verdict(last["img_s_scaling"] > GOAL_PACKING_AT_8) if counts[-1] == 8 else "n/a in smoke mode"
        summary.append(f"packing {counts[-1]} runs: {last['img_s_scaling']:.2f}x img/s, "
                       f"{last['runs_per_min_scaling']:.2f}x runs/min vs 1 "
                       f"(goal > {GOAL_PACKING_AT_8}x at 8): {verdict}")
    print("summary:")
    for line in summary:
        print(f"  {line}")
    print(f"gpu check {'FAILED: ' + ', '.join(failed) if failed else 'done'} in {time.perf_counter() - started:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
