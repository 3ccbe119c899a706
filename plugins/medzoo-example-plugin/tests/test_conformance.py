"""The plugin's own tests: medzoo's conformance kit on each entry, as installed, plus BNM's defining property.

Run them in an environment where medzoo and this package are installed::

    pip install -e . && pytest
"""

from __future__ import annotations

import pytest
import torch

from zoo.testing import ALGORITHM_CHECKS, BACKBONE_CHECKS, DATASET_CHECKS, check_runs_one_epoch


def test_entries_come_from_this_distribution():
    from zoo.algorithms import ALGORITHMS
    from zoo.backbones import BACKBONES
    from zoo.datasets import DATASETS

    for registry, name in ((ALGORITHMS, "bnm"), (BACKBONES, "tiny_cnn"), (DATASETS, "toy_lesions")):
        assert registry.entry(name).dist == "medzoo-example-plugin", registry.entry(name)


@pytest.mark.parametrize("check", sorted(ALGORITHM_CHECKS))
def test_bnm_conforms(check):
    ALGORITHM_CHECKS[check]("bnm")


@pytest.mark.parametrize("check", sorted(BACKBONE_CHECKS))
def test_tiny_cnn_conforms(check):
    BACKBONE_CHECKS[check]("tiny_cnn")


@pytest.mark.parametrize("check", sorted(DATASET_CHECKS))
def test_toy_lesions_conforms(check, tmp_path):
    DATASET_CHECKS[check]("toy_lesions", tmp_path)


def test_all_three_run_one_epoch_through_the_runner(tmp_path):
    record = check_runs_one_epoch(algorithm="bnm", backbone="tiny_cnn", dataset="toy_lesions", output_dir=tmp_path)
    assert record["task"]["domains"]["source"]["dataset"] == "toy_lesions"
    assert record["backbone"]["config"]["name"] == "tiny_cnn"
    assert {"name": "medzoo-example-plugin", "version": "0.1.0"} in record["provenance"]["plugins"]


def test_batch_nuclear_norm_rewards_confident_and_diverse_predictions():
    from medzoo_example_plugin.bnm import batch_nuclear_norm

    sure = 20.0  # logits this far apart give one-hot probabilities (to 1e-8)
    diverse = torch.tensor([[sure, 0.0], [0.0, sure], [sure, 0.0], [0.0, sure]])  # two per class
    collapsed = torch.tensor([[sure, 0.0]] * 4)  # every sample in class 0
    unsure = torch.zeros(4, 2)  # uniform predictions
    # ||A||_* / B: diverse one-hot = (sqrt 2 + sqrt 2) / 4; collapsed = sqrt 4 / 4; uniform = sqrt(4 * 2 / 4) / 4
    assert float(batch_nuclear_norm(diverse)) == pytest.approx(2 * 2**0.5 / 4, abs=1e-5)
    assert float(batch_nuclear_norm(collapsed)) == pytest.approx(0.5, abs=1e-5)
    assert float(batch_nuclear_norm(unsure)) == pytest.approx(2**0.5 / 4, abs=1e-5)
