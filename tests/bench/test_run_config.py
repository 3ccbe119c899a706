"""Run ids from an explicit policy (zoo.bench.run_config): a typed, frozen config; the id hashes its difference
from a versioned table of defaults."""

from __future__ import annotations

import copy
import json
import pickle

import pytest

from zoo.bench.run_config import ID_DEFAULTS, RunConfig, id_payload, run_id_of
from zoo.bench.suite import TRAIN_DEFAULTS, load_suite


def _config() -> RunConfig:
    return load_suite("quick").runs()[0].config


def test_the_config_is_typed_and_read_only():
    config = _config()
    assert isinstance(config, RunConfig) and config.train["epochs"] == config["train"]["epochs"] == 4
    with pytest.raises(TypeError, match="read-only"):
        config["train"]["epochs"] = 1
    with pytest.raises(AttributeError):
        config.seed = 3
    assert "init" not in config and config.get("init") is None  # optional fields are absent, as before


def test_it_copies_pickles_and_serialises_like_the_dict_it_was():
    config = _config()
    assert pickle.loads(pickle.dumps(config)) == config  # worker processes receive runs pickled
    assert copy.deepcopy(config) == config
    plain = config.to_dict()
    assert json.loads(json.dumps(plain)) == plain and RunConfig.from_dict(plain) == config
    assert config.replace(seed=5).seed == 5 and config.seed == 0


def test_values_equal_to_the_table_are_not_hashed():
    config = _config()
    payload = id_payload(config)
    assert payload["id_policy"] == 2
    assert "drop_last" not in payload["config"]["train"] and "eval_every" not in payload["config"]["train"]
    assert "selection" not in payload["config"]  # rule, rules: never; metric: only when not accuracy
    assert payload["config"]["train"] == {"epochs": 4}  # quick differs from the table in its epochs only


def test_an_option_added_with_its_default_keeps_every_id():
    config = _config().to_dict()
    del config["train"]["eval_every"]  # a config from before the option existed
    assert run_id_of(config) == run_id_of(_config())


def test_the_table_matches_the_runtime_defaults():
    """Changing a runtime default must be a deliberate policy change (new table values rename runs)."""
    assert ID_DEFAULTS["train"] == TRAIN_DEFAULTS


def test_runs_of_builtins_hash_no_plugin_sources_so_their_ids_never_change():
    # `plugins` (a third-party component's version and source hash) is absent for medzoo's own entries.
    config = _config()
    assert "plugins" not in config and "plugins" not in id_payload(config)["config"]
    with_plugin = config.replace(plugins={"medzoo-x": {"version": "1.0", "source_sha256": "ab" * 32}})
    edited = config.replace(plugins={"medzoo-x": {"version": "1.0", "source_sha256": "cd" * 32}})
    assert len({run_id_of(config), run_id_of(with_plugin), run_id_of(edited)}) == 3
    assert RunConfig.from_dict(with_plugin.to_dict()) == with_plugin  # stored run configs read back
