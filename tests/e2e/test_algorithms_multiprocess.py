"""Every registered algorithm trains under ``accelerate launch --num_processes 2`` (CPU, gloo) end to end.

Generated from the registry, like the contract tests: one tiny suite on synthetic domains with two
labeled sources (multi-source), an unlabeled/budgeted target, and every algorithm name in it, run by the
real CLI in two processes. Each algorithm gets one record, written once by the main process, with the
two-process provenance; nothing diverges (a DDP error, a hang on unused parameters, a rank mismatch in a
feature cache would all fail the run).
"""

from __future__ import annotations

import json
import textwrap

import pytest
from e2e_helpers import accelerate_launch

from zoo.algorithms import ALGORITHMS

pytestmark = pytest.mark.slow


def test_every_algorithm_runs_under_two_processes(run_cmd, tmp_path):
    names = ALGORITHMS.names()
    suite = tmp_path / "all.yaml"
    suite.write_text(textwrap.dedent(f"""\
        suite: all-algorithms
        version: 1
        defaults:
          backbone: {{name: simple_cnn}}
          train: {{epochs: 1, batch_size: 8, max_steps_per_epoch: 2}}
          seeds: [0]
        domains:
          a: {{dataset: synthetic, seed: 0, n_per_class: 40}}
          b: {{dataset: synthetic, seed: 1, n_per_class: 40, appearance: 0.3}}
          t: {{dataset: synthetic, seed: 2, n_per_class: 40, appearance: 1.0}}
        tasks:
          - {{name: two-sources, source: [a, b], target: t, target_budget: 0.5, algorithms: {json.dumps(names)}}}
        """))
    out = tmp_path / "runs"
    run_cmd([*accelerate_launch(2), "-m", "zoo.cli.main", "run", str(suite), "-o", str(out), "--no-progress"],
            timeout=600)
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines() if line.strip()]
    assert sorted(r["algorithm"] for r in records) == sorted(names)  # one record each, none twice
    for record in records:
        assert record["provenance"]["hardware"]["num_processes"] == 2, record["algorithm"]
        assert record["task"]["source"] == ["a", "b"]
        assert 0.0 <= record["metrics"]["target_test"]["accuracy"] <= 1.0
