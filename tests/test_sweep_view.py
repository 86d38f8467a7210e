"""The live sweep view, kernel side: real sweeps of small scripts, with recording comms.

A sweep here runs a grid of lr x width; the trials with lr >= 0.3 diverge and are
pruned by a ``ThresholdPruner`` at step 4, where every trial flushes its first five
points at once (so the pruner judges that step and no other). Where a test needs
trials running, they wait for a ``go`` file in their folder (or a stop request).
"""

from __future__ import annotations

import re
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import ipywidgets.comm
import optuna
import pytest
from test_board import RecordingComm

import hypertuner
from hypertuner.board.board import color
from hypertuner.tune.view import PRUNED_GREY, RAMP, RAMP_DARK, SweepView, best_so_far

SCRIPT = """
import math, time
import hypertuner

p = hypertuner.params({"lr": 0.01, "width": 32, "wait": False})
diverges = p.lr >= 0.3

def loss(step):
    if diverges:
        return 0.9 + 0.4 * step
    floor = 0.2 + 0.25 * (math.log10(p.lr) + 2) ** 2 + 0.03 * (p.width == 64)
    return floor + math.exp(-step / 3)

with hypertuner.Logger(flush_every=1000) as log:
    for step in range(5):
        log.log({"val/loss": loss(step)}, step)
    log.flush()
    while (diverges or p.wait and not (log.path / "go").exists()) and not log.should_stop:
        time.sleep(0.02)
    if not log.should_stop:
        for step in range(5, 10):
            log.log({"val/loss": loss(step)}, step)
"""
RATES = [0.001, 0.01, 0.1, 1.0]
CONVERGING = RATES[:-1]  # for sweeps without a pruner: no trial waits to be pruned
WIDTHS = [32, 64]
WAIT_SECONDS = 300  # an upper bound only, for a loaded machine


@pytest.fixture(autouse=True)
def comms(monkeypatch):
    """Widgets talk to recording comms instead of a kernel."""
    made = []

    def create_comm(**kwargs):
        made.append(RecordingComm(**kwargs))
        return made[-1]

    monkeypatch.setattr(ipywidgets.comm, "create_comm", create_comm)
    return made


def start(folder: Path, wait: bool = False, rates=RATES, **options):
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "train.py"
    script.write_text(textwrap.dedent(SCRIPT))
    options = {
        "objective": "val/loss",
        "sampler": "grid",
        "seed": 0,
        "pruner": optuna.pruners.ThresholdPruner(upper=2.0),
        "trials": len(rates) * len(WIDTHS),
        "parallel": 2,
        "dir": folder / "sweep",
        "display": False,
        **options,
    }
    return hypertuner.sweep(script, {"lr": rates, "width": WIDTHS, "wait": wait}, **options)


def until(condition, what: str, view: SweepView | None = None):
    """Wait until ``condition()`` holds (updating ``view`` first each time)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        if view is not None:
            view.update()
        if condition():
            return
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.02)


def go(trial) -> None:
    """Let a waiting trial go on to its end."""
    (trial.folder / "go").touch()


@pytest.fixture(scope="module")
def ended(tmp_path_factory):
    """A sweep of the whole grid, run to its end: six trials complete, two pruned."""
    sweep = start(tmp_path_factory.mktemp("ended"))
    assert sweep.wait(WAIT_SECONDS)
    assert sorted(t.state for t in sweep.trials) == ["complete"] * 6 + ["pruned"] * 2
    return sweep


def rows_by_number(view):
    return {row["number"]: row for row in view._table.rows}


def test_a_row_per_trial_with_its_state_params_value_and_the_best_marked(ended):
    """Each trial is a row: its state, swept params, objective and step; the best is marked."""
    view = SweepView(ended, follow=False)
    rows = rows_by_number(view)
    assert list(rows) == list(range(8))
    best = ended.best
    for trial in ended.trials:
        row = rows[trial.number]
        assert row["state"] == trial.state
        assert row["params"] == {"lr": trial.params["lr"], "width": trial.params["width"]}
        assert row["params_text"]["width"] == str(trial.params["width"])
        assert row["value"] == pytest.approx(trial.value)
        assert row["color"] == color(trial.number)
        assert row["best"] == (trial.number == best.number)
        assert not row["stoppable"]
        if trial.state == "pruned":
            assert trial.params["lr"] == 1.0
            assert row["note"] == "pruned at step 4" and row["step_text"] == "4"
        else:
            assert row["step_text"] == "9"
    assert best.params == {"lr": 0.01, "width": 32, "wait": False}
    assert rows[best.number]["note"] == "★ best"
    assert view._table.columns == ["lr", "width"]  # "wait" is fixed: not swept
    assert view._table.objective == "val/loss (min)"
    view.close()


def test_best_so_far_by_trial_number_in_either_mode():
    """The curve is the best complete value up to each complete trial, min or max."""

    @dataclass
    class T:
        number: int
        state: str
        value: float | None

    trials = [
        T(3, "complete", 0.5),
        T(0, "complete", 0.9),
        T(1, "pruned", 0.1),
        T(2, "complete", 1.2),
        T(4, "failed", None),
        T(5, "running", None),
        T(6, "complete", 0.7),
    ]
    assert best_so_far(trials, "min") == ([0, 2, 3, 6], [0.9, 0.9, 0.5, 0.5])
    assert best_so_far(trials, "max") == ([0, 2, 3, 6], [0.9, 1.2, 1.2, 1.2])
    assert best_so_far([], "min") == ([], [])


def test_the_best_so_far_chart_of_a_sweep(ended):
    """The step line runs through the best value up to each complete trial and on to
    the last trial; a dot per trial with a value, pruned ones grey."""
    view = SweepView(ended, follow=False)
    trials = ended.trials
    numbers, values = best_so_far(trials, "min")
    if numbers[-1] != trials[-1].number:
        numbers, values = [*numbers, trials[-1].number], [*values, values[-1]]
    assert view._best.line.x.tolist() == numbers
    assert view._best.line.y.tolist() == pytest.approx(values)
    assert view._best.line.y[-1] == pytest.approx(ended.best.value)
    assert view._best.points.x.tolist() == [t.number for t in trials]
    complete = [t.value for t in trials if t.state == "complete"]
    # The y axis spans the complete trials; the diverging pruned ones are off the chart.
    assert view._best.y.min < min(complete) and max(complete) < view._best.y.max
    assert view._best.y.max < min(t.value for t in trials if t.state == "pruned")
    assert list(view._best.points.colors) == [
        PRUNED_GREY if t.state == "pruned" else color(t.number) for t in trials
    ]
    view.close()


def test_every_trial_curve_is_drawn_and_pruned_ones_end_with_a_mark(ended):
    """One line per trial in its colour, every point sent; a mark at each pruned
    trial's judged step and value, following log y, hidden on a time axis."""
    view = SweepView(ended, follow=False)
    chart = view._board._charts["val/loss"]
    trials = ended.trials
    assert [raw.colors[0] for raw, _ in chart.lines] == [color(t.number) for t in trials]
    assert view._board._engine.names == [f"trial {t.number}" for t in trials]
    assert chart.drawn == [len(t.run["val/loss"]) for t in trials]
    pruned = [t for t in trials if t.state == "pruned"]
    marks = view._marks
    assert marks in chart.figure.marks
    assert marks.x.tolist() == [4.0] * len(pruned)
    assert marks.y.tolist() == pytest.approx([t.value for t in pruned])
    assert marks.y.tolist() == pytest.approx([t.run["val/loss"].values[4] for t in pruned])
    assert list(marks.colors) == [color(t.number) for t in pruned]
    assert marks.scales["y"] is chart.y_linear and marks.visible
    view._board._engine.log_y = True
    assert marks.scales["y"] is chart.y_log
    view._board._engine.x_mode = "relative"
    assert not marks.visible
    view._board._engine.x_mode = "step"
    assert marks.visible
    view.close()


def test_parallel_coordinates_coloured_by_objective_pruned_grey(ended):
    """An axis per swept param (in grid order) and the objective; complete trials are
    coloured from the best (darkest) to the worst, pruned ones grey."""
    view = SweepView(ended, follow=False)
    parallel = view._table.parallel
    axes = parallel["axes"]
    assert [a["name"] for a in axes[:2]] == ["lr", "width"] and axes[2]["name"].startswith(
        "val/loss"
    )
    assert axes[0]["ticks"] == [[0.0, "0.001"], [1 / 3, "0.01"], [2 / 3, "0.1"], [1.0, "1"]]
    assert axes[1]["ticks"] == [[0.0, "32"], [1.0, "64"]]
    lines = {line["number"]: line for line in parallel["lines"]}
    assert sorted(lines) == list(range(8))
    best = ended.best
    assert lines[best.number]["color"] == RAMP[0] and lines[best.number]["best"]
    assert lines[best.number]["color_dark"] == RAMP_DARK[0]  # the brightest on black
    worst = max((t for t in ended.trials if t.state == "complete"), key=lambda t: t.value)
    assert lines[worst.number]["color"] == RAMP[-1]
    assert lines[worst.number]["color_dark"] == RAMP_DARK[-1]
    for trial in ended.trials:
        line = lines[trial.number]
        assert (line["color"] == PRUNED_GREY) == (trial.state == "pruned")
        assert (line["color_dark"] == PRUNED_GREY) == (trial.state == "pruned")
        assert line["ys"][0] == pytest.approx(RATES.index(trial.params["lr"]) / 3)
        assert line["ys"][2] is not None and 0 <= line["ys"][2] <= 1
    assert parallel["lines"][-1]["number"] == best.number  # drawn last, on top
    view.close()


def test_text_and_html_stand_in_where_widgets_cannot_render(ended):
    """text/plain is sweep.table(); text/html the header with counts, best and the table."""
    view = SweepView(ended, follow=False)
    bundle = view._repr_mimebundle_()
    assert bundle["text/plain"] == ended.table()
    best = ended.best
    header = (
        "8 of 8 trials · 0 running, 6 complete, 2 pruned, 0 failed · "
        f"best val/loss {best.value:.6g} (trial {best.number}) · ended"
    )
    assert header in re.sub("<[^>]+>", "", bundle["text/html"])
    assert ended.table().splitlines()[-1] in bundle["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert repr(view) == f"<hypertuner SweepView of {str(ended.dir)!r}>"
    view.close()


def test_an_update_that_finds_nothing_new_sends_nothing(ended, comms):
    """Once everything is drawn, an update sends no message at all."""
    view = SweepView(ended, follow=False)
    before = sum(len(comm.messages) for comm in comms)
    view.update()
    view.update()
    assert sum(len(comm.messages) for comm in comms) == before
    view.close()


def test_the_sweeps_error_is_shown(tmp_path):
    """A sweep stopped by an error says so in the header."""
    sweep = start(tmp_path, objective="val/acc", rates=[0.01], parallel=1)
    with pytest.raises(hypertuner.tune.sweep.SweepError):
        sweep.wait(WAIT_SECONDS)
    view = SweepView(sweep, follow=False)
    assert "val/acc" in str(sweep.error)
    assert "ht-sweep-error" in view._header.value
    assert str(sweep.error).split("'")[0] in view._header.value
    assert rows_by_number(view)[0]["state"] == "failed"
    view.close()


def test_the_stop_buttons_stop_a_trial_and_the_sweep(tmp_path):
    """A trial's stop message stops it (pruned, "stopped"); "Stop sweep" launches no more."""
    sweep = start(tmp_path, wait=True, rates=CONVERGING, pruner=None, parallel=2)
    view = SweepView(sweep, follow=False)
    until(lambda: len(view._table.rows) == 2, "two trials run", view)
    first, second = (row["number"] for row in view._table.rows)
    until(lambda: all(r["step"] == 4 for r in view._table.rows), "both wait", view)
    assert all(row["stoppable"] for row in view._table.rows)

    view._table._handle_custom_msg({"stop": first}, [])  # what its button sends
    assert not rows_by_number(view)[first]["stoppable"]
    assert rows_by_number(view)[first]["note"] == "stopping…"
    until(lambda: len(view._table.rows) == 3, "a third trial replaces the stopped one", view)
    assert rows_by_number(view)[first]["state"] == "pruned"
    assert rows_by_number(view)[first]["note"] == "stopped at step 4"

    assert view._stop.description == "Stop sweep" and not view._stop.disabled
    view._stop.click()
    assert view._stop.disabled and view._stop.description == "Stopping…"
    assert "stopping: no more trials are launched" in view._header.value
    for trial in sweep.trials:
        go(trial)
    assert sweep.wait(WAIT_SECONDS)
    view.update()
    assert [row["state"] for row in view._table.rows] == ["pruned", "complete", "complete"]
    assert [row["number"] for row in view._table.rows] == [first, second, 2]
    assert "3 of 6 trials" in view._header.value and "ended" in view._header.value
    assert view._stop.description == "Sweep ended" and view._stop.disabled
    view.close()


def test_following_shows_trials_live_and_ends_with_the_sweep(tmp_path):
    """The view's thread shows trials as they run, reads every point, and ends by
    itself once the sweep has ended and everything was drawn."""
    sweep = start(tmp_path, wait=True, rates=CONVERGING, trials=3, parallel=1)
    view = SweepView(sweep, interval=0.05)
    thread = view._thread
    assert thread.is_alive()
    until(lambda: [r["state"] for r in view._table.rows] == ["running"], "trial 0 runs")
    until(lambda: view._board._charts.get("val/loss") is not None, "its curve is drawn")
    for number in range(3):
        until(lambda n=number: len(sweep.trials) == n + 1, f"trial {number} runs")
        go(sweep.trials[number])
    assert sweep.wait(WAIT_SECONDS)
    thread.join(WAIT_SECONDS)
    assert not thread.is_alive()
    assert [r["state"] for r in view._table.rows] == ["complete"] * 3
    chart = view._board._charts["val/loss"]
    assert chart.drawn == [10, 10, 10]
    handle_updates = []

    class Handle:
        def update(self, obj):
            handle_updates.append(obj)

    view.track(Handle())
    view.update()  # the sweep has ended: tracked outputs get the final state once
    view.update()
    assert handle_updates == [view]
    view.close()


def test_close_leaves_no_thread_behind(tmp_path):
    """close() ends the view's thread before it returns, while the sweep goes on."""
    sweep = start(tmp_path, wait=True, rates=CONVERGING, trials=1, parallel=1)
    view = SweepView(sweep, interval=0.05)
    thread = view._thread
    assert thread.is_alive() and thread.name == "hypertuner-sweep-view"
    view.close()
    assert not thread.is_alive()
    assert sweep.running
    assert not any(t.name == "hypertuner-sweep-view" for t in threading.enumerate())
    until(lambda: sweep.trials, "the trial is launched")
    go(sweep.trials[0])
    assert sweep.wait(WAIT_SECONDS)
    view._on_change()  # the controller still calls a closed view's listener: harmless
    assert not any(t.name == "hypertuner-sweep-view" for t in threading.enumerate())
