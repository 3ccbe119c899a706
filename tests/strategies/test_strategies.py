"""The fine-tuning strategies on real timm and medzoo backbones: which layers train, at what rate, toward what.

Freezing (``last:K``, layer names, head-only), layer-wise lr decay values, the L2-SP penalty against its
formula, frozen BatchNorm statistics, the stages of LP-FT and gradual unfreezing, and the one-line errors
for layer specs that do not fit the backbone.
"""

from __future__ import annotations

import copy

import pytest
import torch

import zoo
from zoo.algorithms import ALGORITHMS
from zoo.algorithms.freezing import set_trainable, trainable_backbone_modules
from zoo.errors import ConfigError


def _trainable_names(backbone) -> set[str]:
    return {name.split(".")[1] for name, p in backbone.named_parameters() if p.requires_grad}


@pytest.fixture(scope="module")
def _built_resnet():
    torch.manual_seed(0)
    return zoo.create_backbone("resnet18_28", in_chans=1)


@pytest.fixture
def resnet(_built_resnet):
    """A fresh copy per test: tests freeze and unfreeze its layers, which must not leak into the next test."""
    return copy.deepcopy(_built_resnet)


def test_last_k_unfreezes_exactly_the_top_blocks(resnet):
    set_trainable(resnet, "last:2")
    assert _trainable_names(resnet) == {"layer3", "layer4"}
    set_trainable(resnet, "head")
    assert not any(p.requires_grad for p in resnet.parameters())
    set_trainable(resnet, "all")
    assert all(p.requires_grad for p in resnet.parameters())
    set_trainable(resnet, ["layer4", "model.layer1"])  # names with or without timm's "model." prefix
    assert _trainable_names(resnet) == {"layer1", "layer4"}


def test_bad_layer_specs_are_one_line_errors(resnet):
    with pytest.raises(ConfigError, match=r"last:6 asks for the last 6 blocks but the backbone has 5"):
        trainable_backbone_modules(resnet, "last:6")
    with pytest.raises(ConfigError, match=r"no layer 'layer9'.*layer1, layer2, layer3, layer4") as err:
        trainable_backbone_modules(resnet, ["layer9"])
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="last:K with an integer K >= 1"):
        trainable_backbone_modules(resnet, "last:zero")


def test_last_k_larger_than_the_blocks_fails_when_the_model_is_built():
    backbone = zoo.create_backbone("simple_cnn", in_chans=1)  # 4 blocks: three conv blocks + dense
    ALGORITHMS.get("last_k")(backbone, 2, {"k": 4})
    with pytest.raises(ConfigError, match="last:5 asks for the last 5 blocks but the backbone has 4"):
        ALGORITHMS.get("last_k")(backbone, 2, {"k": 5})


def test_gradual_unfreeze_goes_top_down_and_its_head_stage_runs_on_features(resnet):
    algo = ALGORITHMS.get("gradual_unfreeze")(resnet, 2, {"num_stages": 4})
    stages = algo.stages(algo.hparams, 0.1)
    assert [s.name for s in stages] == ["unfreeze-0", "unfreeze-1", "unfreeze-2", "unfreeze-3"]
    assert [s.features for s in stages] == [True, False, False, False]
    seen = []
    for stage in stages:
        algo.set_stage(stage)
        seen.append(_trainable_names(algo.backbone))
    assert seen == [set(), {"layer4"}, {"layer3", "layer4"}, {"layer2", "layer3", "layer4"}]
    assert all(p.requires_grad for p in algo.classifier.parameters())


def test_gradual_unfreeze_schedule_naming_a_missing_layer_is_refused(resnet):
    algo = ALGORITHMS.get("gradual_unfreeze")(resnet, 2, {"schedule": "head; layer4; layer3,layer4; all"})
    assert [s.features for s in algo.stages(algo.hparams, 0.1)] == [True, False, False, False]
    with pytest.raises(ConfigError, match="no layer 'conv9'"):
        ALGORITHMS.get("gradual_unfreeze")(resnet, 2, {"schedule": "head; conv9"})


def test_llrd_rates_decay_geometrically_from_the_head(resnet):
    algo = ALGORITHMS.get("llrd")(resnet, 2, {"decay": 0.5})
    algo.set_stage(algo.stages(algo.hparams, 0.1)[0])
    groups = algo.param_groups()
    assert groups[0]["name"] == "head" and groups[0]["lr_mult"] == 1.0
    rate_of = {id(p): g["lr_mult"] for g in groups for p in g["params"]}
    blocks = resnet.blocks()  # stem, layer1..layer4
    for depth, block in enumerate(reversed(blocks)):  # layer4 -> 0.5, layer3 -> 0.25, ..., stem -> 0.5**5
        assert {rate_of[id(p)] for p in block.parameters()} == {0.5 ** (depth + 1)}, depth
    assert sum(len(g["params"]) for g in groups) == len(list(algo.parameters()))


def test_l2sp_penalty_is_zero_at_the_start_and_matches_its_formula():
    torch.manual_seed(0)
    backbone = zoo.create_backbone("simple_cnn", in_chans=1)
    algo = ALGORITHMS.get("l2sp")(backbone, 3, {"alpha": 0.1, "beta": 0.01})
    algo.set_stage(algo.stages(algo.hparams, 0.1)[0])
    start = {n: p.detach().clone() for n, p in backbone.named_parameters()}
    x, y = torch.randn(6, 1, 28, 28), torch.tensor([0, 1, 2, 0, 1, 2])
    out = algo.training_step(None, (x, y))
    assert float(out["sp"]) == 0.0
    head = float((algo.classifier.weight.detach() ** 2).sum())
    assert float(out["penalty"]) == pytest.approx(0.01 / 2 * head, rel=1e-6)
    with torch.no_grad():  # move the backbone away from its anchor by a known amount
        for p in backbone.parameters():
            p.add_(0.01)
    out = algo.training_step(None, (x, y))
    moved = sum(((p.detach() - start[n]) ** 2).sum() for n, p in backbone.named_parameters())
    assert float(out["sp"]) == pytest.approx(float(moved), rel=1e-5)
    assert float(out["penalty"]) == pytest.approx(0.1 / 2 * float(moved) + 0.01 / 2 * head, rel=1e-5)
    # The penalty's gradient points back to the anchor (toward w0, not toward zero).
    algo.zero_grad()
    algo.penalty()["loss"].backward()
    p = next(backbone.parameters())
    torch.testing.assert_close(p.grad, 0.1 * (p.detach() - start[next(iter(start))]))


def test_frozen_batchnorm_keeps_its_statistics_while_the_top_trains(resnet):
    algo = ALGORITHMS.get("last_k")(resnet, 2, {"k": 1})
    algo.set_stage(algo.stages(algo.hparams, 0.1)[0])
    algo.train()
    stem_bn = resnet.model.bn1
    top_bn = resnet.model.layer4[0].bn1
    assert not stem_bn.training and top_bn.training
    before = stem_bn.running_mean.clone()
    top_before = top_bn.running_mean.clone()
    algo.training_step(None, (torch.randn(8, 1, 28, 28) * 3 + 1, torch.zeros(8, dtype=torch.long)))
    assert torch.equal(stem_bn.running_mean, before)
    assert not torch.equal(top_bn.running_mean, top_before)


def test_lp_ft_probes_on_features_then_fine_tunes_everything_slower():
    algo = ALGORITHMS.get("lp_ft")(zoo.create_backbone("simple_cnn", in_chans=1), 2, {"ft_lr_mult": 0.2})
    probe, finetune = algo.stages(algo.hparams, 0.1)
    assert probe.features and not finetune.features and finetune.lr_mult == 0.2
    algo.set_stage(probe)
    assert not any(p.requires_grad for p in algo.backbone.parameters())
    algo.set_stage(finetune)
    assert all(p.requires_grad for p in algo.backbone.parameters())


@pytest.mark.parametrize("name", ["full_ft", "linear_probe", "last_k", "gradual_unfreeze", "llrd", "lp_ft", "l2sp"])
def test_strategies_need_target_labels(name):
    cls = ALGORITHMS.get(name)  # stages is a classmethod of the hyperparameters: no model, no bare instance
    with pytest.raises(ConfigError, match="target_budget is 0"):
        cls.stages({k: hp.default for k, hp in cls.HPARAMS.items()}, 0.0)
