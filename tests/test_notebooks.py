"""The notebooks under notebooks/ run for real, headless, and leave useful outputs."""

from __future__ import annotations

import base64
import re

import nbformat
import pytest
from notebook_runs import run_notebook

WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    """The quickstart notebook, executed in a fresh folder (its runs land there)."""
    folder = tmp_path_factory.mktemp("quickstart")
    notebook, _ = run_notebook(
        "quickstart.ipynb", folder, env={"HYPERTUNER_DIR": str(folder / "runs")}
    )
    return notebook, folder


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_quickstart_runs_without_errors(quickstart):
    """Every cell of the quickstart ran: run_notebook found no error and no stderr."""
    notebook, _ = quickstart
    assert all(cell.get("execution_count") for cell in code_cells(notebook))


def test_training_cell_shows_one_board_with_a_final_picture(quickstart):
    """The training cell shows one board whose static picture and summary are final."""
    notebook, _ = quickstart
    cell = next(c for c in code_cells(notebook) if "train(" in c.source)
    boards = [o for o in cell.outputs if WIDGET in o.get("data", {})]
    assert len(boards) == 1
    data = boards[0]["data"]
    assert "6,000 pts" in data["image/svg+xml"] and "train/loss" in data["image/svg+xml"]
    summary = data["text/plain"]
    assert "finished" in summary and "train/loss" in summary and "cosine" in summary


def test_reopened_run_reads_every_point(quickstart):
    """The reopened run reports finished, its params and every training point."""
    notebook, folder = quickstart
    cell = next(c for c in code_cells(notebook) if "hypertuner.load(" in c.source)
    printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    assert printed.strip() == "finished 1.0 6000 points of train/loss"
    assert any(WIDGET in o.get("data", {}) for o in cell.outputs)
    assert len(list((folder / "runs").iterdir())) == 3


def test_html_export_shows_the_static_picture(quickstart):
    """Exported to HTML without widget state, the output shows the SVG charts."""
    import nbconvert

    notebook, _ = quickstart
    saved = nbformat.from_dict(notebook)
    saved.metadata.pop("widgets", None)  # as a notebook saved without widget state
    body, _ = nbconvert.HTMLExporter().from_notebook_node(saved)
    pictures = [
        base64.b64decode(encoded).decode()
        for encoded in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', body)
    ]
    assert len(pictures) >= 4  # one per board shown
    assert any("6,000 pts" in picture and "train/loss" in picture for picture in pictures)


def test_compare_notebook_runs_four_trainers_and_summarises(tmp_path):
    """The compare notebook starts four trainers, follows them, summarises four finished runs."""
    _, cells = run_notebook("compare.ipynb", tmp_path)
    view = next(c for c in cells if "hypertuner.compare(" in c.source)
    assert any(WIDGET in o.get("data", {}) for o in view.outputs)
    table = next(c for c in cells if ".summary(" in c.source).outputs[0]["data"]["text/plain"]
    assert table.count("finished") == 4
    assert "best run:" in cells[-1].outputs[0]["text"]
    assert len(list((tmp_path / "sweep" / "runs").iterdir())) == 4


def test_sweep_notebook_tunes_the_demo_model_with_the_live_view(tmp_path):
    """The sweep notebook runs 12 trials of the demo model, shows the view and the results."""
    _, cells = run_notebook("sweep.ipynb", tmp_path)
    started = next(c for c in cells if "hypertuner.sweep(" in c.source)
    (view,) = [o for o in started.outputs if WIDGET in o.get("data", {})]
    # The output was refreshed when the sweep ended: its static form is the final table.
    assert "12 of 12 trials" in view["data"]["text/plain"]
    table = next(c for c in cells if "sweep.table()" in c.source).outputs[0]["text"]
    assert table.startswith("sweep sweeps/demo: 12 of 12 trials")
    assert len(table.splitlines()) == 14  # the header line, the column titles, 12 trials
    best = next(c for c in cells if "sweep.best" in c.source).outputs[0]["text"]
    assert re.match(r"best: trial \d+, val/loss 0\.\d+ with lr=[\d.]+, hidden=(16|32|64)", best)
    compare = next(c for c in cells if "hypertuner.compare(" in c.source)
    assert any(WIDGET in o.get("data", {}) for o in compare.outputs)
    assert len(list((tmp_path / "sweeps" / "demo" / "runs").iterdir())) == 12
