"""Provenance: cheap, cached, no imports of what it describes, no host name, never crashes outside git."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from types import SimpleNamespace

import pytest

import zoo
from zoo import provenance
from zoo.provenance import clear_cache, collect_provenance, git_state, package_versions, plugin_distributions


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


def test_fields_and_plain_json():
    prov = collect_provenance(extra_packages=["pyyaml", "no-such-package-xyz"], num_processes=3)
    assert prov["medzoo_version"] == zoo.__version__
    assert set(prov["git"]) == {"sha", "dirty"}
    assert prov["python"].count(".") == 2 and prov["platform"]
    for name in ("torch", "timm", "accelerate", "datasets", "huggingface_hub", "numpy", "scikit-learn",
                 "imbalanced-learn", "pyyaml"):
        assert prov["packages"][name], name  # all installed in the dev environment
    assert prov["packages"]["no-such-package-xyz"] is None
    assert isinstance(prov["plugins"], list)
    hardware = prov["hardware"]
    assert hardware["cpu_count"] >= 1 and hardware["num_processes"] == 3
    json.dumps(prov, allow_nan=False)


def test_no_host_name_recorded():
    host = socket.gethostname()
    text = json.dumps(collect_provenance())
    assert "hostname" not in text
    if len(host) >= 4:
        assert host not in text


def test_does_not_import_torch_or_plugins():
    code = ("import sys; from zoo.provenance import collect_provenance; p = collect_provenance(); "
            "heavy = [m for m in ('torch', 'timm', 'sklearn', 'datasets', 'accelerate') if m in sys.modules]; "
            "assert not heavy, heavy; assert p['hardware']['cuda_devices'] is None")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_cached_but_returned_as_a_fresh_copy(monkeypatch):
    calls = []
    real = provenance._git
    monkeypatch.setattr(provenance, "_git", lambda args, cwd: calls.append(args) or real(args, cwd))
    first = collect_provenance()
    n_calls = len(calls)
    first["packages"]["torch"] = "tampered"
    first["hardware"]["cpu_count"] = -1
    second = collect_provenance(num_processes=2)
    assert len(calls) == n_calls  # no new git subprocess
    assert second["packages"]["torch"] != "tampered" and second["hardware"]["cpu_count"] != -1


def test_git_state_of_this_checkout_and_outside_git(tmp_path):
    state = git_state()
    if state["sha"] is not None:  # running from a checkout (editable install)
        assert len(state["sha"]) == 40 and isinstance(state["dirty"], bool)
    package = tmp_path / "zoo"
    package.mkdir()
    assert git_state(package) == {"sha": None, "dirty": None}


def test_git_state_ignores_an_enclosing_foreign_repository(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    nested = tmp_path / "venv" / "site-packages" / "zoo"  # a wheel installed inside someone's project
    nested.mkdir(parents=True)
    assert git_state(nested) == {"sha": None, "dirty": None}


def test_git_missing_is_not_fatal(monkeypatch):
    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(provenance.subprocess, "run", no_git)
    assert git_state() == {"sha": None, "dirty": None}
    assert collect_provenance()["git"] == {"sha": None, "dirty": None}


def _entry_point(dist_name: str, version: str) -> SimpleNamespace:
    return SimpleNamespace(dist=SimpleNamespace(metadata={"Name": dist_name}, version=version))


def test_plugin_distributions_exclude_medzoo(monkeypatch):
    fake = {"medzoo.backbones": [_entry_point("medzoo", "0.1.0"), _entry_point("medzoo-vit", "2.0")],
            "medzoo.algorithms": [_entry_point("medzoo-vit", "2.0"), _entry_point("Acme-DA", "0.3")],
            "medzoo.datasets": [SimpleNamespace(dist=None)]}
    monkeypatch.setattr(provenance, "entry_points", lambda group: fake[group])
    assert plugin_distributions() == [{"name": "Acme-DA", "version": "0.3"}, {"name": "medzoo-vit", "version": "2.0"},
                                      {"name": "unknown", "version": ""}]


def test_cuda_devices_read_only_from_an_imported_torch(monkeypatch):
    cuda = SimpleNamespace(is_available=lambda: True, device_count=lambda: 2,
                           get_device_name=lambda i: f"Fake GPU {i}")
    monkeypatch.setitem(sys.modules, "torch", SimpleNamespace(cuda=cuda, version=SimpleNamespace(cuda="12.4")))
    hardware = collect_provenance()["hardware"]
    assert hardware["cuda_devices"] == ["Fake GPU 0", "Fake GPU 1"] and hardware["cuda_device_count"] == 2
    assert hardware["cuda_version"] == "12.4" and hardware["cuda_available"] is True


def test_broken_cuda_driver_is_recorded_not_raised(monkeypatch):
    def broken():
        raise RuntimeError("driver too old")

    cuda = SimpleNamespace(is_available=broken)
    monkeypatch.setitem(sys.modules, "torch", SimpleNamespace(cuda=cuda, version=SimpleNamespace(cuda=None)))
    hardware = collect_provenance()["hardware"]
    assert hardware["cuda_devices"] is None and "driver too old" in hardware["cuda_error"]


def test_package_versions_without_import():
    assert package_versions(["rich"])["rich"]
    assert package_versions(["definitely-not-installed-abc"]) == {"definitely-not-installed-abc": None}


def test_the_cpu_thread_count_is_recorded():
    code = ("import torch; torch.set_num_threads(1); from zoo.provenance import collect_provenance; "
            "assert collect_provenance()['hardware']['torch_threads'] == 1")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
