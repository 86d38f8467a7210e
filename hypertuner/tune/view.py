"""The live sweep view: trials table, best so far, parallel coordinates, trial curves.

:class:`SweepView` shows a :class:`~hypertuner.tune.sweep.Sweep` as it runs. The
controller thread tells it when a trial changes (``sweep.watch``); a thread of the
view's own then reads the sweep's trials, follows the running trials' run files
(reading only appended bytes) and updates only what changed: the table and the
parallel coordinates (``js/sweep.js`` draws them), the best-so-far chart, and the
objective's curves of every trial on a :class:`~hypertuner.board.board.Board`, with
a mark where each pruned trial was stopped. The thread ends when the view is
closed, or once the sweep has ended and everything was drawn.
"""

from __future__ import annotations

import html
import json
import math
import threading
import warnings
from dataclasses import dataclass
from typing import Any

import anywidget
import bqplot
import numpy as np
import traitlets
from ipywidgets import HTML, Button, HBox, Layout, VBox

from .._resources import resource
from .._table import format_number, format_text
from ..board.board import Board, color
from ..board.engine import STATUS_COLOURS
from ..errors import HypertunerError, HypertunerWarning
from ..run import Run
from .text import cell_text, flat_params

__all__ = ["SweepView", "TrialsTable", "best_so_far"]

# A trial's state, in the colour of the run status it ends its run with.
STATE_COLOURS = {
    "running": STATUS_COLOURS["running"],
    "complete": STATUS_COLOURS["finished"],
    "pruned": STATUS_COLOURS["pruned"],
    "failed": STATUS_COLOURS["crashed"],
}
# ... and the status whose class colours its count in the header, in either theme.
STATE_STATUS = {
    "running": "running",
    "complete": "finished",
    "pruned": "pruned",
    "failed": "crashed",
}
PRUNED_GREY = "#b0b0b0"
# Parallel coordinates colour complete trials from the best to the worst, the best
# the most salient: on white viridis from its darkest up to 0.9 (whose last yellows
# would not show); on JupyterLab's dark background from its brightest down to 0.33,
# each at least 3:1 against #111 (the darkest purple reads 1.2:1 there).
RAMP = ["#440154", "#3b528b", "#21918c", "#5ec962", "#bddf26"]
RAMP_DARK = ["#fde725", "#8fd744", "#35b779", "#21918c", "#31688e"]
# At most one update per MIN_GAP s however often the controller calls; the curves
# of running trials are read at least every ``interval`` s.
MIN_GAP = 0.2

_ESM = resource("sweep.js")


class TrialsTable(anywidget.AnyWidget):
    """The trials table and the parallel coordinates, drawn in the browser.

    A stop button sends ``{"stop": number}``; everything else is kernel state.
    """

    _esm = _ESM
    _css = """
    .ht-sweep-views { display: flex; flex-wrap: wrap; gap: 12px 24px; align-items: flex-start;
      font: 12px var(--jp-ui-font-family, sans-serif); }
    .ht-trials-box { flex: 0 0 auto; max-width: 100%; max-height: 420px; overflow: auto; }
    .ht-trials { border-collapse: collapse; }
    .ht-trials th { cursor: pointer; text-align: left; padding: 2px 8px; position: sticky; top: 0;
      background: var(--jp-layout-color1, #f5f5f5); white-space: nowrap; }
    .ht-trials td { padding: 1px 8px; white-space: nowrap; font-variant-numeric: tabular-nums; }
    .ht-trials td.ht-num { text-align: right; }
    .ht-trials tr:hover { background: var(--jp-layout-color2, #eee); }
    .ht-trials tr.ht-best-row td { font-weight: 600; }
    .ht-trials .ht-trial-note { color: var(--jp-ui-font-color2, #666); }
    .ht-trials button { font-size: 11px; padding: 0 6px; cursor: pointer; }
    .ht-swatch { display: inline-block; width: 12px; height: 12px; vertical-align: middle;
      border-radius: 2px; }
    .ht-chip { display: inline-block; padding: 0 7px; border-radius: 8px; color: #fff;
      font-size: 11px; line-height: 16px; }
    .ht-parallel text { font: 11px var(--jp-ui-font-family, sans-serif);
      fill: var(--jp-ui-font-color1, #333); }
    .ht-pc-line:hover { stroke: var(--jp-ui-font-color0, #000); stroke-width: 3; }
    """ + "".join(
        f".ht-state-{state} {{ background: {colour}; }}\n"
        for state, colour in STATE_COLOURS.items()
    )

    rows = traitlets.List(traitlets.Dict()).tag(sync=True)  # one per trial, by number
    columns = traitlets.List(traitlets.Unicode()).tag(sync=True)  # the swept params
    objective = traitlets.Unicode("").tag(sync=True)  # its column's title
    parallel = traitlets.Dict().tag(sync=True)  # axes and lines, already placed

    def __repr__(self) -> str:
        return f"<hypertuner TrialsTable: {len(self.rows)} trials>"


def best_so_far(trials: list[Any], mode: str) -> tuple[list[int], list[float]]:
    """The best objective among the complete trials up to each one, by trial number.

    Returns the complete trials' numbers and, for each, the best value up to it.
    """
    better = (lambda a, b: a < b) if mode == "min" else (lambda a, b: a > b)
    numbers: list[int] = []
    values: list[float] = []
    for trial in sorted(trials, key=lambda t: t.number):
        if trial.state != "complete" or trial.value is None:
            continue
        best = trial.value if not values or better(trial.value, values[-1]) else values[-1]
        numbers.append(trial.number)
        values.append(best)
    return numbers, values


def _best(trials: list[Any], mode: str) -> Any:
    """The best complete trial of this list, as ``Sweep.best`` picks it."""
    done = [t for t in trials if t.state == "complete" and t.value is not None]
    if not done:
        return None
    return (min if mode == "min" else max)(done, key=lambda t: t.value)


class _Curve:
    """A trial's run as the board sees it: the objective only, named after the trial."""

    def __init__(self, run: Run, key: str, name: str) -> None:
        self.run, self.key, self.name = run, key, name

    @property
    def kinds(self) -> dict[str, str]:
        kind = self.run.kinds.get(self.key)
        return {self.key: kind} if kind in ("number", "bool") else {}

    def __contains__(self, key: object) -> bool:
        return key == self.key and key in self.run

    def __getitem__(self, key: str) -> Any:
        return self.run[key]

    @property
    def created(self) -> float:
        return self.run.created


@dataclass
class _Shown:
    """What the view holds of one trial: its run, once made, and whether it was read whole."""

    curve: _Curve | None = None
    done: bool = False  # the trial had ended when its run was last read: nothing more comes


class SweepView(VBox):
    """The live view of a sweep: made by ``Sweep.show()``, or ``SweepView(sweep)``.

    Parameters
    ----------
    sweep : Sweep
        The sweep to show.
    follow : bool
        Update from a background thread while the sweep runs (else call :meth:`update`).
    interval : float
        Seconds between reads of the running trials' curves.
    """

    def __init__(self, sweep: Any, *, follow: bool = True, interval: float = 0.5) -> None:
        self._closed = False  # first: close() (also run by __del__) needs these
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._lock = threading.RLock()
        self._sweep = sweep
        self._objective = sweep.objective
        self._interval = interval
        self._space = _space_of(sweep)
        self._shown: dict[int, _Shown] = {}
        self._curves: list[int] = []  # the trials on the board, in its order
        self._asked: set[int] = set()  # trials this view asked to stop
        self._stop_asked = False
        self._handles: list[Any] = []
        self._header = HTML(layout=Layout(flex="1 1 auto"))
        self._stop = Button(
            description="Stop sweep",
            icon="stop",
            button_style="danger",
            tooltip="Launch no more trials; the running ones finish",
        )
        self._stop.on_click(lambda _: self.stop())
        self._table = TrialsTable(objective=f"{self._objective} ({sweep.mode})")
        self._table.on_msg(self._on_message)
        self._best = _BestChart(self._objective, sweep.mode)
        self._board = Board([], toggle_by="run")
        self._board.layout = Layout(flex="1 1 480px", min_width="400px")
        self._marks: bqplot.Scatter | None = None  # where pruned trials were stopped
        self._marked: list[tuple[int, float, float]] = []  # (trial, step, value) per mark
        self._turn = bqplot.LinearScale(min=0, max=180)  # degrees: a cross turned is an x
        self._board.engine.observe(lambda _: self._place_marks(), ["log_y", "x_mode"])
        bar = HBox([self._header, self._stop], layout=Layout(align_items="center"))
        charts = HBox([self._best.figure, self._board], layout=Layout(flex_flow="row wrap"))
        super().__init__([bar, self._table, charts])
        self.add_class("ht-sweep")
        running = sweep.running  # read first: if it ends now, the thread draws the end
        self.update()
        sweep.watch(self._on_change)
        if follow and running:
            self._thread = threading.Thread(
                target=self._follow, name="hypertuner-sweep-view", daemon=True
            )
            self._thread.start()

    def __repr__(self) -> str:
        return f"<hypertuner SweepView of {str(self._sweep.dir)!r}>"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        # Where widgets cannot render: the trials as text, and the header above them.
        bundle = super()._repr_mimebundle_(**kwargs)
        table = self._sweep.table()
        bundle["text/plain"] = table
        bundle["text/html"] = f"{self._header_html()}<pre>{html.escape(table)}</pre>"
        return bundle

    def track(self, handle: Any) -> None:
        """Re-send the output ``handle`` (a display handle) when the sweep has ended,
        so a saved notebook keeps the final table where widgets cannot render."""
        self._handles.append(handle)

    def drawn(self, timeout: float | None = None) -> bool:
        """Wait until the view has drawn the sweep's end (its thread ended); True if so."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            return not thread.is_alive()
        return True

    # -- acting on the sweep ---------------------------------------------------------

    def stop(self) -> None:
        """Stop the sweep: launch no more trials (what the "Stop sweep" button does)."""
        self._sweep.stop()
        self._stop_asked = True
        self.update()

    def stop_trial(self, number: int) -> None:
        """Stop one running trial now, as if pruned (what its stop button does)."""
        if any(t.number == number and t.state == "running" for t in self._sweep.trials):
            self._asked.add(number)  # its row then says "stopped", not "pruned"
        self._sweep.stop_trial(number)
        self.update()

    def _on_message(self, _: Any, content: Any, buffers: Any) -> None:
        number = content.get("stop") if isinstance(content, dict) else None
        if isinstance(number, int) and not isinstance(number, bool):
            self.stop_trial(number)

    # -- following -------------------------------------------------------------------

    def _on_change(self) -> None:
        # From the controller thread: wake the view's thread, never work here.
        if not self._closed:
            self._wake.set()

    def _follow(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._closed or self.comm is None:
                return
            ended = not self._sweep.running  # read first: the update then sees the end
            try:
                self.update()
            except Exception as exc:  # noqa: BLE001 - the sweep goes on without its view
                warnings.warn(
                    f"hypertuner stopped updating the sweep view: {type(exc).__name__}: {exc}",
                    HypertunerWarning,
                    stacklevel=1,
                )
                return
            if ended or self._closing.wait(MIN_GAP):
                return

    def close(self) -> None:
        """Stop following the sweep (the thread has ended on return) and close the widgets."""
        self._closed = True
        self._closing.set()
        self._wake.set()
        if hasattr(self, "_sweep"):
            self._sweep.unwatch(self._on_change)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        with self._lock:
            for name in ("_board", "_table", "_stop", "_header"):
                if hasattr(self, name):  # not all made when __init__ failed
                    getattr(self, name).close()
            if hasattr(self, "_best"):
                self._best.figure.close()
        super().close()

    # -- drawing ---------------------------------------------------------------------

    def update(self) -> None:
        """Read the sweep's trials and the new points of running ones; redraw what changed."""
        with self._lock:
            if self._closed:
                return
            running = self._sweep.running
            trials = self._sweep.trials
            best = _best(trials, self._sweep.mode)
            self._read_runs(trials)
            self._draw_curves(trials)
            rows = [self._row(trial, best) for trial in trials]
            with self._table.hold_sync():
                if rows != self._table.rows:
                    self._table.rows = rows
                columns = list(self._sweep.swept)
                if columns != self._table.columns:
                    self._table.columns = columns
                parallel = self._parallel(trials, best)
                if parallel != self._table.parallel:
                    self._table.parallel = parallel
            self._best.draw(trials)
            header = self._header_html(trials, best, running)
            if header != self._header.value:
                self._header.value = header
            self._stop.disabled = self._stop_asked or not running
            self._stop.button_style = "danger" if running else ""
            self._stop.description = (
                "Sweep ended" if not running else "Stopping…" if self._stop_asked else "Stop sweep"
            )
        if not running:
            for handle in self._handles:
                handle.update(self)
            self._handles = []

    def _read_runs(self, trials: list[Any]) -> None:
        """Open each trial's run once it exists; read what running trials appended."""
        for trial in trials:
            shown = self._shown.setdefault(trial.number, _Shown())
            if shown.done:
                continue
            ended = trial.state != "running"
            try:
                if shown.curve is None:
                    shown.curve = _Curve(
                        Run(trial.folder), self._objective, f"trial {trial.number}"
                    )
                else:
                    shown.curve.run.refresh()
            except HypertunerError:
                if not ended:
                    continue  # being made: look again next time
            shown.done = ended

    def _draw_curves(self, trials: list[Any]) -> None:
        drawable = [
            t.number
            for t in trials
            if (curve := self._shown[t.number].curve) is not None and curve.kinds
        ]
        if drawable != self._curves:
            self._curves = drawable
            sources = [self._shown[n].curve for n in drawable]
            self._board.set_sources(sources, [color(n) for n in drawable])
        else:
            self._board.redraw()
        pruned = [t for t in trials if t.state == "pruned" and t.number in drawable]
        ends = [(t.number, self._stopped_at(t)) for t in pruned]
        self._mark([(number, *end) for number, end in ends if end is not None])

    def _stopped_at(self, trial: Any) -> tuple[float, float] | None:
        """Where a pruned trial's curve gets its mark: the step Optuna judged it at."""
        if trial.pruned_step is not None and trial.value is not None:
            return float(trial.pruned_step), float(trial.value)
        series = self._shown[trial.number].curve.run.get(self._objective)  # stopped unjudged
        if series is None or not len(series) or series.timed:
            return None
        return float(series.steps[-1]), float(series.values[-1])

    def _mark(self, marked: list[tuple[int, float, float]]) -> None:
        chart = self._board.built_chart(self._objective)
        if chart is None:
            return
        attached = self._marks is not None and self._marks in chart.figure.marks
        if attached and marked == self._marked:
            return
        if self._marks is None:
            self._marks = bqplot.Scatter(
                x=np.zeros(0),
                y=np.zeros(0),
                scales={"x": chart.x_scale, "y": chart.y_linear, "rotation": self._turn},
                marker="cross",
                display_names=False,
                default_size=110,
                stroke="white",
                stroke_width=1,
                interactions={"hover": "tooltip"},
                tooltip=bqplot.Tooltip(fields=["name", "x", "y"], labels=["", "step", "value"]),
            )
        if not attached:  # set_sources() sets the figure's marks anew
            chart.figure.marks = [*chart.figure.marks, self._marks]
        self._marked = marked
        with self._marks.hold_sync():
            self._marks.names = [f"trial {number} pruned" for number, _, _ in marked]
            self._marks.colors = [color(number) for number, _, _ in marked] or ["#000"]
            self._marks.rotation = [45.0] * len(marked)  # a cross turned: ×
            self._place_marks()

    def _place_marks(self) -> None:
        """Put the marks on the scales the board's lines use now (log y), or hide them
        when the x axis is not steps (the board draws lines by time then)."""
        with self._lock:
            chart = self._board.built_chart(self._objective)
            if self._marks is None or chart is None:
                return
            engine = self._board.engine
            log = bool(engine.log_y) and chart.kind != "bool"
            ends = np.array([end for _, *end in self._marked], dtype=float).reshape(-1, 2)
            x, y = ends[:, 0], ends[:, 1]
            with self._marks.hold_sync():
                self._marks.scales = {
                    "x": chart.x_scale,
                    "y": chart.y_log if log else chart.y_linear,
                    "rotation": self._turn,
                }
                self._marks.x = x
                self._marks.y = np.where(y > 0, y, np.nan) if log else y
                self._marks.visible = engine.x_mode == "step"

    def _row(self, trial: Any, best: Any) -> dict[str, Any]:
        flat = flat_params(trial.params)
        swept = self._sweep.swept
        shown = self._shown.get(trial.number)
        series = shown.curve.run.get(self._objective) if shown and shown.curve else None
        step = float(series.steps[-1]) if series is not None and len(series) else None
        is_best = best is not None and trial.number == best.number
        note = ""
        if is_best:
            note = "★ best"
        elif trial.state == "pruned":
            verb = "stopped" if trial.number in self._asked else "pruned"
            note = f"{verb} at step {trial.pruned_step}" if trial.pruned_step is not None else verb
        elif trial.state == "failed" and trial.error:
            note = format_text(trial.error.strip().splitlines()[-1], 80)
        elif trial.state == "running" and trial.number in self._asked:
            note = "stopping…"
        return {
            "number": trial.number,
            "state": trial.state,
            "color": color(trial.number),
            "best": is_best,
            "value": _finite(trial.value),
            "value_text": "-" if trial.value is None else format_number(trial.value),
            "params": {name: _json(flat.get(name)) for name in swept},
            "params_text": {name: cell_text(flat[name]) if name in flat else "" for name in swept},
            "step": step,
            "step_text": "" if step is None else _step(step),
            "note": note,
            "error": trial.error or "",
            "stoppable": trial.state == "running" and trial.number not in self._asked,
        }

    def _parallel(self, trials: list[Any], best: Any) -> dict[str, Any]:
        """Each trial's place on each axis (0 bottom to 1 top), its colour and style."""
        swept = self._sweep.swept
        flats = [flat_params(t.params) for t in trials]
        axes = [_axis(name, [f.get(name) for f in flats], self._space.get(name)) for name in swept]
        valued = [t for t in trials if t.state in ("complete", "pruned") and t.value is not None]
        objective = _axis(self._objective, [t.value for t in valued], None)
        placed = {t.number for t in valued}
        complete = [t.value for t in valued if t.state == "complete"]
        low, high = (min(complete), max(complete)) if complete else (0.0, 0.0)
        lines = []
        for trial, flat in zip(trials, flats):
            if trial.state == "failed":
                continue
            ys = [axis["at"](flat.get(name)) for axis, name in zip(axes, swept)]
            value = trial.value if trial.number in placed else None
            ys.append(objective["at"](value) if value is not None else None)
            if trial.state == "complete":
                goodness = 1.0 if high == low else (trial.value - low) / (high - low)
                goodness = goodness if self._sweep.mode == "max" else 1 - goodness
                stroke, stroke_dark = _ramp(goodness), _ramp(goodness, RAMP_DARK)
            else:
                stroke = PRUNED_GREY if trial.state == "pruned" else color(trial.number)
                stroke_dark = stroke
            tip = " ".join(f"{n}={cell_text(flat[n])}" for n in swept if n in flat)
            shown_value = "" if value is None else f" · {format_number(value)}"
            lines.append(
                {
                    "number": trial.number,
                    "state": trial.state,
                    "ys": ys,
                    "color": stroke,
                    "color_dark": stroke_dark,
                    "best": best is not None and trial.number == best.number,
                    "title": f"trial {trial.number} {trial.state}{shown_value}\n{tip}",
                }
            )
        order = {"pruned": 0, "running": 1, "complete": 2}
        lines.sort(key=lambda line: (order[line["state"]], line["best"]))
        return {
            "axes": [{"name": a["name"], "ticks": a["ticks"]} for a in [*axes, objective]],
            "lines": lines,
            "ramp": RAMP,
            "ramp_dark": RAMP_DARK,
        }

    def _header_html(
        self, trials: list[Any] | None = None, best: Any = None, running: bool | None = None
    ) -> str:
        sweep = self._sweep
        if trials is None:
            trials = sweep.trials
            best = _best(trials, sweep.mode)
            running = sweep.running
        counts = {state: sum(t.state == state for t in trials) for state in STATE_COLOURS}
        shown = ", ".join(
            f"<span class='ht-{STATE_STATUS[state]}'>{n} {state}</span>"
            for state, n in counts.items()
        )
        parts = [
            f"<b>{html.escape(str(sweep.dir))}</b>",
            f"<b>{len(trials)} of {sweep.total} trials</b>",
            shown,
        ]
        if best is not None:
            parts.append(
                f"best {html.escape(self._objective)} <b>{format_number(best.value)}</b> "
                f"(trial {best.number})"
            )
        if not running:
            parts.append("ended")
        elif self._stop_asked:
            parts.append("stopping: no more trials are launched")
        text = "<div class='ht-sweep-header'>" + " · ".join(parts) + "</div>"
        if sweep.error is not None:
            text += (
                "<div class='ht-sweep-error' style='color:#c62828'>"
                f"{html.escape(str(sweep.error))}</div>"
            )
        return text


class _BestChart:
    """The best objective so far against the trial number, over every trial's value."""

    def __init__(self, objective: str, mode: str) -> None:
        self.x = bqplot.LinearScale()
        self.y = bqplot.LinearScale()
        scales = {"x": self.x, "y": self.y}
        self.line = bqplot.Lines(
            x=np.zeros(0),
            y=np.zeros(0),
            scales=scales,
            colors=["var(--jp-ui-font-color1, #263238)"],  # the text colour, in either theme
            stroke_width=2.5,
            interpolation="step-after",
        )
        tip = bqplot.Tooltip(fields=["name", "y"], labels=["", objective], formats=["", ".6~g"])
        self.points = bqplot.Scatter(
            x=np.zeros(0),
            y=np.zeros(0),
            scales=scales,
            default_size=36,
            stroke="white",
            display_names=False,
            interactions={"hover": "tooltip"},
            tooltip=tip,
        )
        self.figure = bqplot.Figure(
            marks=[self.points, self.line],
            axes=[
                bqplot.Axis(scale=self.x, label="trial", tick_format="d", grid_lines="solid"),
                bqplot.Axis(scale=self.y, side="left", tick_format=".3~g", grid_lines="solid"),
            ],  # fmt: skip
            title=f"best {objective} so far ({mode})",
            animation_duration=0,
            fig_margin={"top": 32, "bottom": 36, "left": 58, "right": 14},
            layout=Layout(flex="0 1 420px", min_width="320px", height="290px"),
        )
        self.figure.add_class("ht-best")
        self.mode = mode
        self._drawn: Any = None

    def draw(self, trials: list[Any]) -> None:
        """Set the marks when the trials' values changed (nothing is sent otherwise)."""
        valued = [t for t in trials if t.value is not None and t.state in ("complete", "pruned")]
        drawn = [(t.number, t.state, t.value) for t in valued] + [
            trials[-1].number if trials else -1
        ]
        if drawn == self._drawn:
            return
        self._drawn = drawn
        numbers, values = best_so_far(trials, self.mode)
        if numbers and trials[-1].number > numbers[-1]:  # the best holds up to the last trial
            numbers, values = [*numbers, trials[-1].number], [*values, values[-1]]
        # The y axis spans the complete trials: a diverging trial pruned at 1e6 would
        # flatten the curve to a line (its dot is then off the chart).
        complete = [t.value for t in valued if t.state == "complete" and math.isfinite(t.value)]
        low, high = (min(complete), max(complete)) if complete else (None, None)
        if low is not None:
            pad = (high - low) * 0.08 or abs(low) * 0.1 or 1.0
            low, high = low - pad, high + pad
        with self.y.hold_sync():
            self.y.min, self.y.max = low, high
        with self.line.hold_sync():
            self.line.x = np.array(numbers, dtype=float)
            self.line.y = np.array(values, dtype=float)
            self.line.marker = "circle" if len(numbers) == 1 else None
        with self.points.hold_sync():
            self.points.x = np.array([t.number for t in valued], dtype=float)
            self.points.y = np.array([t.value for t in valued], dtype=float)
            self.points.names = [f"trial {t.number} {t.state}" for t in valued]
            self.points.colors = [
                color(t.number) if t.state == "complete" else PRUNED_GREY for t in valued
            ] or ["#000"]


# -- placing values on parallel axes -----------------------------------------------------


def _axis(name: str, values: list[Any], spec: Any) -> dict[str, Any]:
    """An axis: ``at(value)`` (0 bottom to 1 top, None when it cannot be placed), and ticks.

    ``spec`` is the parameter as ``sweep.json`` describes it: a list of choices, or
    ``{"loguniform" | "uniform" | "randint": [low, high]}``; without one the axis
    spans the values seen (log when they span more than a decade).
    """
    if isinstance(spec, list):
        return _choices(name, spec)
    if isinstance(spec, dict) and len(spec) == 1:
        (kind, (low, high)), = spec.items()  # fmt: skip
        return _numeric(name, float(low), float(high), kind == "loguniform")
    seen = [v for v in values if v is not None]
    if not all(_is_number(v) for v in seen):
        return _choices(name, list(dict.fromkeys(seen)))
    numbers = [v for v in seen if math.isfinite(v)]
    if not numbers:
        return {"name": name, "at": lambda v: None, "ticks": []}
    low, high = min(numbers), max(numbers)
    return _numeric(name, low, high, low > 0 and high / low >= 10)


def _numeric(name: str, low: float, high: float, log: bool) -> dict[str, Any]:
    scale = math.log10 if log else (lambda v: v)
    lo, hi = scale(low), scale(high)

    def at(value: Any) -> float | None:
        if not _is_number(value) or not math.isfinite(value) or (log and value <= 0):
            return None
        return 0.5 if hi == lo else min(max((scale(value) - lo) / (hi - lo), 0.0), 1.0)

    ticks = [low, high] if low != high else [low]
    if log and 1 < hi - lo <= 6:  # the decades between
        ticks += [10.0**k for k in range(math.ceil(lo), math.floor(hi) + 1)]
    elif not log and low != high:
        ticks.append((low + high) / 2)
    marks = sorted({round(at(t), 6): t for t in ticks}.items())
    label = f"{name} (log)" if log else name
    return {"name": label, "at": at, "ticks": [[p, cell_text(float(t))] for p, t in marks]}


def _choices(name: str, options: list[Any]) -> dict[str, Any]:
    if options and all(_is_number(o) for o in options):
        options = sorted(options)
    keys = [json.dumps(o, default=str) for o in options]
    spread = max(len(options) - 1, 1)

    def at(value: Any) -> float | None:
        key = json.dumps(value, default=str)
        if key not in keys:
            return None
        return 0.5 if len(options) == 1 else keys.index(key) / spread

    shown = options if len(options) <= 10 else [options[0], options[-1]]
    return {"name": name, "at": at, "ticks": [[at(o), cell_text(o)] for o in shown]}


def _ramp(goodness: float, ramp: list[str] = RAMP) -> str:
    """The colour of a complete trial: ramp[0] for the best, ramp[-1] for the worst."""
    where = (1.0 - min(max(goodness, 0.0), 1.0)) * (len(ramp) - 1)
    k = min(int(where), len(ramp) - 2)
    a, b = (np.array([int(c[i : i + 2], 16) for i in (1, 3, 5)]) for c in ramp[k : k + 2])
    mixed = a + (b - a) * (where - k)
    return "#" + "".join(f"{round(v):02x}" for v in mixed)


def _space_of(sweep: Any) -> dict[str, Any]:
    """The swept space as ``sweep.json`` describes it (dotted name -> description)."""
    return sweep.space


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value: Any) -> float | None:
    """JSON has no NaN or infinity: the browser gets null instead."""
    return float(value) if _is_number(value) and math.isfinite(value) else None


def _json(value: Any) -> Any:
    if isinstance(value, float):
        return _finite(value)
    return value if isinstance(value, (str, int, bool, type(None))) else str(value)


def _step(step: float) -> str:
    return f"{int(step):,}" if step.is_integer() and abs(step) < 1e15 else format_number(step)
