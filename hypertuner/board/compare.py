"""Comparing runs in a notebook: a runs table, overlaid charts, hyperparameter views.

:class:`Compare` lists every run of a folder in a table (``js/compare.js`` sorts,
filters and selects in the browser), overlays the selected runs on one board, one
colour per run everywhere, and plots a metric summary against the hyperparameters.
While it is shown, a background thread follows the folder: new run folders appear,
and runs still being written grow by reading only the bytes appended since.
"""

from __future__ import annotations

import html
import math
import threading
import time
import warnings
import weakref
from pathlib import Path
from typing import Any

import anywidget
import traitlets
from ipywidgets import HTML, VBox, widget_serialization

from .._notebook import cell_id
from .._resources import module
from .._table import format_duration
from ..errors import HypertunerWarning
from ..run import Run
from ..runinfo import STATUSES
from ..runlist import duration, flat_params, runs
from . import after_each_cell
from ._answer import answer_in_background
from .board import Board, color
from .engine import Engine, status_css
from .fallback import overlay
from .static import STATUS_COLOURS, Table, _num

__all__ = ["Compare", "RunsTable"]

# Runs overlaid when the view opens, and new runs join while fewer are selected.
OVERLAID = 8
# Runs the overlay holds lines for: the selected ones and the latest others, so
# that ticking one of them shows it at once (the browser unmasks it), even while the
# kernel is busy in another cell. Others are drawn once the kernel gets to them.
HELD = 16

# The runs a picture's table lists at most; it counts the others in a last row.
PICTURE_ROWS = 30

# The comparison following each folder, per notebook cell: running the cell again
# stops the follower it left behind.
_followers: dict[str, weakref.ref[Compare]] = {}

_ESM = module("compare.js")


class RunsTable(anywidget.AnyWidget):
    """The runs table and the hyperparameter views, drawn in the browser."""

    _esm = _ESM
    _css = """
    .ht-compare-bar { display: flex; gap: 16px; align-items: center; margin: 4px 0;
      font: 12px var(--jp-ui-font-family, sans-serif); }
    .ht-table-box { max-height: 320px; overflow: auto; }
    .ht-runs { border-collapse: collapse; font: 12px var(--jp-ui-font-family, sans-serif); }
    .ht-runs th { cursor: pointer; text-align: left; padding: 2px 8px; position: sticky; top: 0;
      background: var(--jp-layout-color1, #f5f5f5); white-space: nowrap; }
    .ht-runs th.ht-varying { color: var(--jp-brand-color1, #1565c0); }
    .ht-runs td { padding: 1px 8px; white-space: nowrap; font-variant-numeric: tabular-nums; }
    .ht-runs tr:hover { background: var(--jp-layout-color2, #eee); }
    .ht-swatch { display: inline-block; width: 12px; height: 12px; margin-left: 4px;
      vertical-align: middle; border-radius: 2px; }
    .ht-views { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 6px; }
    .ht-views text { font: 11px var(--jp-ui-font-family, sans-serif);
      fill: var(--jp-ui-font-color1, #333); }
    .ht-views .ht-tick { font-size: 10px; fill: var(--jp-ui-font-color2, #616161); }
    .ht-frame { fill: none; stroke: var(--jp-border-color2, #ccc); }
    .ht-tick-mark, .ht-pc-axis { stroke: var(--jp-ui-font-color2, #999); }
    .ht-dot { stroke: var(--jp-layout-color0, #fff); stroke-width: 1; }
    .ht-pc-line { fill: none; stroke-width: 2; }
    .ht-out { opacity: 0.15; }
    .ht-brush { fill: var(--jp-brand-color1, #1565c0); fill-opacity: 0.25;
      stroke: var(--jp-brand-color1, #1565c0); pointer-events: none; }
    .ht-brush-area { fill: transparent; cursor: ns-resize; }
    .ht-dot:hover, .ht-pc-line:hover { stroke: var(--jp-ui-font-color0, #000); stroke-width: 3; }
    .ht-same { font: 11px var(--jp-ui-font-family, sans-serif);
      color: var(--jp-ui-font-color2, #616161); margin: 2px 0 4px; }
    """ + status_css()

    rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    params = traitlets.List(traitlets.Unicode()).tag(sync=True)  # varying first
    varying = traitlets.List(traitlets.Unicode()).tag(sync=True)
    # The params every run has alike, shown as one line rather than as columns.
    same = traitlets.Dict().tag(sync=True)
    metrics = traitlets.List(traitlets.Unicode()).tag(sync=True)
    metric = traitlets.Unicode("").tag(sync=True)
    selected = traitlets.List(traitlets.Unicode()).tag(sync=True)
    # The overlay's engine: the browser masks the runs unticked or filtered out there.
    engine = traitlets.Instance(Engine, allow_none=True).tag(sync=True, **widget_serialization)

    def __repr__(self) -> str:
        return f"<hypertuner RunsTable: {len(self.rows)} runs>"


def _finite(value: float) -> float | None:
    """JSON has no NaN or infinity: the browser gets null instead."""
    return value if math.isfinite(value) else None


def _metrics(run: Run) -> dict[str, dict[str, float | None]]:
    """Each numeric key's last, min and max."""
    kinds = run.kinds
    return {
        key: dict(zip(("last", "min", "max"), map(_finite, stats[1:])))
        for key, stats in run.summaries().items()
        if kinds[key] == "number"
    }


def _row(run: Run, color: str, now: float, metrics: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": run.name,
        "status": run.status,
        "started": run.created,
        "duration": _finite(duration(run, now)),
        "points": run.points,
        "color": color,
        "params": flat_params(run),
        "metrics": metrics,
    }


def _label(row: dict[str, Any], varying: list[str]) -> str:
    """A run as its legend names it: by what sets it apart, ``lr=0.03 hidden=64``."""
    parts = [f"{p}={_shown(row['params'][p])}" for p in varying if p in row["params"]]
    return " ".join(parts) or row["name"]


def _status_counts(rows: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """(status, runs) for each status some row has, in the order of STATUSES."""
    counts = {status: sum(row["status"] == status for row in rows) for status in STATUSES}
    return [(status, n) for status, n in counts.items() if n]


def _number(value: float | None) -> str:
    return "" if value is None else _num(value, 4)


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class Compare(VBox):
    """Every run of a folder: table, overlaid charts of the selected runs, views.

    Parameters
    ----------
    dir : str or path, optional
        The runs folder; defaults to ``$HYPERTUNER_DIR`` or ``./runs``.
    follow : bool
        Keep reading new runs and new points while shown (every ``interval`` s).
    """

    def __init__(self, dir: Any = None, *, follow: bool = True, interval: float = 1.0) -> None:
        self._stop = threading.Event()  # first: close() (also run by __del__) needs it
        self._dir = dir
        self._runs = runs(dir)
        self._colors: dict[str, str] = {}
        self._lock = threading.RLock()
        self._summaries: dict[str, tuple[tuple[int, str], dict[str, Any]]] = {}
        self._header = HTML()
        self._board = Board([], toggle_by="run")
        self._table = RunsTable(engine=self._board.engine)
        super().__init__([self._header, self._table, self._board])
        self.add_class("ht-compare")
        self._table.observe(self._on_select, ["selected"])
        self.update()
        # Start with the latest runs overlaid, as a person opening a sweep wants to see;
        # hundreds of lines on one chart would show nothing.
        self._table.selected = [run.name for run in self._runs[-OVERLAID:]]
        self._interval = interval
        self._following = follow
        self._handles: list[Any] = []  # display handles whose picture to refresh
        self._pictured: tuple[Any, ...] | None = None  # the state last pictured
        if follow:
            self._replace_follower()
            threading.Thread(target=self._follow, name="hypertuner-compare", daemon=True).start()
        # Ticking a run the browser holds no lines for needs the kernel: while another
        # cell keeps it busy (trainer.wait(), say), a thread answers instead.
        answer_in_background()

    def __repr__(self) -> str:
        return f"<hypertuner Compare of {len(self._runs)} runs>"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        # Where widgets cannot render (nbconvert without widget state, GitHub), a
        # picture of the view stands in, and the runs table as text in a terminal.
        bundle = super()._repr_mimebundle_(**kwargs)
        with self._lock:
            bundle["text/plain"] = repr(self._runs)
            bundle["image/svg+xml"] = self._picture()
        return bundle

    def _ipython_display_(self) -> None:
        # Shown with a display id, so that the saved output can be brought up to date
        # (see refresh_outputs): the last expression of a cell has none otherwise.
        from IPython.display import display

        with self._lock:
            bundle, self._pictured = self._repr_mimebundle_(), self._state()
        handle = display(bundle, raw=True, display_id=True)
        if handle is not None:
            self._handles.append(handle)
            after_each_cell(self)

    def _picture(self) -> str:
        """The view as an SVG: its header, the runs table, the selected runs overlaid."""
        table = self._table
        rows = {row["name"]: row for row in table.rows}
        metric, varying = table.metric, list(table.varying)
        head = ["name", *(f"{p} •" for p in varying)]
        head += [f"{metric} {stat}" for stat in ("last", "min", "max")] if metric else []
        cells = []
        for row in table.rows[:PICTURE_ROWS]:
            summary = row["metrics"].get(metric, {})
            cells.append(
                [
                    row["name"],
                    *(_shown(row["params"].get(p, "")) for p in varying),
                    *(
                        _number(summary.get(stat))
                        for stat in (("last", "min", "max") if metric else ())
                    ),
                    (row["status"], STATUS_COLOURS.get(row["status"], "")),
                    format_duration(row["duration"] if row["duration"] is not None else math.nan),
                    f"{row['points']:,}",
                ]
            )
        head += ["status", "duration", "points"]
        more = len(table.rows) - PICTURE_ROWS
        if more > 0:
            cells.append([f"… {more:,} more runs", *([""] * (len(head) - 1))])
        same = " · ".join(f"{name}={value}" for name, value in table.same.items())
        drawn = Table(
            head,
            cells,
            [row["color"] for row in table.rows[:PICTURE_ROWS]],
            f"same for all runs: {same}" if same else "",
        )
        title: list[tuple[str, str | None]] = [
            (f"{len(table.rows)} runs", None),
            (str(self._runs._dir), None),
            *((f"{n} {s}", STATUS_COLOURS.get(s)) for s, n in _status_counts(table.rows)),
        ]
        chosen = set(table.selected)
        overlaid = [
            (run, rows[run.name]["color"], _label(rows[run.name], varying))
            for run in self._runs
            if run.name in chosen and run.name in rows
        ]
        return overlay(title, overlaid, drawn)

    def after_cell(self) -> bool:
        """What each cell's end does: read what the runs appended (if following) and
        refresh the saved picture. Returns whether to do so after the next cells."""
        if self._stop.is_set() or self.comm is None:  # replaced by a re-run, or closed
            return False
        if self._following:
            self.refresh()
        self.refresh_outputs()
        return True

    def refresh_outputs(self) -> None:
        """Re-send the outputs showing this view, so that a saved notebook's picture
        (what GitHub and nbconvert without widget state show) is current; done at
        each cell's end.

        A front end that renders the widget builds the whole view anew for such an
        output, so where a view runs (``whole_kept``) the picture is refreshed only
        at the end of a cell after which no run is running (the final state; again
        if more runs come and end), and never by the follower in the midst of a
        cell; elsewhere (nbclient, papermill) at each cell's end that changed it.
        """
        with self._lock:
            state = self._state()
            ended = all(run.status != "running" for run in self._runs)
            if state == self._pictured or (self._board.engine.whole_kept and not ended):
                return
            self._pictured = state
            bundle = self._repr_mimebundle_()
        self._update_outputs(bundle)

    def _state(self) -> tuple[Any, ...]:
        """What the picture shows: each run's points and status, the runs overlaid."""
        return (
            tuple((run.name, run.points, run.status) for run in self._runs),
            tuple(self._table.selected),
            self._table.metric,
        )

    def _update_outputs(self, bundle: dict[str, Any]) -> None:
        for handle in self._handles:
            handle.update(bundle, raw=True)

    @property
    def runs(self) -> Any:
        """The runs listed, as a RunList."""
        return self._runs

    def color(self, name: str) -> str:
        """The colour of a run, its table swatch and its lines: fixed once given."""
        return self._colors.setdefault(name, color(len(self._colors)))

    def _replace_follower(self) -> None:
        """Stop the follower this cell (or, outside a notebook, this folder) left behind."""
        where = cell_id() or str(Path(self._runs._dir).resolve())
        previous = _followers.get(where)
        before = previous() if previous is not None else None
        if before is not None and before is not self:
            before._stop.set()
        _followers[where] = weakref.ref(self)

    def _summary(self, run: Run) -> dict[str, Any]:
        """A run's metric summaries, computed again only once it has new points."""
        version = (run.points, run.status)
        kept = self._summaries.get(run.name)
        if kept is None or kept[0] != version:
            kept = (version, _metrics(run))
            self._summaries[run.name] = kept
        return kept[1]

    def update(self) -> None:
        """Rebuild the table's rows and redraw the overlaid charts."""
        with self._lock:
            now = time.time()
            rows = [_row(run, self.color(run.name), now, self._summary(run)) for run in self._runs]
            params = list(dict.fromkeys(p for row in rows for p in row["params"]))
            varying = self._runs.varying()
            metrics: list[str] = []
            for row in rows:  # a param a script logs too is a param, not a metric
                metrics += [m for m in row["metrics"] if m not in metrics and m not in params]
            same = {p: rows[0]["params"][p] for p in params if p not in varying}
            self._board.set_labels({row["name"]: _label(row, varying) for row in rows})
            with self._table.hold_sync():
                self._table.rows = rows
                self._table.varying = varying
                self._table.same = same
                self._table.params = varying + [p for p in params if p not in varying]
                self._table.metrics = metrics
                if self._table.metric not in metrics:
                    self._table.metric = metrics[0] if metrics else ""
            summary = ", ".join(f"{n} {s}" for s, n in _status_counts(rows))
            self._header.value = f"<b>{len(rows)} runs</b> in {self._folder()}" + (
                f" · {summary}" if summary else ""
            )
            self._board.redraw()

    def _folder(self) -> str:
        return html.escape(str(self._runs._dir))

    def _on_select(self, _: Any) -> None:
        with self._lock:
            chosen = set(self._table.selected)
            held = {source.name for source in self._board.sources}
            if not chosen <= held:
                self._hold()
            # The browser has masked these already (and the ones its filter hides).
            self._board.engine.masked = [
                source.name for source in self._board.sources if source.name not in chosen
            ]

    def _hold(self) -> None:
        """Hold lines for the selected runs and the latest others (see HELD)."""
        chosen = set(self._table.selected)
        latest = {run.name for run in self._runs[-HELD:]}
        sources = [run for run in self._runs if run.name in chosen or run.name in latest]
        if [s.name for s in sources] != [s.name for s in self._board.sources]:
            self._board.set_sources(sources, [self.color(run.name) for run in sources])

    def refresh(self) -> int:
        """Pick up new run folders and appended points; returns the new points."""
        with self._lock:
            known = {run.name for run in self._runs}
            new_points = self._runs.refresh()  # appended bytes only; lists new folders
            arrived = [run for run in self._runs if run.name not in known]
            new_points += sum(run.points for run in arrived)  # read here for the table
            self.update()
            room = OVERLAID - len(self._table.selected)
            if arrived and room > 0:  # new runs join the overlay while it has room
                self._table.selected = [
                    *self._table.selected,
                    *(run.name for run in arrived[:room]),
                ]
            elif arrived:
                self._hold()  # the latest runs are held, ready to be ticked
                self._on_select(None)
            return new_points

    def _follow(self) -> None:
        while not self._stop.wait(self._interval):
            if self.comm is None:  # the view was closed
                return
            try:
                self.refresh()
            except Exception as exc:  # noqa: BLE001 - following must survive a bad folder
                warnings.warn(
                    f"hypertuner stopped following {self._folder()}: {exc}",
                    HypertunerWarning,
                    stacklevel=1,
                )
                self._stopped()
                return

    def _stopped(self) -> None:
        """The follower stopped on an error: the saved picture shows the last state read."""
        try:
            self._update_outputs(self._repr_mimebundle_())
        except Exception:  # noqa: BLE001, S110 - the warning said what went wrong
            pass

    def close(self) -> None:
        """Stop following and close the widgets."""
        self._stop.set()
        self._board.close()
        self._table.close()
        super().close()
