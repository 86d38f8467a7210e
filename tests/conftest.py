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


@pytest.fixture
def pruned_trial(tmp_path, monkeypatch):
    """The run folder of a sweep trial already asked to stop as pruned, for the process's
    next logger: a framework's training should end at its first look."""
    import json

    from hypertuner import logger as logger_module

    folder = tmp_path / "trial"
    folder.mkdir()
    (folder / "stop.json").write_text(json.dumps({"reason": "pruned", "time": 0}))
    monkeypatch.setenv(logger_module.TRIAL_FOLDER_ENV, str(folder))
    monkeypatch.setattr(logger_module, "_trial_folder_claimed", False)
    return folder
