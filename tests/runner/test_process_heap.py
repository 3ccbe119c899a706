"""Dedicated processes freeze their heap (zoo.runner.process_heap); library calls never do.

Freezing moves every live object out of the collector's reach until the process ends: right for the
``medzoo`` command and the launchers' workers, which exit when their training is done, and wrong for a
caller (tests, a notebook) whose garbage it would pin. Each case runs in a fresh interpreter so the freeze
count is this code's alone.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

DRIVER = """
import gc, sys
from zoo.cli import main as cli
sys.argv = ["medzoo", "list", "suites"]
code = cli.{call}() if "{call}" == "entry" else cli.main(["list", "suites"])
print("frozen", gc.get_freeze_count(), "enabled", gc.isenabled(), "code", code)
"""


def _python(code: str, *args: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


@pytest.mark.parametrize("call, frozen", [("entry", True), ("main", False)])
def test_only_the_console_entry_freezes_the_heap(call, frozen):
    words = _python(DRIVER.format(call=call))
    assert words[words.index("code") + 1] == "0"
    count = int(words[words.index("frozen") + 1])
    assert (count > 10_000) if frozen else count == 0, words  # entry: every object alive at its end
    assert words[words.index("enabled") + 1] == "True"  # the collector itself is left on


def test_settled_imports_pause_the_collector_and_freeze_once_only_in_a_dedicated_process():
    code = """
import gc
from zoo.runner import process_heap
with process_heap.settled_imports():
    inside = gc.isenabled()
library = gc.get_freeze_count()
process_heap.mark_dedicated_process()
with process_heap.settled_imports():
    import json
first = gc.get_freeze_count()
garbage = [[i] for i in range(1000)]  # objects made after the freeze (a run's, in a worker)
with process_heap.settled_imports():
    import csv
print(inside, library, first > 0, gc.get_freeze_count() == first, gc.isenabled())
"""
    assert _python(code) == ["False", "0", "True", "True", "True"]


def test_a_worker_process_imports_the_runtime_frozen_and_keeps_freed_memory():
    """What ``--launcher workers`` runs first in each worker (its pool initializer)."""
    code = """
import gc, os, sys
from zoo.runner import host_memory
from zoo.runner.launchers import _init_worker
_init_worker(1, None, int(sys.argv[1]))
print(gc.get_freeze_count() > 100_000, "torch._dynamo" in sys.modules, host_memory._applied,
      os.environ["OMP_NUM_THREADS"])
"""
    assert _python(code, str(os.getpid())) == ["True", "True", "True", "1"]


@pytest.mark.parametrize("dedicated", [True, False])
def test_a_run_job_freezes_only_when_its_launcher_says_it_has_a_process_of_its_own(tmp_path, dedicated):
    """``RunJob(dedicated_process=True)`` (submitit's local and Slurm jobs) freezes the job's imports like a
    worker's; ``False`` (the in-process debug executor, whose caller may be a library user) never does. No
    run is trained: the job is called with none, and fails after the process set-up."""
    code = """
import gc, sys
from zoo.runner.launcher_base import RunJob
from zoo.runner import process_heap
job = RunJob(sys.argv[1], None, False, True, "no", 1, dedicated_process=sys.argv[2] == "True")
try:
    job(None)
except Exception:
    pass
print(gc.get_freeze_count() > 100_000, process_heap._dedicated)
"""
    assert _python(code, str(tmp_path), str(dedicated)) == [str(dedicated), str(dedicated)]
