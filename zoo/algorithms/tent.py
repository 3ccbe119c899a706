"""TENT: test-time adaptation of the BatchNorm scale and shift by entropy minimisation.

Wang, Shelhamer, Liu, Olshausen & Darrell, "Tent: Fully Test-Time Adaptation by Entropy Minimization",
ICLR 2021 (reference code: github.com/DequanWang/tent). Training is ``source_only``'s. Before the target
splits are evaluated, the model adapts on the unlabeled target images: every parameter is frozen except
the affine parameters of the BatchNorm layers (``weight`` = scale, ``bias`` = shift), BatchNorm normalises
with the statistics of the batch it sees, and Adam (``tent_lr``, 1e-3 as the paper's CIFAR-10-C setting,
betas (0.9, 0.999), no weight decay) minimises the mean prediction entropy of each batch,

    loss = mean_i H(softmax(logits_i)),   H(p) = -sum_k p_k log p_k          # logits (B, K) -> scalar

for ``tent_steps`` passes over the target's unlabeled training images (one step per batch of ``unlabeled()``:
the runner's evaluation batches; the paper's CIFAR-10-C batches hold 200 images). Then the
BatchNorm running statistics are re-estimated on the same images (``reestimate_batchnorm``, as AdaBN) with
the adapted layers, and the runner predicts in eval mode. On exit every weight, buffer, ``requires_grad``
flag, gradient and train/eval mode is restored exactly: evaluation never changes training, and source
splits are evaluated with the source model. ``tent_steps: 0`` is AdaBN exactly.

What differs from the paper: the paper adapts online, on the test batches themselves, and predicts each
test batch with that batch's statistics (its predictions depend on which images share a batch, and on the
order of the batches). Here the adaptation uses the target's unlabeled *training* images, in the order
``unlabeled()`` yields them, and prediction uses the re-estimated running statistics: deterministic
(no randomness is used: the same model and images give the same logits), and each image's prediction is
independent of its evaluation batch. Other modules (dropout) run in eval mode while adapting (the paper
leaves the whole model in train mode); batches of a single image are skipped (their batch statistics are
degenerate). All BatchNorm layers adapt (1d/2d/3d; the paper's code: ``BatchNorm2d``).

On a backbone without BatchNorm (``simple_cnn`` unless ``norm: batch``) there is nothing to adapt: TENT is
``source_only`` exactly, as AdaBN.

Usage::

    algo = TENT(zoo.create_backbone("resnet18_28", in_chans=1), num_classes=2, hparams={"tent_lr": 1e-3})
    with algo.evaluation_state("target", lambda: iter(target_batches)):   # (B, C, H, W) normalised batches
        algo.eval()
        logits = algo.predict(x_target)                                   # adapted model, target statistics
    # here the model is exactly the source model again
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator

import torch
from torch import nn

from zoo.algorithms.adabn import reestimate_batchnorm
from zoo.algorithms.base import HParam
from zoo.algorithms.source_only import SourceOnly

_BN = nn.modules.batchnorm._BatchNorm


def softmax_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy (nats) of ``softmax(logits)``: (B, K) -> (B,); through ``log_softmax``, finite for any logits."""
    logits = logits.float()
    return -(logits.softmax(1) * logits.log_softmax(1)).sum(1)


def _affine_batchnorms(model: nn.Module) -> list[nn.Module]:
    """The BatchNorm layers with a learnable scale and shift (what TENT adapts)."""
    return [m for m in model.modules() if isinstance(m, _BN) and m.affine]


class TENT(SourceOnly):
    """Source-only training; target splits evaluated after entropy minimisation of the BatchNorm affine params."""

    PAPER = ("Wang, Shelhamer, Liu, Olshausen & Darrell, Tent: Fully Test-Time Adaptation by Entropy Minimization, "
             "ICLR 2021")
    SETTINGS = ("transfer", "source_free", "semi_supervised")
    HPARAMS = {
        "tent_lr": HParam(1e-3, ("log", 1e-5, 1e-2), "Adam learning rate of the test-time BatchNorm scale and shift",
                          low=0, low_open=True),
        "tent_steps": HParam(1, ("int", 1, 5), "passes over the target's unlabeled training images (0: AdaBN)",
                             low=0),
    }

    @contextlib.contextmanager
    def evaluation_state(self, domain: str, unlabeled: Callable[[], Iterator[torch.Tensor]]):
        layers = _affine_batchnorms(self)
        if domain != "target" or not layers:
            yield
            return
        params = list(self.parameters())
        saved_state = {k: v.detach().clone() for k, v in self.state_dict(keep_vars=True).items()}
        saved_flags = [p.requires_grad for p in params]
        saved_grads = [p.grad for p in params]  # the tensors themselves (usually None), put back as they were
        saved_modes = [(m, m.training) for m in self.modules()]

        def restore_flags() -> None:  # requires_grad flags, gradients and train/eval modes as they were
            for p, flag, grad in zip(params, saved_flags, saved_grads):
                p.requires_grad_(flag)
                p.grad = grad
            for module, mode in saved_modes:
                module.training = mode

        try:
            self._adapt(layers, unlabeled)
            reestimate_batchnorm(self, unlabeled(), self.predict)  # running statistics of the adapted layers
            restore_flags()  # the runner finds the model as it left it, only the adapted values differ
            yield
        finally:
            with torch.no_grad():
                state = self.state_dict(keep_vars=True)
                for key, value in saved_state.items():
                    state[key].copy_(value)  # in place: same tensors, bit for bit the saved values
            restore_flags()

    def _adapt(self, layers: list[nn.Module], unlabeled: Callable[[], Iterator[torch.Tensor]]) -> None:
        """``tent_steps`` passes of Adam steps on the BatchNorm affine parameters, minimising mean entropy."""
        if self.hparams["tent_steps"] == 0:
            return
        self.requires_grad_(False)
        affine = [p for m in layers for p in (m.weight, m.bias)]  # scale (C,), shift (C,) of each layer
        for p in affine:
            p.requires_grad_(True)
            p.grad = None
        self.eval()  # dropout off: no randomness
        for m in layers:
            m.train()  # normalise with the batch's statistics (the running ones are re-estimated after)
        optimizer = torch.optim.Adam(affine, lr=self.hparams["tent_lr"], betas=(0.9, 0.999), weight_decay=0.0)
        with torch.enable_grad():  # the caller may evaluate under no_grad
            for _ in range(self.hparams["tent_steps"]):
                for x in unlabeled():  # (B, C, H, W)
                    if len(x) < 2:
                        continue
                    loss = softmax_entropy(self.predict(x)).mean()  # (B, K) -> (B,) -> scalar
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
        for p in affine:
            p.grad = None
