"""notebooks/lightning.ipynb runs for real: a Lightning model trains live with the board."""

from __future__ import annotations

import pytest
from notebook_runs import run_notebook

import hypertuner

WIDGET = "application/vnd.jupyter.widget-view+json"
STEPS, EPOCHS = 16 * 24, 16  # 24 batches of 32 an epoch


@pytest.fixture(scope="module")
def lightning_notebook(tmp_path_factory):
    """The notebook, executed in a fresh folder; its run lands in ./runs there."""
    folder = tmp_path_factory.mktemp("lightning")
    notebook, _ = run_notebook(
        "lightning.ipynb", folder, timeout=300, env={"HYPERTUNER_DIR": str(folder / "runs")}
    )
    return notebook, folder


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_every_cell_runs_without_errors_or_stderr(lightning_notebook):
    """Every cell ran, and run_notebook found no error output and nothing on stderr (no
    warning, no Lightning set-up message)."""
    notebook, _ = lightning_notebook
    assert all(cell.get("execution_count") for cell in code_cells(notebook))


def test_fit_shows_one_board_that_ends_with_the_whole_run(lightning_notebook):
    """The fit() cell shows one board, and its static form (refreshed when the cell ended)
    names the run finished with every point of the training keys."""
    notebook, _ = lightning_notebook
    cell = next(c for c in code_cells(notebook) if "trainer.fit(" in c.source)
    boards = [o for o in cell.outputs if WIDGET in o.get("data", {})]
    assert len(boards) == 1
    summary = boards[0]["data"]["text/plain"]
    assert "rings" in summary and "finished" in summary
    assert "train/loss" in summary and "val/acc" in summary
    assert "train/loss" in boards[0]["data"]["image/svg+xml"]


def test_the_run_reopens_with_every_step_and_the_params(lightning_notebook):
    """The run reopens finished, with save_hyperparameters() as params, a train point per
    step and a validation point per epoch; the notebook printed the same."""
    notebook, folder = lightning_notebook
    (path,) = (folder / "runs").iterdir()
    run = hypertuner.load(path)
    assert run.status == "finished"
    assert run.params.to_dict() == {"hidden": 16, "lr": 0.05}
    assert {"train/loss", "train/acc", "val/loss", "val/acc", "epoch"} == set(run)
    assert len(run["train/loss"]) == len(run["train/acc"]) == STEPS
    assert run["train/loss"].steps.tolist() == list(range(STEPS))
    assert len(run["val/loss"]) == len(run["val/acc"]) == EPOCHS
    assert run["val/acc"].values[-1] > 0.8  # the rings are told apart
    cell = next(c for c in code_cells(notebook) if "hypertuner.load(" in c.source)
    printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    assert printed.startswith("finished {'hidden': 16, 'lr': 0.05}\n")
    assert f"'train/loss': {STEPS}" in printed and f"'val/acc': {EPOCHS}" in printed
    assert any(WIDGET in o.get("data", {}) for o in cell.outputs)  # the reopened run's board
