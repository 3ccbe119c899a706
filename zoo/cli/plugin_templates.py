"""The files ``medzoo plugin new`` writes: a package, its entry point, its conformance tests, an example suite.

Templates are ``string.Template`` texts (``${name}`` placeholders, so Python braces need no escaping).
Each kind has its module, its test file and its example suite; the pyproject, README, ``__init__`` and
``.gitignore`` are shared. What a scaffold holds must install and pass its own tests unchanged
(tests/plugins_e2e/test_scaffold.py builds, installs and tests each kind).

Usage::

    files = render("algorithm", entry="my_algo", medzoo_version="0.1")   # {relative path: text}
"""

from __future__ import annotations

from string import Template

PYPROJECT = """\
[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "${dist}"
version = "0.1.0"
description = "A medzoo ${kind} plugin: ${entry}"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["medzoo>=${medzoo_version}"]

[project.optional-dependencies]
test = ["pytest>=8"]

# medzoo finds the ${kind} through this entry point: nothing in medzoo is edited.
[project.entry-points."medzoo.${kind}s"]
${entry} = "${package}.${kind}:${obj}"

[tool.setuptools]
packages = ["${package}"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""

README = """\
# ${dist}

A [medzoo](https://pypi.org/project/medzoo/) ${kind} plugin: the ${kind} `${entry}`, found by medzoo through
the `medzoo.${kind}s` entry point declared in `pyproject.toml`.

```bash
pip install -e ".[test]"          # into the environment where medzoo is installed
medzoo list ${kind}s              # ${entry} from ${dist} 0.1.0
pytest                            # medzoo's conformance checks on ${entry}, and one epoch through its runner
medzoo run example-suite.yaml     # a small suite that uses ${entry}
```

Edit `${package}/${kind}.py`; keep `pytest` green. The tests call `zoo.testing`, the checks medzoo runs on
its own ${kind}s. Publish with `python -m build && twine upload dist/*`; users then `pip install ${dist}`.
See medzoo's guide "Writing a plugin" (docs/writing-a-plugin.md).
"""

INIT = '''\
"""${dist}: the medzoo ${kind} `${entry}` (``${package}.${kind}``), registered by entry point."""

__version__ = "0.1.0"
'''

GITIGNORE = "build/\ndist/\n*.egg-info/\n__pycache__/\n.pytest_cache/\nmedzoo-runs/\n"

ALGORITHM = '''\
"""${obj}: source cross-entropy + entropy minimisation of the unlabeled target predictions.

Grandvalet & Bengio, "Semi-supervised Learning by Entropy Minimization", NIPS 17 (2005): confident
predictions on unlabeled data keep the decision boundary away from dense regions. A starting point:
replace the loss in ``training_step`` with your method. The contract: return losses; never call
``.to(device)``, ``backward()`` or an optimizer (medzoo's runner owns them).

Usage::

    algo = ${obj}(zoo.create_backbone("simple_cnn", in_chans=1), num_classes=2)
    out = algo.training_step((x_s, y_s), (x_t, None))      # {"loss", "ce", "entropy", "acc"}
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from zoo.algorithms import Algorithm, HParam, Stage


class ${obj}(Algorithm):
    """Source cross-entropy + weight x mean entropy of the target predictions."""

    PAPER = "Grandvalet & Bengio, Semi-supervised Learning by Entropy Minimization, NIPS 17 (2005)"
    # default, search space (sweeps draw from it), help, and the valid values: medzoo refuses a suite's
    # weight < 0 (or nan) in one line before training; validate_hparams is only for rules between hparams
    HPARAMS = {
        "weight": HParam(0.1, ("log", 0.01, 1.0), "weight of the target entropy term; 0 = source only", low=0),
    }

    @classmethod
    def stages(cls, hparams: dict[str, Any], target_budget: float) -> list[Stage]:
        return [Stage("adapt", "source+target_unlabeled")]  # target labels are never read

    def training_step(self, source_batch, target_batch) -> dict[str, torch.Tensor]:
        x_s, y_s, x_t = source_batch[0], source_batch[1], target_batch[0]
        logits = self.classifier(self.features(torch.cat([x_s, x_t])))  # (N_s + N_t, K), one pass for BatchNorm
        logits_s, logits_t = logits[: len(x_s)], logits[len(x_s):]
        ce = self.cross_entropy(logits_s, y_s)
        entropy = -(F.softmax(logits_t, 1) * F.log_softmax(logits_t, 1)).sum(1).mean()  # (N_t, K) -> scalar
        return {
            "loss": ce + self.hparams["weight"] * entropy,
            "ce": ce.detach(),
            "entropy": entropy.detach(),
            "acc": (logits_s.argmax(1) == y_s).float().mean().detach(),
        }
'''

BACKBONE = '''\
"""${obj}: a small CNN backbone (two conv-BN-ReLU blocks, global average pooling), any input size.

A starting point: replace the layers with your network. The contract: ``forward_features(x) -> (N, D)``,
``num_features = D`` and a ``BackboneConfig`` (input size, channels, mean/std, licence, weights).

Usage::

    net = ${obj}(in_chans=1)                                  # or zoo.create_backbone("${entry}", in_chans=1)
    net.forward_features(torch.zeros(8, 1, 28, 28)).shape     # (8, 64)
"""

from __future__ import annotations

import torch
from torch import nn

from zoo.backbones import Backbone, BackboneConfig
from zoo.errors import ConfigError


class ${obj}(Backbone):
    """Two conv-BN-ReLU blocks (the second at stride 2) and global average pooling; D = 2 * width."""

    def __init__(self, in_chans: int = 3, pretrained: bool = False, width: int = 32) -> None:
        super().__init__()
        if pretrained:
            raise ConfigError("${entry} has no pretrained weights; use pretrained: false")
        self.blocks_ = nn.ModuleList([
            nn.Sequential(nn.Conv2d(in_chans, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()),
            nn.Sequential(nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, bias=False),
                          nn.BatchNorm2d(2 * width), nn.ReLU()),
        ])
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.num_features = 2 * width
        self.config = BackboneConfig(name="${entry}", input_size=(in_chans, 28, 28), in_chans=in_chans,
                                     mean=(0.5,) * in_chans, std=(0.25,) * in_chans, license="Apache-2.0",
                                     weights="random init")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks_:  # (N, C, H, W) -> (N, w, H, W) -> (N, 2w, H/2, W/2)
            x = block(x)
        return self.pool(x).flatten(1)  # -> (N, 2w)

    def blocks(self) -> list[nn.Module]:
        """The blocks from input to output (for last-k and gradual unfreezing)."""
        return list(self.blocks_)
'''

DATASET = '''\
"""${obj}: a dataset as a medzoo domain: images, integer labels, label names, modality, licence, citation.

A starting point that generates two classes (a bright square, a bright disk) from ``seed``: replace
``load_arrays`` with reading your files (an .npz, a folder, a database), keep the rest. Images are uint8
(N, C, H, W); ``split_pool`` makes seeded stratified train/val/test splits.

Usage::

    domain = ${obj}(n_per_class=30, image_size=28, seed=0)    # in a suite: {dataset: ${entry}, n_per_class: 30}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from zoo.datasets import Domain
from zoo.datasets.partition import split_pool

LABEL_NAMES = ["square", "disk"]


def load_arrays(n_per_class: int, image_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, H, W) uint8 images and (N,) int64 labels. Replace with reading your data."""
    rng = np.random.default_rng(seed)
    axis = np.linspace(-1.0, 1.0, image_size)
    yy, xx = np.meshgrid(axis, axis, indexing="ij")  # (H, W)
    images, labels = [], []
    for label in range(len(LABEL_NAMES)):
        for _ in range(n_per_class):
            cy, cx = rng.uniform(-0.3, 0.3, size=2)
            r = rng.uniform(0.3, 0.5)
            shape = np.maximum(abs(yy - cy), abs(xx - cx)) < r if label == 0 else np.hypot(yy - cy, xx - cx) < r
            image = 0.2 + 0.6 * shape + rng.normal(0.0, 0.05, size=shape.shape)
            images.append((np.clip(image, 0, 1) * 255).round().astype(np.uint8))
            labels.append(label)
    return np.stack(images), np.array(labels, dtype=np.int64)


def ${obj}(n_per_class: int = 30, image_size: int = 28, seed: int = 0, val: float = 0.2, test: float = 0.2) -> Domain:
    """The ${entry} domain: 1-channel ``image_size`` px images, seeded stratified splits.

    Usage::

        domain = ${obj}(n_per_class=30)
    """
    images, labels = load_arrays(n_per_class, image_size, seed)
    x = torch.from_numpy(images).unsqueeze(1)  # (N, H, W) -> (N, 1, H, W) uint8
    splits = split_pool(x, torch.from_numpy(labels), val=val, test=test, seed=seed, where="${entry}")
    return Domain(name="${entry}", splits=splits, label_names=list(LABEL_NAMES), modality="synthetic",
                  license="CC0-1.0", citation="generated by ${dist} (replace with the paper or DOI of your data)",
                  info={"n_per_class": n_per_class, "seed": seed})


def _conformance_kwargs(tmp_dir: Path) -> dict[str, Any]:
    """Options building a small domain for medzoo's conformance kit (write example files under tmp_dir if needed)."""
    return {"n_per_class": 24}


${obj}.conformance_kwargs = _conformance_kwargs
'''

TEST = '''\
"""medzoo's conformance checks on `${entry}` as installed (the same ones medzoo runs on its own ${kind}s).

``medzoo_kit`` is the kit's pytest fixture: medzoo declares it as a pytest11 entry point, so it is there
wherever medzoo is installed; its files go under the test's tmp_path.
"""

import pytest

from zoo.testing import ${checks}

NAME = "${entry}"


def test_the_entry_point_is_installed():
    from zoo.${kind}s import ${registry}

    assert ${registry}.entry(NAME).dist == "${dist}"


@pytest.mark.parametrize("check", sorted(${checks}))
def test_conformance(check${tmp_arg}):
    ${checks}[check](NAME${tmp_pass})


def test_one_epoch_through_the_runner(medzoo_kit):
    record = medzoo_kit.check_runs_one_epoch(${kind}=NAME)
    assert record["metrics"]["target_test"]["n"] > 0
'''

SUITE = """\
# A small suite using ${entry}: `medzoo run example-suite.yaml` (results go to ./medzoo-runs).
suite: ${entry}-example
version: 1
description: ${entry} on a synthetic source -> target appearance shift.
defaults:
  backbone: {name: ${backbone}}
  train: {epochs: 2, batch_size: 32, lr: 0.001}
  seeds: [0]
domains:
  source: {dataset: ${dataset}, ${options}partition: {part: 0, of: 2, seed: 0}}
  target: {dataset: ${dataset}, ${options}partition: {part: 1, of: 2, seed: 0}, shift: {name: contrast, severity: 4}}
tasks:
  - {name: ${entry}-shift, source: source, target: target, target_budget: 0, algorithms: [${algorithms}]}
"""

KIND_MODULES = {"algorithm": ALGORITHM, "backbone": BACKBONE, "dataset": DATASET}
REGISTRIES = {"algorithm": "ALGORITHMS", "backbone": "BACKBONES", "dataset": "DATASETS"}


def class_name(entry: str) -> str:
    """``my_algo`` -> ``MyAlgo``."""
    return "".join(part.capitalize() for part in entry.split("_") if part)


def render(kind: str, entry: str, medzoo_version: str) -> dict[str, str]:
    """Every file of a new ``kind`` plugin named ``entry``, by path relative to the package folder."""
    package = f"medzoo_{entry}"
    values = {
        "kind": kind, "entry": entry, "package": package, "dist": f"medzoo-{entry.replace('_', '-')}",
        "obj": entry if kind == "dataset" else class_name(entry), "medzoo_version": medzoo_version,
        "checks": f"{kind.upper()}_CHECKS", "registry": REGISTRIES[kind],
        "tmp_arg": ", tmp_path" if kind == "dataset" else "", "tmp_pass": ", tmp_path" if kind == "dataset" else "",
        "backbone": entry if kind == "backbone" else "simple_cnn",
        "dataset": entry if kind == "dataset" else "synthetic",
        "options": "" if kind == "dataset" else "n_per_class: 40, ",
        "algorithms": f"source_only, {entry}" if kind == "algorithm" else "source_only",
    }
    fill = lambda text: Template(text).substitute(values)  # noqa: E731
    return {
        "pyproject.toml": fill(PYPROJECT),
        "README.md": fill(README),
        ".gitignore": GITIGNORE,
        f"{package}/__init__.py": fill(INIT),
        f"{package}/{kind}.py": fill(KIND_MODULES[kind]),
        "tests/test_conformance.py": fill(TEST),
        "example-suite.yaml": fill(SUITE),
    }
