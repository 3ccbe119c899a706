"""The console process freezes its heap (zoo.cli.heap); ``main`` called as a library never does.

Freezing moves every live object out of the collector's reach until the process ends: right for the
``medzoo`` command, which exits when ``main`` returns, and wrong for a caller (tests, a notebook) whose
garbage it would pin. Each case runs in a fresh interpreter so the freeze count is this code's alone.
"""

from __future__ import annotations

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


@pytest.mark.parametrize("call, frozen", [("entry", True), ("main", False)])
def test_only_the_console_entry_freezes_the_heap(call, frozen):
    proc = subprocess.run([sys.executable, "-c", DRIVER.format(call=call)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    words = proc.stdout.split()
    assert words[words.index("code") + 1] == "0"
    count = int(words[words.index("frozen") + 1])
    assert (count > 10_000) if frozen else count == 0, proc.stdout  # entry: every object alive at its end
    assert words[words.index("enabled") + 1] == "True"  # the collector itself is left on


def test_settled_imports_pause_the_collector_and_freeze_only_in_the_console_process():
    code = """
import gc
from zoo.cli import heap
with heap.settled_imports():
    inside = gc.isenabled()
library = gc.get_freeze_count()
heap.mark_console_process()
with heap.settled_imports():
    import json
print(inside, library, gc.get_freeze_count() > 0, gc.isenabled())
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "0", "True", "True"]
