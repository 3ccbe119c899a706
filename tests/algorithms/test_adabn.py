"""AdaBN (Li et al. 2016/2018): source-only training; target splits evaluated with target BatchNorm statistics.

The math: inside ``evaluation_state("target", ...)`` each BatchNorm layer's running mean and variance are
those of its inputs over the target images (checked against the layer inputs captured with a hook), and on
exit the source statistics come back bit for bit. Through the runner: an ``adabn`` run trains exactly as
``source_only`` with the same seed (identical weights, identical source metrics) and differs only on the
target splits.
"""

from __future__ import annotations

import torch

from zoo.algorithms.adabn import AdaBN
from zoo.backbones import create_backbone


def _model() -> AdaBN:
    torch.manual_seed(0)
    model = AdaBN(create_backbone("simple_cnn", in_chans=1, image_size=28, norm="batch"), num_classes=2)
    model.train()
    with torch.no_grad():  # source statistics: a few training-mode passes on "source" images
        for _ in range(3):
            model.predict(torch.randn(16, 1, 28, 28))
    return model.eval()


def test_target_statistics_are_the_target_moments_and_the_source_ones_come_back():
    model = _model()
    bn = model.backbone.conv_blocks[0][1]
    source_state = {k: v.clone() for k, v in model.state_dict().items()}
    target = 3.0 + 2.0 * torch.randn(40, 1, 28, 28)  # another "scanner": brighter, more contrast
    seen = []
    hook = bn.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].detach()))
    with model.evaluation_state("target", lambda: iter([target])):
        hook.remove()
        x = seen[0]  # (40, 32, 28, 28): what the first BatchNorm saw, one batch of all target images
        assert torch.allclose(bn.running_mean, x.mean(dim=(0, 2, 3)), atol=1e-5)
        assert torch.allclose(bn.running_var, x.var(dim=(0, 2, 3), unbiased=True), rtol=1e-4)
        adapted = model.predict(target)
    for key, value in model.state_dict().items():
        assert torch.equal(value, source_state[key]), key
    assert not torch.allclose(adapted, model.predict(target))  # the statistics changed the predictions
    with model.evaluation_state("source", lambda: iter([target])):  # source splits: nothing changes
        for key, value in model.state_dict().items():
            assert torch.equal(value, source_state[key]), key


def test_adabn_trains_as_source_only_and_differs_on_the_target_only(tmp_path, data_dir):
    from zoo.bench.suite import load_suite
    from zoo.runner.suite_runner import run_suite

    (tmp_path / "s.yaml").write_text("""\
suite: adabn-e2e
version: 1
defaults:
  backbone: {name: simple_cnn, norm: batch}
  train: {epochs: 2, batch_size: 64, max_steps_per_epoch: 5}
  seeds: [0]
  selection: {rule: source_val, rules: [source_val, last]}
domains:
  xray: {dataset: pneumoniamnist, partition: {part: 0, of: 2, seed: 0}}
  xray_gamma: {dataset: pneumoniamnist, partition: {part: 1, of: 2, seed: 0}, shift: {name: gamma, severity: 4}}
tasks:
  - {name: t, source: xray, target: xray_gamma, target_budget: 0, algorithms: [source_only, adabn]}
""")
    records = {r["algorithm"]: r for r in run_suite(load_suite(str(tmp_path / "s.yaml")), tmp_path / "runs",
                                                    data_dir=data_dir, cpu=True, show_progress=False)}
    plain, adabn = records["source_only"]["selections"]["last"], records["adabn"]["selections"]["last"]
    assert plain["metrics"]["source_val"] == adabn["metrics"]["source_val"]
    assert plain["metrics"]["source_test"] == adabn["metrics"]["source_test"]
    assert plain["metrics"]["target_test"]["auroc"] != adabn["metrics"]["target_test"]["auroc"]
    weights = [tmp_path / "runs" / records[a]["selections"]["last"]["checkpoint"] for a in ("source_only", "adabn")]
    from safetensors.torch import load_file

    a, b = (load_file(str(w)) for w in weights)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # identical training
