"""The append-only store: roundtrip, idempotence, damaged lines, concurrent writers, unwritable folders."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os

import pytest

from zoo.errors import ConfigError, DataError, OutputError
from zoo.results import ResultStore, load_records


def _lines(store: ResultStore) -> list[str]:
    return store.path.read_text(encoding="utf-8").splitlines()


def test_append_and_read_roundtrip(tmp_path, record_factory):
    store = ResultStore(tmp_path / "out")
    store.check_writable()
    first, second = record_factory("run-a", seed=0), record_factory("run-b", seed=1)
    assert store.append(first) and store.append(second)
    assert store.records() == [first, second]
    assert store.finished_run_ids() == {"run-a", "run-b"}
    assert store.get("run-b") == second and store.get("nope") is None
    assert "run-a" in store and "run-c" not in store
    assert len(_lines(store)) == 2 and store.path.read_bytes().endswith(b"\n")
    assert ResultStore(tmp_path / "out").records() == [first, second]  # a fresh reader


def test_empty_or_missing_store_reads_as_empty(tmp_path):
    store = ResultStore(tmp_path / "never-created")
    assert store.records() == [] and store.finished_run_ids() == set()
    assert not (tmp_path / "never-created").exists()


def test_duplicate_run_id_is_refused(tmp_path, record_factory):
    store = ResultStore(tmp_path)
    assert store.append(record_factory("same", seed=0)) is True
    assert store.append(record_factory("same", seed=1)) is False
    assert ResultStore(tmp_path).append(record_factory("same", seed=2)) is False  # another process' view
    assert len(_lines(store)) == 1 and store.get("same")["seed"] == 0


def test_invalid_record_is_refused_before_writing(tmp_path, record_factory):
    store = ResultStore(tmp_path)
    bad = {**record_factory(), "seed": "zero"}
    with pytest.raises(ConfigError, match="seed: expected an integer"):
        store.append(bad)
    with pytest.raises(ConfigError, match="run_id: missing"):
        store.append({"x": 1}, validate=False)
    assert not store.path.exists()


def test_truncated_last_line_is_skipped_and_appends_continue(tmp_path, record_factory, caplog):
    store = ResultStore(tmp_path)
    store.append(record_factory("r1"))
    store.append(record_factory("r2"))
    half = json.dumps(record_factory("r3"))
    with open(store.path, "a", encoding="utf-8") as handle:  # a writer killed mid-line
        handle.write(half[: len(half) // 2])
    with caplog.at_level(logging.WARNING, logger="zoo.results.store"):
        assert [r["run_id"] for r in store.records()] == ["r1", "r2"]
    assert f"{store.path}:3: skipped a malformed result line" in caplog.text
    assert "interrupted write" in caplog.text

    assert store.append(record_factory("r4")) is True
    assert store.append(record_factory("r3")) is True  # the lost run was never finished: it may be stored
    lines = _lines(store)
    assert len(lines) == 5 and lines[2] == half[: len(half) // 2]  # the fragment stays on its own line
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="zoo.results.store"):
        assert [r["run_id"] for r in store.records()] == ["r1", "r2", "r4", "r3"]
    assert f"{store.path}:3:" in caplog.text and "interrupted write" not in caplog.text


def test_hand_edits_are_tolerated(tmp_path, record_factory, caplog):
    store = ResultStore(tmp_path)
    store.append(record_factory("r1"))
    valid = json.dumps(record_factory("r2"))
    with open(store.path, "a", encoding="utf-8") as handle:  # garbage, a blank line, a dup, no final newline
        handle.write("this is not json\n\n[1, 2]\n" + json.dumps(record_factory("r1", seed=5)) + "\n" + valid)
    with caplog.at_level(logging.WARNING, logger="zoo.results.store"):
        records = store.records()
    assert [(r["run_id"], r["seed"]) for r in records] == [("r1", 0), ("r2", 0)]
    assert ":2: skipped a malformed result line: not valid JSON" in caplog.text
    assert ":4: skipped a malformed result line: not a JSON object" in caplog.text
    assert ":5: skipped a second record of run r1" in caplog.text
    assert store.append(record_factory("r2")) is False  # the valid last line counts although it lacks "\n"
    assert store.append(record_factory("r3")) is True
    assert [r["run_id"] for r in store.records()] == ["r1", "r2", "r3"]


def test_schema_invalid_line_is_skipped_not_counted(tmp_path, record_factory, caplog):
    store = ResultStore(tmp_path)
    broken = {**record_factory("r1"), "metrics": "lost"}
    store.path.write_text(json.dumps(broken) + "\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="zoo.results.store"):
        assert store.records() == []
    assert "metrics: expected an object" in caplog.text
    assert store.records(validate=False) == [broken]
    assert store.append(record_factory("r1")) is True


def test_replaced_file_is_rescanned(tmp_path, record_factory):
    store = ResultStore(tmp_path)
    store.append(record_factory("r1"))
    replacement = tmp_path / "new.jsonl"
    replacement.write_text(json.dumps(record_factory("r2")) + "\n", encoding="utf-8")
    os.replace(replacement, store.path)  # e.g. a results file restored from elsewhere
    assert store.append(record_factory("r2")) is False
    assert store.append(record_factory("r1")) is True


def _writer(root: str, records: list[dict], barrier) -> None:
    store = ResultStore(root)
    barrier.wait()
    for record in records:
        assert store.append(record) is True


def _racer(root: str, records: list[dict], barrier, results) -> None:
    store = ResultStore(root)
    barrier.wait()
    results.put(sum(store.append(record) for record in records))


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def test_concurrent_appends_never_interleave(tmp_path, record_factory):
    ctx, workers, per_worker = _context(), 4, 50
    barrier = ctx.Barrier(workers)
    # ~20 kB lines: far above any atomic-pipe size, so only the lock + single write keep lines whole
    batches = [[record_factory(f"w{w}-r{i}", seed=i, hparams={"pad": "x" * 20_000, "worker": w})
                for i in range(per_worker)] for w in range(workers)]
    processes = [ctx.Process(target=_writer, args=(str(tmp_path), batch, barrier)) for batch in batches]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    lines = _lines(ResultStore(tmp_path))
    assert len(lines) == workers * per_worker
    parsed = [json.loads(line) for line in lines]
    assert {r["run_id"] for r in parsed} == {f"w{w}-r{i}" for w in range(workers) for i in range(per_worker)}
    for worker in range(workers):  # each writer's own records keep their order
        assert [r["seed"] for r in parsed if r["hparams"]["worker"] == worker] == list(range(per_worker))


def test_concurrent_appends_of_the_same_runs_store_each_once(tmp_path, record_factory):
    ctx, workers = _context(), 4
    run_ids = [f"shared-{i}" for i in range(10)]
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    batches = [[record_factory(run_id, seed=w) for run_id in run_ids] for w in range(workers)]
    processes = [ctx.Process(target=_racer, args=(str(tmp_path), batch, barrier, results)) for batch in batches]
    for process in processes:
        process.start()
    stored = sum(results.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    assert stored == len(run_ids)
    assert sorted(json.loads(line)["run_id"] for line in _lines(ResultStore(tmp_path))) == sorted(run_ids)


def test_unwritable_folder_fails_early_with_one_line(tmp_path, record_factory):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    store = ResultStore(blocker / "sub")  # fails for root too, unlike chmod
    with pytest.raises(OutputError) as info:
        store.check_writable()
    message = str(info.value)
    assert message == f"cannot write results to {blocker / 'sub'}: not a directory; " \
                      "pass --output-dir to a writable folder"
    with pytest.raises(OutputError, match="cannot write results to"):
        store.append(record_factory())
    with pytest.raises(OutputError, match="it is a file, not a folder"):
        ResultStore(blocker).check_writable()
    with pytest.raises(DataError, match="cannot read results from"):
        ResultStore(blocker).records()


def test_check_writable_creates_the_folder_and_leaves_nothing(tmp_path):
    root = tmp_path / "a" / "b"
    ResultStore(root).check_writable()
    assert root.is_dir() and list(root.iterdir()) == []


def test_run_dir(tmp_path):
    store = ResultStore(tmp_path)
    path = store.run_dir("abc-123")
    assert path == tmp_path / "runs" / "abc-123" and path.is_dir()
    assert not store.run_dir("later", create=False).exists()
    with pytest.raises(ConfigError, match="cannot name a folder"):
        store.run_dir("../outside")


def test_load_records_from_files_and_folders(tmp_path, record_factory):
    ResultStore(tmp_path / "a").append(record_factory("r1"))
    ResultStore(tmp_path / "sweep" / "x").append(record_factory("r2"))
    ResultStore(tmp_path / "sweep" / "y").append(record_factory("r3"))
    ResultStore(tmp_path / "sweep" / "y").append(record_factory("r1", seed=9))  # overlaps with a/
    got = load_records([tmp_path / "a" / "results.jsonl", tmp_path / "sweep"])
    assert [(r["run_id"], r["seed"]) for r in got] == [("r1", 0), ("r2", 0), ("r3", 0)]
    assert [r["run_id"] for r in load_records(str(tmp_path / "a"))] == ["r1"]
    with pytest.raises(DataError, match="no results at"):
        load_records([tmp_path / "missing"])


def test_finished_run_ids_follow_appends_retires_and_replacements_incrementally(tmp_path, record_factory):
    """One store object asked before every run: it parses only new lines, yet sees every change."""
    import zoo.results.store as store_module

    reader, writer = ResultStore(tmp_path), ResultStore(tmp_path)
    assert reader.finished_run_ids() == set()
    for i in range(3):
        writer.append(record_factory(run_id=f"run{i}"))
    parsed = []
    real_parse = store_module.parse_line
    store_module.parse_line = lambda raw, *a: parsed.append(raw) or real_parse(raw, *a)
    try:
        assert reader.finished_run_ids() == {"run0", "run1", "run2"}
        assert len(parsed) == 3
        writer.append(record_factory(run_id="run3"))
        assert reader.finished_run_ids() == {"run0", "run1", "run2", "run3"}
        assert len(parsed) == 4  # only the appended line was read again
    finally:
        store_module.parse_line = real_parse
    kept_line = _lines(writer)[0]
    writer.retire({"run1": "runs/run1/model.safetensors: missing"})  # rewrites the file (a new inode)
    assert reader.finished_run_ids() == {"run0", "run2", "run3"}
    assert _lines(writer)[0] == kept_line  # untouched lines stay byte-identical
    retired = [json.loads(line) for line in (tmp_path / "results.retired.jsonl").read_text().splitlines()]
    assert [r["run_id"] for r in retired] == ["run1"] and retired[0]["retired"]["reason"].endswith("missing")
    reader.append(record_factory(run_id="run1"))  # retrained: a record of the same run id is accepted again
    assert writer.finished_run_ids() == {"run0", "run1", "run2", "run3"}


def test_an_append_waiting_while_the_file_is_replaced_lands_in_the_new_file(tmp_path, record_factory):
    """``retire`` replaces results.jsonl under its lock; an appender blocked on the old file must not write there."""
    import fcntl
    import threading

    store = ResultStore(tmp_path)
    store.append(record_factory(run_id="run0"))
    holder = os.open(store.path, os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)  # what retire holds while it rewrites the file
    appender = threading.Thread(target=lambda: ResultStore(tmp_path).append(record_factory(run_id="run1")))
    appender.start()
    appender.join(0.5)
    assert appender.is_alive()  # waiting for the lock
    replacement = tmp_path / "replacement.jsonl"
    replacement.write_bytes(store.path.read_bytes())
    os.replace(replacement, store.path)
    fcntl.flock(holder, fcntl.LOCK_UN)
    os.close(holder)
    appender.join(10)
    assert [json.loads(line)["run_id"] for line in _lines(store)] == ["run0", "run1"]
