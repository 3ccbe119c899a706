"""Data-directory resolution: argument > $MEDZOO_DATA > ~/.medzoo/data; relative paths inside it."""

from __future__ import annotations

from pathlib import Path

from zoo.datasets.paths import medmnist_dir, portable_path, resolve_data_dir, resolve_path


def test_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDZOO_DATA", str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_dir() == tmp_path / "env"
    monkeypatch.delenv("MEDZOO_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_data_dir() == tmp_path / "home" / ".medzoo" / "data"


def test_relative_env_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEDZOO_DATA", "../shared/data")
    assert resolve_data_dir() == tmp_path / ".." / "shared" / "data"
    assert resolve_data_dir().is_absolute()


def test_paths_inside_the_data_dir(tmp_path):
    assert resolve_path("busi/busi.npz", tmp_path) == tmp_path / "busi" / "busi.npz"
    assert resolve_path(tmp_path / "x.npz", "/elsewhere") == tmp_path / "x.npz"
    assert medmnist_dir(tmp_path) == tmp_path / "medmnist"
    assert portable_path(tmp_path / "busi" / "busi.npz", tmp_path) == "busi/busi.npz"
    assert portable_path("/outside/x.npz", tmp_path) == str(Path("/outside/x.npz"))
