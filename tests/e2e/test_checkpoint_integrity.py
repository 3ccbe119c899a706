"""A finished run's files are what it wrote: a deleted, truncated or overwritten checkpoint is noticed.

The real ``medzoo`` command on small npz domains: a record carries each written file's sha256 and size;
``medzoo results`` and ``leaderboard build`` warn about damaged runs; a rerun retires their records (kept in
``results.retired.jsonl``), moves their folders to ``damaged/`` and trains exactly those runs again, to the
same numbers; temporaries of killed processes are removed. A full disk while a checkpoint is written is one
line, with the results already written byte-identical and no temporary left behind.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import textwrap

import numpy as np
import pytest
from helpers.cli import cli_env, medzoo_executable, run_medzoo

from zoo.results.integrity import file_problems

pytestmark = pytest.mark.slow


def _suite(tmp_path, seeds: str) -> str:
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        np.savez(tmp_path / f"{name}.npz", images=rng.integers(0, 255, (64, 8, 8), dtype=np.uint8),
                 labels=np.arange(64) % 2)
    path = tmp_path / "suite.yaml"
    path.write_text(textwrap.dedent(f"""\
        suite: integrity
        version: 1
        defaults: {{train: {{epochs: 1}}, seeds: {seeds}, backbone: {{name: simple_cnn}}}}
        domains: {{a: {{dataset: npz, path: {tmp_path / 'a.npz'}}}, b: {{dataset: npz, path: {tmp_path / 'b.npz'}}}}}
        tasks: [{{name: t, source: a, target: b, algorithms: [source_only]}}]
        """))
    return str(path)


def _flat(text: str) -> str:
    """Log text with rich's line wrapping (160 columns off a terminal) undone."""
    return " ".join(text.split())


def _records(out) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def _finished_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_damaged_checkpoints_are_warned_about_and_trained_again(tmp_path):
    suite, out = _suite(tmp_path, "[0, 1, 2]"), tmp_path / "out"
    first = run_medzoo(["run", suite, "-o", str(out), "--no-progress"], cwd=tmp_path, timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    originals = {r["run_id"]: r for r in _records(out)}
    assert len(originals) == 3
    for record in originals.values():  # each record names what its run wrote, with sha256 and size
        assert {p.rsplit("/", 1)[1] for p in record["files"]} >= {"model.safetensors", "config.json"}
        assert file_problems(record, out) == []

    (corrupt, truncated, deleted) = sorted(originals)
    weights = {run_id: out / "runs" / run_id / "model.safetensors" for run_id in originals}
    data = bytearray(weights[corrupt].read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte flipped
    weights[corrupt].write_bytes(bytes(data))
    weights[truncated].write_bytes(weights[truncated].read_bytes()[:1000])
    weights[deleted].unlink()
    stale = out / "runs" / corrupt / f".model.safetensors.tmp-{_finished_pid()}"
    live = out / "runs" / corrupt / f".config.json.tmp-{os.getpid()}"  # a process still writing: left alone
    stale.write_bytes(b"half")
    live.write_bytes(b"busy")
    kept = (out / "results.jsonl").read_bytes()

    shown = run_medzoo(["results", "-o", str(out)], cwd=tmp_path)
    built = run_medzoo(["leaderboard", "build", str(out), "--site", str(tmp_path / "site")], cwd=tmp_path)
    for proc in (shown, built):
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "3 of 3 runs have damaged or missing files" in _flat(proc.stderr), proc.stderr
    assert (out / "results.jsonl").read_bytes() == kept  # reading never changes the results

    rerun = run_medzoo(["run", suite, "-o", str(out), "--no-progress"], cwd=tmp_path, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    said = _flat(rerun.stderr)
    print(said)
    for run_id, reason in ((corrupt, "model.safetensors: sha256 differs from the record"),
                           (truncated, "model.safetensors: 1000 bytes, the run wrote"),
                           (deleted, "model.safetensors: missing")):
        assert f"run {run_id}: runs/{run_id}/{reason}" in said
    assert said.count("training it again") == 3
    assert not stale.exists() and not [p for p in (out / "damaged").rglob(stale.name)]  # removed, not moved
    retrained = {r["run_id"]: r for r in _records(out)}
    assert sorted(retrained) == sorted(originals)
    for run_id, record in retrained.items():
        assert file_problems(record, out) == []
        assert record["metrics"] == originals[run_id]["metrics"]  # same seed on the CPU: the same numbers
    retired = [json.loads(line) for line in (out / "results.retired.jsonl").read_text().splitlines()]
    assert sorted(r["run_id"] for r in retired) == sorted(originals)
    for record in retired:  # the old records are kept whole, with the reason they were retired
        reason = record.pop("retired")["reason"]
        assert record == originals[record["run_id"]] and reason
    moved = sorted(p.name.split("-")[0] for p in (out / "damaged").iterdir())
    assert moved == sorted(originals)
    assert any(p.name == live.name for p in (out / "damaged").rglob(".*"))  # moved with its folder, not deleted

    again = run_medzoo(["run", suite, "-o", str(out), "--no-progress"], cwd=tmp_path, timeout=300)
    assert again.returncode == 0 and "training it again" not in _flat(again.stderr)
    assert len(_records(out)) == 3


def _mount_small_disk(path, size_kb: int) -> bool:
    """A tmpfs of ``size_kb`` at ``path`` (needs root, as in CI); False where mounting is not allowed."""
    path.mkdir()
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def _limit_file_size(limit: int):
    def apply():  # in the child only: a file may not grow past `limit` bytes (EFBIG instead of ENOSPC)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_full_disk_while_writing_a_checkpoint_is_one_line_and_loses_nothing(tmp_path):
    """First run fits; the second run's 640 kB checkpoint does not: one line, earlier results untouched.

    A real full disk (a 1000 kB tmpfs) where the test may mount one; else the per-file size limit of
    ``setrlimit`` makes the same write fail (EFBIG), through the same code path.
    """
    disk = tmp_path / "disk"
    mounted = _mount_small_disk(disk, 1000)
    try:
        out = disk / "out"
        first = run_medzoo(["run", _suite(tmp_path, "[0]"), "-o", str(out), "--no-progress"], cwd=tmp_path,
                           timeout=300)
        assert first.returncode == 0, first.stderr[-3000:]
        kept = (out / "results.jsonl").read_bytes()
        proc = subprocess.run([medzoo_executable(), "run", _suite(tmp_path, "[0, 1]"), "-o", str(out),
                               "--no-progress"], cwd=tmp_path, env=cli_env(), capture_output=True,
                              text=True, timeout=300, preexec_fn=None if mounted else _limit_file_size(300_000))
        last = proc.stderr.strip().splitlines()[-1]
        print("mounted tmpfs" if mounted else "RLIMIT_FSIZE", last)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert last.startswith("medzoo: error: cannot write run ") and "'s checkpoint to " in last
        assert ("no space left on device" if mounted else "file too large") in last
        assert "free space or pass --output-dir on another disk" in last
        assert (out / "results.jsonl").read_bytes() == kept
        assert not [p for p in out.rglob(".*.tmp-*")]  # the half-written temporary was removed
    finally:
        if mounted:
            subprocess.run(["umount", str(disk)], check=True)
