"""A training process's heap: the cyclic garbage collector kept off the objects that live until it exits.

Importing torch, Accelerate and ``torch._dynamo`` (which every torch optimizer imports at its first step)
leaves about 425,000 long-lived objects tracked by the collector (counted in a worker after them), and
CPython's full collections walk all of them: measured on a 2-epoch CORAL run (benchmarks/test_vs_skada.py),
0.41 s of the process's 7 s went to the six full collections the imports and the run triggered, and the
interpreter's teardown walked them again (0.5-0.6 s after ``main`` returned). ``gc.freeze()`` moves every
object alive to a permanent generation that collections skip; reference counting still frees what they own.

Only a *dedicated* process freezes: the ``medzoo`` console process (``zoo.cli.main.entry``), the
launchers' worker processes and submitit's job processes (local or Slurm), which exit when their training
is done, so whatever is frozen is reclaimed by the OS. Code calling ``main`` or ``train_run`` as a library
(tests, a notebook) never freezes, so it never pins a caller's garbage. The freeze after the imports
happens once per process: a worker that trains many runs collects each run's garbage as usual.

Usage::

    mark_dedicated_process()         # zoo.cli.main.entry (it freezes at its own end)
    become_dedicated()               # a worker's initializer, a submitit job: marked, and frozen at exit
    prepare_to_train()               # imports, frozen once; freed host memory kept (host_memory)
    freeze_before_exit()             # zoo.cli.main.entry at its end (workers: registered with atexit)
"""

from __future__ import annotations

import atexit
import gc
from contextlib import contextmanager
from typing import Iterator

from zoo.results.reader import gc_paused
from zoo.runner.host_memory import retain_freed_memory

_dedicated = False
_settled = False


def mark_dedicated_process() -> None:
    """This process ends when its training does (the ``medzoo`` command, a launcher's worker)."""
    global _dedicated
    _dedicated = True


def become_dedicated() -> None:
    """Mark this process dedicated and freeze its heap before it exits (once, however often called): a
    launcher's worker, a submitit job's own process (``RunJob.dedicated_process``)."""
    if not _dedicated:
        mark_dedicated_process()
        atexit.register(freeze_before_exit)


@contextmanager
def settled_imports() -> Iterator[None]:
    """Imports inside run with the cyclic collector paused (they make hundreds of thousands of objects and
    no garbage worth a full walk); in a dedicated process they are frozen afterwards, once, so later
    collections skip them."""
    global _settled
    with gc_paused():
        try:
            yield
        finally:
            if _dedicated and not _settled:
                gc.freeze()
                _settled = True


def prepare_to_train() -> None:
    """This process trains (``medzoo run``, a worker, a cluster job; cheap to call again): import what
    training imports anyway (torch, Accelerate, and ``torch._dynamo``, which every torch optimizer imports at
    its first ``step``) inside :func:`settled_imports`, and keep freed host memory for the next step
    (``zoo.runner.host_memory``)."""
    with settled_imports():
        import accelerate  # noqa: F401
        import torch._dynamo  # noqa: F401
    retain_freed_memory()


def freeze_before_exit() -> None:
    """Spare the interpreter's teardown a walk over every object (a dedicated process about to exit)."""
    if _dedicated:
        gc.freeze()
