"""The ``medzoo`` command as a user meets it: every mistake is one line on stderr and exit 2, never a traceback.

Each test runs the installed console script in a subprocess with ``cwd=tmp_path`` (see ``helpers.cli``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.cli import assert_one_line_error, run_medzoo

# Overrides that keep a run short should an error test ever get past its error.
FAST = ["train.epochs=1", "seeds=[0]", "train.max_steps_per_epoch=1", "--no-progress"]


def test_unknown_suite_name_answers_did_you_mean(tmp_path):
    proc = run_medzoo(["run", "quik"], cwd=tmp_path)
    assert_one_line_error(proc, "unknown suite 'quik'", "did you mean 'quick'", "available: ")


def test_missing_suite_file(tmp_path):
    proc = run_medzoo(["run", "./nope.yaml"], cwd=tmp_path)
    assert_one_line_error(proc, "nope.yaml does not exist")


def test_unknown_list_kind_answers_did_you_mean(tmp_path):
    proc = run_medzoo(["list", "algoritms"], cwd=tmp_path)
    assert_one_line_error(proc, "unknown kind 'algoritms'", "did you mean 'algorithms'", "backbones, algorithms")


def test_malformed_suite_yaml_names_file_and_line(tmp_path):
    (tmp_path / "bad.yaml").write_text("suite: bad\nversion: 1\ndomains: {a: {dataset: synthetic}\ntasks: []\n")
    proc = run_medzoo(["run", "bad.yaml"], cwd=tmp_path)
    line = assert_one_line_error(proc, "malformed YAML")
    location = line.removeprefix("medzoo: error: ").split(": ")[0]  # bad.yaml:LINE:COL
    file, line_no, _column = location.split(":")
    assert file == "bad.yaml" and int(line_no) in (3, 4), line


def test_semantic_suite_error_names_file_and_line(tmp_path):
    text = (Path(__file__).parents[2] / "benchmarks" / "suites" / "quick.yaml").read_text()
    assert text.count("target_budget: 0.1") == 1
    text = text.replace("target_budget: 0.1", "target_budget: 1.5")
    (tmp_path / "q.yaml").write_text(text)
    line_no = next(i + 1 for i, line in enumerate(text.splitlines()) if "target_budget: 1.5" in line)
    proc = run_medzoo(["run", "q.yaml"], cwd=tmp_path)
    assert_one_line_error(proc, f"q.yaml:{line_no}: ", "'target_budget' must be in [0, 1]")


def test_unknown_override_key(tmp_path):
    proc = run_medzoo(["run", "quick", "train.epoch=1"], cwd=tmp_path)
    assert_one_line_error(proc, "override 'train.epoch=1'", "unknown train option 'epoch'", "epochs")


def test_hyperparameter_of_the_wrong_type(tmp_path):
    proc = run_medzoo(["run", "quick", "hparams.source_then_target.target_lr_mult=abc", *FAST], cwd=tmp_path)
    assert_one_line_error(proc, "target_lr_mult", "source_then_target", "float", "'abc'")
    assert not (tmp_path / "medzoo-runs" / "results.jsonl").exists()


def test_unwritable_output_dir(tmp_path):
    # Tests run as root, so permissions cannot make a folder unwritable; a path below a file can't be created.
    (tmp_path / "a-file").write_text("not a folder")
    out = tmp_path / "a-file" / "runs"
    proc = run_medzoo(["run", "quick", "-o", str(out), *FAST], cwd=tmp_path)
    assert_one_line_error(proc, f"cannot write results to {out}", "--output-dir")


def test_results_on_an_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = run_medzoo(["results", "empty"], cwd=tmp_path)
    assert_one_line_error(proc, "no results.jsonl in empty", "medzoo run")
    assert proc.stdout.strip() == ""  # no empty table


def test_results_with_no_output_folder(tmp_path):
    proc = run_medzoo(["results"], cwd=tmp_path)
    assert_one_line_error(proc, "no results at medzoo-runs")


@pytest.mark.parametrize(
    "args, examples",
    [
        (["--help"], ["examples:", "medzoo list", "medzoo run quick", "medzoo results"]),
        (["run", "--help"], ["examples:", "medzoo run quick", "train.epochs=1", "--preset full"]),
    ],
    ids=["medzoo", "run"],
)
def test_help_shows_examples(tmp_path, args, examples):
    proc = run_medzoo(args, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    for example in examples:
        assert example in proc.stdout, f"{example!r} missing from `medzoo {' '.join(args)}`:\n{proc.stdout}"


def test_list_prints_the_builtins(tmp_path):
    proc = run_medzoo(["list"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    rows = {line.split("│")[2].strip(): line for line in proc.stdout.splitlines() if line.count("│") >= 5}
    for kind, name in [("algorithm", "source_only"), ("algorithm", "source_then_target"), ("backbone", "simple_cnn"),
                       ("dataset", "pneumoniamnist"), ("suite", "quick")]:
        assert name in rows, f"{name} not listed:\n{proc.stdout}"
        assert kind in rows[name] and "medzoo" in rows[name] and "broken" not in rows[name], rows[name]


def test_doctor_finds_and_verifies_the_data(tmp_path, data_dir):
    proc = run_medzoo(["doctor", "--data-dir", str(data_dir)], cwd=tmp_path)
    assert "Traceback" not in proc.stdout + proc.stderr
    row = next((line for line in proc.stdout.splitlines() if "pneumoniamnist.npz" in line), "")
    assert "md5 verified" in row, proc.stdout
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_overrides_after_options_are_still_overrides(tmp_path):
    # argparse alone would reject `train.epoch=1` here as an unrecognized argument.
    proc = run_medzoo(["run", "quick", "--no-progress", "train.epoch=1"], cwd=tmp_path)
    assert_one_line_error(proc, "override 'train.epoch=1'")


def test_an_unknown_option_is_still_refused(tmp_path):
    proc = run_medzoo(["run", "quick", "--bogus"], cwd=tmp_path)
    assert proc.returncode == 2 and "unrecognized arguments: --bogus" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_shift_that_is_not_an_acquisition_shift_spec(tmp_path):
    (tmp_path / "s.yaml").write_text("suite: s\nversion: 1\ndomains:\n  a: {dataset: synthetic}\n"
                                     "  b: {dataset: synthetic, seed: 1, shift: 0.3}\n"
                                     "tasks:\n  - {name: t, source: a, target: b, algorithms: [source_only]}\n")
    proc = run_medzoo(["run", "s.yaml"], cwd=tmp_path)
    assert_one_line_error(proc, "s.yaml:5", "acquisition shift", "{name: gamma, severity: 3, seed: 0}", "0.3")
