"""The ``medzoo`` process's heap: the cyclic garbage collector kept off the objects that live until exit.

Importing torch, Accelerate and ``torch._dynamo`` (which every torch optimizer imports at its first step)
leaves about 3 million long-lived Python objects. CPython's full collections walk all of them: measured
on a 2-epoch CORAL run (``benchmarks/test_vs_skada.py``), 0.41 s of the process's 7 s went to the six full
collections the imports and the run triggered, and the interpreter's teardown walked them again
(0.5-0.6 s after ``main`` returned). ``gc.freeze()`` moves every object alive to a permanent generation that
collections skip; reference counting still frees what they own.

Only the console process freezes (``entry`` marks it): it exits when ``main`` returns, so whatever is
frozen is reclaimed by the OS. ``main`` called as a library (tests, notebooks) never freezes, so it never
pins a caller's garbage.

Usage::

    mark_console_process()           # zoo.cli.main.entry, before main()
    with settled_imports():          # zoo.cli.run: torch and friends imported, then frozen
        import torch
    freeze_before_exit()             # zoo.cli.main.entry, after main() returned
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

_console = False


def mark_console_process() -> None:
    """This process is the ``medzoo`` command: it ends when ``main`` returns."""
    global _console
    _console = True


@contextmanager
def settled_imports() -> Iterator[None]:
    """Imports inside run with the cyclic collector paused (they make millions of objects and no garbage worth
    a full walk); in the console process they are frozen afterwards, so later collections skip them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _console:
            gc.freeze()
        if enabled:
            gc.enable()


def freeze_before_exit() -> None:
    """Spare the interpreter's teardown a walk over every object (the process is about to exit)."""
    if _console:
        gc.freeze()
