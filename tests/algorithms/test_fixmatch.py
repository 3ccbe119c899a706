"""FixMatch (zoo.algorithms.fixmatch, zoo.losses.fixmatch): the masked consistency term, the step, the strong view."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zoo.algorithms.fixmatch import FixMatch
from zoo.augment import build_augment
from zoo.backbones import create_backbone
from zoo.errors import ConfigError
from zoo.losses.fixmatch import fixmatch_consistency
from zoo.testing import check_algorithm

G = torch.Generator().manual_seed(0)
X_S, X_L, X_U = (torch.randn(n, 1, 28, 28, generator=G) for n in (6, 3, 8))
X_U_STRONG = X_U + 0.5 * torch.randn(X_U.shape, generator=G)
Y_S, Y_L = torch.tensor([0, 1, 2, 0, 1, 2]), torch.tensor([2, 1, 0])

# weak-view logits: rows 0 and 3 confident (softmax max 0.9995, 0.982), rows 1, 2, 4 not (0.33, 0.54, 0.89)
WEAK = torch.tensor([[9.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1.2, 0.6], [0.0, 0.0, 4.7], [3.5, 0.5, 0.9]])
STRONG = torch.tensor([[0.5, 2.0, -1.0], [1.0, 0.0, 0.3], [2.0, -1.0, 0.0], [0.1, 0.2, 0.3], [-2.0, 1.0, 0.0]])


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _consistency(weak: np.ndarray, strong: np.ndarray, threshold: float) -> tuple[float, float]:
    q = _softmax(weak)
    labels, mask = q.argmax(1), (q.max(1) >= threshold).astype(float)
    ce = -np.log(_softmax(strong)[np.arange(len(strong)), labels])
    return float((mask * ce).sum() / len(strong)), float(mask.mean())  # the whole batch, not mask.sum()


def test_consistency_is_masked_pseudo_label_ce_over_the_whole_batch():
    loss, rate = fixmatch_consistency(WEAK, STRONG, threshold=0.95)
    want, want_rate = _consistency(WEAK.double().numpy(), STRONG.double().numpy(), 0.95)
    assert want_rate == pytest.approx(2 / 5)  # the fixture is what it says: 2 of 5 rows confident
    assert float(rate) == pytest.approx(want_rate)
    assert float(loss) == pytest.approx(want, rel=1e-5)
    # rows 0 and 3 by hand: pseudo-labels 0 and 2, divided by 5
    ce = torch.nn.functional.cross_entropy(STRONG[[0, 3]], torch.tensor([0, 2]), reduction="sum") / 5
    assert float(loss) == pytest.approx(float(ce), rel=1e-5)


def test_threshold_one_masks_everything_even_saturated_rows_and_zero_keeps_all():
    saturated = torch.tensor([[100.0, 0.0, 0.0], [0.0, 60.0, 0.0]])  # float32 softmax max is exactly 1.0
    assert float(saturated.softmax(1).max(1).values.min()) == 1.0
    for weak, strong in ((WEAK, STRONG), (saturated, STRONG[:2])):
        loss, rate = fixmatch_consistency(weak, strong, threshold=1.0)
        assert float(loss) == 0.0 and float(rate) == 0.0
    exact = float(WEAK.softmax(1).max(1).values[3])  # row 3's confidence itself passes: max >= threshold
    assert float(fixmatch_consistency(WEAK, STRONG, threshold=exact)[1]) == pytest.approx(2 / 5)
    loss, rate = fixmatch_consistency(WEAK, STRONG, threshold=0.0)
    ce = torch.nn.functional.cross_entropy(STRONG, WEAK.argmax(1))
    assert float(rate) == 1.0 and float(loss) == pytest.approx(float(ce), rel=1e-6)


def test_gradient_reaches_only_the_strong_logits_of_confident_rows():
    weak, strong = WEAK.clone().requires_grad_(), STRONG.clone().requires_grad_()
    loss, _ = fixmatch_consistency(weak, strong, threshold=0.95)
    loss.backward()
    assert weak.grad is None or not weak.grad.any()  # the weak view only labels
    assert strong.grad[[0, 3]].abs().sum() > 0 and not strong.grad[[1, 2, 4]].any()


def _build(**hparams) -> FixMatch:
    torch.manual_seed(0)
    return FixMatch(create_backbone("simple_cnn", in_chans=1), 3, hparams).eval()  # eval: dropout off


def test_training_step_is_labeled_ce_plus_lambda_u_times_consistency_on_the_two_views():
    algo = _build(lambda_u=2.5)
    with torch.no_grad():
        logits_lab = algo.predict(torch.cat([X_S, X_L])).double().numpy()
        weak, strong = algo.predict(X_U).double().numpy(), algo.predict(X_U_STRONG).double().numpy()
    threshold = float(np.median(_softmax(weak).max(1)))  # half the unlabeled batch is confident
    algo.hparams["threshold"] = threshold
    out = algo.training_step((X_S, Y_S), (X_L, Y_L, X_U, X_U_STRONG))
    ce = -np.log(_softmax(logits_lab)[np.arange(9), torch.cat([Y_S, Y_L]).numpy()]).mean()
    cons, rate = _consistency(weak, strong, threshold)
    assert 0 < rate < 1
    assert float(out["ce"]) == pytest.approx(ce, rel=1e-5)
    assert float(out["consistency"]) == pytest.approx(cons, rel=1e-4)
    assert float(out["mask_rate"]) == pytest.approx(rate)
    assert float(out["loss"].detach()) == pytest.approx(ce + 2.5 * cons, rel=1e-5)


def test_budget_zero_is_refused_in_one_line_and_the_stage_asks_for_randaugment():
    hparams = _build().hparams
    assert hparams == {"threshold": 0.95, "lambda_u": 1.0}
    with pytest.raises(ConfigError) as err:
        FixMatch.stages(hparams, 0.0)
    assert "target_budget" in str(err.value) and "\n" not in str(err.value)
    stages = FixMatch.stages(hparams, 0.1)
    assert [(s.name, s.data, s.strong_augment) for s in stages] == [("adapt", "source+target_semi", "randaugment")]
    with pytest.raises(ConfigError, match="threshold"):
        _build(threshold=1.5)


@pytest.mark.parametrize("channels", [1, 3])
def test_randaugment_gives_a_strong_view_of_grey_and_colour_28px_batches(channels):
    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (16, channels, 28, 28), dtype=torch.uint8, generator=g)  # (B, C, 28, 28)
    aug = build_augment("randaugment")
    out = aug(images, torch.Generator().manual_seed(2))
    assert out.shape == images.shape and out.dtype == torch.uint8
    assert (out != images).float().mean() > 0.3  # most pixels change
    assert torch.equal(out, aug(images, torch.Generator().manual_seed(2)))  # deterministic per generator


def test_fixmatch_passes_the_conformance_kit():
    check_algorithm(FixMatch)
