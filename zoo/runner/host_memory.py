"""Host memory for training on a CPU: reuse freed activation blocks instead of faulting fresh pages every step.

A CPU step allocates and frees the same activations every step (simple_cnn at batch 128, 28 px: 12.8 MB per
first-block map). glibc's malloc serves blocks above its mmap threshold with fresh ``mmap``s and hands
freed memory at the top of the heap back to the OS past its trim threshold, so every step page-faults
tens of megabytes of zeroed pages again. Measured on the 2-epoch CORAL run of ``benchmarks/test_vs_skada.py``
(2 threads): 1.7-2.0 s of system time and ``train_s`` 4.35 s with glibc's defaults; 0.31 s and 3.55 s with
the mmap threshold at its 32 MiB maximum (blocks below it come from the heap) and a 2 GiB trim threshold
(freed blocks stay for the next step). The cost: the process keeps its peak heap (peak RSS +2% there).
Setting only the trim threshold is worse than neither (it freezes the mmap threshold at 128 KiB).

Training processes medzoo owns call :func:`retain_freed_memory` (``medzoo run``, its worker processes and
cluster jobs); a library caller of ``train_run`` may too. Results are unchanged: only where memory comes
from changes. Other C libraries (musl, macOS) are left as they are.

Usage::

    from zoo.runner.host_memory import retain_freed_memory
    retain_freed_memory()      # True where glibc took both settings
"""

from __future__ import annotations

import ctypes
import platform

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers (malloc.h)
MMAP_THRESHOLD = 32 * 2**20  # glibc's maximum (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit): larger values are refused
TRIM_THRESHOLD = 2**31 - 1  # mallopt takes a C int: free memory is returned only past 2 GiB at the heap top

_applied: bool | None = None


def retain_freed_memory() -> bool:
    """Keep freed blocks below 32 MiB in the heap for reuse (glibc only; once per process)."""
    global _applied
    if _applied is None:
        _applied = False
        if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
            libc = ctypes.CDLL("libc.so.6")  # glibc's soname on every Linux it runs on (no ldconfig search)
            # The mmap threshold first: setting it also stops glibc from adapting it, which the trim
            # threshold would otherwise freeze at its 128 KiB default.
            _applied = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
                libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _applied
