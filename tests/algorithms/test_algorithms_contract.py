"""The algorithm contract (docs/architecture.md, "Contracts" and principle 10), generated from the registry.

Every usable entry of ``zoo.algorithms.ALGORITHMS`` (built-ins and any installed plugin) is built on a
real ``simple_cnn`` backbone and driven the way the runner drives it: ``set_stage`` for each stage of
``stages(hparams, 0.5)``, ``set_progress`` and ``training_step`` with the batches that stage's ``data`` implies, a
plain Adam step, ``on_epoch_end`` and ``evaluation_state``.
The checks themselves live in ``zoo.testing.algorithms``: plugin authors run the very same ones.
"""

from __future__ import annotations

import pytest

from zoo.algorithms import ALGORITHMS
from zoo.testing import algorithms as kit

NAMES = ALGORITHMS.names()


@pytest.fixture(params=NAMES)
def name(request) -> str:
    return request.param


def test_registry_has_the_builtins():
    assert {"source_only", "source_then_target"} <= set(NAMES) and "finetune" not in NAMES  # an alias, not an entry


@pytest.mark.parametrize("channels", [1, 3])
def test_training_step_of_every_stage_returns_a_finite_scalar_loss(name, channels):
    kit.check_training_step(name, channels)


@pytest.mark.parametrize("channels", [1, 3])
def test_a_few_adam_steps_lower_the_loss_of_each_stage(name, channels):
    kit.check_loss_decreases(name, channels)


@pytest.mark.parametrize("channels", [1, 3])
def test_predict_returns_logits_of_every_class(name, channels):
    kit.check_predict(name, channels)


def test_forward_with_training_step_flag_is_the_training_step(name):
    # The runner calls ``model(src, tgt, training_step=True)`` so that a DDP wrapper sees the step.
    kit.check_forward_is_training_step(name)


def test_same_seed_gives_identical_loss_and_weights(name):
    kit.check_deterministic(name)


def test_never_moves_tensors_to_another_device(name):
    kit.check_no_device_moves(name)


def test_param_groups_cover_the_trainable_parameters_once(name):
    kit.check_param_groups(name)


def test_stages_need_no_model(name):
    # The suite resolver calls stages(hparams, budget) before any model is built (old forms: on a bare instance).
    kit.check_stages_need_no_model(name)


def test_hparams_are_well_formed(name):
    kit.check_hparams(name)


def test_runner_hooks_keep_their_rules(name):
    # set_progress before every step, on_epoch_end after an epoch, evaluation_state around predict (AdaBN's)
    kit.check_hooks(name)


def test_every_check_of_the_kit_is_run_above():
    # The kit's table is what plugin authors parametrize over: each of its checks is one test of this file.
    used = {kit.check_training_step, kit.check_loss_decreases, kit.check_predict, kit.check_forward_is_training_step,
            kit.check_deterministic, kit.check_no_device_moves, kit.check_param_groups,
            kit.check_stages_need_no_model, kit.check_hparams, kit.check_hooks}
    in_table = {getattr(check, "func", check) for check in kit.ALGORITHM_CHECKS.values()}
    assert in_table == used


def test_check_space_rejects_malformed_spaces():
    # The checker above must be able to fail.
    for space, default in [(("log", 1.0, 0.1), 0.5), (("log", 0.0, 1.0), 0.5), (("beta", 0, 1), 0.5),
                           (("int", 0.5, 3), 1), ([], 1), (["a", "b"], "c"), (("uniform", 0, 1), 2.0), (None, 1)]:
        with pytest.raises(AssertionError):
            kit.check_space(space, default)
