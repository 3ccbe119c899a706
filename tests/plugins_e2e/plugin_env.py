"""Fresh virtual environments with medzoo and plugins installed by pip, in seconds, without a network.

``python -m venv --without-pip`` makes the environment; one ``.pth`` file in its site-packages names a
folder of symlinks to the packages of the environment running the tests (torch, timm, pytest, pip,
setuptools, ...), *minus* medzoo itself and every distribution declaring medzoo entry points. So the heavy
dependencies are shared, while medzoo and the plugins under test are installed the ordinary way: a wheel
built by setuptools, unpacked by ``pip install`` with its entry points, into that environment only.
(A ``.pth`` line only adds a folder to ``sys.path``; the ``.pth`` files inside it are not run, so the test
environment's editable medzoo does not leak in.)

Usage::

    deps = make_deps_folder(tmp / "deps")
    wheel = build_medzoo_wheel(tmp / "wheel")
    env = FreshEnv.create(tmp / "venv", deps)
    env.pip_install(wheel, "plugins/medzoo-example-plugin")
    env.medzoo(["list"], cwd=tmp)
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from helpers.cli import cli_env
from helpers.sources import COPY_IGNORE, build_wheel, copy_medzoo_sources

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_PLUGIN = ROOT / "plugins" / "medzoo-example-plugin"
TIMEOUT_S = 300
# What a wheel of medzoo is built from (see setup.py and pyproject.toml); nothing else of the tree is read.


def _declares_medzoo_entry_points(dist_info: Path) -> bool:
    entry_points = dist_info / "entry_points.txt"
    return entry_points.is_file() and "[medzoo." in entry_points.read_text(errors="replace")


def _excluded(entry: Path) -> bool:
    name = entry.name.lower()
    if name.startswith(("medzoo", "zoo", "__editable__", "_medzoo")) or name.endswith(".pth") or name == "__pycache__":
        return True
    return name.endswith(".dist-info") and _declares_medzoo_entry_points(entry)


def make_deps_folder(dest: Path) -> Path:
    """Symlink every package of this interpreter's site-packages into ``dest``, except medzoo and its plugins."""
    dest.mkdir(parents=True, exist_ok=True)
    folders = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        folders.append(site.getusersitepackages())
    for folder in map(Path, folders):
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            link = dest / entry.name
            if not _excluded(entry) and not link.exists():  # the first site folder wins, as on sys.path
                link.symlink_to(entry)
    missing = [m for m in ("pip", "setuptools", "torch", "pytest") if not (dest / m).exists()]
    if missing:
        raise RuntimeError(f"the test environment lacks {missing}; install medzoo with `pip install -e '.[dev]'`")
    return dest


def build_medzoo_wheel(dest: Path) -> Path:
    """Build medzoo's wheel from a copy of its sources (an in-tree build would write build/ into the checkout)."""
    return build_wheel(copy_medzoo_sources(dest / "src"), dest)


def copy_package(source: Path, dest: Path) -> Path:
    """A clean copy of a package folder to build from (pip would otherwise write build/ and egg-info into it)."""
    shutil.copytree(source, dest, ignore=COPY_IGNORE)
    return dest


@dataclass
class FreshEnv:
    """A virtual environment whose only packages of its own are the ones a test pip-installs into it."""

    root: Path

    @classmethod
    def create(cls, root: Path, deps: Path) -> "FreshEnv":
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=TIMEOUT_S)
        env = cls(root)
        env.site_packages.joinpath("_medzoo_test_deps.pth").write_text(f"{deps}\n")
        return env

    @property
    def bin(self) -> Path:
        return self.root / ("Scripts" if os.name == "nt" else "bin")

    @property
    def python(self) -> Path:
        return self.bin / "python"

    @property
    def site_packages(self) -> Path:
        out = subprocess.run([str(self.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True, timeout=TIMEOUT_S)
        return Path(out.stdout.strip())

    def run(self, argv: list[str], cwd: Path, env: dict[str, str] | None = None,
            timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess:
        """Run a command with this environment's ``bin`` first on PATH (as after ``activate``)."""
        # One torch thread: the models are tiny, and extra threads only fight over the machine's cores.
        extra = {"VIRTUAL_ENV": str(self.root), "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
                 "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **(env or {})}
        return subprocess.run(argv, cwd=cwd, env=cli_env(extra), capture_output=True, text=True, timeout=timeout)

    def pip_install(self, *targets: Path | str, cwd: Path) -> subprocess.CompletedProcess:
        """``pip install`` wheels or package folders, offline, with the shared build backend (setuptools)."""
        proc = self.run([str(self.python), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                         "-q", *map(str, targets)], cwd=cwd)
        assert proc.returncode == 0, f"pip install {targets} failed:\n{proc.stdout}\n{proc.stderr}"
        return proc

    def medzoo(self, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """The ``medzoo`` console script pip installed into this environment."""
        return self.run([str(self.bin / "medzoo"), *args], cwd=cwd, env=env)
