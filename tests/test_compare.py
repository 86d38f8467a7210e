"""Comparing runs, kernel side: table rows, varying params, overlay, following a folder."""

from __future__ import annotations

import importlib
import threading
import time

import ipywidgets.comm
import pytest
from test_board import RecordingComm

import hypertuner

# The module (hypertuner.board.compare is also the name of the function it exports).
compare = importlib.import_module("hypertuner.board.compare")


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


def test_shared_params_are_one_note_and_runs_are_labelled_by_what_varies(tmp_path):
    """hidden=64 is the same everywhere; the legend says lr=0.03, not a folder name; a
    key a script logs under a param's name (its lr schedule) is not offered as a metric."""
    for lr in (0.1, 0.03):
        with hypertuner.Logger(dir=tmp_path, params={"lr": lr, "model": {"hidden": 64}}) as log:
            for i in range(5):
                log.log({"val/loss": 1 / (i + 1), "lr": lr * 0.9**i}, i)
    view = hypertuner.compare(tmp_path, follow=False)
    assert view._table.same == {"model.hidden": 64}
    assert view._table.metrics == ["val/loss"]
    engine = view._board.engine
    assert engine.labels == ["lr=0.1", "lr=0.03"]
    assert engine.names == [row["name"] for row in view._table.rows]
    view.close()


def test_selection_overlays_runs_in_their_swatch_colours(tmp_path):
    """Selected runs are overlaid, each line in the colour of its table swatch."""
    sweep(tmp_path)
    view = hypertuner.compare(tmp_path, follow=False)
    rows = {row["name"]: row["color"] for row in view._table.rows}
    assert len(set(rows.values())) == 3
    chart = view._board.built_chart("val/loss")
    assert [raw.colors[0] for raw, _ in chart.lines] == list(rows.values())
    view._table.selected = [list(rows)[1]]
    # The unticked runs keep their lines, masked: ticking them again shows them at once,
    # in the browser, without waiting for the kernel.
    assert [raw.colors[0] for raw, _ in chart.lines] == list(rows.values())
    assert view._board.engine.names == list(rows)
    assert view._board.engine.masked == [list(rows)[0], list(rows)[2]]
    view.close()


def test_a_run_beyond_the_held_ones_gets_its_lines_when_ticked(tmp_path, monkeypatch):
    """The overlay holds lines for the selected and the latest HELD runs; ticking an
    older one adds its lines, in its swatch colour."""
    monkeypatch.setattr(compare, "HELD", 2)
    monkeypatch.setattr(compare, "OVERLAID", 1)
    sweep(tmp_path, rates=(0.1, 0.03, 0.01, 0.003))
    view = hypertuner.compare(tmp_path, follow=False)
    names = [row["name"] for row in view._table.rows]
    colors = {row["name"]: row["color"] for row in view._table.rows}
    assert view._table.selected == names[-1:]
    assert view._board.engine.names == names[-2:]
    assert view._board.engine.masked == names[-2:-1]
    view._table.selected = [names[0], names[-1]]
    assert view._board.engine.names == [names[0], *names[-2:]]
    assert view._board.engine.masked == names[-2:-1]
    chart = view._board.built_chart("val/loss")
    shown = view._board.engine.names
    assert [raw.colors[0] for raw, _ in chart.lines] == [colors[name] for name in shown]
    view.close()


def test_summaries_are_computed_again_only_for_runs_with_new_points(tmp_path, monkeypatch):
    """A follow tick recomputes the last/min/max of the runs that grew, not of every run."""
    sweep(tmp_path, rates=(0.1, 0.03))
    live = hypertuner.Logger(dir=tmp_path, name="live", flush_every=1000)
    live.log({"val/loss": 1.0}, 0)
    live.flush()
    view = hypertuner.compare(tmp_path, follow=False)
    summarised = []
    real = compare._metrics
    monkeypatch.setattr(compare, "_metrics", lambda run: summarised.append(run.name) or real(run))
    view.refresh()
    assert summarised == []
    live.log({"val/loss": 0.25}, 1)
    live.flush()
    view.refresh()
    assert summarised == ["live"]
    row = next(row for row in view._table.rows if row["name"] == "live")
    assert row["metrics"]["val/loss"] == {"last": 0.25, "min": 0.25, "max": 1.0}
    live.close()
    view.close()


def test_showing_the_folder_again_stops_the_follower_left_behind(tmp_path):
    """Re-running a compare cell leaves one follower thread, not one per run of the cell."""
    sweep(tmp_path, rates=(0.1,))
    first = hypertuner.compare(tmp_path, follow=True, interval=0.05)
    second = hypertuner.compare(tmp_path, follow=True, interval=0.05)
    assert first._stop.is_set() and not second._stop.is_set()
    alive = lambda: [t for t in threading.enumerate() if t.name == "hypertuner-compare"]  # noqa: E731
    deadline = time.monotonic() + 10
    while len(alive()) > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(alive()) == 1
    second.close()
    first.close()


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
