"""The peer side of ``test_vs_skada.py``: skada's DeepCoral on the arrays medzoo trains on, as its users write it.

One process, timed whole by the benchmark: torch and skada imports, the network (medzoo's SimpleCNN with
BatchNorm and a linear head, so both sides train the same architecture), ``fit`` for the given epochs on
source images with labels plus target images without (skada's masked label -1, negative sample_domain),
then the target test accuracy. Prints one JSON line.

Usage::

    python benchmarks/skada_deepcoral.py source.npz target.npz --epochs 2 --reg 100 --seed 0 --threads 2
"""

from __future__ import annotations

import argparse
import json
import time

STARTED = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from skada.deep import DeepCoral  # noqa: E402
from torch import nn  # noqa: E402

from zoo.backbones.simple_cnn import SimpleCNN  # noqa: E402


class Classifier(nn.Module):
    """SimpleCNN features -> linear head; skada reads the features at ``layer_name="features"``."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        backbone = SimpleCNN(in_chans=1, norm="batch")
        self.backbone = backbone
        self.features = nn.Identity()  # (B, D): the layer whose outputs CORAL aligns
        self.head = nn.Linear(backbone.num_features, num_classes)
        self.mean, self.std = backbone.config.mean[0], backbone.config.std[0]

    def forward(self, x: torch.Tensor, **skada_kwargs) -> torch.Tensor:  # x: (B, 1, 28, 28) float in [0, 1]
        return self.head(self.features(self.backbone((x - self.mean) / self.std)))


def _float(images: np.ndarray) -> np.ndarray:
    return (images.astype(np.float32) / 255.0).reshape(len(images), 1, *images.shape[-2:])  # (N, 1, H, W)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--reg", type=float, default=100.0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's own)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    source, target = np.load(args.source), np.load(args.target)
    x_source, y_source = _float(source["train_images"]), source["train_labels"].astype(np.int64)
    x_target = _float(target["train_images"])
    x = np.concatenate([x_source, x_target])
    y = np.concatenate([y_source, np.full(len(x_target), -1, np.int64)])  # skada's masked target label
    domains = np.concatenate([np.ones(len(x_source), np.int64), np.full(len(x_target), -2, np.int64)])
    num_classes = len(source["label_names"])
    net = DeepCoral(Classifier(num_classes), layer_name="features", reg=args.reg, batch_size=args.batch_size,
                    max_epochs=args.epochs, optimizer=torch.optim.Adam, lr=args.lr, train_split=None,
                    device="cpu", verbose=0)
    net.fit(x, y, sample_domain=domains)
    x_test, y_test = _float(target["test_images"]), target["test_labels"].astype(np.int64)
    predicted = net.predict(x_test, sample_domain=np.full(len(x_test), -2, np.int64))
    print(json.dumps({"target_test_accuracy": float((predicted == y_test).mean()),
                      "wall_s": round(time.perf_counter() - STARTED, 3)}))


if __name__ == "__main__":
    main()
