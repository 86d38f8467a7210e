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


def _svg_texts(svg):
    import xml.etree.ElementTree as ET

    return [
        "".join(t.itertext()) for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")
    ]


def test_the_picture_shows_the_table_and_the_selected_runs_in_their_colours(tmp_path):
    """Where widgets cannot render, the output's picture is the view: its header, the
    runs table with swatches, the legend by varying params, the overlay in run colours."""
    sweep(tmp_path)
    view = hypertuner.compare(tmp_path, follow=False)
    svg = view._repr_mimebundle_()["image/svg+xml"]
    texts = _svg_texts(svg)
    assert texts[0].startswith("3 runs") and texts[0].endswith("3 finished")
    assert texts[1:4] == ["lr=0.1", "lr=0.03", "lr=0.01"]
    assert "same for all runs: model.hidden=64" in texts
    assert "val/loss last" in texts and "phase" not in texts  # a text key is no chart
    colours = [row["color"] for row in view._table.rows]
    assert svg.count('class="line"') == 3
    for colour in colours:
        assert f'stroke="{colour}"' in svg and f'fill="{colour}"' in svg
    view._table.selected = [view._table.rows[1]["name"]]  # unticking leaves one line
    assert view._repr_mimebundle_()["image/svg+xml"].count('class="line"') == 1
    view.close()


class Handle:
    """Stands in for a display handle: records the pictures it was updated with."""

    def __init__(self):
        self.pictures = []

    def update(self, bundle, raw=False):
        assert raw  # a bundle made once for every handle
        self.pictures.append(bundle["image/svg+xml"])


@pytest.mark.parametrize("live", [False, True])
def test_the_saved_picture_is_refreshed_at_cell_ends_or_once_every_run_ended(tmp_path, live):
    """Without a live view (nbclient) each cell's end that changed the picture
    refreshes it; where a view runs (it would be built anew), once no run runs."""
    sweep(tmp_path, rates=(0.1,))
    logger = hypertuner.Logger(dir=tmp_path, name="live", flush_every=1000)
    logger.log({"val/loss": 1.0}, 0)
    logger.flush()
    view = hypertuner.compare(tmp_path, follow=True, interval=3600)  # the cell ends read
    view._board.engine.whole_kept = live
    handle = Handle()
    view._handles.append(handle)
    for step in (1, 2):
        logger.log({"val/loss": 1.0 / step}, step)
        logger.flush()
        assert view.after_cell()
    assert view.after_cell()  # nothing new: nothing sent
    assert len(handle.pictures) == (0 if live else 2)
    logger.close()
    assert view.after_cell() and view.after_cell()
    assert len(handle.pictures) == (1 if live else 3)
    assert "2 finished" in _svg_texts(handle.pictures[-1])[0]
    view.close()
    assert not view.after_cell()  # a closed view leaves the hook


def test_a_follower_stopping_on_an_error_leaves_the_last_picture(tmp_path, monkeypatch):
    """The follower stops on a failing folder with a warning, and the saved output
    keeps the picture of what it had read (it would not change any more)."""
    sweep(tmp_path, rates=(0.1,))
    view = hypertuner.compare(tmp_path, follow=True, interval=0.05)
    handle = Handle()
    view._pictured = view._state()  # as shown: the runs had ended already
    view._handles.append(handle)
    thread = next(t for t in threading.enumerate() if t.name == "hypertuner-compare")

    def fail():
        raise OSError("the disk went away")

    with pytest.warns(hypertuner.HypertunerWarning, match="the disk went away"):
        monkeypatch.setattr(view, "refresh", fail)
        thread.join(timeout=30)
    assert not thread.is_alive() and len(handle.pictures) == 1
    assert "1 finished" in _svg_texts(handle.pictures[0])[0]
    view.close()
