"""The timm wrapper: small-input stem, in_chans adaptation, names and errors, checkpoints, blocks()."""

from __future__ import annotations

import socket

import pytest
import torch
from torch import nn

from zoo.backbones import create_backbone
from zoo.backbones.timm_backbone import TimmBackbone, create_timm_backbone, resnet18_28
from zoo.errors import ConfigError, MedzooError, UnknownNameError


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Building backbones must never reach the network (no weight downloads in tests)."""

    def refuse(*args, **kwargs):
        raise RuntimeError("network access attempted in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def _one_line(err: BaseException) -> str:
    text = str(err)
    assert "\n" not in text, text
    return text


# -- small-input stem ----------------------------------------------------------------------------------
def test_small_input_stem_is_3x3_stride1_without_maxpool():
    bb = create_timm_backbone("resnet18", in_chans=1, small_input=True)
    conv = bb.model.conv1
    assert isinstance(conv, nn.Conv2d)
    assert conv.kernel_size == (3, 3) and conv.stride == (1, 1) and conv.padding == (1, 1)
    assert conv.in_channels == 1 and conv.out_channels == 64  # same out channels as the 7x7 stem
    assert isinstance(bb.model.maxpool, nn.Identity)
    assert not any(isinstance(m, nn.MaxPool2d) for m in bb.model.modules())
    assert bb.config.input_size == (1, 28, 28) and bb.config.extra["small_input"] is True


def test_small_input_feature_maps_28_28_14_7_4():
    bb = resnet18_28(in_chans=1).eval()
    x = torch.randn(2, 1, 28, 28)
    sizes = []
    with torch.no_grad():
        for block in bb.blocks():  # stem, layer1..layer4
            x = block(x)
            sizes.append(tuple(x.shape[-2:]))
        assert sizes == [(28, 28), (28, 28), (14, 14), (7, 7), (4, 4)]
        assert bb.model.forward_features(torch.randn(2, 1, 28, 28)).shape == (2, 512, 4, 4)
        # the standard ImageNet stem collapses a 28 px image to 1x1 before pooling
        plain = create_timm_backbone("resnet18", in_chans=1).eval()
        assert plain.model.forward_features(torch.randn(2, 1, 28, 28)).shape == (2, 512, 1, 1)


def test_resnet50_28_is_small_input_with_2048_features():
    bb = create_backbone("resnet50_28", in_chans=1)
    assert bb.num_features == 2048 and bb.config.name == "resnet50_28"
    assert bb.model.conv1.kernel_size == (3, 3) and isinstance(bb.model.maxpool, nn.Identity)


def test_small_input_on_non_resnet_is_one_line_config_error():
    with pytest.raises(ConfigError) as info:
        create_backbone("timm/mobilenetv3_small_050", small_input=True)
    text = _one_line(info.value)
    assert "small_input supports ResNet-style stems" in text and "mobilenetv3_small_050" in text


def test_named_small_resnet_refuses_small_input_keyword():
    with pytest.raises(ConfigError, match="always uses the small-input stem"):
        create_backbone("resnet18_28", small_input=False)


# -- channels, config ----------------------------------------------------------------------------------
def test_one_channel_build_and_config_mean_std():
    bb = create_backbone("timm/resnet18", in_chans=1)
    assert bb.model.conv1.in_channels == 1
    assert bb.forward_features(torch.randn(2, 1, 64, 64)).shape == (2, 512)
    # ImageNet mean/std reduced to one channel: the average of R, G, B
    assert bb.config.mean == pytest.approx(((0.485 + 0.456 + 0.406) / 3,))
    assert bb.config.std == pytest.approx(((0.229 + 0.224 + 0.225) / 3,))
    assert bb.config.input_size == (1, 224, 224) and bb.config.in_chans == 1
    assert bb.config.license == "apache-2.0" and bb.config.weights == "random init"
    two = create_timm_backbone("resnet18", in_chans=2)
    assert two.config.mean == pytest.approx((0.485, 0.456))  # channel i repeats RGB channel i % 3


def _timm_resnet18_state(tmp_path, fmt: str):
    """A full 3-channel timm resnet18 checkpoint (classifier included), like downloaded weights."""
    import timm
    from safetensors.torch import save_file

    torch.manual_seed(1)
    full = timm.create_model("resnet18", num_classes=1000)
    state = {k: v.contiguous() for k, v in full.state_dict().items()}
    path = tmp_path / f"resnet18.{fmt}"
    save_file(state, str(path)) if fmt == "safetensors" else torch.save(state, path)
    return state, path


@pytest.mark.parametrize("fmt", ["safetensors", "pth"])
def test_checkpoint_path_adapts_rgb_stem_to_one_channel_and_drops_head(tmp_path, fmt):
    state, path = _timm_resnet18_state(tmp_path, fmt)
    bb = create_timm_backbone("resnet18", in_chans=1, checkpoint_path=str(path))
    # timm's adapt_input_conv sums the RGB filters for a grey input: (64, 3, 7, 7) -> (64, 1, 7, 7)
    torch.testing.assert_close(bb.model.conv1.weight, state["conv1.weight"].sum(dim=1, keepdim=True))
    torch.testing.assert_close(bb.model.layer4[1].conv2.weight, state["layer4.1.conv2.weight"])
    assert bb.config.weights == f"file:{path}"


def test_pretrained_through_timm_adapts_in_chans_offline(tmp_path):
    # pretrained=True with a local file instead of the Hub: timm's own loader does the 3 -> 1 adaptation
    state, path = _timm_resnet18_state(tmp_path, "safetensors")
    bb = create_timm_backbone("resnet18", in_chans=1, pretrained=True, pretrained_cfg_overlay={"file": str(path)})
    torch.testing.assert_close(bb.model.conv1.weight, state["conv1.weight"].sum(dim=1, keepdim=True))
    assert bb.config.weights == f"file:{path}"


def test_checkpoint_roundtrip_of_a_small_input_backbone(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    src = resnet18_28(in_chans=1)
    save_file(src.state_dict(), str(tmp_path / "bb.safetensors"))  # medzoo keys: "model.conv1.weight", ...
    torch.manual_seed(1)
    dst = resnet18_28(in_chans=1, checkpoint_path=tmp_path / "bb.safetensors")
    for key, value in src.state_dict().items():
        torch.testing.assert_close(dst.state_dict()[key], value)


def test_checkpoint_errors_are_one_line(tmp_path):
    with pytest.raises(ConfigError) as info:
        create_timm_backbone("resnet18", checkpoint_path=tmp_path / "missing.pth")
    assert "does not exist" in _one_line(info.value)
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, tmp_path / "partial.pth")
    with pytest.raises(ConfigError) as info:
        create_timm_backbone("resnet18", checkpoint_path=tmp_path / "partial.pth")
    assert "does not fit this backbone" in _one_line(info.value)


# -- names -----------------------------------------------------------------------------------------------
def test_unknown_name_is_one_line_with_did_you_mean():
    with pytest.raises(UnknownNameError) as info:
        create_backbone("timm/resnt18")
    text = _one_line(info.value)
    assert "unknown timm model 'resnt18'" in text and "did you mean 'resnet18'" in text
    assert isinstance(info.value, MedzooError)


def test_unknown_pretrained_tag_lists_the_tags():
    with pytest.raises(UnknownNameError) as info:
        create_backbone("timm/resnet18.a1_in1kk")
    text = _one_line(info.value)
    assert "did you mean 'resnet18.a1_in1k'" in text and "resnet18.tv_in1k" in text


def test_tagged_name_builds_without_weights():
    bb = create_backbone("timm/resnet18.a1_in1k", in_chans=3)
    assert bb.config.name == "timm/resnet18.a1_in1k" and bb.config.weights == "random init"


def test_timm_keywords_pass_through():
    bb = create_timm_backbone("resnet18", drop_rate=0.2, drop_path_rate=0.1)
    assert bb.model.drop_rate == 0.2
    with pytest.raises(ConfigError):  # create_backbone turns an unknown keyword into a one-line error
        create_backbone("resnet18_28", no_such_option=1)


# -- forward and blocks ----------------------------------------------------------------------------------
def test_forward_features_is_the_models_own_pooled_pre_logits():
    bb = create_timm_backbone("mobilenetv3_small_050", in_chans=1).eval()
    x = torch.randn(2, 1, 64, 64)
    with torch.no_grad():
        feats = bb.forward_features(x)  # (2, 1024): MobileNetV3 pools, then its conv_head widens to 1024
        assert feats.shape == (2, bb.num_features) == (2, 1024)
        torch.testing.assert_close(feats, bb.model(x))  # num_classes=0: the timm forward ends at pre-logits
    assert isinstance(bb, TimmBackbone)


@pytest.mark.parametrize("arch", ["resnet18", "mobilenetv3_small_050"])
def test_blocks_cover_every_parameter_once_in_order(arch):
    bb = create_timm_backbone(arch, in_chans=1)
    block_params = [id(p) for block in bb.blocks() for p in block.parameters()]
    assert len(block_params) == len(set(block_params))
    assert set(block_params) == {id(p) for p in bb.parameters()}
    first = bb.blocks()[0]
    conv = first if isinstance(first, nn.Conv2d) else next(m for m in first.modules() if isinstance(m, nn.Conv2d))
    assert conv.in_channels == 1  # the first block is the input stem


def test_unreachable_pretrained_weights_are_a_one_line_data_error(tmp_path):
    # offline with an empty cache: the hub lookup fails at once; the user gets a fix, not a traceback
    import os
    import subprocess
    import sys

    code = (
        "from zoo.backbones import create_backbone\n"
        "from zoo.errors import DataError\n"
        "try:\n    create_backbone('timm/resnet18', pretrained=True)\n"
        "except DataError as e:\n    print('DATAERROR', e)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120).stdout
    (line,) = [x for x in out.splitlines() if x.startswith("DATAERROR")]
    assert "resnet18" in line and "pretrained=False" in line


# -- weight_init ---------------------------------------------------------------------------------------
def test_torch_default_init_matches_a_plain_pytorch_resnet_layer_by_layer():
    """``weight_init=torch_default``: every conv/linear/BN as PyTorch builds it (the MedMNIST v2 code's init).

    PyTorch's conv default is Kaiming-uniform with a=sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)); timm's
    ResNet init is Kaiming-normal fan-out (wider) with the last BN of each block zeroed.
    """
    timm_init = resnet18_28(in_chans=1)
    torch_init = resnet18_28(in_chans=1, weight_init="torch_default")
    assert torch_init.config.extra["weight_init"] == "torch_default" and "weight_init" not in timm_init.config.extra
    convs = [m for m in torch_init.model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 20  # stem + 16 block convs + 3 downsample 1x1 in ResNet-18
    for conv in convs:
        fan_in = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
        assert conv.weight.abs().max() <= 1 / fan_in**0.5 + 1e-6
        # std of U(-b, b) = b/sqrt(3)
        assert conv.weight.std().item() == pytest.approx(1 / (3 * fan_in) ** 0.5, rel=0.15)
    for model in (timm_init, torch_init):
        assert all(torch.equal(m.running_var, torch.ones_like(m.running_var))
                   for m in model.model.modules() if isinstance(m, nn.BatchNorm2d))
    last_bn = torch_init.model.layer1[0].bn2
    assert torch.equal(last_bn.weight, torch.ones_like(last_bn.weight))  # timm zero-inits this one
    assert torch.equal(timm_init.model.layer1[0].bn2.weight, torch.zeros(64))
    wide = timm_init.model.layer2[0].conv1
    assert wide.weight.abs().max() > 1 / (wide.in_channels * 9) ** 0.5  # timm's init is not PyTorch's


def test_weight_init_errors_are_one_line():
    with pytest.raises(ConfigError, match="weight_init must be one of timm, torch_default, got 'xavier'") as err:
        resnet18_28(weight_init="xavier")
    _one_line(err.value)
    with pytest.raises(ConfigError, match="discard the pretrained weights") as err:
        create_timm_backbone("resnet18", pretrained=True, weight_init="torch_default")
    _one_line(err.value)
