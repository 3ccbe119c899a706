"""Helpers of the end-to-end tests (imported by their conftest and test modules).

Usage::

    from e2e_helpers import accelerate_launch, describe
    subprocess.run([*accelerate_launch(2), "-m", "zoo.cli.main", "run", "quick"])
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

E2E_DIR = Path(__file__).parent
TIMEOUT_S = 240


def free_port() -> int:
    """A TCP port nothing listens on now (for the gloo rendezvous; 29500 may be taken by a neighbour)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def accelerate_launch(num_processes: int) -> list[str]:
    """``accelerate launch`` with every choice explicit; on a machine without GPUs: CPU processes + gloo."""
    script = Path(sys.executable).with_name("accelerate")
    launcher = [str(script)] if script.is_file() else [sys.executable, "-m", "accelerate.commands.launch"]
    if script.is_file():
        launcher.append("launch")
    return [*launcher, "--multi_gpu", "--num_processes", str(num_processes), "--num_machines", "1",
            "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port())]


def describe(proc: subprocess.CompletedProcess | subprocess.Popen, stdout: str = "", stderr: str = "") -> str:
    """Exit code and output of a finished command, for assertion messages."""
    out = getattr(proc, "stdout", None)
    err = getattr(proc, "stderr", None)
    out = out if isinstance(out, str) else stdout
    err = err if isinstance(err, str) else stderr
    return f"exit {proc.returncode}\n--- stdout ---\n{out[-6000:]}\n--- stderr ---\n{err[-6000:]}"
