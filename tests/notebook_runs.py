"""Run a notebook under notebooks/ for real, as the notebook tests do."""

from __future__ import annotations

import shutil
from pathlib import Path

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
