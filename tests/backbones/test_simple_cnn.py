"""SimpleCNN: layer shapes and parameter count computed by hand, input-size checks, config, blocks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from zoo.backbones import create_backbone
from zoo.backbones.simple_cnn import SimpleCNN
from zoo.errors import ConfigError


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_layer_shapes_at_28px():
    net = SimpleCNN(in_chans=1, image_size=28).eval()
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [tuple(c.weight.shape) for c in convs] == [(32, 1, 3, 3), (64, 32, 3, 3), (128, 64, 3, 3)]
    assert all(c.padding == (1, 1) and c.stride == (1, 1) for c in convs)
    (dense,) = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert tuple(dense.weight.shape) == (512, 128 * 3 * 3)  # 28 -> 14 -> 7 -> 3 after three max-pools
    x = torch.randn(2, 1, 28, 28)
    shapes = []
    with torch.no_grad():
        for block in net.blocks():
            x = block(x)
            shapes.append(tuple(x.shape))
    assert shapes == [(2, 32, 14, 14), (2, 64, 7, 7), (2, 128, 3, 3), (2, 512)]


def test_parameter_count_by_hand():
    # conv: in*out*9 + out; dense: flatten*512 + 512
    conv_1ch = (1 * 32 * 9 + 32) + (32 * 64 * 9 + 64) + (64 * 128 * 9 + 128)  # 320 + 18,496 + 73,856
    assert _params(SimpleCNN(in_chans=1, image_size=28)) == conv_1ch + (1152 * 512 + 512) == 683_008
    conv_3ch = (3 * 32 * 9 + 32) + (32 * 64 * 9 + 64) + (64 * 128 * 9 + 128)
    flat_64 = 128 * 8 * 8  # 64 -> 32 -> 16 -> 8
    assert _params(SimpleCNN(in_chans=3, image_size=64)) == conv_3ch + (flat_64 * 512 + 512) == 4_288_064


@pytest.mark.parametrize(
    "size, flat", [(8, 128 * 1 * 1), (28, 128 * 3 * 3), (33, 128 * 4 * 4), ((32, 48), 128 * 4 * 6)]
)
def test_any_image_size_from_8(size, flat):
    net = SimpleCNN(in_chans=2, image_size=size)
    assert net.flatten_size == flat
    h, w = (size, size) if isinstance(size, int) else size
    assert net.forward_features(torch.randn(2, 2, h, w)).shape == (2, 512)
    assert net.config.input_size == (2, h, w)


def test_too_small_image_size_is_config_error():
    with pytest.raises(ConfigError, match="at least 8x8"):
        SimpleCNN(image_size=7)


def test_wrong_runtime_size_is_one_line_error():
    net = SimpleCNN(in_chans=1, image_size=28)
    with pytest.raises(ConfigError) as info:
        net.forward_features(torch.randn(2, 1, 64, 64))
    text = str(info.value)
    assert "\n" not in text and "built for 28x28" in text and "image_size=64" in text


def test_pretrained_is_refused():
    with pytest.raises(ConfigError, match="no pretrained weights"):
        create_backbone("simple_cnn", pretrained=True)


def test_config_and_registry_defaults():
    net = create_backbone("simple_cnn")  # no arguments beyond the defaults: 1 channel, 28 px
    assert isinstance(net, SimpleCNN) and net.num_features == 512
    cfg = net.config
    assert cfg.name == "simple_cnn" and cfg.input_size == (1, 28, 28) and cfg.in_chans == 1
    assert cfg.mean == (0.5,) and cfg.std == (0.5,) and cfg.weights == "random init"
    assert create_backbone("simple_cnn", in_chans=3, image_size=64).config.mean == (0.5, 0.5, 0.5)


def test_dropout_is_active_in_train_only():
    torch.manual_seed(0)
    net = SimpleCNN(dropout=0.5)
    x = torch.randn(4, 1, 28, 28)
    net.eval()
    with torch.no_grad():
        a, b = net(x), net(x)
        torch.testing.assert_close(a, b)
        assert (a >= 0).all()  # ReLU before the dropout
        net.train()
        c = net(x)
    # the eval features that are non-zero get either dropped (0) or doubled (1 / (1 - 0.5)) in train mode
    kept = c[a > 0]
    assert (kept == 0).any() and torch.allclose(kept[kept != 0], 2 * a[a > 0][kept != 0])


def test_blocks_are_the_three_conv_blocks_then_dense():
    net = SimpleCNN()
    blocks = net.blocks()
    assert len(blocks) == 4
    assert all(isinstance(b[0], nn.Conv2d) for b in blocks[:3])
    assert any(isinstance(m, nn.Linear) for m in blocks[3].modules())
    assert sum(_params(b) for b in blocks) == _params(net)


def _brief_order(net: SimpleCNN) -> SimpleCNN:
    """The same network with each block in the brief's order, conv -> [BN] -> ReLU -> max-pool."""
    import copy

    reference = copy.deepcopy(net)
    for block in reference.conv_blocks:
        block[-2], block[-1] = block[-1], block[-2]
        assert isinstance(block[-2], nn.ReLU) and isinstance(block[-1], nn.MaxPool2d)
    return reference


@pytest.mark.parametrize("norm", ["none", "batch"])
@pytest.mark.parametrize("channels_last", [False, True])
def test_pooling_before_relu_gives_the_briefs_numbers_bit_for_bit(norm, channels_last):
    torch.manual_seed(0)
    net = SimpleCNN(in_chans=1, norm=norm)
    assert [type(m) for m in net.conv_blocks[0]][-2:] == [nn.MaxPool2d, nn.ReLU]
    reference = _brief_order(net)
    assert net.state_dict().keys() == reference.state_dict().keys()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(16, 1, 28, 28).contiguous(memory_format=fmt)
    x[:, :, :4] = -1.0  # whole pooling windows of negative inputs, where the ReLU'd maps tie at 0
    results = []
    for model in (net, reference):
        model.to(memory_format=fmt).train()
        torch.manual_seed(1)  # the same dropout mask
        out = model.forward_features(x)
        (out * torch.linspace(-1, 1, out.shape[1])).sum().backward()
        results.append((out, [p.grad for p in model.parameters()], [b.clone() for b in model.buffers()]))
    (out, grads, buffers), (ref_out, ref_grads, ref_buffers) = results
    assert torch.equal(out, ref_out)
    assert all(torch.equal(g, r) for g, r in zip(grads, ref_grads))
    assert all(torch.equal(b, r) for b, r in zip(buffers, ref_buffers))  # BatchNorm running statistics
