"""Comparing runs, kernel side: table rows, varying params, overlay, following a folder."""

from __future__ import annotations

import ipywidgets.comm
import pytest
from test_board import RecordingComm

import hypertuner


@pytest.fixture(autouse=True)
def comms(monkeypatch):
    """Widgets talk to recording comms instead of a kernel."""
    monkeypatch.setattr(ipywidgets.comm, "create_comm", lambda **kwargs: RecordingComm(**kwargs))


def sweep(folder, rates=(0.1, 0.03, 0.01)):
    """Finished runs that differ in lr and share hidden=64."""
    for lr in rates:
        with hypertuner.Logger(dir=folder, params={"lr": lr, "model": {"hidden": 64}}) as logger:
            for i in range(20):
                logger.log({"val/loss": lr * 10 / (i + 1), "phase": "a"}, i)


def test_rows_params_and_metric_summaries(tmp_path):
    """One row per run with status, points, flattened params and last/min/max of each metric."""
    sweep(tmp_path)
    view = hypertuner.compare(tmp_path, follow=False)
    table = view._table
    assert [row["params"]["lr"] for row in table.rows] == [0.1, 0.03, 0.01]
    assert table.varying == ["lr"]
    assert table.params == ["lr", "model.hidden"]
    assert table.metrics == ["val/loss"]
    first = table.rows[0]
    assert first["status"] == "finished" and first["points"] == 40
    assert first["metrics"]["val/loss"] == {
        "last": pytest.approx(0.05),
        "min": pytest.approx(0.05),
        "max": 1.0,
    }
    assert "3 runs" in view._header.value and "3 finished" in view._header.value
    view.close()


def test_selection_overlays_runs_in_their_swatch_colours(tmp_path):
    """Selected runs are overlaid, each line in the colour of its table swatch."""
    sweep(tmp_path)
    view = hypertuner.compare(tmp_path, follow=False)
    rows = {row["name"]: row["color"] for row in view._table.rows}
    assert len(set(rows.values())) == 3
    chart = view._board._charts["val/loss"]
    assert [raw.colors[0] for raw, _ in chart.lines] == list(rows.values())
    view._table.selected = [list(rows)[1]]
    assert [raw.colors[0] for raw, _ in chart.lines] == [list(rows.values())[1]]
    assert view._board._engine.names == [list(rows)[1]]
    view.close()


def test_refresh_follows_new_points_and_new_runs(tmp_path):
    """refresh() picks up appended points and new run folders, reading only new bytes."""
    sweep(tmp_path, rates=(0.1,))
    live = hypertuner.Logger(dir=tmp_path, name="live", flush_every=1000)
    live.log({"val/loss": 1.0}, 0)
    live.flush()
    view = hypertuner.compare(tmp_path, follow=False)
    live_run = next(run for run in view.runs if run.name == "live")
    assert live_run.points == 1
    live.log({"val/loss": 0.5}, 1)
    live.flush()
    sweep(tmp_path, rates=(0.5,))
    assert view.refresh() == 1 + 40
    assert live_run.points == 2
    assert (
        live_run.bytes_read - live_run._reader.bytes_reread
        == (live.path / "points.htr").stat().st_size
    )
    assert len(view._table.rows) == 3 and len(view._table.selected) == 3
    assert [row["status"] for row in view._table.rows] == ["finished", "running", "finished"]
    live.close()
    view.refresh()
    assert [row["status"] for row in view._table.rows] == ["finished", "finished", "finished"]
    view.close()


def test_following_stops_when_the_view_is_closed(tmp_path):
    """The follow thread ends once the view is closed."""
    sweep(tmp_path, rates=(0.1,))
    view = hypertuner.compare(tmp_path, follow=True, interval=0.05)
    thread = next(t for t in __import__("threading").enumerate() if t.name == "hypertuner-compare")
    view.close()
    thread.join(timeout=5)
    assert not thread.is_alive()
