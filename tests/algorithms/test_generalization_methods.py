"""Domain generalization (DomainBed's setting): GroupDRO, V-REx, MixStyle and multi-domain CORAL.

Every penalty and update is compared with an independent numpy computation on fixed arrays or on the real
logits/features of a ``simple_cnn`` or ``resnet18_28`` backbone (dropout off, so a training-mode forward is
deterministic); each class also passes the conformance kit.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import zoo
from zoo.algorithms.base import Stage
from zoo.algorithms.coral_dg import CORALDG
from zoo.algorithms.group_dro import MAX_DOMAINS, GroupDRO
from zoo.algorithms.mixstyle import MixStyle, draw_partners, find_mix_layers, mix_statistics
from zoo.algorithms.vrex import VREx
from zoo.errors import ConfigError
from zoo.losses.domain_groups import coral_pair_penalty, group_dro_step, per_domain_cross_entropy, variance_penalty
from zoo.testing import check_algorithm

METHODS = [GroupDRO, VREx, MixStyle, CORALDG]
G = torch.Generator().manual_seed(0)
X = torch.randn(8, 1, 28, 28, generator=G)
Y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
D = torch.tensor([0, 0, 0, 1, 1, 1, 1, 1])


def _build(cls, backbone: str = "simple_cnn", in_chans: int = 1, seed: int = 0, sharp: bool = False, **hparams):
    torch.manual_seed(seed)
    options = {"dropout": 0.0} if backbone == "simple_cnn" else {}  # deterministic training-mode forward
    algo = cls(zoo.create_backbone(backbone, in_chans=in_chans, **options), 3, hparams)
    if sharp:  # confident logits: the domains' losses differ well beyond float32 rounding
        with torch.no_grad():
            algo.classifier.weight.mul_(40.0)
    return algo


def _ce(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-sample cross-entropy in float64."""
    z = logits - logits.max(1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(1, keepdims=True))
    return -log_p[np.arange(len(labels)), labels]


def _domain_ce(algo, x, y, d) -> np.ndarray:
    """Each domain's mean CE (increasing domain order), from the algorithm's logits, in numpy."""
    with torch.no_grad():
        logits = algo.predict(x).double().numpy()
    per_sample = _ce(logits, y.numpy())
    return np.array([per_sample[d.numpy() == g].mean() for g in np.unique(d.numpy())])


# -- shared helpers (zoo.losses.domain_groups) ----------------------------------------------------------
def test_per_domain_cross_entropy_is_each_domains_own_mean_also_class_weighted():
    logits = torch.randn(9, 3, generator=torch.Generator().manual_seed(1))
    labels = torch.tensor([0, 1, 2, 2, 1, 0, 0, 2, 1])
    domains = torch.tensor([3, 0, 3, 0, 3, 3, 0, 5, 5])  # indices 0, 3, 5 present, unordered
    present, losses = per_domain_cross_entropy(logits, labels, domains)
    ce = _ce(logits.double().numpy(), labels.numpy())
    assert present.tolist() == [0, 3, 5]
    np.testing.assert_allclose(losses.numpy(), [ce[domains.numpy() == g].mean() for g in (0, 3, 5)], rtol=1e-6)
    w = torch.tensor([1.0, 2.0, 0.5])
    _, weighted = per_domain_cross_entropy(logits, labels, domains, w)
    expected = []
    for g in (0, 3, 5):
        rows = domains.numpy() == g
        wy = w.numpy()[labels.numpy()[rows]]
        expected.append((wy * ce[rows]).sum() / wy.sum())  # F.cross_entropy(weight=...)'s weighted mean
    np.testing.assert_allclose(weighted.numpy(), expected, rtol=1e-6)


def test_variance_penalty_is_the_biased_variance_as_domainbed():
    losses = torch.tensor([0.3, 1.1, 0.8, 2.0])
    assert float(variance_penalty(losses)) == pytest.approx(np.var([0.3, 1.1, 0.8, 2.0], ddof=0), rel=1e-6)
    assert float(variance_penalty(losses)) != pytest.approx(np.var([0.3, 1.1, 0.8, 2.0], ddof=1), rel=1e-3)
    assert float(variance_penalty(torch.tensor([0.7]))) == 0.0  # one domain: no penalty


def _np_coral(groups: list[np.ndarray]) -> float:
    groups = [g for g in groups if len(g) >= 2]
    terms = []
    for i in range(len(groups)):
        for j in range(i + 1, len(groups)):
            a, b = groups[i], groups[j]
            mean_diff = ((a.mean(0) - b.mean(0)) ** 2).mean()
            cov_diff = ((np.cov(a, rowvar=False) - np.cov(b, rowvar=False)) ** 2).mean()  # np.cov: n - 1
            terms.append(mean_diff + cov_diff)
    return float(np.mean(terms)) if terms else 0.0


def test_coral_pair_penalty_is_domainbeds_mean_cov_distance_over_pairs():
    g = torch.Generator().manual_seed(2)
    groups = [torch.randn(5, 4, generator=g), torch.randn(7, 4, generator=g) * 2 + 1, torch.randn(3, 4, generator=g)]
    expected = _np_coral([t.double().numpy() for t in groups])
    assert float(coral_pair_penalty(groups)) == pytest.approx(expected, rel=1e-5)
    # a one-sample domain has no covariance: left out, the other pairs stay
    assert float(coral_pair_penalty(groups + [torch.randn(1, 4, generator=g)])) == pytest.approx(expected, rel=1e-5)
    assert float(coral_pair_penalty(groups[:1])) == 0.0  # one domain: no penalty


def test_group_dro_step_exponentiates_and_normalises_over_two_steps():
    eta = 0.5
    log_q, seen = torch.zeros(MAX_DOMAINS), torch.zeros(MAX_DOMAINS, dtype=torch.bool)
    present = torch.tensor([0, 2])
    q_np = np.ones(2)  # DomainBed: ones, multiplied, normalised
    for step_losses in ([0.4, 1.5], [2.0, 0.1]):
        log_q, seen, q = group_dro_step(log_q, seen, present, torch.tensor(step_losses), eta)
        q_np = q_np * np.exp(eta * np.array(step_losses))
        q_np = q_np / q_np.sum()
        np.testing.assert_allclose(q[present].numpy(), q_np, rtol=1e-6)
        assert float(q.sum()) == pytest.approx(1.0) and q[1] == 0 and seen.tolist()[:3] == [True, False, True]
    # a domain first seen now enters as a group whose loss was 0 so far (exp(0) unnormalised)
    log_q, seen, q = group_dro_step(log_q, seen, torch.tensor([1]), torch.tensor([0.0]), eta)
    raw = np.array([np.exp(eta * 2.4), 1.0, np.exp(eta * 1.6)])
    np.testing.assert_allclose(q[:3].numpy(), raw / raw.sum(), rtol=1e-6)


# -- GroupDRO -------------------------------------------------------------------------------------------
def test_group_dro_weights_and_loss_over_two_steps_match_numpy():
    algo = _build(GroupDRO, sharp=True, eta=0.5)
    assert algo.q.sum() == 0  # nothing seen yet
    q_np = np.ones(2)
    for step, (x, d) in enumerate([(X, D), (X.flip(0), D)]):
        losses = _domain_ce(algo, x, Y, d)
        algo.set_progress(step, 10)
        out = algo.training_step((x, Y, d), None)
        q_np = q_np * np.exp(0.5 * losses)
        q_np = q_np / q_np.sum()
        np.testing.assert_allclose(algo.q[:2].numpy(), q_np, rtol=1e-5)
        assert out["loss"].item() == pytest.approx(float(q_np @ losses), rel=1e-5)
        assert float(out["q_max"]) == pytest.approx(q_np.max(), rel=1e-5)
        assert float(out["q_entropy"]) == pytest.approx(-(q_np * np.log(q_np)).sum(), rel=1e-4)
    assert float(algo.q[2:].abs().sum()) == 0.0  # unseen slots


def test_group_dro_updates_once_per_step_only_in_training_and_loads_into_a_fresh_model():
    algo = _build(GroupDRO, eta=0.5)
    algo.set_progress(0, 10)
    first = algo.training_step((X, Y, D), None)["loss"]
    q_after = algo.q.clone()
    again = algo.training_step((X, Y, D), None)["loss"]  # the same step run again: same weights, same loss
    assert torch.equal(first, again) and torch.equal(algo.q, q_after)
    algo.set_progress(1, 10)
    algo.eval()
    algo.training_step((X, Y, D), None)
    assert torch.equal(algo.q, q_after)  # eval mode never updates
    algo.train()
    only_one = algo.training_step((X[D == 1], Y[D == 1], D[D == 1]), None)  # a batch of one source
    assert algo.q[1] > q_after[1] and algo.q[0] < q_after[0]  # domain 1 gained, domain 0 kept its raw weight
    assert only_one["loss"].item() < float(_domain_ce(algo, X[D == 1], Y[D == 1], D[D == 1])[0])  # q_1 < 1
    fresh = _build(GroupDRO, seed=1)
    fresh.load_state_dict(algo.state_dict())  # fixed-size buffers: a checkpoint fits a fresh model
    assert torch.equal(fresh.q, algo.q)
    with pytest.raises(ConfigError, match="at most 32 source domains"):
        algo.training_step((X, Y, D + 31), None)


# -- V-REx ----------------------------------------------------------------------------------------------
def test_vrex_loss_is_mean_plus_weight_times_biased_variance_with_the_anneal_switch():
    algo = _build(VREx, sharp=True, **{"lambda": 7.0, "anneal_steps": 500})
    d3 = torch.tensor([0, 0, 1, 1, 1, 2, 2, 2])
    losses = _domain_ce(algo, X, Y, d3)
    for step, weight in ((0, 1.0), (499, 1.0), (500, 7.0), (900, 7.0)):
        algo.set_progress(step, 1000)
        out = algo.training_step((X, Y, d3), None)
        assert float(out["penalty"]) == pytest.approx(np.var(losses), rel=1e-5)  # ddof=0, as DomainBed
        assert float(out["penalty_weight"]) == weight
        assert out["loss"].item() == pytest.approx(losses.mean() + weight * np.var(losses), rel=1e-5)
    one = algo.training_step((X, Y, torch.zeros(8, dtype=torch.long)), None)
    assert float(one["penalty"]) == 0.0  # one domain: ERM


def test_vrex_counts_its_own_training_steps_without_set_progress():
    algo = _build(VREx, **{"lambda": 3.0, "anneal_steps": 2})
    weights = [float(algo.training_step((X, Y, D), None)["penalty_weight"]) for _ in range(3)]
    assert weights == [1.0, 1.0, 3.0]


# -- CORAL (DomainBed) ----------------------------------------------------------------------------------
def test_coral_dg_loss_is_mean_domain_ce_plus_weight_times_the_pair_penalty():
    algo = _build(CORALDG, weight=2.5)
    d3 = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2])
    with torch.no_grad():
        feats = algo.features(X).double().numpy()
    expected_penalty = _np_coral([feats[d3.numpy() == g] for g in range(3)])
    out = algo.training_step((X, Y, d3), None)
    ce = _domain_ce(algo, X, Y, d3).mean()
    assert expected_penalty > 0 and float(out["coral"]) == pytest.approx(expected_penalty, rel=1e-4)
    assert out["loss"].item() == pytest.approx(ce + 2.5 * expected_penalty, rel=1e-4)
    single = algo.training_step((X, Y, torch.zeros(8, dtype=torch.long)), None)
    assert float(single["coral"]) == 0.0 and single["loss"].item() == pytest.approx(float(_domain_ce(
        algo, X, Y, torch.zeros(8, dtype=torch.long))[0]), rel=1e-5)
    assert CORALDG.ALIGNMENT_WEIGHT == "weight"


# -- MixStyle -------------------------------------------------------------------------------------------
def test_mix_statistics_mixes_each_instances_channel_mean_and_std():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(4, 3, 6, 5, generator=g) * torch.tensor([1.0, 2.0, 0.5]).view(1, 3, 1, 1) + 0.7
    x[2] = x[2] * 3 - 1  # a different style
    lam = torch.tensor([0.2, 0.9, 0.5, 0.0])
    partner = torch.tensor([2, 0, 3, 1])
    out = mix_statistics(x, lam, partner).double().numpy()
    xn = x.double().numpy()
    mu = xn.mean(axis=(2, 3))  # (B, C)
    sig = np.sqrt(xn.reshape(4, 3, -1).var(axis=2, ddof=1) + 1e-6)  # unbiased, as the authors' code
    lam_np = lam.double().numpy()[:, None]
    p = partner.numpy()
    np.testing.assert_allclose(out.mean(axis=(2, 3)), lam_np * mu + (1 - lam_np) * mu[p], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.reshape(4, 3, -1).std(axis=2, ddof=1), lam_np * sig + (1 - lam_np) * sig[p],
                               rtol=1e-5)


def test_crossdomain_partners_always_come_from_another_domain():
    torch.manual_seed(0)
    domains = torch.tensor([0, 0, 0, 0, 0, 0, 2, 2, 5])  # uneven, not two halves
    for _ in range(50):
        partner = draw_partners(9, domains, "crossdomain")
        assert (domains[partner] != domains).all()
    same = draw_partners(4, torch.zeros(4, dtype=torch.long), "crossdomain")  # one domain: a permutation
    assert sorted(same.tolist()) == [0, 1, 2, 3]


@pytest.mark.parametrize("backbone, layers", [("simple_cnn", ["conv_blocks.0", "conv_blocks.1"]),
                                              ("resnet18_28", ["model.layer1", "model.layer2"])])
def test_mixstyle_restyles_after_its_layers_in_training_and_leaves_eval_predictions(backbone, layers):
    algo = _build(MixStyle, backbone, p=1.0, mix="crossdomain")
    assert algo.mix_layers == layers
    modules = dict(algo.backbone.named_modules())
    seen: dict[str, torch.Tensor] = {}
    last_child = list(modules[layers[0]].children())[-1]  # its output is the layer's, before our hook
    last_child.register_forward_hook(lambda m, i, o: seen.__setitem__("pre", o.detach().clone()))
    modules[layers[0]].register_forward_hook(lambda m, i, o: seen.__setitem__("post", o.detach().clone()))
    x, y, d = X[2:6], Y[2:6], D[2:6]  # 4 images of domains 0, 1, 1, 1
    if backbone != "simple_cnn":
        x = x[..., 6:22, 6:22]  # 16 px (the ResNet is fully convolutional): a ResNet forward is slow on a CPU
    out = algo.training_step((x, y, d), None)
    assert float(out["mixed_layers"]) == 2.0 and len(algo.last_mix) == 2
    lam, partner = algo.last_mix[0]
    assert (d[partner] != d).all()  # crossdomain: pairs across domains only
    assert torch.allclose(seen["post"], mix_statistics(seen["pre"], lam, partner), atol=1e-6)
    assert not torch.allclose(seen["post"], seen["pre"], atol=1e-3)  # training mode: activations re-styled
    plain = zoo.create_backbone(backbone, in_chans=1, **({"dropout": 0.0} if backbone == "simple_cnn" else {}))
    plain.load_state_dict(algo.backbone.state_dict())  # the same weights and BatchNorm statistics, no hooks
    algo.eval()
    with torch.no_grad():
        logits = algo.predict(x)
        assert torch.equal(logits, algo.predict(x))  # deterministic
        assert torch.allclose(logits, algo.classifier(plain.eval().forward_features(x)), atol=1e-6)  # unaffected
    assert seen["post"].shape == seen["pre"].shape and torch.equal(seen["post"], seen["pre"])  # eval: a no-op


def test_mixstyle_p_zero_is_plain_training_and_backbones_without_early_maps_are_refused():
    algo = _build(MixStyle, p=0.0)
    assert float(algo.training_step((X, Y, D), None)["mixed_layers"]) == 0.0
    vit = zoo.create_backbone("timm/vit_tiny_patch16_224", in_chans=1, img_size=32)
    with pytest.raises(ConfigError, match="conv_blocks.0/1 or a timm model's channels-first feature_info"):
        find_mix_layers(vit)


# -- the contract --------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", METHODS, ids=lambda c: c.__name__)
def test_generalization_methods_declare_the_setting(cls):
    assert cls.SOURCE_DOMAINS and cls.SETTINGS == ("generalization", "transfer") and cls.PAPER
    assert cls.stages(_build(cls).hparams, 0.0) == [Stage("train", "source")]


@pytest.mark.parametrize("cls", METHODS, ids=lambda c: c.__name__)
def test_generalization_methods_pass_the_conformance_kit(cls):
    check_algorithm(cls)
