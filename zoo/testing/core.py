"""Shared pieces of the conformance kit: its error, ``require``, and the guards every check runs under.

Light on purpose (no torch at import): ``zoo.testing`` and its pytest plugin import this module.

Usage::

    from zoo.testing.core import ConformanceError, require
    require(out.ndim == 2, "backbone 'x': forward_features must return (N, D)")
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any


class ConformanceError(AssertionError):
    """An entry breaks medzoo's contract; the message names the entry, the rule and the fix.

    An ``AssertionError``, so pytest reports a failed check as a test failure (not an error).
    """


def require(condition: Any, message: str) -> None:
    """Raise ``ConformanceError(message)`` unless ``condition`` holds (unlike ``assert``, never stripped by -O).

    Usage::

        require(loss.dim() == 0, "algorithm 'x': 'loss' must be a scalar tensor")
    """
    if not condition:
        raise ConformanceError(message)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one intra-op thread: the kit's tensors are tiny and extra threads only fight for cores.

    Usage::

        with one_thread():
            check_loss_decreases("my_algo", 1)
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def no_network(what: str) -> Iterator[None]:
    """Make any outgoing connection fail with a ``ConformanceError`` naming ``what`` (e.g. "backbone 'x'").

    Checks build models with ``pretrained=False``; one that downloads anyway would fail on offline CI.

    Usage::

        with no_network("backbone 'my_net'"):
            create_backbone("my_net", pretrained=False)
    """
    original = socket.socket.connect

    def refuse(sock: socket.socket, address: Any) -> None:
        raise ConformanceError(f"{what} opened a network connection to {address!r} while being built or run "
                               "with pretrained=False; build it from local code only (weights load on request)")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect = original  # type: ignore[method-assign]


def label_of(kind: str, entry: Any) -> str:
    """How messages name an entry: ``algorithm 'bnm'`` for a name, ``algorithm BNM`` for a class.

    Usage::

        label_of("algorithm", "bnm")      # "algorithm 'bnm'"
    """
    if isinstance(entry, str):
        return f"{kind} '{entry}'"
    name = getattr(entry, "__qualname__", None) or getattr(entry, "__name__", None) or repr(entry)
    return f"{kind} {name}"
