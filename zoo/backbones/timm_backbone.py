"""Any timm model as a medzoo backbone: timm builds it, medzoo only removes the head and records its config.

What timm already does and we reuse (docs/architecture.md, principle 11): model names with pretrained tags
(``resnet18.a1_in1k``) and ``hf-hub:`` ids, ``in_chans`` adaptation of pretrained first-conv weights
(summed for 1-channel CT/X-ray, repeated for more), head removal (``num_classes=0``) and the model's own
pooling (``forward_head(pre_logits=True)``). What medzoo adds: the ``small_input`` stem of the MedMNIST v2
"ResNet-18 (28)" baseline, a ``BackboneConfig`` with mean/std reduced to ``in_chans``, ``blocks()`` for
gradual unfreezing, loading a local checkpoint after the stem surgery, and one-line errors.

Usage::

    from zoo.backbones.timm_backbone import create_timm_backbone, resnet18_28
    net = create_timm_backbone("convnext_atto", in_chans=1)      # also: zoo.create_backbone("timm/convnext_atto")
    net = resnet18_28(in_chans=1)                                 # 3x3 stride-1 stem, no max-pool
    net.forward_features(torch.zeros(8, 1, 28, 28)).shape         # (8, 512)
"""

from __future__ import annotations

import difflib
import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from zoo.backbones.base import Backbone, BackboneConfig
from zoo.errors import ConfigError, DataError, UnknownNameError

logger = logging.getLogger(__name__)

# Name prefixes timm resolves itself (remote or local configs): never validated against the local list.
_SOURCE_PREFIXES = ("hf-hub:", "hf_hub:", "local-dir:")


def _check_timm_name(arch: str) -> None:
    """Raise a one-line ``UnknownNameError`` with timm's close matches if ``arch`` is not a timm model."""
    import timm
    from timm.models import split_model_name_tag

    if arch.startswith(_SOURCE_PREFIXES):
        return
    base, tag = split_model_name_tag(arch)
    if not timm.is_model(base):
        close = difflib.get_close_matches(base, timm.list_models(), n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownNameError(f"unknown timm model '{arch}'{hint} (timm.list_models() lists every name)")
    tags = timm.list_pretrained(f"{base}.*") if tag else []
    if tag and arch not in tags:
        close = difflib.get_close_matches(arch, tags, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        listing = ", ".join(tags) if tags else f"none, use '{base}' with pretrained=False"
        raise UnknownNameError(f"unknown pretrained tag '{tag}' for timm model '{base}'{hint} available: {listing}")


def per_channel(values: Any, in_chans: int) -> tuple[float, ...]:
    """Reduce/expand an RGB mean or std to ``in_chans`` values the way timm adapts the first conv.

    1 channel: the average of the three (timm sums the RGB filters, so a grey image stands for all three);
    other counts: channel ``i`` repeats RGB channel ``i % 3`` (timm repeats the filters cyclically).
    """
    values = tuple(float(v) for v in values)
    if len(values) == in_chans:
        return values
    if in_chans == 1:
        return (sum(values) / len(values),)
    return tuple(values[i % len(values)] for i in range(in_chans))


def _is_resnet_stem(model: nn.Module) -> bool:
    return isinstance(getattr(model, "conv1", None), nn.Conv2d) and hasattr(model, "maxpool")


# ``timm``: the model's own init (ResNet: Kaiming fan-out convs, last BN of each block zeroed);
# ``torch_default``: every layer's PyTorch default (``reset_parameters``), as in the MedMNIST v2 code, whose
# ResNet (kuangliu/pytorch-cifar) sets no init of its own.
WEIGHT_INITS = ("timm", "torch_default")


def _reset_to_torch_defaults(model: nn.Module) -> None:
    """Re-initialise every conv, linear and norm layer with PyTorch's own default (e.g. Kaiming-uniform a=sqrt(5))."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear, nn.modules.batchnorm._BatchNorm)):
            module.reset_parameters()


def _make_small_input(model: nn.Module, arch: str) -> None:
    """MedMNIST v2 "ResNet (28)": stem conv 7x7/2 -> 3x3/1 (pad 1, same out channels), max-pool -> Identity.

    At 28 px the feature maps then go 28 (stem) -> 28 (layer1) -> 14 -> 7 -> 4 (layer4) instead of 1x1.
    """
    if not _is_resnet_stem(model):
        raise ConfigError(
            f"small_input supports ResNet-style stems (a single conv1 followed by maxpool, e.g. resnet18, "
            f"resnet50) but timm model '{arch}' has none; drop small_input or pick a ResNet"
        )
    old: nn.Conv2d = model.conv1
    new = nn.Conv2d(old.in_channels, old.out_channels, kernel_size=3, stride=1, padding=1, bias=old.bias is not None)
    nn.init.kaiming_normal_(new.weight, mode="fan_out", nonlinearity="relu")  # timm's ResNet conv init
    if new.bias is not None:
        nn.init.zeros_(new.bias)
    model.conv1 = new
    model.maxpool = nn.Identity()


def _load_checkpoint(model: nn.Module, path: str | Path, in_chans: int) -> None:
    """Load a local checkpoint into ``model`` strictly, except for classifier weights (the head is removed).

    Accepts timm/torch files and safetensors (via ``timm.models.load_state_dict``), either the bare timm
    model's state dict or a medzoo ``TimmBackbone`` one (keys prefixed ``model.``). A 3-channel first conv
    is adapted to ``in_chans`` with timm's ``adapt_input_conv``.
    """
    from timm.models import load_state_dict

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"checkpoint_path '{path}' does not exist; give the path of a .safetensors/.pth file")
    load_state_into(model, load_state_dict(str(path)), in_chans, f"checkpoint '{path}'")


def load_state_into(model: nn.Module, state: dict[str, torch.Tensor], in_chans: int, where: str) -> None:
    """Load a timm (or ``model.``-prefixed medzoo) state dict into ``model``: head dropped, first conv adapted.

    Usage::

        load_state_into(backbone.model, safetensors.torch.load_file(path), in_chans=1, where="hf-hub:org/m")
    """
    from timm.models import adapt_input_conv

    state = dict(state)
    if state and all(k.startswith("model.") for k in state):
        state = {k[len("model."):]: v for k, v in state.items()}
    cfg = getattr(model, "pretrained_cfg", {}) or {}
    classifiers = cfg.get("classifier") or ()
    for name in (classifiers,) if isinstance(classifiers, str) else classifiers:
        state.pop(f"{name}.weight", None)
        state.pop(f"{name}.bias", None)
    first_convs = cfg.get("first_conv") or ()
    for name in (first_convs,) if isinstance(first_convs, str) else first_convs:
        key = f"{name}.weight"
        if key in state and state[key].ndim == 4 and state[key].shape[1] != in_chans:
            # (O, 3, k, k) -> (O, in_chans, k, k): summed for 1 channel, repeated and rescaled otherwise
            state[key] = adapt_input_conv(in_chans, state[key], base_chans=state[key].shape[1])
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).replace("\n", " ").replace("\t", " ")[:300]
        raise ConfigError(f"{where} does not fit this backbone: {first}") from exc


class TimmBackbone(Backbone):
    """A timm model without its classifier; features are the model's own pooled pre-logits.

    Usage::

        bb = TimmBackbone(timm.create_model("resnet18", num_classes=0), config)
    """

    def __init__(self, model: nn.Module, config: BackboneConfig) -> None:
        super().__init__()
        self.model = model
        self.config = config
        # Models with a pre-logits projection (MobileNetV3's conv_head) expose its width as head_hidden_size.
        self.num_features = int(getattr(model, "head_hidden_size", None) or model.num_features)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        # (N, C, H, W) -> timm feature map (N, C', H', W') or tokens (N, T, C') -> pooled (N, num_features)
        x = self.model.forward_features(x)
        return self.model.forward_head(x, pre_logits=True)

    def blocks(self) -> list[nn.Module]:
        """Stages input -> output: ResNets give stem, layer1..layer4; other models their children in order.

        In the generic case a child holding all stages (``blocks``/``stages``/``layers``) is expanded, and
        children without parameters (pooling, flatten, identity head) are skipped.

        Usage::

            for block in backbone.blocks()[:-1]: block.requires_grad_(False)   # train only the last stage
        """
        m = self.model
        if _is_resnet_stem(m) and all(hasattr(m, f"layer{i}") for i in range(1, 5)):
            stem = nn.Sequential(m.conv1, m.bn1, m.act1, m.maxpool)  # shares the modules, registers nothing
            return [stem, m.layer1, m.layer2, m.layer3, m.layer4]
        out: list[nn.Module] = []
        for name, child in m.named_children():
            if name in ("blocks", "stages", "layers") and isinstance(child, (nn.Sequential, nn.ModuleList)):
                out.extend(child)
            else:
                out.append(child)
        return [b for b in out if any(True for _ in b.parameters())]


def _build(
    arch: str,
    name: str,
    in_chans: int,
    pretrained: bool,
    small_input: bool,
    drop_rate: float,
    checkpoint_path: str | Path | None,
    timm_kwargs: dict[str, Any],
) -> TimmBackbone:
    import timm

    _check_timm_name(arch)
    weight_init = timm_kwargs.pop("weight_init", "timm")
    if weight_init not in WEIGHT_INITS:
        raise ConfigError(f"backbone '{name}': weight_init must be one of {', '.join(WEIGHT_INITS)}, "
                          f"got {weight_init!r}")
    if weight_init == "torch_default" and (pretrained or checkpoint_path is not None):
        raise ConfigError(f"backbone '{name}': weight_init=torch_default re-initialises every layer, which would "
                          "discard the pretrained weights; drop weight_init or use pretrained=False")
    if isinstance(in_chans, bool) or not isinstance(in_chans, int) or in_chans < 1:
        raise ConfigError(f"backbone '{name}': in_chans must be a positive integer, got {in_chans!r}")
    try:
        model = timm.create_model(
            arch, pretrained=pretrained, num_classes=0, in_chans=in_chans, drop_rate=drop_rate, **timm_kwargs
        )
    except RuntimeError as exc:  # e.g. "No pretrained weights exist for ..."
        raise ConfigError(f"timm could not build '{arch}': {exc}".replace("\n", " ")) from exc
    except TypeError as exc:  # an option the timm model does not take (from a suite file or an override)
        raise ConfigError(f"timm model '{arch}' does not take these options ({exc}); "
                          "check the backbone options") from exc
    except OSError as exc:  # weights neither reachable nor cached (huggingface_hub raises FileNotFoundError)
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(
            f"could not fetch the weights or config of timm model '{arch}' ({first}); connect to the network "
            "once to fill the Hugging Face cache, pass checkpoint_path=<local file>, or use pretrained=False"
        ) from exc
    cfg = dict(getattr(model, "pretrained_cfg", {}) or {})
    if small_input:
        if pretrained:
            logger.info("%s: small_input replaces the pretrained stem conv with a randomly initialised 3x3", arch)
        _make_small_input(model, arch)
    if weight_init == "torch_default":
        _reset_to_torch_defaults(model)
    if checkpoint_path is not None:
        _load_checkpoint(model, checkpoint_path, in_chans)

    if checkpoint_path is not None:
        weights = f"file:{checkpoint_path}"
    elif pretrained:
        # a local file overlay, else the hf-hub:/local-dir: id as given, else timm's "architecture.tag"
        tagged = ".".join(filter(None, (cfg.get("architecture"), cfg.get("tag"))))
        source = arch if arch.startswith(_SOURCE_PREFIXES) else tagged or arch
        weights = f"file:{cfg['file']}" if cfg.get("file") else f"timm:{source}"
    else:
        weights = "random init"
    _, height, width = cfg.get("input_size") or (3, 224, 224)
    config = BackboneConfig(
        name=name,
        input_size=(in_chans, 28, 28) if small_input else (in_chans, int(height), int(width)),
        in_chans=in_chans,
        mean=per_channel(cfg.get("mean") or (0.485, 0.456, 0.406), in_chans),
        std=per_channel(cfg.get("std") or (0.229, 0.224, 0.225), in_chans),
        license=str(cfg.get("license") or "unknown"),
        weights=weights,
        extra={
            "timm_arch": arch,
            "small_input": small_input,
            "fixed_input_size": bool(cfg.get("fixed_input_size", False)) and not small_input,
            "interpolation": cfg.get("interpolation"),
            **({"weight_init": weight_init} if weight_init != "timm" else {}),
        },
    )
    return TimmBackbone(model, config)


def create_timm_backbone(
    arch: str,
    in_chans: int = 3,
    pretrained: bool = False,
    small_input: bool = False,
    drop_rate: float = 0.0,
    checkpoint_path: str | Path | None = None,
    **timm_kwargs: Any,
) -> TimmBackbone:
    """Any timm model (``resnet18``, ``resnet18.a1_in1k``, ``hf-hub:org/name``) as a headless backbone.

    ``in_chans`` uses timm's own first-conv adaptation; ``small_input`` swaps a ResNet stem for the
    MedMNIST 28 px one; ``weight_init="torch_default"`` replaces timm's init with PyTorch's layer defaults;
    ``checkpoint_path`` loads a local file after that; other keywords go to ``timm.create_model`` (e.g.
    ``drop_path_rate``, ``pretrained_cfg_overlay=dict(file=...)``).

    Usage::

        net = create_timm_backbone("resnet18", in_chans=1, small_input=True)
        net.forward_features(torch.zeros(2, 1, 28, 28)).shape   # (2, 512)
    """
    return _build(arch, f"timm/{arch}", in_chans, pretrained, small_input, drop_rate, checkpoint_path, timm_kwargs)


# Archs the conformance tests build through this family (cheap: one ResNet, one non-ResNet).
create_timm_backbone.conformance_examples = ["resnet18", "mobilenetv3_small_050"]  # type: ignore[attr-defined]


def resnet18_28(in_chans: int = 3, pretrained: bool = False, **kwargs: Any) -> TimmBackbone:
    """ResNet-18 (28) of the MedMNIST v2 paper: timm resnet18 with the small-input stem.

    Usage::

        net = resnet18_28(in_chans=1)      # or zoo.create_backbone("resnet18_28", in_chans=1)
    """
    return _small_resnet("resnet18", "resnet18_28", in_chans, pretrained, kwargs)


def resnet50_28(in_chans: int = 3, pretrained: bool = False, **kwargs: Any) -> TimmBackbone:
    """ResNet-50 (28) of the MedMNIST v2 paper: timm resnet50 with the small-input stem.

    Usage::

        net = resnet50_28(in_chans=1)      # features (N, 2048)
    """
    return _small_resnet("resnet50", "resnet50_28", in_chans, pretrained, kwargs)


def _small_resnet(arch: str, name: str, in_chans: int, pretrained: bool, kwargs: dict[str, Any]) -> TimmBackbone:
    if "small_input" in kwargs:
        raise ConfigError(
            f"backbone '{name}' always uses the small-input stem; remove 'small_input' or use timm/{arch}"
        )
    drop_rate = kwargs.pop("drop_rate", 0.0)
    checkpoint_path = kwargs.pop("checkpoint_path", None)
    return _build(arch, name, in_chans, pretrained, True, drop_rate, checkpoint_path, kwargs)
