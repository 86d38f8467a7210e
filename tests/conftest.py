"""Shared fixtures: every test gets its own runs folder and leaves no logger open."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

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


NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def run_notebook(name, folder, timeout=600, env=None):
    """Copy notebooks/NAME into ``folder`` and execute it there, for real, in a fresh
    kernel; return the executed notebook and its code cells, having checked that no
    output is an error and that nothing reached stderr (no warning)."""
    import nbclient
    import nbformat

    shutil.copy(NOTEBOOKS / name, folder)
    notebook = nbformat.read(Path(folder) / name, as_version=4)
    resources = {"metadata": {"path": str(folder)}}
    client = nbclient.NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources=resources
    )
    client.execute(**({} if env is None else {"env": env}))
    cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for cell in cells:
        for output in cell.outputs:
            assert output.output_type != "error", output.get("evalue")
            assert output.get("name") != "stderr", output.get("text")
    return notebook, cells
