"""Helpers of the Hub tests: the fake token every test uses, and the check that it leaked nowhere."""

from __future__ import annotations

import io
import json
from pathlib import Path

import torch

FAKE_TOKEN = "hf_test_SECRET_do_not_leak_0123456789"


def assert_no_token(*texts: str, files: list[Path] = ()) -> None:
    """The fake token appears in none of ``texts`` nor in any of ``files`` (bytes, so parquet counts too)."""
    for text in texts:
        assert FAKE_TOKEN not in text and "SECRET" not in text
    for path in files:
        data = path.read_bytes()
        assert FAKE_TOKEN.encode() not in data and b"SECRET" not in data, path


def timm_repo_files(weights_name: str) -> tuple[dict[str, bytes], dict[str, torch.Tensor]]:
    """A tiny timm model (``test_resnet``) as a Hub repo: config.json + weights (safetensors or a pickle)."""
    import timm
    from safetensors.torch import save

    torch.manual_seed(0)
    state = timm.create_model("test_resnet", num_classes=3).state_dict()
    config = {"architecture": "test_resnet", "num_classes": 3,
              "pretrained_cfg": {"input_size": [3, 64, 64], "mean": [0.1, 0.2, 0.3], "std": [0.4, 0.5, 0.6],
                                 "classifier": "fc", "first_conv": "conv1.0", "license": "apache-2.0"}}
    if weights_name.endswith(".safetensors"):
        blob = save(state)
    else:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        blob = buffer.getvalue()
    return {"config.json": json.dumps(config).encode(), weights_name: blob}, state
