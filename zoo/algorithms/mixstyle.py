"""MixStyle: mix the feature statistics ("styles") of training instances to synthesise new domains.

Zhou, Yang, Qiao & Xiang, "Domain Generalization with MixStyle", ICLR 2021, Eq. 3-5. After early layers of
the backbone, in training mode only and with probability ``p`` per layer and batch, each instance's feature
map ``x`` (C, H, W) is re-styled with the channel-wise mean and std mixed with those of a partner instance:

    mu, sig = mean(x, (H, W)), sqrt(var(x, (H, W)) + eps)      # (B, C, 1, 1), detached (no gradient)
    lambda_i ~ Beta(alpha, alpha)                                # one per instance
    out = (x - mu) / sig * (lambda sig + (1 - lambda) sig[partner]) + (lambda mu + (1 - lambda) mu[partner])

``var`` is unbiased and ``eps`` 1e-6, as the authors' code. The partner is a random permutation of the batch
(``mix: random``) or, with ``mix: crossdomain``, an instance of another source domain, picked uniformly among
the batch's instances whose ``d`` differs (the authors' code instead assumes a batch of two equal halves of
two domains and swaps them; this works for any layout). A batch holding one domain falls back to ``random``.
The loss is plain cross-entropy over the concatenated sources; the target is never read.

Where: forward hooks after the layers at stride 4 and 8 of the backbone, the paper's choice for ResNet
(after ``layer1`` and ``layer2``): for a timm model its ``feature_info`` modules at those strides (ResNet
``layer1``, ``layer2``; ConvNeXt ``stages.0``, ``stages.1``; EfficientNet ``blocks.1``, ``blocks.2``), for
``simple_cnn`` its ``conv_blocks.0`` and ``conv_blocks.1``. Any other backbone (or a timm model without
channels-first stride-4/8 maps, e.g. a ViT) is refused with a one-line ``ConfigError``. The hooks do nothing
in eval mode, so ``predict`` is deterministic and the same as without MixStyle; the state dict is the plain
model's (no parameters or buffers are added).

Randomness: the coin (p), lambda and the partners are drawn from torch's global CPU generator, which the
runner seeds (the authors use Python's ``random`` for the coin and torch's global generator for the rest);
drawing on the CPU keeps runs identical across devices and adds no device synchronisation. Under
``train.compile`` the coin breaks the compiled graph at each hooked layer (correct, a little slower).

Usage::

    algo = MixStyle(zoo.create_backbone("resnet18_28", in_chans=3), num_classes=7, hparams={"mix": "crossdomain"})
    algo.mix_layers                               # ['model.layer1', 'model.layer2']
    out = algo.training_step((x, y, d), None)     # {"loss", "mixed_layers", "acc"}
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from zoo.algorithms.base import Algorithm, Batch, HParam
from zoo.errors import ConfigError
from zoo.losses.domain_groups import unpack_domains

EPS = 1e-6  # added to the variance before the square root, as the authors' code
MIX_ORDERS = ("random", "crossdomain")
STRIDES = (4, 8)  # the early layers MixStyle follows: ResNet's layer1 and layer2


def mix_statistics(x: torch.Tensor, lam: torch.Tensor, partner: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """``x`` (B, C, H, W) re-styled with statistics mixed with ``partner`` (B,) long by ``lam`` (B,) (Eq. 3-5).

    Computed in float32 (returned in ``x``'s dtype); the statistics are detached, the gradient flows through
    the normalised map.
    """
    xf = x.float()
    mu = xf.mean(dim=(2, 3), keepdim=True).detach()  # (B, C, 1, 1)
    sig = (xf.var(dim=(2, 3), keepdim=True) + eps).sqrt().detach()  # (B, C, 1, 1), unbiased variance
    lam = lam.to(xf).view(-1, 1, 1, 1)  # (B, 1, 1, 1)
    partner = partner.to(x.device)
    mu_mix = lam * mu + (1 - lam) * mu[partner]  # (B, C, 1, 1)
    sig_mix = lam * sig + (1 - lam) * sig[partner]  # (B, C, 1, 1)
    return ((xf - mu) / sig * sig_mix + mu_mix).to(x.dtype)


def draw_partners(batch_size: int, domains: torch.Tensor | None, order: str) -> torch.Tensor:
    """Each instance's partner (B,) long on the CPU: a random permutation (``random``), or a uniform pick among
    the instances of other domains (``crossdomain``, ``domains`` (B,); one domain or none: ``random``)."""
    if order == "crossdomain" and domains is not None and len(torch.unique(domains)) > 1:
        other = (domains[:, None] != domains[None, :]).float()  # (B, B) 1 where the domains differ
        return torch.multinomial(other, 1).squeeze(1)  # (B,) every row has a candidate: >= 2 domains present
    return torch.randperm(batch_size)


def find_mix_layers(backbone: nn.Module) -> list[str]:
    """Names (in ``backbone.named_modules()``) of the layers MixStyle follows; ``ConfigError`` if none."""
    blocks = getattr(backbone, "conv_blocks", None)  # simple_cnn: (N, 32, 14, 14) and (N, 64, 7, 7) at 28 px
    if isinstance(blocks, nn.ModuleList) and len(blocks) >= 2:
        return ["conv_blocks.0", "conv_blocks.1"]
    model = getattr(backbone, "model", None)  # a timm backbone
    info = getattr(model, "feature_info", None)
    info = getattr(info, "info", info)  # timm's FeatureInfo wraps the list of dicts
    fmt = getattr(model, "output_fmt", "NCHW")  # timm's stage layout; Swin's is NHWC
    channels_first = str(getattr(fmt, "value", fmt)) == "NCHW"
    found = {}
    if isinstance(info, (list, tuple)) and channels_first:
        for entry in info:  # the last module at each stride: the output of that stage
            if isinstance(entry, dict) and entry.get("reduction") in STRIDES and entry.get("module"):
                found[entry["reduction"]] = f"model.{entry['module']}"
    if not found:
        name = getattr(getattr(backbone, "config", None), "name", type(backbone).__name__)
        raise ConfigError(f"MixStyle found no layer to follow in backbone {name}: it looks for "
                          "simple_cnn's conv_blocks.0/1 or a timm model's channels-first feature_info stages at "
                          f"stride {' and '.join(map(str, STRIDES))} (ResNet layer1/layer2)")
    return [found[s] for s in sorted(found)]


class MixStyle(Algorithm):
    """Cross-entropy with MixStyle after the backbone's early layers (training mode only)."""

    PAPER = "Zhou, Yang, Qiao & Xiang, Domain Generalization with MixStyle, ICLR 2021"
    SOURCE_DOMAINS = True
    SETTINGS = ("generalization", "transfer")
    HPARAMS = {
        "p": HParam(0.5, ("uniform", 0.1, 0.9), "probability of mixing, per hooked layer and batch", low=0, high=1),
        "alpha": HParam(0.1, ("log", 0.05, 1.0), "Beta(alpha, alpha) of the mixing weight lambda", low=0,
                        low_open=True),
        "mix": HParam("random", help="partners: a random permutation, or instances of another source domain",
                      choices=list(MIX_ORDERS)),
    }

    def __init__(self, backbone, num_classes: int, hparams: dict[str, Any] | None = None) -> None:
        super().__init__(backbone, num_classes, hparams)
        self.mix_layers = find_mix_layers(backbone)
        alpha = torch.tensor(float(self.hparams["alpha"]))
        self._beta = torch.distributions.Beta(alpha, alpha)  # CPU parameters: samples from the global CPU generator
        self._domains: torch.Tensor | None = None  # (N,) on the CPU during a training step (crossdomain)
        self._mixed = 0  # hooked layers that mixed in the current training step
        self.last_mix: list[tuple[torch.Tensor, torch.Tensor]] = []  # (lambda (B,), partner (B,)) per mix, to inspect
        modules = dict(backbone.named_modules())
        self._hooks = [modules[name].register_forward_hook(self._mix_hook) for name in self.mix_layers]

    def _mix_hook(self, module: nn.Module, inputs: Any, output: Any) -> Any:
        """Forward hook: ``output`` (B, C, H, W) re-styled, or None (unchanged) in eval mode or on a lost coin."""
        if not (self.training and module.training) or not torch.is_tensor(output) or output.dim() != 4:
            return None
        batch, _, height, width = output.shape
        if batch < 2 or height * width < 2:  # no partner, or no variance over a single position
            return None
        if float(torch.rand(())) >= self.hparams["p"]:  # global CPU generator; mixes with probability p
            return None
        domains = self._domains if self._domains is not None and len(self._domains) == batch else None
        lam = self._beta.sample((batch,))  # (B,) on the CPU
        partner = draw_partners(batch, domains, self.hparams["mix"])  # (B,) on the CPU
        self._mixed += 1
        self.last_mix.append((lam, partner))
        del self.last_mix[:-len(self.mix_layers)]  # one forward pass's worth, also outside training_step
        return mix_statistics(output, lam, partner)

    def training_step(self, source_batch: Batch | None, target_batch: Batch | None) -> dict[str, torch.Tensor]:
        x, y, d = unpack_domains(source_batch)  # (N, C, H, W), (N,), (N,)
        self._mixed, self.last_mix = 0, []
        need_domains = self.training and self.hparams["mix"] == "crossdomain"
        self._domains = d.cpu() if need_domains else None  # read by the hooks during this forward pass
        try:
            logits = self.predict(x)  # (N, K), re-styled after the hooked layers in training mode
        finally:
            self._domains = None
        return {
            "loss": self.cross_entropy(logits, y),
            "mixed_layers": logits.new_tensor(float(self._mixed)).detach(),
            "acc": (logits.argmax(1) == y).float().mean().detach(),
        }
