"""Careless or hostile suite files and command lines, as a user types them: one line, exit 2, nothing written.

Each case reproduces a defect of the input-handling issue from the command line (`medzoo run ...`): before,
a hang (nested aliases), a refused number (`3e-4`), a silently dropped block (duplicate keys), a traceback
(not UTF-8, `.nan`), a silent no-op with exit 0 (`seeds: []`, an algorithm the suite does not run, a
list as the suite name) or a misleading message (a folder or a text file as an `.npz`).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from helpers.cli import assert_one_line_error, cli_env, run_medzoo_many

TASKS = "domains: {x: {dataset: pneumoniamnist}}\ntasks: [{name: t, source: x, target: x, algorithms: [source_only]}]\n"
LAUGHS = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9) if i else ', '.join(['lol'] * 9)}]\n" for i in range(10))

CASES = {
    "laughs": (f"suite: s\nversion: 1\n{LAUGHS}", ["laughs.yaml:", "expands to more than 100,000 values"]),
    "duplicate": ("suite: s\nversion: 1\ndefaults:\n  train: {batch_size: 32}\n  train: {batch_size: 128}\n" + TASKS,
                  ["duplicate.yaml:5: duplicate key 'train' (first at line 4)"]),
    "nan": ("suite: s\nversion: 1\ndefaults:\n  train: {lr: .nan}\n" + TASKS,
            ["nan.yaml:4: 'lr' must be a finite number"]),
    "seeds": ("suite: s\nversion: 1\ndefaults:\n  seeds: []\n" + TASKS, ["seeds.yaml:4: 'seeds' is empty"]),
    "name": ("suite: [bad]\nversion: 1\n" + TASKS, ["name.yaml:1: 'suite' must be a name like my-suite, got ['bad']"]),
}


def _write(tmp_path, name: str, text: str | bytes):
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_bad_suite_files_get_one_line_each(tmp_path):
    argvs = [["run", str(_write(tmp_path, name, text)), "-o", str(tmp_path / "out")]
             for name, (text, _) in CASES.items()]
    argvs.append(["run", str(_write(tmp_path, "latin", b"suite: caf\xe9\nversion: 1\n")), "-o", str(tmp_path / "out")])
    procs = run_medzoo_many(argvs, cwd=tmp_path, timeout=120)  # the alias bomb used to hang here
    for (name, (_, fragments)), proc in zip(CASES.items(), procs):
        print(assert_one_line_error(proc, *fragments))
    print(assert_one_line_error(procs[-1], "latin.yaml:1: not UTF-8 text (byte 0xe9 at offset 10)"))
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_yaml_12_numbers_in_suites_and_overrides(tmp_path):
    from zoo.bench.suite import load_suite

    path = _write(tmp_path, "numbers",
                  "suite: s\nversion: 1\ndefaults:\n  train: {lr: 1e-3, weight_decay: 1e10}\n" + TASKS)
    suite = load_suite(str(path))
    assert suite.defaults["train"]["lr"] == 1e-3 and suite.defaults["train"]["weight_decay"] == 1e10
    assert load_suite(str(path), overrides=["train.lr=3e-4"]).defaults["train"]["lr"] == 3e-4  # from --help
    assert load_suite(str(path), overrides=["train.optimizer=adamw"]).defaults["train"]["optimizer"] == "adamw"


def test_an_algorithm_the_suite_does_not_run_is_refused_like_a_task(tmp_path):
    (typo,) = run_medzoo_many([["run", "quick", "--algorithm", "dnn", "-o", str(tmp_path / "out")]], cwd=tmp_path)
    print(assert_one_line_error(typo, "suite 'quick' runs no algorithm dnn; its algorithms: source_only, "
                                      "source_then_target"))
    assert not (tmp_path / "out" / "results.jsonl").exists()


@pytest.mark.parametrize("kind", ["folder", "text", "empty"])
def test_an_npz_path_that_is_not_an_archive_says_what_it_is(tmp_path, kind):
    target = tmp_path / "data.npz"
    if kind == "folder":
        target.mkdir()
    else:
        target.write_text("images,labels\n1,0\n" if kind == "text" else "")
    np.savez(tmp_path / "src.npz", images=np.zeros((8, 4, 4), np.uint8), labels=np.arange(8) % 2)
    suite = _write(tmp_path, "npz", "suite: s\nversion: 1\ndefaults: {train: {epochs: 1}, seeds: [0]}\n"
                   f"domains: {{a: {{dataset: npz, path: {tmp_path / 'src.npz'}}}, "
                   f"b: {{dataset: npz, path: {target}}}}}\n"
                   "tasks: [{name: t, source: a, target: b, algorithms: [source_only]}]\n")
    (proc,) = run_medzoo_many([["run", str(suite), "-o", str(tmp_path / "out")]], cwd=tmp_path)
    expected = {"folder": "is a folder, not an .npz file", "text": "is not an .npz archive (it starts with b'images'",
                "empty": "is not an .npz archive (it starts with b'')"}[kind]
    line = assert_one_line_error(proc, expected, code=proc.returncode)
    assert proc.returncode != 0 and "allow_pickle" not in line
    print(line)


def test_sigterm_says_what_happened(tmp_path, data_dir):
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-m", "zoo.cli.main", "run", "quick", "--no-progress", "--threads", "1",
                             "-o", str(tmp_path / "out"), "--data-dir", str(data_dir)], cwd=tmp_path,
                            env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (tmp_path / "out").exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)  # the output folder appears once the suite is validated and training starts
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    assert stderr.strip().splitlines()[-1] == ("medzoo: stopped by SIGTERM; finished runs are saved, rerun the same "
                                               "command to resume")


@pytest.mark.parametrize("kind", ["one_name", "one_present"])
def test_a_single_class_dataset_is_refused_before_training(tmp_path, kind):
    """One class cannot train or score a classifier: it used to train first and then fail in the metrics."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (40, 8, 8), dtype=np.uint8)
    np.savez(tmp_path / "two.npz", images=images, labels=np.arange(40) % 2)
    extra = {"label_names": np.array(["benign", "malignant"])} if kind == "one_present" else {}
    np.savez(tmp_path / "one.npz", images=images[::-1].copy(), labels=np.zeros(40, int), **extra)
    suite = _write(tmp_path, "single", "suite: s\nversion: 1\ndefaults: {train: {epochs: 1}, seeds: [0]}\n"
                   f"domains: {{a: {{dataset: npz, path: {tmp_path / 'one.npz'}}}, "
                   f"b: {{dataset: npz, path: {tmp_path / 'two.npz'}}}}}\n"
                   "tasks: [{name: t, source: a, target: b, algorithms: [source_only]}]\n")
    (proc,) = run_medzoo_many([["run", str(suite), "-o", str(tmp_path / "out")]], cwd=tmp_path)
    expected = {"one_name": "domain 'a' (dataset 'npz') names a single class ['0']",
                "one_present": "domain 'a' (dataset 'npz') has images of one class only ('benign')"}[kind]
    print(assert_one_line_error(proc, expected, "a classifier needs at least two classes", code=proc.returncode))
    assert proc.returncode != 0 and not (tmp_path / "out" / "runs").exists()


def test_exponent_numbers_train_from_the_command_line(tmp_path):
    """`lr: 1e-3` in a suite and `train.lr=3e-4` (the override `medzoo run --help` prints) reach the record."""
    import json

    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        np.savez(tmp_path / f"{name}.npz", images=rng.integers(0, 255, (40, 8, 8), dtype=np.uint8),
                 labels=np.arange(40) % 2)
    suite = _write(tmp_path, "exp", "suite: s\nversion: 1\n"
                   "defaults: {train: {epochs: 1, lr: 1e-3, weight_decay: 1e-4}, seeds: [0]}\n"
                   f"domains: {{a: {{dataset: npz, path: {tmp_path / 'a.npz'}}}, "
                   f"b: {{dataset: npz, path: {tmp_path / 'b.npz'}}}}}\n"
                   "tasks: [{name: t, source: a, target: b, algorithms: [source_only]}]\n")
    (proc,) = run_medzoo_many([["run", str(suite), "train.lr=3e-4", "-o", str(tmp_path / "out"), "--no-progress"]],
                              cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads((tmp_path / "out" / "results.jsonl").read_text())
    assert record["train"]["lr"] == 3e-4 and record["train"]["weight_decay"] == 1e-4
