"""Conformance of every registered backbone, generated from the registry (docs/architecture.md, principle 10).

Each name in ``BACKBONES`` is a case; a family factory (one taking an architecture first, like ``timm``)
is expanded into ``family/arch`` cases through its ``conformance_examples`` attribute. A plugin backbone
installed in the environment is picked up with no edit here.

A backbone whose ``config.extra["fixed_input_size"]`` is true (SimpleCNN's flatten size is fixed) is run
at its own input size instead of at 28 and 64 px. The checks live in ``zoo.testing.backbones`` (every
build runs with network connections refused): plugin authors run the very same ones.
"""

from __future__ import annotations

import pytest

from zoo.backbones import BACKBONES
from zoo.testing import backbones as kit

CASES = kit.backbone_cases()


def test_registry_has_the_builtins():
    assert {"simple_cnn", "resnet18_28", "resnet50_28", "timm"} <= set(BACKBONES.names())
    assert any(case.startswith("timm/") for case in CASES)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("in_chans", [1, 3])
def test_builds_and_gives_finite_features(name, in_chans):
    kit.check_features(name, in_chans)


@pytest.mark.parametrize("name", CASES)
def test_config_fields(name):
    kit.check_config(name)


@pytest.mark.parametrize("name", CASES)
def test_deterministic_under_seed(name):
    kit.check_deterministic(name)


@pytest.mark.parametrize("name", CASES)
def test_gradients_reach_every_trainable_parameter(name):
    kit.check_gradients(name)


def test_every_check_of_the_kit_is_run_above():
    used = {kit.check_features, kit.check_config, kit.check_deterministic, kit.check_gradients}
    assert {getattr(check, "func", check) for check in kit.BACKBONE_CHECKS.values()} == used


def test_building_offline_is_enforced():
    # The kit refuses network access while a backbone is built or run (a download would fail on offline CI).
    import socket

    from zoo.testing import ConformanceError
    from zoo.testing.core import no_network

    with no_network("backbone 'probe'"), pytest.raises(ConformanceError, match="backbone 'probe' opened a network"):
        socket.create_connection(("127.0.0.1", 9))
