"""Shared fixtures: every test gets its own runs folder and leaves no logger open."""

from __future__ import annotations

import importlib

import pytest

from hypertuner import _process

params_module = importlib.import_module("hypertuner.params")


@pytest.fixture(autouse=True)
def runs_folder(tmp_path, monkeypatch):
    """Point the default runs folder at a fresh folder and forget earlier params()."""
    folder = tmp_path / "runs"
    monkeypatch.setenv("HYPERTUNER_DIR", str(folder))
    monkeypatch.delenv("HYPERTUNER_PARAMS", raising=False)
    monkeypatch.setattr(params_module, "_current", None)
    yield folder
    for open_logger in _process._open_runs():
        open_logger.close()
