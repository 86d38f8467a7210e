"""The board, kernel side: throttled redraws, decimated binary payloads, text, fallbacks."""

from __future__ import annotations

import ipywidgets
import ipywidgets.comm
import numpy as np
import pytest
from ipywidgets.widgets.widget import _remove_buffers

import hypertuner
from hypertuner.board import board_for
from hypertuner.board.board import Board


class RecordingComm:
    """Stands in for a kernel comm: keeps every message a widget sends."""

    kernel = "a kernel"

    def __init__(self, **kwargs):
        self.comm_id = kwargs.get("comm_id") or f"comm-{id(self)}"
        self.messages = []

    def send(self, data=None, metadata=None, buffers=None):
        self.messages.append((data, buffers or []))

    def open(self, *args, **kwargs):
        pass

    def on_msg(self, callback):
        pass

    def close(self, *args, **kwargs):
        pass


@pytest.fixture
def comms(monkeypatch):
    """Every widget created in the test gets a RecordingComm; returns the list of them."""
    made = []

    def create_comm(**kwargs):
        made.append(RecordingComm(**kwargs))
        return made[-1]

    monkeypatch.setattr(ipywidgets.comm, "create_comm", create_comm)
    return made


class Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 1_000.0

    def __call__(self):
        return self.now


def data_updates(board):
    """The update messages that carried chart data from the board's engine."""
    return [
        (data, buffers)
        for data, buffers in board._engine.comm.messages
        if data and data.get("method") == "update" and "data" in data.get("state", {})
    ]


def look_at_every_chart(board):
    """What a browser showing every chart of the board says: the board builds them."""
    board._engine.wanted = list(range(len(board._charts)))


def test_ten_logs_in_one_interval_send_one_update(comms):
    """Ten log() calls inside one redraw interval produce one data message, not ten."""
    from hypertuner.board.board import CHARTS_LEAST

    clock = Clock()
    logger = hypertuner.Logger(display=False, clock=clock, timer=clock)
    logger.log({"loss": 1.0}, 0)
    board = board_for(logger)
    before = len(data_updates(board))
    for i in range(1, 11):
        clock.now += 0.01
        logger.log({"loss": 1.0 / (i + 1)}, i)
    assert len(data_updates(board)) == before + 1
    clock.now += CHARTS_LEAST
    logger.log({"loss": 0.01}, 11)
    assert len(data_updates(board)) == before + 2
    logger.close()


def test_payload_is_binary_decimated_and_bounded(comms):
    """A million points go out as at most ~2,000 values, binary, extremes kept."""
    logger = hypertuner.Logger(display=False)
    values = np.sin(np.arange(1_000_000) / 1000.0)
    values[654_321] = 50.0  # one spike
    for i, value in enumerate(values.tolist()):
        logger.log({"loss": value}, i)
    board = board_for(logger)
    data, buffers = data_updates(board)[-1]
    chart = data["state"]["data"]["lines"]["0/0"]
    assert chart["total"] == 1_000_000
    y_bytes = next(b for b, path in zip(buffers, data["buffer_paths"]) if path[-1] == "y")
    assert chart["wide"] == ["y", "ms"]  # sines are not float32 values: sent exactly
    y = np.frombuffer(y_bytes, np.float64)
    assert len(y) <= 2000 and y.max() == 50.0
    assert set(y.tolist()) <= set(values.tolist())  # each one a value logged, unchanged
    x_bytes = next(b for b, path in zip(buffers, data["buffer_paths"]) if path[-1] == "x")
    x = np.frombuffer(x_bytes, np.float32)  # steps below 2**24 travel exactly as float32
    assert len(x) == len(y) and x[0] == 0 and x[-1] == 999_999 and 654_321 in x
    sizes = sum(memoryview(b).nbytes for b in buffers)
    assert sizes < 60_000  # bytes per redraw do not grow with the series length
    logger.close()


def test_unchanged_charts_are_not_resent(comms):
    """A redraw sends only the charts whose series grew."""
    clock = Clock()
    logger = hypertuner.Logger(display=False, clock=clock, timer=clock)
    logger.log({"a": 1.0, "b": 2.0}, 0)
    board = board_for(logger)
    clock.now += 1
    logger.log({"a": 3.0}, 1)  # past the interval: log() redraws
    data, _ = data_updates(board)[-1]
    assert list(data["state"]["data"]["lines"]) == ["0/0"]
    assert board.redraw() == 0
    assert board.redraw(full=True) == 2
    logger.close()


def test_layout_sections_and_new_keys(comms):
    """One chart per numeric key in sections by prefix; keys appearing later get charts."""
    logger = hypertuner.Logger(display=False)
    logger.log(
        {"train/loss": 1.0, "val/loss": 2.0, "lr": 0.1, "is_best": True, "phase": "warmup"}, 0
    )
    board = board_for(logger)
    assert list(board._charts) == ["train/loss", "val/loss", "lr", "is_best"]
    assert set(board._grids) == {"train", "val", ""}
    assert not any(chart.built for chart in board._charts.values())  # no view came near
    assert board.built_chart("is_best").lines[0][0].interpolation == "step-after"
    logger.log({"train/acc": 0.5}, 1)
    board.redraw()
    assert list(board._charts)[-1] == "train/acc"
    assert len(board._grids["train"].children) == 0
    look_at_every_chart(board)
    assert len(board._grids["train"].children) == 2
    assert board._engine.names == ["train/loss", "val/loss", "lr", "is_best", "train/acc"]
    logger.close()


def test_names_and_text_are_escaped(comms):
    """Key names and text values appear as text, never as HTML."""
    logger = hypertuner.Logger(name="<b>run<b>", display=False)
    logger.log({"<i>note</i>": "<script>alert(1)</script>"}, 0)
    board = board_for(logger)
    assert "<script>" not in board._text.value
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in board._text.value
    assert "&lt;i&gt;note&lt;/i&gt;" in board._text.value
    assert "&lt;b&gt;run&lt;b&gt;" in board._header.value
    logger.close()


def test_text_table_newest_first_with_count(comms):
    """The text table shows the latest values newest first and the total count."""
    logger = hypertuner.Logger(display=False)
    for i in range(20):
        logger.log({"phase": f"p{i}"}, i)
    board = board_for(logger)
    table = board._text.value
    assert "latest 8 of 20" in table
    assert table.index("p19") < table.index("p18") < table.index("p12")
    assert "p11" not in table
    logger.close()


def test_header_shows_status_points_and_last_step(comms):
    """The header names the run, its status, the points and the last step."""
    logger = hypertuner.Logger(name="header", display=False)
    for i in range(5):
        logger.log({"a": float(i)}, i * 10)
    board = board_for(logger)
    assert "header" in board._header.value and "running" in board._header.value
    assert "5 points" in board._header.value and "last step 40" in board._header.value
    logger.close()
    assert "finished" in board._header.value


def test_a_wall_clock_stepped_back_does_not_stop_redraws(comms):
    """Redraws run on the monotonic timer: the wall clock jumping back an hour (NTP) while
    time goes on still redraws at the next interval."""
    clock, timer = Clock(), Clock()
    logger = hypertuner.Logger(display=False, clock=clock, timer=timer)
    logger.log({"loss": 1.0}, 0)
    board = board_for(logger)
    before = len(data_updates(board))
    clock.now -= 3600  # the wall clock is set back
    timer.now += 0.3  # while real time moves on
    logger.log({"loss": 0.5}, 1)
    assert len(data_updates(board)) == before + 1
    logger.close()


def test_a_slow_redraw_waits_ten_times_its_cost_up_to_a_second(comms):
    """Drawing takes at most a tenth of the loop however many keys change (a redraw
    of 64 keys costs tens of milliseconds), and the board is never more than a
    second behind, however slow one redraw was (a reload's answer, say)."""
    from hypertuner.logger import REDRAW_EVERY, REDRAW_MOST, REDRAW_SHARE

    timer = Clock()
    logger = hypertuner.Logger(display=False, timer=timer)
    started = []
    cost = [0.0]

    def redraw(final):
        started.append(timer.now)
        timer.now += cost[0]  # the redraw takes this long

    logger._watch(redraw)
    for seconds in (0.001, 0.05, 0.5, 0.001):
        cost[0] = seconds
        logger.log({"loss": 1.0})  # due at once: the redraw at started[-1]
        for _ in range(2000):  # 1 ms a step until the next redraw
            if len(started) > 1:
                break
            timer.now += 0.001
            logger.log({"loss": 1.0})
        first, second = started[-2:]
        expected = min(max(REDRAW_EVERY, seconds / REDRAW_SHARE), REDRAW_MOST)
        assert second - first == pytest.approx(expected, abs=0.0015), seconds
        started.clear()
        timer.now += 10  # the next log() redraws at once
    logger.close()


def test_the_header_follows_every_tick_and_the_charts_wait_fifty_times_their_cost(comms):
    """A redraw of the charts of a big board costs milliseconds: it comes once a
    second (CHARTS_LEAST), or once per CHARTS_WAIT times its cost if that is longer
    (a fiftieth of the loop), and at least once per CHARTS_MOST seconds, while the
    header's step, cheap to send, follows every tick of the logger's timer. Closing
    draws the charts at once."""
    from hypertuner.board.board import CHARTS_LEAST, CHARTS_MOST, CHARTS_WAIT
    from hypertuner.logger import REDRAW_EVERY, REDRAW_MOST, REDRAW_SHARE

    timer = Clock()
    logger = hypertuner.Logger(display=False, timer=timer)
    logger.log({"loss": 1.0}, 0)
    board = board_for(logger)
    redraw = board._redraw
    cost = [0.0]

    def slow_redraw(*args, **kwargs):
        timer.now += cost[0]  # drawing the charts takes this long
        return redraw(*args, **kwargs)

    board._redraw = slow_redraw
    step = 1
    for seconds in (0.002, 0.01, 0.03, 0.05):
        cost[0] = seconds
        timer.now += 10  # the charts are due
        charts_before = len(data_updates(board))
        logger.log({"loss": 1.0}, step)  # draws them, taking `seconds`
        assert len(data_updates(board)) == charts_before + 1
        drawn_at = timer.now - seconds
        wait = min(max(seconds * CHARTS_WAIT, CHARTS_LEAST), CHARTS_MOST)
        headers = 0
        while len(data_updates(board)) == charts_before + 1:
            timer.now += REDRAW_EVERY / 4
            step += 1
            logger.log({"loss": 1.0}, step)
            if f"last step {step}<" in board._header.value.replace(" ·", "<"):
                headers += 1
        # Drawn again at the first tick of the logger's timer once due (a tick comes
        # at the first log() of the loop after its time: up to a step late).
        waited = timer.now - seconds - drawn_at
        assert wait <= waited <= wait + REDRAW_EVERY * 1.25 + 1e-9, (seconds, waited)
        # The header showed the step at every tick in between (after the wait the
        # logger itself takes after a slow tick), the charts did not.
        ticking = wait - min(max(REDRAW_EVERY, seconds / REDRAW_SHARE), REDRAW_MOST)
        assert headers >= round(ticking / REDRAW_EVERY) - 1, (seconds, headers)
    cost[0] = 0.5
    charts_before = len(data_updates(board))
    logger.close()  # not due, yet drawn: the final state
    assert len(data_updates(board)) == charts_before + 1
    assert "finished" in board._header.value


def test_charts_the_header_went_ahead_of_are_drawn_when_training_pauses(comms):
    """Training that stops logging before its charts are due (an evaluation, a held
    loop) leaves the header ahead of the lines; catch_up(), called while the cell
    runs, draws them once no tick came for CHARTS_LEAST seconds, and only then."""
    from hypertuner.board.board import CHARTS_LEAST
    from hypertuner.logger import REDRAW_EVERY

    timer = Clock()
    logger = hypertuner.Logger(display=False, timer=timer)
    logger.log({"loss": 1.0}, 0)
    board = board_for(logger)
    board.catch_up()  # nothing is behind
    drawn = len(data_updates(board))
    timer.now += REDRAW_EVERY
    board._charts_at = timer.now + 0.05  # the charts are due just after this tick
    logger.log({"loss": 0.5}, 7)  # a tick before the charts are due: the header alone
    assert "last step 7" in board._header.value and len(data_updates(board)) == drawn
    timer.now += CHARTS_LEAST / 2
    board.catch_up()  # not paused long enough: the next log() may come any moment
    assert len(data_updates(board)) == drawn
    timer.now += CHARTS_LEAST / 2
    board.catch_up()
    assert len(data_updates(board)) == drawn + 1
    assert board._snapshot()["lines"]["0/0"]["total"] == 2  # both points drawn
    board.catch_up()  # caught up: nothing more to send
    assert len(data_updates(board)) == drawn + 1
    logger.close()


def test_ticks_send_the_charts_near_a_view_and_the_rest_every_few_seconds(comms):
    """Of a board of 12 keys a view sees 3: the ticks in between send those alone, a
    tick FAR_WAIT seconds on sends every chart, a chart coming near is sent at the
    next tick, and closing sends everything, as does a board no view looked at."""
    from hypertuner.board.board import CHARTS_LEAST, FAR_WAIT

    timer = Clock()
    logger = hypertuner.Logger(display=False, timer=timer)
    names = [f"m{i:02d}" for i in range(12)]
    step = 0

    def log_until_charts_sent():
        nonlocal step
        before = len(data_updates(board))
        while len(data_updates(board)) == before:
            timer.now += 0.05
            step += 1
            logger.log({name: float(step) for name in names}, step)
        data = data_updates(board)[-1][0]["state"]["data"]
        return sorted({int(line.split("/")[0]) for line in data["lines"]})

    logger.log({name: 0.0 for name in names}, 0)
    board = board_for(logger)
    assert log_until_charts_sent() == list(range(12))  # no view has looked: all of them
    board._engine.wanted = [2, 5, 7]  # what a browser showing three charts sends
    started = timer.now
    sent = [log_until_charts_sent() for _ in range(int(FAR_WAIT / CHARTS_LEAST) + 2)]
    near_only = [charts for charts in sent if charts == [2, 5, 7]]
    assert len(near_only) >= int(FAR_WAIT / CHARTS_LEAST) - 2, sent
    assert list(range(12)) in sent and timer.now - started >= FAR_WAIT, sent
    assert all(charts in ([2, 5, 7], list(range(12))) for charts in sent), sent
    # The lines as sent are the series' lines: nothing skipped is lost.
    logger.close()
    lines = board._snapshot()["lines"]
    assert {line["total"] for line in lines.values()} == {step + 1}
    assert len(lines) == 12

    # A chart that comes near a view goes with the next tick, not at the next far one.
    timer2 = Clock()
    logger = hypertuner.Logger(display=False, timer=timer2)
    timer = timer2
    logger.log({name: 0.0 for name in names}, 0)
    board = board_for(logger)
    log_until_charts_sent()
    board._engine.wanted = [0]
    log_until_charts_sent()  # the far ones are now FAR_WAIT away
    assert log_until_charts_sent() == [0]
    moved = timer.now
    board._engine.wanted = [0, 9]
    assert log_until_charts_sent() == [0, 9]
    assert timer.now - moved < CHARTS_LEAST
    logger.close()


def test_with_a_board_watching_the_flush_thread_drains_the_queue_on_time(comms):
    """A redraw tick reads the series, draining in log() whatever is queued: with a
    board watching, the flush thread drains every DRAIN_WATCHED s instead, so a tick
    finds little left. Without one, calls wait in the queue for a reader or DRAIN_AT."""
    import time

    for watched in (False, True):
        logger = hypertuner.Logger(display=False, flush_every=3600, timer=Clock())
        if watched:
            board_for(logger)
        logger.log({"loss": 1.0}, 0)
        logger.log({"loss": 2.0}, 1)
        if watched:
            deadline = time.monotonic() + 30
            while logger._queue and time.monotonic() < deadline:
                time.sleep(0.01)  # no read of the logger: only its own thread drains
            assert not logger._queue, "the flush thread did not drain"
        else:
            time.sleep(0.2)  # four of DRAIN_WATCHED: a watched logger would have drained
            assert len(logger._queue) == 4  # two calls, two entries each
        assert list(logger["loss"].values) == [1.0, 2.0]
        logger.close()


def test_the_header_reads_the_loggers_clock(comms):
    """The header's elapsed time comes from the logger's clock, not the machine's."""
    clock = Clock()
    logger = hypertuner.Logger(display=False, clock=clock, timer=clock)
    logger.log({"loss": 1.0}, 0)
    clock.now += 65
    logger.log({"loss": 0.5}, 1)
    board = board_for(logger)
    assert "1m 05s" in board._header.value
    logger.close()


def test_static_fallback_in_the_bundle(comms):
    """The board's output carries an SVG picture and a text summary besides the widget."""
    with hypertuner.Logger(display=False) as logger:
        for i in range(100):
            logger.log({"loss": 1.0 / (i + 1), "note": "x"}, i)
    bundle = board_for(hypertuner.load(logger.path))._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["image/svg+xml"].startswith("<svg")
    assert "loss" in bundle["image/svg+xml"]
    assert "loss" in bundle["text/plain"] and "finished" in bundle["text/plain"]


def test_the_picture_of_a_big_board_shows_its_first_charts_at_two_points_a_pixel(comms):
    """The kernel computes the picture at each display and cell end, and the notebook
    saves it: at 500 keys of 100 k points, every chart at the live budget took 4.5 s
    and 11.5 MB. It shows the first PICTURE_CHARTS, says how many there are, and
    draws each at two points per pixel of its width, extremes kept."""
    import re

    from hypertuner.board.fallback import PICTURE_CHARTS, PICTURE_POINTS

    keys = PICTURE_CHARTS + 12
    with hypertuner.Logger(display=False) as logger:
        logger.log({f"k{i:02d}": 0.0 for i in range(keys)}, 0)
        steps = np.arange(1, 20_000, dtype=float)
        values = np.sin(steps)
        values[7_777] = 50.0  # a spike no decimation may hide
        for i in range(keys):
            logger[f"k{i:02d}"].extend(steps, steps, values)
        svg = board_for(logger)._repr_mimebundle_()["image/svg+xml"]
    assert f"the first {PICTURE_CHARTS} of {keys} charts" in svg
    counts = [int(n) for n in re.findall(r'class="line" data-points="(\d+)"', svg)]
    assert len(counts) == PICTURE_CHARTS and max(counts) <= PICTURE_POINTS
    assert f">k{PICTURE_CHARTS - 1:02d}<" in svg and f">k{PICTURE_CHARTS:02d}<" not in svg
    assert all(">40<" in chart for chart in svg.split('class="chart"')[1:])  # up to the spike


def test_a_failing_board_warns_once_and_logging_goes_on(comms):
    """A redraw that raises stops the drawing with one warning; points are still kept."""
    clock = Clock()
    logger = hypertuner.Logger(display=False, clock=clock, timer=clock)

    def broken(final):
        raise RuntimeError("front end went away")

    logger._watch(broken)
    with pytest.warns(hypertuner.HypertunerWarning, match="stopped drawing .* front end went away"):
        logger.log({"a": 1.0}, 0)
    clock.now += 1
    logger.log({"a": 2.0}, 1)
    assert logger["a"].values.tolist() == [1.0, 2.0]
    logger.close()


def test_outside_a_notebook_nothing_is_displayed():
    """Logger() in plain Python displays nothing and its repr bundle is plain text."""
    logger = hypertuner.Logger()
    assert logger._listeners == []
    assert list(logger._repr_mimebundle_()) == ["text/plain"]
    logger.close()


def test_overlay_of_several_runs_draws_one_line_per_run(comms):
    """A board of several runs overlays them: a line pair per run per chart, run colours."""
    runs = []
    for lr in (0.1, 0.01):
        with hypertuner.Logger(display=False, params={"lr": lr}) as logger:
            for i in range(50):
                logger.log({"loss": lr / (i + 1)}, i)
            if lr == 0.01:
                logger.log({"extra": 1.0}, 50)
        runs.append(hypertuner.load(logger.path))
    from hypertuner.board.board import Board

    board = Board(runs, toggle_by="run")
    assert list(board._charts) == ["loss", "extra"]
    board.set_sources(runs, ["#111111", "#222222"])
    loss = board.built_chart("loss")
    assert [raw.colors for raw, _ in loss.lines] == [["#111111"], ["#222222"]]
    assert len(loss.figure.marks) == 4
    assert board._engine.names == [run.name for run in runs]
    data, _ = data_updates(board)[-1]
    assert sorted(data["state"]["data"]["lines"]) == ["0/0", "0/1", "1/1"]
    board.set_sources(runs[:1], ["#333333"])
    assert len(loss.figure.marks) == 2 and loss.lines[0][0].colors == ["#333333"]


def test_steps_too_big_for_float32_travel_as_float64(comms):
    """Steps that float32 cannot hold exactly are sent as float64."""
    logger = hypertuner.Logger(display=False)
    for i in range(10):
        logger.log({"a": float(i)}, 2**40 + i)
    board = board_for(logger)
    data, buffers = data_updates(board)[-1]
    x_bytes = next(b for b, path in zip(buffers, data["buffer_paths"]) if path[-1] == "x")
    assert np.frombuffer(x_bytes, np.float64).tolist() == [2**40 + i for i in range(10)]
    logger.close()


def test_a_board_that_cannot_be_shown_warns_and_logging_goes_on(monkeypatch):
    """If showing the board fails (say, widgets missing), Logger() warns and still logs."""
    import hypertuner.board

    def broken(source):
        raise ImportError("No module named 'ipywidgets'")

    monkeypatch.setattr(hypertuner.board, "show", broken)
    with pytest.warns(
        hypertuner.HypertunerWarning, match="cannot show the board .* logging goes on"
    ):
        logger = hypertuner.Logger(display=True)
    logger.log({"a": 1.0}, 0)
    logger.close()
    assert hypertuner.load(logger.path)["a"].values.tolist() == [1.0]


def test_zooming_redecimates_the_visible_range(comms):
    """Once a chart's x axis is zoomed, its line is resent drawn from that range only."""
    logger = hypertuner.Logger(display=False)
    values = np.zeros(100_000)
    values[50_500] = 7.0  # a spike inside the zoomed window
    for i, value in enumerate(values.tolist()):
        logger.log({"loss": value}, i)
    board = board_for(logger)
    scale = board.built_chart("loss").x_scale
    with scale.hold_trait_notifications():
        scale.min, scale.max = 50_000.0, 51_000.0
    data, buffers = data_updates(board)[-1]
    line = data["state"]["data"]["lines"]["0/0"]
    assert line["total"] == 100_000 and line["window"] == 1003  # 1,001 inside, one beyond each edge
    x_bytes = next(b for b, path in zip(buffers, data["buffer_paths"]) if path[-1] == "x")
    x = np.frombuffer(x_bytes, np.float32)
    assert x.min() == 49_999 and x.max() == 51_001 and len(x) == 1003  # every point: under budget
    y_bytes = next(b for b, path in zip(buffers, data["buffer_paths"]) if path[-1] == "y")
    assert np.frombuffer(y_bytes, np.float32).max() == 7.0
    logger.close()


class Events:
    """Stands in for IPython's event manager: records the post_run_cell hooks."""

    def __init__(self):
        self.hooks = []

    def register(self, event, hook):
        assert event == "post_run_cell"
        self.hooks.append(hook)

    def unregister(self, event, hook):
        self.hooks.remove(hook)

    def run_cell(self):
        for hook in list(self.hooks):
            hook(None)


def test_one_post_cell_hook_serves_every_board_and_leaves_with_the_last(comms, monkeypatch):
    """Re-running a cell that logs adds no hook; the hook goes once every logger closed."""
    import types

    import hypertuner.board as board_module

    events = Events()
    monkeypatch.setattr(board_module, "ipython", lambda: types.SimpleNamespace(events=events))
    monkeypatch.setattr(board_module, "_after_cell", [])
    loggers = []
    for run in range(5):  # as if the cell were run five times
        logger = hypertuner.Logger(display=False)
        logger.log({"loss": float(run)}, 0)
        board_for(logger)
        loggers.append(logger)
        events.run_cell()
    assert len(events.hooks) == 1
    redrawn = []
    for logger in loggers:
        board = logger._board
        monkeypatch.setattr(board, "refresh_outputs", lambda b=board: redrawn.append(b))
    events.run_cell()
    assert len(redrawn) == 5
    for logger in loggers[:4]:
        logger.close()
    redrawn.clear()
    events.run_cell()  # the closed ones refresh their output a last time, then leave
    assert len(redrawn) == 5
    redrawn.clear()
    events.run_cell()
    assert redrawn == [loggers[4]._board] and len(events.hooks) == 1
    loggers[4].close()
    events.run_cell()
    assert events.hooks == []


class Handle:
    """Stands in for a display handle: records what each update showed."""

    def __init__(self):
        self.updates = []

    def update(self, board):
        self.updates.append(board._repr_mimebundle_()["text/plain"])


@pytest.mark.parametrize("live", [False, True])
def test_the_saved_picture_is_refreshed_each_cell_unless_a_view_would_be_rebuilt(comms, live):
    """Without a live view (nbclient) each cell's end refreshes the output's picture; a
    front end that renders the widget (it keeps the lines whole) would build the whole
    board anew for each refresh, so it gets one, the final one, once the logger closes."""
    logger = hypertuner.Logger(display=False)
    board = board_for(logger)
    board._engine.whole_kept = live
    handle = Handle()
    board._handles.append(handle)
    for cell in range(3):
        logger.log({"loss": float(cell)}, cell)
        board.refresh_outputs()  # what each cell's end does
    board.refresh_outputs()  # nothing new: no refresh
    assert len(handle.updates) == (0 if live else 3)
    logger.close()
    board.refresh_outputs()
    board.refresh_outputs()
    assert len(handle.updates) == (1 if live else 4)
    assert "finished" in handle.updates[-1] and "loss" in handle.updates[-1]


def test_a_cell_that_logged_ends_with_the_whole_board_as_the_last_message(comms, monkeypatch):
    """What a front end keeps of a widget is its last message's state (nbclient and
    papermill save that): after a cell that logged it holds every line from its
    first point; a cell that logged nothing sends nothing."""
    import types

    import hypertuner.board as board_module

    events = Events()
    monkeypatch.setattr(board_module, "ipython", lambda: types.SimpleNamespace(events=events))
    monkeypatch.setattr(board_module, "_after_cell", [])
    clock = Clock()
    logger = hypertuner.Logger(display=False, clock=clock, timer=clock)
    board = board_for(logger)
    for step in range(3000):
        clock.now += 0.01  # a redraw every 0.2 s: 150 deltas
        logger.log({"a": float(step), "b": -float(step)}, step)
    events.run_cell()
    data, buffers = data_updates(board)[-1]
    state = data["state"]["data"]
    assert state["full"] and sorted(state["lines"]) == ["0/0", "1/0"]
    for line in state["lines"].values():
        assert (line["from"], line["mfrom"], line["total"]) == (0, 0, 3000)
    xs = [b for b, path in zip(buffers, data["buffer_paths"]) if path[-1] == "x"]
    assert all(np.frombuffer(x, np.float32)[0] == 0 for x in xs)  # from the first step on
    sent = len(data_updates(board))
    events.run_cell()
    assert len(data_updates(board)) == sent
    logger.log({"a": 1.0}, 3000)  # below the redraw interval: the cell's end sends it
    events.run_cell()
    assert data_updates(board)[-1][0]["state"]["data"]["full"]
    assert len(data_updates(board)) == sent + 1
    logger.close()


def test_a_front_end_that_keeps_lines_whole_gets_only_the_change_at_the_end(comms, monkeypatch):
    """engine.js keeps every line whole in the state it saves and says so
    (whole_kept): a cell's end and a close then send what changed, all of it however
    many bytes (nothing comes after to send the rest), and not the whole board."""
    import types

    import hypertuner.board as board_module
    from hypertuner.board import board as board_module_board

    events = Events()
    monkeypatch.setattr(board_module, "ipython", lambda: types.SimpleNamespace(events=events))
    monkeypatch.setattr(board_module, "_after_cell", [])
    monkeypatch.setattr(board_module_board, "BYTES_PER_REDRAW", 1)  # a line a redraw
    clock = Clock()
    logger = hypertuner.Logger(display=False, clock=clock, timer=clock)
    logger.log({f"k{i}": 0.0 for i in range(4)}, 0)
    board = board_for(logger)
    board.engine.whole_kept = True  # as the browser sets it
    for step in range(1, 500):
        logger.log({f"k{i}": float(step) for i in range(4)}, step)  # no tick: same time
    events.run_cell()
    data, _ = data_updates(board)[-1]
    state = data["state"]["data"]
    assert not state["full"] and sorted(state["lines"]) == ["0/0", "1/0", "2/0", "3/0"]
    assert all(line["from"] > 0 for line in state["lines"].values())  # the change only
    assert all(chart.drawn[0] == 500 for chart in board._charts.values())
    logger.log({"k0": 1.0}, 500)
    logger.close()
    state = data_updates(board)[-1][0]["state"]["data"]
    assert not state["full"] and list(state["lines"]) == ["0/0"]
    assert "finished" in board._header.value


def test_the_end_sends_the_charts_in_view_and_the_others_when_a_view_comes_near(comms):
    """A front end keeping lines whole that looks at two charts of 100 gets theirs at
    the close, not the 98 the byte budget held back (at 500 keys that was 19 MB in
    one message); scrolled to another chart afterwards, with no tick ever to come, it
    gets that one at once, and spliced in the order sent it equals a new view's."""
    from hypertuner.board import board as board_module_board

    clock = Clock()
    logger = hypertuner.Logger(display=False, clock=clock, timer=clock, flush_every=3600)
    names = [f"k{i:03d}" for i in range(100)]
    logger.log(dict.fromkeys(names, 0.0), 0)
    board = board_for(logger)
    board.engine.whole_kept = True
    board.engine.wanted = [0, 1]
    budget = board_module_board.BYTES_PER_REDRAW
    for step in range(1, 4000):
        clock.now += 0.01
        logger.log({name: float(step % 97) + i for i, name in enumerate(names)}, step)
    assert any(chart.drawn[0] < 4000 for chart in board._charts.values())  # held back
    before = len(data_updates(board))
    logger.close()
    ((data, buffers),) = data_updates(board)[before:]
    assert sorted(unpacked(data, buffers)) == ["0/0", "1/0"]
    assert sum(memoryview(b).nbytes for b in buffers) < budget

    board.engine.wanted = [90, 91]  # scrolled down, the run closed
    ((data, buffers),) = data_updates(board)[before + 1 :]
    assert sorted(unpacked(data, buffers)) == ["90/0", "91/0"]
    held = {}
    for data, buffers in data_updates(board):
        for where, line in unpacked(data, buffers).items():
            held[where] = spliced(held.get(where), line)
    whole = whole_state(board)
    for where in ("0/0", "1/0", "90/0", "91/0"):
        assert whole[where]["total"] == 4000
        for name in ("x", "y", "mx", "ms", "mc", "t", "mt"):
            np.testing.assert_array_equal(held[where][name], whole[where][name], where + name)


def test_a_board_failing_after_a_cell_warns_and_the_others_go_on(comms, monkeypatch):
    import types

    import hypertuner.board as board_module

    events = Events()
    monkeypatch.setattr(board_module, "ipython", lambda: types.SimpleNamespace(events=events))
    monkeypatch.setattr(board_module, "_after_cell", [])
    broken, fine = hypertuner.Logger(display=False), hypertuner.Logger(display=False)
    for logger in (broken, fine):
        logger.log({"loss": 1.0}, 0)
        board_for(logger)

    def fail(*_, **__):
        raise RuntimeError("gone")

    monkeypatch.setattr(broken._board, "redraw", fail)
    monkeypatch.setattr(broken._board, "settle", fail)
    fine.log({"loss": 2.0}, 1)
    with pytest.warns(hypertuner.HypertunerWarning, match="RuntimeError: gone"):
        events.run_cell()
    assert board_module._after_cell == [fine._board]
    assert data_updates(fine._board)  # still drawn
    with pytest.warns(hypertuner.HypertunerWarning, match="RuntimeError: gone"):
        broken.close()  # its last redraw fails too, and says so
    fine.close()


def test_values_travel_as_float32_only_when_that_is_exact(comms):
    """123,456,789 or 3.5e38 would change in float32: such a line is sent as float64."""
    logger = hypertuner.Logger(display=False)
    for i, value in enumerate([0.5, 123_456_789.0, 3.5e38, float("nan"), float("-inf")]):
        logger.log({"big": value, "small": float(i) / 4}, i)
    board = board_for(logger)
    data, buffers = data_updates(board)[-1]
    sent = dict(zip((tuple(p) for p in data["buffer_paths"]), buffers))
    lines = data["state"]["data"]["lines"]
    wide = {where: packed["wide"] for where, packed in lines.items()}
    assert sorted(map(tuple, wide.values())) == [(), ("y", "ms")]
    (big,) = [w for w, flags in wide.items() if flags == ["y", "ms"]]
    y = np.frombuffer(sent[("data", "lines", big, "y")], np.float64)
    assert y[:3].tolist() == [0.5, 123_456_789.0, 3.5e38]
    assert np.isnan(y[3]) and y[4] == -np.inf
    (small,) = [w for w, flags in wide.items() if flags == []]
    small_y = np.frombuffer(sent[("data", "lines", small, "y")], np.float32)
    assert small_y.tolist() == [0, 0.25, 0.5, 0.75, 1.0]
    logger.close()


def test_a_new_selection_sends_a_full_message_without_the_keys_it_lacks(comms, tmp_path):
    """Overlaying other runs sends every line they have, marked full, and no line of a
    key the new run lacks: the browser then draws that slot empty."""
    with hypertuner.Logger(dir=tmp_path, display=False) as a:
        a.log({"loss": 1.0, "extra": 2.0}, 0)
    with hypertuner.Logger(dir=tmp_path, display=False) as b:
        b.log({"loss": 3.0}, 0)
    board = Board([hypertuner.load(a.path)], toggle_by="run")
    data, _ = data_updates(board)[-1]
    assert data["state"]["data"]["full"] and set(data["state"]["data"]["lines"]) == {"0/0", "1/0"}
    board.set_sources([hypertuner.load(b.path)], ["#000000"])
    data, _ = data_updates(board)[-1]
    assert data["state"]["data"]["full"]
    assert set(data["state"]["data"]["lines"]) == {"0/0"}  # loss only: "extra" is dropped
    board.set_sources([], [])  # nothing selected: every line goes
    data, _ = data_updates(board)[-1]
    assert data["state"]["data"]["full"] and data["state"]["data"]["lines"] == {}


def unpacked(data, buffers):
    """A data message's lines with their columns as float64 arrays, as the browser reads them."""
    lines = {where: dict(line) for where, line in data["state"]["data"]["lines"].items()}
    for path, buffer in zip(data["buffer_paths"], buffers):
        _, _, where, name = path
        if name == "keep":
            lines[where][name] = np.frombuffer(buffer, np.uint8)
            continue
        wide = name in lines[where]["wide"] or name in ("t", "mt")
        kind = np.float32 if name in ("t", "mt") or not wide else np.float64
        lines[where][name] = np.frombuffer(buffer, kind).astype(np.float64)
    for line in lines.values():
        line["my"] = means_of(line)
    return lines


def means_of(line):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(line["mc"] > 0, line["ms"] / np.maximum(line["mc"], 1), np.nan)


def spliced(held, line):
    """What the browser holds after a line (as js/engine.js splices it): its points
    before ``from`` kept but those ``keep`` drops, its buckets merged pairwise up to the
    line's size and those before ``mfrom`` kept, the rest replaced."""
    if held is None or not (line["from"] or line["mfrom"]):
        return line
    points = dict(held)
    if "keep" in line:
        bits = np.unpackbits(line["keep"], bitorder="little")[: len(held["y"])].astype(bool)
        points = {name: held[name][: len(bits)][bits] for name in ("x", "t", "y")}
    means, size = dict(held), held["size"]
    while size < line["size"]:
        pairs = len(means["ms"]) // 2
        even, odd = slice(0, 2 * pairs, 2), slice(1, 2 * pairs, 2)
        means = {
            "ms": means["ms"][even] + means["ms"][odd],
            "mc": means["mc"][even] + means["mc"][odd],
            "mx": means["mx"][odd],
            "mt": means["mt"][odd],
        }
        size *= 2
    joined = dict(line)
    for name in ("x", "t", "y"):
        joined[name] = np.concatenate([points[name][: line["from"]], line[name]])
    for name in ("mx", "mt", "ms", "mc"):
        joined[name] = np.concatenate([means[name][: line["mfrom"]], line[name]])
    joined["my"] = means_of(joined)
    return joined


def whole_state(board):
    """The data a view made now gets (a page reload, another tab), as the browser reads it."""
    state = board._engine.get_state()
    whole_state, paths, whole_buffers = _remove_buffers({"data": state["data"]})
    return unpacked({"state": whole_state, "buffer_paths": paths}, whole_buffers)


def test_redraws_send_only_new_buckets_and_add_up_to_what_a_new_view_gets(comms):
    """Each redraw of a growing series sends only what follows the buckets the browser holds
    for good, also when its buckets merged (a bit per held point says which stay; the browser
    adds the merged sums itself): spliced together, what a view was sent equals, bit for bit,
    the whole state a view made now gets, and so does a view made midway and sent the rest."""
    clock = Clock()
    logger = hypertuner.Logger(display=False, clock=clock, timer=clock, flush_every=3600)
    rng = np.random.default_rng(3)
    logger.log({"loss": 0.0}, 0)
    board = board_for(logger)
    held, later = unpacked(*data_updates(board)[-1])["0/0"], None
    merges, sent = [], []
    total = 1
    for chunk in range(60):
        # Growths of one point to several doublings at once; some NaN, so counts differ.
        count = int(rng.choice([1, 50, 997, 5000, 40_000]))
        steps = np.arange(total, total + count, dtype=float)
        values = rng.normal(size=count)
        values[rng.random(count) < 0.01] = np.nan
        logger["loss"].extend(steps, steps, values)
        total += count
        before = len(data_updates(board))
        assert board.redraw() == 1
        ((data, buffers),) = data_updates(board)[before:]
        line = unpacked(data, buffers)["0/0"]
        assert line["from"] > 0  # never the whole line again
        if line["size"] > held["size"]:
            merges.append((held["size"], line["size"]))
        # bytes per new bucket (two points and a mean), with the bits of what stays
        new_buckets = count / line["size"] + 3
        size = sum(memoryview(b).nbytes for b in buffers) - len(line.get("keep", ()))
        sent.append(size / new_buckets)
        held = spliced(held, line)
        if chunk == 20:
            later = whole_state(board)["0/0"]  # a view made now, as last sent
            for name in ("x", "y", "mx", "my", "t", "mt"):
                np.testing.assert_array_equal(held[name], later[name], err_msg=name)
        elif later is not None:
            later = spliced(later, line)
    assert len(merges) >= 4 and any(new > 2 * old for old, new in merges)
    assert max(sent) < 80  # what is new, never a whole line again
    whole = whole_state(board)["0/0"]
    assert whole["from"] == 0 and whole["total"] == total
    for name in ("x", "y", "mx", "my", "ms", "mc", "t", "mt"):
        np.testing.assert_array_equal(held[name], whole[name], err_msg=name)
        np.testing.assert_array_equal(later[name], whole[name], err_msg=name)
    logger.close()


def test_redraws_from_another_thread_while_64_keys_are_logged_lose_nothing(comms):
    """The answering thread draws a paused training's charts (catch_up) and a
    comparison's follower redraws, while the training thread logs and ticks: a
    model's size (64 keys, some NaN, buckets merging), spliced in the order sent,
    what the browser holds equals what a new view gets, line for line, bit for bit."""
    import threading

    logger = hypertuner.Logger(display=False, flush_every=3600)
    names = [f"layer_{k // 16}/grad_norm_{k}" for k in range(64)]
    logger.log(dict.fromkeys(names, 0.0), 0)
    board = board_for(logger)
    stop, failures = threading.Event(), []

    def redraw_meanwhile():
        try:
            while True:  # at least once, however the threads are scheduled
                board.redraw()
                board.catch_up()
                if stop.wait(0.001):
                    return
        except Exception as exc:  # noqa: BLE001 - said below, in the test's thread
            failures.append(exc)

    thread = threading.Thread(target=redraw_meanwhile)
    thread.start()
    rng = np.random.default_rng(5)
    try:
        for step in range(1, 6000):
            values = rng.normal(size=64)
            values[rng.random(64) < 0.01] = np.nan
            logger.log(dict(zip(names, values.tolist())), step)
    finally:
        stop.set()
        thread.join()
    # Reading steps, then values, once saw a drain between them: 3,200 steps, 3,201 values.
    assert failures == []
    while board.redraw():
        pass  # the lines the byte budget held back
    held = {}
    for data, buffers in data_updates(board):
        for where, line in unpacked(data, buffers).items():
            held[where] = spliced(held.get(where), line)
    whole = whole_state(board)
    assert sorted(held) == sorted(whole) and len(whole) == 64
    for where, line in whole.items():
        for name in ("x", "y", "mx", "ms", "mc", "t", "mt"):
            np.testing.assert_array_equal(held[where][name], line[name], err_msg=where + name)
    assert all(chart.drawn[0] == 6000 for chart in board._charts.values())
    logger.close()


def test_a_new_view_gets_every_line_while_a_delta_holds_one(comms):
    """The synced data holds the last change (one line here); the state a new view asks for
    holds every line whole."""
    clock = Clock()
    logger = hypertuner.Logger(display=False, clock=clock, timer=clock)
    logger.log({"a": 1.0, "b": 2.0, "c": 3.0}, 0)
    board = board_for(logger)
    clock.now += 1
    logger.log({"a": 4.0}, 1)
    assert list(board._engine.data["lines"]) == ["0/0"]
    snapshot = board._engine.get_state()["data"]
    assert snapshot["full"] and sorted(snapshot["lines"]) == ["0/0", "1/0", "2/0"]
    assert all(line["from"] == 0 for line in snapshot["lines"].values())
    assert board._engine.get_state("data")["data"] == board._engine.data  # a sync: the delta
    logger.close()


def test_a_redraw_keeps_to_its_byte_budget_and_sends_the_rest_next(comms, monkeypatch):
    """Lines beyond BYTES_PER_REDRAW wait for the next redraw; none is lost."""
    from hypertuner.board import board as board_module

    monkeypatch.setattr(board_module, "BYTES_PER_REDRAW", 10_000)
    logger = hypertuner.Logger(display=False, flush_every=3600)
    logger.log({f"k{i}": 0.0 for i in range(6)}, 0)
    board = board_for(logger)
    steps = np.arange(1, 5000, dtype=float)
    for i in range(6):
        logger[f"k{i}"].extend(steps, steps, np.sin(steps / (i + 1)))
    sent = []
    while (count := board.redraw()) and len(sent) < 10:
        sent.append(count)
    assert sum(sent) == 6 and len(sent) > 1  # spread over several redraws, each line once
    assert board.redraw() == 0
    logger.close()


def test_no_line_waits_behind_the_same_others_and_charts_near_a_view_go_first(comms, monkeypatch):
    """Over the byte budget, the next redraw starts where the last one stopped, after
    the charts the browser says are near its view."""
    from hypertuner.board import board as board_module

    monkeypatch.setattr(board_module, "BYTES_PER_REDRAW", 1)  # one line per redraw
    logger = hypertuner.Logger(display=False, flush_every=3600)
    logger.log({f"k{i}": 0.0 for i in range(5)}, 0)
    board = board_for(logger)
    for step in range(1, 6):
        logger.log({f"k{i}": float(step) for i in range(5)}, step)
        board.redraw()  # every key changed since: each redraw sends the next one
    # Each chart was sent once, each at a different step: none waited behind k0.
    assert sorted(c.drawn[0] for c in board._charts.values()) == [2, 3, 4, 5, 6]
    board.engine.wanted = [3]
    logger.log({f"k{i}": 9.0 for i in range(5)}, 6)
    logger.flush()
    board.redraw()
    assert board.chart("k3").drawn[0] == 7  # near the view: first, whoever was waiting
    logger.close()


def test_a_board_builds_a_chart_when_the_browser_comes_near_it(comms):
    """A chart's widgets are made when the browser reports the chart near its view;
    until then the browser holds its place in its grid."""
    keys = [f"s{k // 50}/key_{k}" for k in range(100)]
    logger = hypertuner.Logger(display=False)
    logger.log({key: float(k) for k, key in enumerate(keys)}, 0)
    board = board_for(logger)
    assert list(board._charts) == keys and not any(c.built for c in board._charts.values())
    assert board.engine.charts[0] == {"kind": "number", "grid": "ht-s-0"}
    assert board.engine.charts[-1]["grid"] == "ht-s-1"
    assert board._grids["s0"].children == () and "50" in board._titles["s0"].value
    board.engine.wanted = [1, len(keys) - 1]
    built = [key for key, chart in board._charts.items() if chart.built]
    assert built == [keys[1], keys[-1]]
    assert board._grids["s0"].children == (board.chart(keys[1]).figure,)
    assert board._grids["s1"].children == (board.chart(keys[-1]).figure,)
    assert board.engine.charts[1]["figure"] is board.chart(keys[1]).figure
    assert "50" in board._titles["s0"].value  # the count is every chart, built or not
    # Code that adds marks to a chart (the sweep view's pruned trials) gets it built.
    chart = board.built_chart(keys[2])
    assert chart.built and board._grids["s0"].children[1] is chart.figure
    assert board.built_chart("no such key") is None
    logger.close()


def test_where_no_browser_asks_a_cell_end_builds_the_first_charts(comms, monkeypatch):
    """nbclient and papermill run no engine.js, so no view ever says it is near a
    chart: a cell's end (and a close) builds the first EAGER charts, whose widgets
    the saved widget state then holds. A front end that runs engine.js (it sets
    whole_kept) builds what it sees, and the end builds nothing more."""
    from hypertuner.board import board as board_module

    monkeypatch.setattr(board_module, "EAGER", 8)
    for count, front_end in ((6, False), (12, False), (12, True)):
        keys = [f"s{k // 4}/key_{k}" for k in range(count)]
        logger = hypertuner.Logger(display=False)
        logger.log({key: float(k) for k, key in enumerate(keys)}, 0)
        board = board_for(logger)
        board.engine.whole_kept = front_end
        board.engine.wanted = [3] if front_end else []
        logger.log({"late/key": 1.0}, 1)  # a key new at the end gets its chart too
        logger.close()
        built = [key for key, chart in board._charts.items() if chart.built]
        if front_end:
            assert built == [keys[3]]
        else:
            assert built == [*keys, "late/key"][:8], count
            charts = board.engine.charts
            assert all(
                charts[i]["figure"] is board.chart(key).figure for i, key in enumerate(built)
            )


def readout_answers(board):
    """The readout answers the board's engine sent to the browser."""
    return [
        data["content"]
        for data, _ in board._engine.comm.messages
        if data and data.get("method") == "custom" and data["content"].get("kind") == "at"
    ]


def test_the_readout_gets_the_value_logged_at_the_cursor_not_a_bucket_extreme(comms):
    """Over a decimated line the browser holds each bucket's extremes only; asked for
    the value at a step, the kernel answers with the point logged there, per run,
    from every stored point: NaN and inf as text, the last of a repeated step."""
    clock = Clock()
    runs = []
    for offset in (0.0, 1.0):
        logger = hypertuner.Logger(display=False, clock=clock, timer=clock)
        for i in range(100_000):
            clock.now += 0.001
            logger.log({"grad_norm": 0.33 + offset + (0.0039 if i % 97 else -0.3)}, i)
        logger.log({"grad_norm": float("nan")}, 100_000)
        logger.log({"grad_norm": 7.0}, 100_001)
        logger.log({"grad_norm": 8.0}, 100_001)  # a step logged twice: the last one counts
        runs.append(logger)
    board = Board(runs, toggle_by="run")
    ask = board._engine._handle_custom_msg

    ask({"kind": "at", "chart": 0, "x": 5_000.4, "axis": "step", "ask": 7}, [])
    answer = readout_answers(board)[-1]
    assert answer["ask"] == 7 and answer["chart"] == 0
    assert [(r["run"], r["step"]) for r in answer["rows"]] == [(0, 5_000), (1, 5_000)]
    assert answer["rows"][0]["value"] == pytest.approx(0.3339)
    assert answer["rows"][1]["value"] == pytest.approx(1.3339)

    ask({"kind": "at", "chart": 0, "x": 100_000, "axis": "step", "ask": 8}, [])
    row = readout_answers(board)[-1]["rows"][0]
    assert row["value"] is None and row["text"] == "nan"  # JSON carries no NaN
    ask({"kind": "at", "chart": 0, "x": 1e9, "axis": "step", "ask": 9}, [])
    assert readout_answers(board)[-1]["rows"][0]["value"] == 8.0

    # On a time axis, x is seconds since the run began.
    created = float(runs[0].created)
    step_at = runs[0]["grad_norm"].columns()[1][2_000] - created
    ask({"kind": "at", "chart": 0, "x": float(step_at), "axis": "time", "ask": 10}, [])
    assert readout_answers(board)[-1]["rows"][0]["step"] == 2_000

    # On a wall-time axis, x is seconds since the epoch: each run's own point there
    # (the runs began at different times).
    wall = float(runs[1]["grad_norm"].columns()[1][3_000])
    ask({"kind": "at", "chart": 0, "x": wall, "axis": "wall", "ask": 11}, [])
    rows = readout_answers(board)[-1]["rows"]
    assert rows[1]["step"] == 3_000 and rows[0]["step"] == 100_001  # run 0 ended before

    # What is not a question, or names no chart, gets no answer.
    sent = len(readout_answers(board))
    for junk in ({"kind": "at", "chart": 5, "x": 1}, {"kind": "at", "chart": "a", "x": 1}, [1]):
        ask(junk, [])
    assert len(readout_answers(board)) == sent
    for logger in runs:
        logger.close()


def test_nan_and_infinities_are_sent_as_places_and_counts(comms):
    """A line cannot draw NaN or an infinity: each line's payload says where they are
    (steps and seconds) and how many, for the browser to mark and count."""
    logger = hypertuner.Logger(display=False)
    for i in range(1_000):
        value = float("nan") if 400 <= i < 600 else float("inf") if i == 900 else 1.0
        logger.log({"loss": value, "fine": 1.0}, i)
    board = board_for(logger)
    data, _ = data_updates(board)[-1]
    lines = data["state"]["data"]["lines"]
    keys = list(board._charts)
    bad = lines[f"{keys.index('loss')}/0"]["bad"]
    assert (bad["nan"], bad["inf"]) == (200, 1)
    assert set(bad["x"]) <= set(range(400, 600)) | {900} and 900 in bad["x"]
    assert len(bad["t"]) == len(bad["x"])
    assert "bad" not in lines[f"{keys.index('fine')}/0"]
    logger.close()
