"""Evaluate a fixed model on the real PneumoniaMNIST test split and write what the main process gathered.

Run as a file, alone (``python eval_worker.py OUT.json --data-dir D``) or under ``accelerate launch
--multi_gpu --num_processes 2 ... eval_worker.py OUT.json --data-dir D``; ``test_multiprocess_eval.py``
compares the two JSON files. The model is built with a fixed seed (same weights in every process) and,
with ``--state``, loads a safetensors state dict the test trained, so the metrics are not trivial.

The eval loader has batches of 100 over 624 images: 7 batches, the last one of 24, so two processes get
an uneven number of batches and Accelerate pads the second one; ``gather_for_metrics`` must drop the
padding. The JSON records both sides of that: each process's local sample count and what was gathered.

Usage::

    python tests/e2e/eval_worker.py /tmp/one.json --data-dir /work/shared/data --state /tmp/model.safetensors
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="JSON file the main process writes")
    parser.add_argument("--data-dir", type=Path, required=True, help="folder holding medmnist/pneumoniamnist.npz")
    parser.add_argument("--state", type=Path, help="safetensors state dict of the SourceOnly model to load")
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args(argv)

    import torch
    from accelerate.utils import set_seed
    from safetensors.torch import load_file

    import zoo
    from zoo.algorithms import ALGORITHMS
    from zoo.backbones.normalize import Normalizer
    from zoo.datasets.medmnist import load_medmnist
    from zoo.runner.batches import make_loader
    from zoo.runner.evaluate import evaluate_loaders, predict
    from zoo.runner.train_record import make_accelerator

    accelerator = make_accelerator("no")  # the runner's own: 2 launched CPU processes -> one gloo group
    set_seed(0)
    backbone = zoo.create_backbone("simple_cnn", in_chans=1)
    model = ALGORITHMS.get("source_only")(backbone, 2)
    if args.state is not None:
        model.load_state_dict(load_file(str(args.state)))
    cfg = backbone.config
    normalizer = Normalizer(cfg.mean, cfg.std, cfg.in_chans).to(accelerator.device)

    domain = load_medmnist("pneumoniamnist", data_dir=args.data_dir)
    test = domain.splits["test"]  # (624, 1, 28, 28) uint8, (624,)
    model = accelerator.prepare_model(model)
    loader = accelerator.prepare_data_loader(make_loader(test, args.batch_size, shuffle=False))

    # What this process sees before gathering (padding included), collected from every process.
    local = torch.tensor([sum(len(labels) for _, labels in loader)], device=accelerator.device)
    local_counts = accelerator.gather(local).tolist()

    metrics = evaluate_loaders(accelerator, model, {"test": loader}, normalizer, domain.label_names)["test"]
    logits, labels = predict(accelerator, model, loader, normalizer)  # (N, 2) float32, (N,) int64, loader order

    if accelerator.is_main_process:
        out = {
            "num_processes": accelerator.num_processes,
            "distributed_type": str(accelerator.distributed_type),
            "local_counts": local_counts,
            "num_batches_per_process": len(loader),
            "gathered": int(len(labels)),
            "labels_sha256": hashlib.sha256(labels.to(torch.int64).numpy().tobytes()).hexdigest(),
            "logits": logits.tolist(),
            "metrics": metrics,
        }
        args.out.write_text(json.dumps(out))
    accelerator.wait_for_everyone()
    accelerator.end_training()  # destroys the gloo group; without it the processes abort at exit
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
