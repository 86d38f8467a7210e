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
    picture = data["image/svg+xml"]
    assert "6,000 pts" in picture and "train/loss" in picture
    # laid out as the board: sections headed, the text keys' latest values
    assert re.search(r'<g class="section"><text[^>]*>▾ <tspan fill="#111">train</tspan>', picture)
    assert "latest 8 of" in picture and "cosine" in picture
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
    (shown,) = [o for o in view.outputs if WIDGET in o.get("data", {})]
    # Refreshed at the cells' ends: the saved picture is of four finished runs, drawn.
    picture = shown["data"]["image/svg+xml"]
    assert "4 finished" in picture and "running" not in picture
    assert "lr=0.03" in picture and picture.count('class="chart"') >= 2
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


def test_saved_widget_state_of_an_open_logger_holds_every_line_whole(tmp_path):
    """nbclient (and papermill) save the state each widget's last message left: for a
    logger still open when its cell ended, that is the whole board, every line from
    its first point, not the last change sent."""
    import nbclient
    import numpy as np

    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import time, hypertuner\n"
                "logger = hypertuner.Logger(name='open')\n"
                "for step in range(4000):\n"
                "    logger.log({'a': step, 'b/c': -step, 'word': 'x'}, step)\n"
                "    if step % 500 == 0:\n"
                "        time.sleep(0.25)  # past the redraw interval: several changes sent\n"
            ),
            nbformat.v4.new_code_cell("print(len(logger['a']))"),
        ]
    )
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute(env={"HYPERTUNER_DIR": str(tmp_path / "runs")})
    assert notebook.cells[1].outputs[0]["text"].strip() == "4000"
    models = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    (engine,) = [m for m in models.values() if "chart_keys" in m["state"]]
    assert engine["state"]["chart_keys"] == ["a", "b/c"]
    data = engine["state"]["data"]
    assert data["full"] and sorted(data["lines"]) == ["0/0", "1/0"]
    for line in data["lines"].values():
        assert (line["from"], line["mfrom"], line["total"]) == (0, 0, 4000)
    steps = {
        tuple(buffer["path"]): np.frombuffer(base64.b64decode(buffer["data"]), np.float32)
        for buffer in engine["buffers"]
        if buffer["path"][-1] == "x"
    }
    assert sorted(steps) == [("data", "lines", "0/0", "x"), ("data", "lines", "1/0", "x")]
    for x in steps.values():
        assert x[0] == 0 and x[-1] == 3999 and np.all(np.diff(x) > 0)
