"""Evaluation's forward pass in chunks on a CPU gives the logits and features of one pass.

``zoo.runner.evaluate.forward_chunked`` splits each evaluation batch into near-equal chunks of at most
``CPU_CHUNK`` images for speed.
Each image's outputs must be its own: equal to one pass's up to float rounding (a matrix product of
another height may sum in another order), and bitwise the same from one call to the next.
"""

from __future__ import annotations

import pytest
import torch


@pytest.mark.parametrize("backbone, channels_last",
                         [("simple_cnn", False), ("simple_cnn", True), ("resnet18_28", True)])
def test_chunked_forward_is_one_pass_to_rounding(backbone, channels_last, data_dir):
    from zoo.bench.suite import load_suite
    from zoo.bench.task_data import build_task_data
    from zoo.runner.evaluate import CPU_CHUNK, forward_chunked
    from zoo.runner.loop import build_model

    run = load_suite("quick", overrides=["seeds=[0]", f"backbone.name={backbone}"]).runs()[0]
    data = build_task_data(run.config, data_dir)
    torch.manual_seed(0)
    algorithm, normalizer = build_model(run.config, data)
    algorithm.eval()
    if channels_last:
        algorithm.to(memory_format=torch.channels_last)
    x = normalizer(data.source.splits["val"].images[: CPU_CHUNK + 37])  # two chunks (83 + 82)
    with torch.no_grad():
        chunked = forward_chunked(algorithm, x)
        torch.testing.assert_close(chunked, algorithm(x), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(forward_chunked(algorithm.features, x), algorithm.features(x), rtol=1e-5,
                                   atol=1e-6)
        assert torch.equal(forward_chunked(algorithm, x), chunked)  # deterministic


@pytest.mark.parametrize("n, sizes", [(100, [100]), (128, [128]), (256, [128, 128]), (263, [88, 88, 87]),
                                      (312, [104, 104, 104]), (385, [97, 96, 96, 96])])
def test_chunks_are_near_equal_and_never_above_cpu_chunk(n, sizes):
    """No chunk of a few images left over (128 + 128 + 7 costs about 2x per image in the last chunk)."""
    from zoo.runner.evaluate import CPU_CHUNK, forward_chunked

    seen = []
    out = forward_chunked(lambda x: seen.append(len(x)) or x * 2, torch.arange(n, dtype=torch.float32)[:, None])
    assert seen == sizes and max(seen) <= CPU_CHUNK
    assert torch.equal(out[:, 0], torch.arange(n, dtype=torch.float32) * 2)  # every row once, in order
