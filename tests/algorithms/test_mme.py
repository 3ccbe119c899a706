"""MME (zoo.algorithms.mme, zoo.losses.minimax_entropy): the cosine head, the entropy term and its minimax signs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zoo.algorithms.mme import MME
from zoo.backbones import create_backbone
from zoo.errors import ConfigError
from zoo.losses.minimax_entropy import CosineClassifier, adentropy
from zoo.testing import check_algorithm

G = torch.Generator().manual_seed(0)
X_S, X_L, X_U = (torch.randn(n, 1, 28, 28, generator=G) for n in (6, 3, 8))
Y_S, Y_L = torch.tensor([0, 1, 2, 0, 1, 2]), torch.tensor([2, 1, 0])


def _build(**hparams) -> MME:
    torch.manual_seed(0)
    return MME(create_backbone("simple_cnn", in_chans=1), 3, hparams).eval()  # eval: dropout off, exact sums


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _cosine_logits(f: np.ndarray, w: np.ndarray, t: float) -> np.ndarray:
    return (f / np.linalg.norm(f, axis=1, keepdims=True)) @ w.T / t  # (N, D) @ (D, K) / T


def test_cosine_classifier_logits_are_normalised_features_times_weights_over_t():
    head = CosineClassifier(16, 4, temperature=0.05)
    f = torch.randn(5, 16, generator=torch.Generator().manual_seed(1)) * 7.0
    want = _cosine_logits(f.double().numpy(), head.weight.detach().double().numpy(), 0.05)
    np.testing.assert_allclose(head(f).detach().numpy(), want, rtol=1e-5, atol=1e-5)
    assert head.fc.bias is None
    np.testing.assert_allclose(head(f * 3.0).detach().numpy(), want, rtol=1e-5, atol=1e-5)  # scale-invariant


def test_adentropy_is_lambda_times_mean_sum_p_log_p():
    head = CosineClassifier(16, 4, temperature=0.1)
    f = torch.randn(7, 16, generator=torch.Generator().manual_seed(2))
    term, ent = adentropy(head, f, lam=0.3)
    p = _softmax(_cosine_logits(f.double().numpy(), head.weight.detach().double().numpy(), 0.1))
    neg_ent = (p * np.log(p)).sum(1).mean()
    assert float(term.detach()) == pytest.approx(0.3 * neg_ent, rel=1e-5)
    assert float(ent) == pytest.approx(-neg_ent, rel=1e-5) and not ent.requires_grad


def test_training_step_is_labeled_ce_plus_lambda_times_negative_entropy_of_unlabeled():
    algo = _build(**{"lambda": 0.7, "temperature": 0.2})
    out = algo.training_step((X_S, Y_S), (X_L, Y_L, X_U))
    w = algo.classifier.weight.detach().double().numpy()
    with torch.no_grad():
        f_lab = algo.backbone.forward_features(torch.cat([X_S, X_L])).double().numpy()
        f_u = algo.backbone.forward_features(X_U).double().numpy()
    p_lab = _softmax(_cosine_logits(f_lab, w, 0.2))
    ce = -np.log(p_lab[np.arange(9), torch.cat([Y_S, Y_L]).numpy()]).mean()  # source and labeled target together
    p_u = _softmax(_cosine_logits(f_u, w, 0.2))
    neg_ent = (p_u * np.log(p_u)).sum(1).mean()
    assert float(out["ce"]) == pytest.approx(ce, rel=1e-5)
    assert float(out["entropy"]) == pytest.approx(-neg_ent, rel=1e-5)
    assert float(out["loss"].detach()) == pytest.approx(ce + 0.7 * neg_ent, rel=1e-5)
    assert torch.equal(algo.predict(X_U), algo.classifier(algo.features(X_U)))  # predict reads the cosine head


def _grads(algo: MME, loss: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    algo.zero_grad(set_to_none=True)
    loss.backward()
    head = algo.classifier.weight.grad.clone()
    feats = torch.cat([p.grad.flatten() for p in algo.backbone.parameters()])
    return head, feats


def test_reversed_gradient_head_ascends_and_features_descend_the_entropy():
    algo = _build(**{"lambda": 0.1})
    term, _ = adentropy(algo.classifier, algo.features(X_U), 0.1)
    head_mme, feats_mme = _grads(algo, term)
    # autograd of the plain entropy H (no reversal layer): d(-0.1 H) is what the head descends
    logp = algo.classifier(algo.features(X_U)).log_softmax(1)
    head_h, feats_h = _grads(algo, -0.1 * -(logp.exp() * logp).sum(1).mean())
    assert feats_h.abs().max() > 0 and head_h.abs().max() > 0
    torch.testing.assert_close(head_mme, head_h)  # head: the gradient of -lambda H (it maximises H)
    torch.testing.assert_close(feats_mme, -feats_h)  # features: the gradient of +lambda H (they minimise H)


def _entropy(algo: MME) -> float:
    with torch.no_grad():
        return float(adentropy(algo.classifier, algo.features(X_U), 1.0)[1])


@pytest.mark.parametrize("part, direction", [("classifier", +1), ("backbone", -1)])
def test_one_step_on_the_term_alone_raises_entropy_via_head_and_lowers_it_via_features(part, direction):
    algo = _build()
    before = _entropy(algo)
    optimizer = torch.optim.SGD(getattr(algo, part).parameters(), lr=0.05)  # only one side moves
    term, _ = adentropy(algo.classifier, algo.features(X_U), algo.hparams["lambda"])
    term.backward()
    optimizer.step()
    after = _entropy(algo)
    assert direction * (after - before) > 1e-6, (part, before, after)


def test_budget_zero_is_refused_in_one_line_and_a_budget_gives_one_semi_stage():
    hparams = _build().hparams
    with pytest.raises(ConfigError) as err:
        MME.stages(hparams, 0.0)
    assert "target_budget" in str(err.value) and "\n" not in str(err.value)
    stages = MME.stages(hparams, 0.1)
    assert [(s.name, s.data, s.strong_augment) for s in stages] == [("adapt", "source+target_semi", None)]
    assert set(MME.SETTINGS) == {"semi_supervised", "transfer"}


def test_backbone_lr_multiplier_and_cosine_head_groups():
    groups = {g["name"]: g for g in _build(backbone_lr_mult=0.1).param_groups()}
    assert {k: g["lr_mult"] for k, g in groups.items()} == {"backbone": 0.1, "head": 1.0}
    assert groups["head"]["params"] == [groups["head"]["params"][0]] and groups["head"]["params"][0].shape == (3, 512)


def test_mme_passes_the_conformance_kit():
    check_algorithm(MME)
