"""The runner's pre-flight conformance check (zoo.runner.preflight), in process, on entries registered in code.

Entries registered with a third-party ``dist`` are what discovery makes of an installed plugin's entry
points; ``tests/plugins_e2e/test_broken_plugin.py`` runs the same check through a real ``pip install``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch.nn.functional as F

from zoo.algorithms import ALGORITHMS, Algorithm
from zoo.bench.suite import load_suite
from zoo.datasets import DATASETS
from zoo.errors import ConfigError, DataError, PluginError
from zoo.runner.preflight import check_plugins

DIST = "medzoo-preflight-test"


class SourceCE(Algorithm):
    """Sound: source cross-entropy."""

    def training_step(self, source_batch, target_batch):
        x, y = source_batch
        return {"loss": F.cross_entropy(self.predict(x), y)}


class NoLoss(SourceCE):
    """Returns no "loss"."""

    def training_step(self, source_batch, target_batch):
        return {"total": super().training_step(source_batch, target_batch)["loss"]}


class RaisesConfigError(SourceCE):
    """Raises medzoo's ConfigError from its own training_step: a bug of the plugin, whatever the class."""

    def training_step(self, source_batch, target_batch):
        raise ConfigError("internal state not set")


def needs_a_file(path: str = "missing.npz", n_per_class: int = 8):
    """Reads a file the user has not downloaded (no conformance_kwargs: the suite's options are used)."""
    raise DataError(f"{path} not found; download it into the data folder")


@pytest.fixture
def plugin_entries():
    entries = {ALGORITHMS: {"mzpf_good": SourceCE, "mzpf_no_loss": NoLoss, "mzpf_config_error": RaisesConfigError},
               DATASETS: {"mzpf_needs_file": needs_a_file}}
    for registry, objs in entries.items():
        for name, obj in objs.items():
            registry.add(name, obj, dist=DIST, version="0.0.1", lazy=False)
    yield
    for registry, objs in entries.items():
        for name in objs:
            registry.remove(name)


def _runs(tmp_path: Path, algorithm: str, dataset: str = "synthetic"):
    path = tmp_path / "suite.yaml"
    path.write_text(f"""suite: preflight
version: 1
defaults:
  train: {{epochs: 1}}
domains:
  src: {{dataset: {dataset}, partition: {{part: 0, of: 2, seed: 0}}}}
  tgt: {{dataset: {dataset}, partition: {{part: 1, of: 2, seed: 0}}}}
tasks:
  - {{name: halves, source: src, target: tgt, target_budget: 0, algorithms: [{algorithm}]}}
""")
    return load_suite(str(path)).runs()


def test_a_sound_plugin_algorithm_passes_in_seconds(plugin_entries, tmp_path):
    started = time.perf_counter()
    check_plugins(_runs(tmp_path, "mzpf_good"))
    assert time.perf_counter() - started < 60  # the whole kit on tiny synthetic batches (a few s on one thread)


def test_a_broken_plugin_algorithm_is_one_line_naming_its_distribution(plugin_entries, tmp_path):
    with pytest.raises(PluginError) as info:
        check_plugins(_runs(tmp_path, "mzpf_no_loss"))
    assert str(info.value).startswith(f"plugin '{DIST}' (algorithm 'mzpf_no_loss'): returns no loss")
    assert str(info.value).endswith(f"disable it with MEDZOO_DISABLE_PLUGINS={DIST}")


def test_a_users_data_problem_under_the_kit_is_passed_on_as_it_is(plugin_entries, tmp_path):
    # not the plugin's fault: the factory's own one-line DataError, not "fix the plugin"
    with pytest.raises(DataError, match="^missing.npz not found; download it"):
        check_plugins(_runs(tmp_path, "source_only", dataset="mzpf_needs_file"))


def test_a_medzoo_error_from_plugin_code_under_synthetic_batches_is_still_the_plugins(plugin_entries, tmp_path):
    with pytest.raises(PluginError, match=f"^plugin '{DIST}' \\(algorithm 'mzpf_config_error'\\): .*ConfigError"):
        check_plugins(_runs(tmp_path, "mzpf_config_error"))


def test_builtins_are_not_checked_at_run_time(tmp_path, monkeypatch):
    import zoo.testing

    def refuse(*args, **kwargs):
        raise AssertionError("the kit ran on a built-in")

    monkeypatch.setattr(zoo.testing, "check_algorithm", refuse, raising=False)
    monkeypatch.setattr(zoo.testing, "check_dataset", refuse, raising=False)
    check_plugins(_runs(tmp_path, "dann"))
