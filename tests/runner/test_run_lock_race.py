"""Run locks under contention: processes taking and releasing locks in one ``locks`` folder never fail.

Each release removes its lock file and, when the folder is then empty, the folder. Another process's
``mkdir(exist_ok=True)`` can find the folder present and, by its own ``is_dir`` check a moment later, gone:
it then raises ``FileExistsError``, which killed a worker of ``--launcher workers`` in CI. ``try_lock``
treats it like the folder vanishing before ``open`` and tries again. Three processes x 1,000 cycles (each on
its own run ids, so no lock is ever contended) raised it in every trial before the fix.
"""

from __future__ import annotations

import subprocess
import sys

CYCLES = """
import sys
from pathlib import Path
from zoo.runner.run_lock import try_lock
root, name = Path(sys.argv[1]), sys.argv[2]
for i in range(1000):
    lock = try_lock(root, f"{name}-{i % 3}")
    assert lock is not None  # nobody else takes these run ids
    lock.release()
print("ok")
"""


def test_processes_locking_and_releasing_in_one_folder_never_fail(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", CYCLES, str(tmp_path), name], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for name in ("a", "b", "c")]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0 and out.strip() == "ok", err[-2000:]
    assert not (tmp_path / "locks").exists()  # the last release removed the empty folder
