"""Gradual unfreezing: train the head first, then unfreeze the backbone top-down, one block per stage.

Howard & Ruder, "Universal Language Model Fine-tuning for Text Classification" (ULMFiT), ACL 2018: unfreezing
from the top avoids destroying the pretrained lower layers with the large early gradients of a new head.
Stage 0 trains the head alone (a ``features`` stage, so it runs on cached features); stage ``i`` trains
the head and the top ``i`` blocks of ``backbone.blocks()``.

``schedule`` replaces the top-down default with explicit stages separated by ``;``, each ``head``, ``all``,
``last:K`` or comma-separated layer names, e.g. ``"head; layer4; layer3,layer4; all"``. A name that is not a
layer of the backbone, or more stages than blocks, is a one-line error when the model is built.

Usage::

    algo = GradualUnfreeze(zoo.create_backbone("resnet18_28"), 2, {"num_stages": 3, "epochs_per_stage": 2})
    [s.name for s in GradualUnfreeze.stages(algo.hparams, 0.1)]    # ['unfreeze-0', 'unfreeze-1', 'unfreeze-2']
"""

from __future__ import annotations

from typing import Any

from zoo.algorithms.base import HParam, Stage
from zoo.algorithms.freezing import check_trainable_spec
from zoo.algorithms.strategy import FinetuneStrategy
from zoo.errors import ConfigError


def parse_schedule(text: str) -> list[Any]:
    """``"head; layer4; layer3,layer4"`` -> ``["head", ["layer4"], ["layer3", "layer4"]]``."""
    specs: list[Any] = []
    for part in text.split(";"):
        part = part.strip()
        if part in ("head", "all") or part.startswith("last:"):
            specs.append(part)
        elif part:
            specs.append([name.strip() for name in part.split(",") if name.strip()])
    return specs


class GradualUnfreeze(FinetuneStrategy):
    """Head, then the top block, then the top two, ... (or an explicit ``schedule``)."""

    PAPER = "Howard & Ruder, Universal Language Model Fine-tuning for Text Classification, ACL 2018"
    HPARAMS = {
        "num_stages": HParam(3, ("int", 2, 6), "stages of the top-down default: head, +1 block, +2 blocks, ...",
                             low=2),
        "epochs_per_stage": HParam(0, ("int", 0, 50), "epochs of each stage (0: train.epochs)", low=0),
        "schedule": HParam("", ["", "head; last:1; all", "head; last:2; all"],
                           "explicit stages, ';'-separated: head | all | last:K | layer names (comma-separated)"),
    }

    @classmethod
    def validate_hparams(cls, hparams: dict[str, Any]) -> None:
        # The grammar of ``schedule`` is more than one HParam can declare (bounds and choices are checked there).
        if hparams["schedule"].strip():
            specs = parse_schedule(hparams["schedule"])
            if not specs:
                raise ConfigError("gradual_unfreeze: schedule has no stages; e.g. schedule='head; last:1; all'")
            for i, spec in enumerate(specs):
                check_trainable_spec(spec, f"gradual_unfreeze schedule stage {i}")

    @staticmethod
    def _specs(hparams: dict[str, Any]) -> list[Any]:
        if hparams["schedule"].strip():
            return parse_schedule(hparams["schedule"])
        return ["head", *(f"last:{i}" for i in range(1, hparams["num_stages"]))]

    @classmethod
    def target_stages(cls, hparams: dict[str, Any]) -> list[Stage]:
        epochs = hparams["epochs_per_stage"] or None
        return [Stage(f"unfreeze-{i}", "target_labeled", epochs=epochs, features=spec == "head")
                for i, spec in enumerate(cls._specs(hparams))]

    def trainable(self, stage: Stage) -> Any:
        return self._specs(self.hparams)[int(stage.name.rsplit("-", 1)[1])]
