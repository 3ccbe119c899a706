"""AdaBN: source-only training, then BatchNorm statistics re-estimated on the unlabeled target images.

Li, Wang, Shi, Hou & Liu, "Revisiting Batch Normalization for Practical Domain Adaptation", ICLR workshop
2017 (arXiv:1603.04779, 2016); journal version "Adaptive Batch Normalization for Practical Domain
Adaptation", Pattern Recognition 80, 2018. Training is ``source_only``'s. At test time every BatchNorm
layer normalises target images with the mean and variance of the *target* domain (Algorithm 1 of the
paper: the statistics of each layer's responses over all target images), while the weights, and the
scale and shift of BatchNorm, stay the source model's. Source splits keep the source statistics.

It is the control for adaptation methods that forward source and target in one batch: their BatchNorm
layers normalise with target statistics too, so a gain over ``source_only`` can be AdaBN's rather than
the alignment's (compare with ``adabn`` and with the method's weight-0 twin). On a backbone without
BatchNorm (``simple_cnn`` unless ``norm: batch``), AdaBN is ``source_only`` exactly.

Implementation: the runner evaluates target splits inside ``evaluation_state("target", unlabeled)``; the
target training images pass once through the network in eval mode except BatchNorm, whose running
averages are reset and accumulated as a cumulative average (``momentum=None``, as
``torch.optim.swa_utils.update_bn``), then restored on exit. The saved checkpoint holds the source
statistics; the stored target predictions were made with the target's.

Usage::

    algo = AdaBN(zoo.create_backbone("resnet18_28", in_chans=1), num_classes=2)
    with algo.evaluation_state("target", lambda: target_batches):    # (B, C, H, W) normalised batches
        logits = algo.predict(x_target)
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterable, Iterator

import torch
from torch import nn

from zoo.algorithms.source_only import SourceOnly

_BN = nn.modules.batchnorm._BatchNorm


@torch.no_grad()
def reestimate_batchnorm(model: nn.Module, batches: Iterable[torch.Tensor], forward: Callable) -> int:
    """Replace every BatchNorm layer's running mean/var with their average over ``batches``; returns the
    number of images seen. Other layers run in eval mode (no dropout)."""
    layers = [m for m in model.modules() if isinstance(m, _BN) and m.track_running_stats]
    was_training = model.training
    momenta = [m.momentum for m in layers]
    model.eval()
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average: every batch counts equally
        m.train()
    seen = 0
    try:
        for x in batches:  # (B, C, H, W)
            forward(x)
            seen += len(x)
    finally:
        for m, momentum in zip(layers, momenta):
            m.momentum = momentum
        model.train(was_training)
    return seen


class AdaBN(SourceOnly):
    """Source-only training; target splits are evaluated with target BatchNorm statistics."""

    SETTINGS = ("transfer", "source_free", "semi_supervised")  # it reads target images: not in generalization
    PAPER = ("Li et al., Revisiting Batch Normalization for Practical Domain Adaptation, 2016 (arXiv:1603.04779); "
             "Pattern Recognition 80, 2018")

    @contextlib.contextmanager
    def evaluation_state(self, domain: str, unlabeled: Callable[[], Iterator[torch.Tensor]]):
        layers = [m for m in self.modules() if isinstance(m, _BN) and m.track_running_stats]
        if domain != "target" or not layers:
            yield
            return
        saved = [(m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.clone()) for m in layers]
        try:
            reestimate_batchnorm(self, unlabeled(), self.predict)
            yield
        finally:  # the source statistics come back for training and for source splits
            for m, (mean, var, count) in zip(layers, saved):
                m.running_mean.copy_(mean)
                m.running_var.copy_(var)
                m.num_batches_tracked.copy_(count)
