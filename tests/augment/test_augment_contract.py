"""Every policy keeps shape, dtype and device, is deterministic per generator state, and is random per sample."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from zoo.augment import BatchAugment, augment_names, augment_options, build_augment
from zoo.errors import ConfigError

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
RANDOM = [n for n in augment_names() if n != "none"]
GRAY_OK = [n for n in augment_names() if n != "stain"]


def _cases():
    for name in augment_names():
        for chans in ([3] if name == "stain" else [1, 3]):
            yield name, chans


def test_builtin_policies_are_registered():
    assert augment_names() == ["intensity", "none", "randaugment", "stain", "standard", "trivialaugment"]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,chans", list(_cases()))
@pytest.mark.parametrize("size", [28, 64])
def test_shape_dtype_device_kept(name, chans, size, device, batches):
    images = F.interpolate(batches[chans].float(), size=size, mode="bilinear").round().to(torch.uint8).to(device)
    aug = build_augment(name)
    assert isinstance(aug, BatchAugment) and aug.name == name
    out = aug(images, torch.Generator().manual_seed(0))
    assert out.shape == images.shape and out.dtype == torch.uint8 and out.device == images.device


@pytest.mark.parametrize("name", GRAY_OK)
def test_large_images(name, breast):
    images = F.interpolate(breast[:4].float(), size=224, mode="bilinear").round().to(torch.uint8)  # (4, 1, 224, 224)
    out = build_augment(name)(images, torch.Generator().manual_seed(0))
    assert out.shape == (4, 1, 224, 224) and out.dtype == torch.uint8


def test_none_is_identity(breast):
    out = build_augment("none")(breast, torch.Generator().manual_seed(0))
    assert torch.equal(out, breast)


@pytest.mark.parametrize("name,chans", [c for c in _cases() if c[0] != "none"])
def test_same_seed_same_output_other_seed_other_output(name, chans, batches):
    images = batches[chans]
    aug = build_augment(name)
    first = aug(images, torch.Generator().manual_seed(7))
    again = aug(images, torch.Generator().manual_seed(7))
    other = aug(images, torch.Generator().manual_seed(8))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    assert not torch.equal(first, images)


@pytest.mark.parametrize("name", ["randaugment", "trivialaugment"])
def test_torchvision_policies_leave_the_global_rng_alone(name, breast):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_augment(name)(breast, torch.Generator().manual_seed(0))
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("name,chans", [c for c in _cases() if c[0] != "none"])
def test_identical_images_get_different_results(name, chans, batches):
    copies = batches[chans][5:6].expand(32, -1, -1, -1).contiguous()  # 32 copies of one real image
    out = build_augment(name)(copies, torch.Generator().manual_seed(0))
    distinct = torch.unique(out.flatten(1), dim=0)
    minimum = {"standard": 32, "stain": 32, "intensity": 6}.get(name, 3)  # chunked policies: up to 8 ops
    assert len(distinct) >= minimum, f"{name}: only {len(distinct)} distinct results for 32 identical inputs"


def test_randaugment_on_two_identical_images(breast):
    pair = breast[3:4].expand(2, -1, -1, -1).contiguous()
    out = build_augment("randaugment")(pair, torch.Generator().manual_seed(0))
    assert not torch.equal(out[0], out[1])


def test_unknown_policy_is_a_one_line_config_error():
    with pytest.raises(ConfigError) as info:
        build_augment("randaugmnet")
    message = str(info.value)
    assert "\n" not in message and "did you mean 'randaugment'" in message
    for name in augment_names():
        assert name in message


def test_unknown_or_bad_option_is_a_config_error():
    with pytest.raises(ConfigError, match="no option 'degree'; did you mean 'degrees'"):
        build_augment("standard", degree=5)
    with pytest.raises(ConfigError, match="flip_p must be a probability"):
        build_augment("standard", flip_p=1.5)
    with pytest.raises(ConfigError, match="padding must be one of"):
        build_augment("standard", padding="wrap")
    with pytest.raises(ConfigError, match="magnitude must be an integer in"):
        build_augment("randaugment", magnitude=40)


def test_options_are_listed_and_recorded():
    assert augment_options("stain") == {"sigma": 0.05, "p": 1.0}
    aug = build_augment("intensity", gamma=2.0)
    assert aug.options == {"gamma": 2.0, "window": 0.1, "p": 0.8}


def test_rejects_non_uint8_batches(breast):
    with pytest.raises(ValueError, match="expects a uint8 batch"):
        build_augment("standard")(breast.float(), torch.Generator())
    with pytest.raises(ValueError, match="expects a uint8 batch"):
        build_augment("standard")(breast[0], torch.Generator())


@pytest.mark.parametrize("name,chans", [("stain", 3), ("standard", 1), ("intensity", 1)])
def test_mixed_precision_autocast_does_not_change_the_result(name, chans, batches):
    aug = build_augment(name)
    expected = aug(batches[chans], torch.Generator().manual_seed(0))
    with torch.autocast("cpu", dtype=torch.bfloat16):  # as the runner's --mixed-precision bf16 on a CPU
        got = aug(batches[chans], torch.Generator().manual_seed(0))
    assert torch.equal(got, expected)
