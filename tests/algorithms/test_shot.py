"""SHOT (Liang et al. ICML 2020): the IM loss and the centroid pseudo-labels against independent numpy code
(SHOT's ``obtain_label``), the frozen hypothesis in the adapt stage, the stage losses, the conformance kit."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.spatial.distance import cdist

from zoo.algorithms.base import Stage
from zoo.algorithms.shot import SHOT
from zoo.backbones import create_backbone
from zoo.errors import ConfigError
from zoo.losses.information_max import information_maximization, shot_pseudo_labels
from zoo.testing.algorithms import check_algorithm
from zoo.testing.core import one_thread

SOURCE, ADAPT = Stage("source", "source"), Stage("adapt", "target_unlabeled")


@pytest.fixture(autouse=True)
def _one_thread():
    with one_thread():  # tiny tensors: more threads only fight for the shared cores
        yield


def _numpy_im(logits: np.ndarray, eps: float = 1e-5) -> tuple[float, float, float]:
    z = logits - logits.max(1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    ent = np.mean(np.sum(-p * np.log(p + eps), axis=1))
    mean = p.mean(0)
    div = np.sum(-mean * np.log(mean + eps))
    return ent - div, ent, div


def _numpy_obtain_label(feat: np.ndarray, probs: np.ndarray, threshold: int = 0) -> np.ndarray:
    """SHOT's obtain_label (object/image_target.py, cosine distance), written over again in numpy/scipy."""
    predict = probs.argmax(1)
    feat = np.concatenate([feat, np.ones((len(feat), 1))], 1)
    feat = (feat.T / np.linalg.norm(feat, ord=2, axis=1)).T
    num_classes = probs.shape[1]
    aff = probs
    for _ in range(2):
        initc = aff.T.dot(feat)
        initc = initc / (1e-8 + aff.sum(axis=0)[:, None])
        cls_count = np.eye(num_classes)[predict].sum(axis=0)
        labelset = np.where(cls_count > threshold)[0]
        dd = cdist(feat, initc[labelset], "cosine")
        predict = labelset[dd.argmin(axis=1)]
        aff = np.eye(num_classes)[predict]
    return predict


def test_information_maximization_matches_numpy():
    g = torch.Generator().manual_seed(0)
    logits = 3.0 * torch.randn(9, 4, generator=g)
    logits[0] = torch.tensor([40.0, -40.0, 0.0, 0.0])  # a saturated row: p = 0 exactly, eps keeps the log finite
    want = _numpy_im(logits.double().numpy())
    got = information_maximization(logits)
    assert [float(t) for t in got] == pytest.approx(want, abs=1e-6)
    assert got.ent > 0 and got.div > got.ent  # diverse but confident predictions: a negative loss
    collapsed = information_maximization(torch.tensor([[5.0, 0.0, 0.0]] * 6))  # every sample the same class
    assert float(collapsed.loss) == pytest.approx(0.0, abs=1e-6)  # confident but not diverse: ent == div
    logits.requires_grad_(True)
    information_maximization(logits).loss.backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0


def _clustered(n: int = 48, d: int = 6, k: int = 4, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Features in k clusters, and noisy predictions that never pick class k-1 and mislabel a third."""
    g = torch.Generator().manual_seed(seed)
    truth = torch.arange(n) % k
    centres = 0.5 * torch.randn(k, d, generator=g)  # small norms: the appended column of ones changes the labels
    feats = centres[truth] + 0.2 * torch.randn(n, d, generator=g)
    logits = 2.0 * F.one_hot(truth, k).float() + 1.5 * torch.randn(n, k, generator=g)
    logits[:, k - 1] -= 10.0  # class k-1 is never the argmax: SHOT's labelset leaves its centroid out
    return feats, logits.softmax(1)


@pytest.mark.parametrize("threshold", [0, 12])
def test_pseudo_labels_match_numpy_obtain_label(threshold):
    feats, probs = _clustered()
    want = _numpy_obtain_label(feats.double().numpy(), probs.double().numpy(), threshold)
    got = shot_pseudo_labels(feats, probs, threshold=threshold)
    assert got.dtype == torch.long and got.shape == (48,)
    assert got.tolist() == want.tolist()
    assert 3 not in got.tolist()  # no centroid for a class the network never predicts
    assert (got != probs.argmax(1)).any()  # the clustering relabels some samples: not the argmax again
    one_round = _numpy_obtain_label_rounds(feats.double().numpy(), probs.double().numpy(), threshold)
    assert (got.numpy() != one_round).any()  # the hard-label refinement round changes something here


def _numpy_obtain_label_rounds(feat: np.ndarray, probs: np.ndarray, threshold: int) -> np.ndarray:
    """Only the first (soft-centroid) round, to show that the second one matters on the test data."""
    feat = np.concatenate([feat, np.ones((len(feat), 1))], 1)
    feat = feat / np.linalg.norm(feat, axis=1, keepdims=True)
    initc = probs.T.dot(feat) / (1e-8 + probs.sum(0)[:, None])
    labelset = np.where(np.bincount(probs.argmax(1), minlength=probs.shape[1]) > threshold)[0]
    return labelset[cdist(feat, initc[labelset], "cosine").argmin(1)]


def test_pseudo_labels_refuse_bad_input_in_one_line():
    feats, probs = _clustered()
    with pytest.raises(ConfigError, match="same N"):
        shot_pseudo_labels(feats[:5], probs)
    with pytest.raises(ConfigError, match="threshold must be an integer >= 0"):
        shot_pseudo_labels(feats, probs, threshold=-1)


def _model(**hparams) -> SHOT:
    torch.manual_seed(0)
    return SHOT(create_backbone("simple_cnn", in_chans=1, norm="batch"), num_classes=3, hparams=hparams)


def _runner_optimizer(model: SHOT) -> torch.optim.Optimizer:
    return torch.optim.Adam([{"params": g["params"], "lr": 1e-3 * g["lr_mult"]} for g in model.param_groups()
                             if g["params"]])


X_T = torch.randn(16, 1, 28, 28, generator=torch.Generator().manual_seed(2)) + 0.5


def test_adapt_stage_trains_the_backbone_against_a_frozen_hypothesis_and_the_source_stage_trains_the_head():
    model = _model()
    assert SHOT.stages(model.hparams, 0.3) == [SOURCE, ADAPT]
    model.set_stage(ADAPT)
    assert not any(p.requires_grad for p in model.classifier.parameters())
    head = {k: v.clone() for k, v in model.classifier.state_dict().items()}
    conv = model.backbone.conv_blocks[0][0].weight.detach().clone()
    optimizer = _runner_optimizer(model)
    model.train()
    for _ in range(3):
        optimizer.zero_grad(set_to_none=True)
        model.training_step(None, (X_T, None))["loss"].backward()
        optimizer.step()
    assert all(torch.equal(v, head[k]) for k, v in model.classifier.state_dict().items())
    assert all(p.grad is None for p in model.classifier.parameters())
    assert not torch.equal(conv, model.backbone.conv_blocks[0][0].weight)

    model.set_stage(SOURCE)  # a source stage trains the head again
    assert all(p.requires_grad for p in model.classifier.parameters())
    optimizer = _runner_optimizer(model)
    y = torch.arange(16) % 3
    for _ in range(2):
        optimizer.zero_grad(set_to_none=True)
        model.training_step((X_T, y), None)["loss"].backward()
        optimizer.step()
    assert not torch.equal(head["weight"], model.classifier.weight)


def test_adapt_loss_is_weighted_im_plus_pseudo_label_ce_and_modes_come_back():
    model = _model(cls_weight=0.5, ent_weight=2.0)
    model.set_stage(ADAPT)
    model.eval()  # no dropout, no BatchNorm update: the hand computation below sees the same network
    out = model.training_step(None, (X_T, torch.zeros(16, dtype=torch.long)))  # labels are never read
    with torch.no_grad():
        features = model.features(X_T)
        logits = model.classifier(features)
        # the pseudo-labels' network: eval mode but BatchNorm on the batch's statistics (a throwaway copy's)
        batch_stats = copy.deepcopy(model)
        for m in batch_stats.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.train()
        seen = batch_stats.features(X_T)
        labels = shot_pseudo_labels(seen, batch_stats.classifier(seen).softmax(1))
        im = information_maximization(logits)
        want = 2.0 * im.loss + 0.5 * F.cross_entropy(logits, labels)
    assert float(out["loss"].detach()) == pytest.approx(float(want), abs=1e-5)
    assert float(out["im"]) == pytest.approx(float(im.loss), abs=1e-6)
    assert set(out) == {"loss", "im", "ent", "div", "pseudo_ce", "pseudo_agree"}
    assert all(not v.requires_grad for k, v in out.items() if k != "loss")
    running = {k: v.clone() for k, v in model.state_dict().items() if "running" in k or "num_batches" in k}
    model.pseudo_labels(X_T)  # batch statistics, but the running ones are left as they were
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in running.items())
    model.train()
    model.backbone.conv_blocks[1].eval()  # a module in another mode than the rest: must be left as it is
    modes = [m.training for m in model.modules()]
    model.training_step(None, (X_T, None))  # the pseudo-labels' eval-mode forward restores every mode
    assert [m.training for m in model.modules()] == modes and not all(modes)
    im_only = _model(cls_weight=0.0)
    im_only.set_stage(ADAPT)
    im_only = im_only.training_step(None, (X_T, None))  # SHOT-IM: no pseudo-labels computed
    assert "pseudo_ce" not in im_only


def test_source_stage_uses_label_smoothing():
    model = _model(label_smoothing=0.2).eval()
    with torch.no_grad():
        model.classifier.weight.mul_(200.0)  # confident logits, so that smoothing changes the loss a lot
    model.set_stage(SOURCE)
    with torch.no_grad():
        log_p = model.predict(X_T).log_softmax(1)  # (N, K)
        y = log_p.argmax(1)  # labels the model is confident about: plain cross-entropy near 0, smoothed not
        out = model.training_step((X_T, y), None)
    # SHOT's CrossEntropyLabelSmooth: targets (1 - e) * onehot + e / K
    targets = 0.8 * F.one_hot(y, 3).float() + 0.2 / 3
    smooth = -(targets * log_p).sum(1).mean()
    assert float(out["loss"]) == pytest.approx(float(smooth), abs=1e-5)
    assert float(smooth) - float(F.nll_loss(log_p, y)) > 0.1  # the smoothing matters here
    with pytest.raises(ConfigError, match="label_smoothing"):
        _model(label_smoothing=1.0)


def test_shot_passes_the_conformance_kit():
    check_algorithm(SHOT)
    assert {s.data for s in SHOT.stages(_model().hparams, 0.0)} <= {"source", "target_unlabeled"}
