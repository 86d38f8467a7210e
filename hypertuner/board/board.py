"""The notebook board: a header, one bqplot chart per numeric key, a table of text.

A :class:`Board` reads a live :class:`~hypertuner.Logger` or a reopened
:class:`~hypertuner.Run` through the same read API. Each redraw decimates every
changed series (min/max per bucket, see :mod:`hypertuner.downsample`) and sends
all of them in one message to the :class:`~hypertuner.board.engine.Engine`, which
draws them in the browser.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Sequence
from typing import Any

import bqplot
import numpy as np
from ipywidgets import HTML, GridBox, Layout, VBox

from ..downsample import Decimation, NonFinite, bucket_sums, minmax, visible
from .engine import Engine
from .fallback import color, header, picture, section_of, summary, text_tables

__all__ = ["Board", "Chart"]

# A chart is built when the browser says it came near a view (see Chart): in a live
# front end, a board of 64 keys then builds the screenful a person sees (0.25 s in
# the first log()) rather than all 64 (0.9 s). Where no browser runs (nbclient,
# papermill), a cell's end builds the first EAGER charts for the saved widget state.
EAGER = 64

# The most bytes of points a redraw sends; lines beyond wait for the next redraw
# (a first redraw, or one after the runs shown change, sends everything).
BYTES_PER_REDRAW = 200_000

# A live board's header (the step, the points) changes at every tick of log()'s
# redraw timer; its charts only when due: once a second, or, if a redraw of them
# costs more than a fiftieth of that, CHARTS_WAIT times its cost, up to CHARTS_MOST
# seconds. Redrawing the charts then takes at most a fiftieth of the training loop
# (up to redraws of 40 ms; a screenful of 64 keys costs about 5 ms), and charts a
# second behind still read as live: the header's step and count are a tick behind.
CHARTS_LEAST = 1.0
CHARTS_WAIT = 50
CHARTS_MOST = 2.0

# Those ticks send only the charts near a view (the browser says which, and draws no
# others); the rest every FAR_WAIT seconds, so that a board of many keys costs the
# loop what its screenful does. A chart coming near a view is sent at the next tick.
# While no view says it is near any chart (none has looked, or all scrolled away),
# every chart is sent.
FAR_WAIT = 5.0


class Chart:
    """One key's chart: its bqplot objects (a raw and a smoothed line per run), and
    what of each run's series the browser holds.

    The bqplot objects are made by :meth:`build`, when the chart is first needed: a
    chart is 15 widgets, about 10 ms for the kernel and as long for the browser, so
    a board builds only the charts that come near a view (see EAGER).
    Only the browser writes the lines' data; the kernel sets their colours.
    """

    def __init__(self, key: str, kind: str, index: int) -> None:
        self.key = key
        self.kind = kind
        self.index = index
        self.figure: bqplot.Figure | None = None  # None until built
        self.lines: list[tuple[bqplot.Lines, bqplot.Lines]] = []  # (raw, smooth) per run
        self.colors: list[str] = []
        self.drawn: list[int] = []  # per run: points held when last sent; -1: never
        # per run: the stable buckets of its whole series, updated from new points only
        self.decimations: list[Decimation | None] = []
        self.non_finite: list[NonFinite] = []  # per run: its NaN and infinities
        # per run: what the browser holds for good, (bucket size, the indices of its
        # points, how many means), as of the last send; the next one sends only what
        # comes after (None: everything)
        self.sent: list[tuple[int, np.ndarray, int] | None] = []

    @property
    def built(self) -> bool:
        return self.figure is not None

    def build(self) -> None:
        """Make the chart's bqplot objects (once)."""
        if self.built:
            return
        self.x_scale = bqplot.LinearScale()
        self.date_scale = bqplot.DateScale()
        boolean = self.kind == "bool"
        self.y_linear = bqplot.LinearScale(min=-0.05, max=1.05) if boolean else bqplot.LinearScale()
        self.y_log = bqplot.LogScale()
        self.axes = {
            "x": bqplot.Axis(
                scale=self.x_scale, label="step", grid_lines="solid", tick_format="~s"
            ),
            "x_date": bqplot.Axis(
                scale=self.date_scale, label="wall time", grid_lines="solid", visible=False
            ),
            "y": bqplot.Axis(
                scale=self.y_linear,
                side="left",
                grid_lines="solid",
                tick_format="d" if boolean else ".3~g",
                tick_values=[0, 1] if boolean else None,
            ),
            "y_log": bqplot.Axis(
                scale=self.y_log, side="left", grid_lines="solid", tick_format=".3~g", visible=False
            ),
        }
        # The wheel zooms x only (the browser fits y to what is in view); a drag is
        # the browser's own: a box zoom, or with shift a pan.
        self.panzoom = bqplot.PanZoom(scales={"x": [self.x_scale]}, allow_pan=False)
        self.figure = bqplot.Figure(
            marks=[],
            axes=list(self.axes.values()),
            title=self.key,
            interaction=self.panzoom,
            animation_duration=0,
            # Room on top for the title and its note (drawn by the browser), and
            # no toolbar: it covered the title, and a double click resets the zoom.
            fig_margin={"top": 38, "bottom": 36, "left": 58, "right": 14},
            display_toolbar=False,
            layout=Layout(width="100%", height="250px"),
        )
        self.figure.add_class("ht-chart")
        self.figure.add_class(f"ht-i-{self.index}")
        self._make_lines()

    def set_colors(self, colors: list[str]) -> None:
        """One line pair per colour (one per run), in that order."""
        self.colors = list(colors)
        self._make_lines()
        self.drawn = [-1] * len(colors)
        self.decimations: list[Decimation | None] = [None] * len(colors)
        self.non_finite: list[NonFinite] = [NonFinite() for _ in colors]
        self.sent: list[tuple[int, np.ndarray, int] | None] = [None] * len(colors)

    def _make_lines(self) -> None:
        if not self.built:
            return
        while len(self.lines) < len(self.colors):
            line_args = {
                "x": np.zeros(0),
                "y": np.zeros(0),
                "scales": {"x": self.x_scale, "y": self.y_linear},
                "interpolation": "step-after" if self.kind == "bool" else "linear",
                "interactions": {},  # no clicks that would save browser-set data to the kernel
            }
            self.lines.append(
                (
                    bqplot.Lines(stroke_width=1.5, **line_args),
                    bqplot.Lines(stroke_width=2.0, visible=False, **line_args),
                )
            )
        del self.lines[len(self.colors) :]
        for (raw, smooth), colour in zip(self.lines, self.colors):
            raw.colors = smooth.colors = [colour]
        self.figure.marks = [mark for pair in self.lines for mark in pair]

    def refs(self, grid: str) -> dict[str, Any]:
        """What the browser engine needs for this chart: its widgets once built, and
        the grid it goes in (where the browser holds its place until then)."""
        # kind is a plain value: the browser keeps true/false charts off log y
        if not self.built:
            return {"kind": self.kind, "grid": grid}
        return {
            "figure": self.figure,
            "kind": self.kind,
            "grid": grid,
            "lines": [{"raw": raw, "smooth": smooth} for raw, smooth in self.lines],
            "x_scale": self.x_scale,
            "date_scale": self.date_scale,
            "y_linear": self.y_linear,
            "y_log": self.y_log,
            "x_axis": self.axes["x"],
            "date_axis": self.axes["x_date"],
            "y_axis": self.axes["y"],
            "log_axis": self.axes["y_log"],
            "panzoom": self.panzoom,
        }


def _logged_at(source: Any, key: str, x: float, axis: Any) -> dict[str, Any] | None:
    """The point of ``source``'s ``key`` logged nearest ``x``: a step (``axis``
    "step"), seconds since the run began ("time"), or since the epoch ("wall");
    the last of equally near ones. None if the run has no such key, or no point of
    it yet. One pass and one temporary array: steps need not be sorted."""
    if key not in source:
        return None
    steps, walls, values = source[key].columns()
    if not len(values):
        return None
    created = float(source.created)
    target = x if axis in ("step", "wall") else x + created
    distance = np.subtract(steps if axis == "step" else walls, target, dtype=np.float64)
    np.abs(distance, out=distance)
    at = len(distance) - 1 - int(np.argmin(distance[::-1]))
    value = float(values[at])
    # JSON has no NaN or infinity: those go as text.
    finite = bool(np.isfinite(value))
    return {
        "step": float(steps[at]),
        "t": float(walls[at] - created),
        "value": value if finite else None,
        "text": "" if finite else str(value),
    }


def _f32(array: np.ndarray) -> memoryview:
    return memoryview(np.ascontiguousarray(array, np.float32))


def _f64(array: np.ndarray) -> memoryview:
    return memoryview(np.ascontiguousarray(array, np.float64))


def _exact(columns: dict[str, np.ndarray]) -> tuple[dict[str, memoryview], list[str]]:
    """Each column as float32 where that keeps every value exact, else as float64.

    Returns the buffers and the names of those sent as float64 ("wide"). Half the
    bytes is worth it only when nothing changes: 123,456,789 in float32 reads
    123,456,792, and values beyond 3.4e38 would become infinite. NaN and infinities
    stay as they are. The columns are checked together, a few calls for all of
    them: a redraw packs five per line, for every line of the board.
    """
    ends = np.cumsum([len(column) for column in columns.values()])
    whole = np.concatenate(list(columns.values()), dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        narrow = whole.astype(np.float32)
    same = narrow == whole
    if not same.all():
        same |= np.isnan(whole)  # NaN is not equal to itself, yet exact
    buffers, wide = {}, []
    start = 0
    for (name, column), end in zip(columns.items(), ends):
        if same[start:end].all():
            buffers[name] = memoryview(narrow[start:end])
        else:
            buffers[name] = _f64(column)
            wide.append(name)
        start = end
    return buffers, wide


def _resumed(
    resume: tuple[int, np.ndarray, int] | None, decimation: Decimation, picked: np.ndarray
) -> tuple[int, int, np.ndarray | None]:
    """Where a line's send takes up from what the browser holds for good, ``resume``
    (the bucket size, the indices and the number of means then settled): the first
    point and mean to send, and which held points stay (None: all of them).

    While the size is the same, every held point and mean stays. When buckets merged
    since, a merged bucket's extremes are among its halves', so the held points
    that are still extremes stay (a bit each; they lead ``picked``), and the browser
    merges its held sums and counts pairwise as the kernel did, up to the new size.
    """
    if resume is None:
        return 0, 0, None
    size, kept, means = resume
    if size == decimation.size:
        return len(kept), means, None
    if not len(picked) or not len(kept):
        return 0, 0, None
    at = np.minimum(np.searchsorted(picked, kept), len(picked) - 1)
    stays = picked[at] == kept
    start = int(stays.sum())
    if not np.array_equal(picked[:start], kept[stays]):  # cannot happen; send it whole
        return 0, 0, None
    merges = (decimation.size // size).bit_length() - 1
    mstart = min(means >> merges, decimation.stable()[1])
    return start, mstart, np.packbits(stays, bitorder="little")


class Board(VBox):
    """Live charts of one run, or of several overlaid, shown in a notebook.

    Parameters
    ----------
    sources : Logger, Run, or a list of them
        What to draw; a chart never needs to know whether it reads a live logger or a
        run reopened from disk. With several, each key's chart overlays every run.
    budget : int
        The most points drawn per line (about two per horizontal pixel).
    toggle_by : {"chart", "run"}
        What the show/hide buttons hide: a key's chart line, or a run's lines.
    """

    def __init__(self, sources: Any, *, budget: int = 2000, toggle_by: str = "chart") -> None:
        self._sources: list[Any] = (
            list(sources) if isinstance(sources, (list, tuple)) else [sources]
        )
        self._colors: list[str] = []
        self._labels: dict[str, str] = {}  # run name -> what the legend calls it
        self._budget = budget
        self._charts: dict[str, Chart] = {}
        self._grids: dict[str, GridBox] = {}  # per section (a key's prefix before "/")
        self._titles: dict[str, HTML] = {}
        self._rev = 0
        self._whole_rev = 0  # the last message that held every line whole
        self._rate: tuple[float, int] | None = None  # (when, points) at the last redraw
        self._charts_at = -np.inf  # when tick() next redraws the charts (on the timer)
        self._far_at = -np.inf  # when tick() next redraws the charts far from any view
        self._ticked = -np.inf  # when tick() last ran
        self._behind = False  # whether the header shows points the charts do not
        self._handles: list[Any] = []  # display handles whose static picture to refresh
        self._pictured: tuple[int, bool] | None = None  # (points, closed) last pictured
        single = len(self._sources) == 1 and toggle_by == "chart"
        self._header = HTML()
        self._engine = Engine(toggle_by=toggle_by)
        self._sections = VBox()
        self._text = HTML()
        children = (
            [self._header, self._engine, self._sections, self._text]
            if single
            else [self._engine, self._sections]
        )
        super().__init__(children)
        self.add_class("ht-board")
        self._lock = threading.RLock()  # the browser's wishes come on the main thread
        self._cursor = 0  # the chart the next redraw sends first, after those near a view
        self._engine.observe(self._on_view_change, ["x_mode", "reset"])
        self._engine.observe(self._on_wanted, ["wanted"])
        self._engine.on_msg(self._on_question)
        self._engine.snapshot = self._snapshot
        self.set_sources(self._sources, [color(i) for i in range(len(self._sources))])

    @property
    def _source(self) -> Any:
        """The run of a single-run board."""
        return self._sources[0]

    def __repr__(self) -> str:
        names = ", ".join(repr(s.name) for s in self._sources[:3]) + (
            ", ..." if len(self._sources) > 3 else ""
        )
        return f"<hypertuner Board of {names}: {len(self._charts)} charts>"

    @property
    def sources(self) -> list[Any]:
        """The runs (or loggers) drawn, in line order."""
        return list(self._sources)

    @property
    def engine(self) -> Any:
        """The browser-side engine widget (its ``log_y`` and ``x_mode`` are the controls)."""
        return self._engine

    def chart(self, key: str) -> Chart | None:
        """The chart of ``key``, or None if the board has none yet."""
        return self._charts.get(key)

    def set_sources(self, sources: list[Any], colors: list[str]) -> None:
        """Draw these runs, in these colours (one per run), and redraw everything."""
        self._sources = list(sources)
        self._colors = list(colors)
        for chart in self._charts.values():
            chart.set_colors(self._colors)
        self._sync_engine()
        self.redraw(full=True)

    def set_labels(self, labels: dict[str, str]) -> None:
        """Name runs by these labels in the legend and the readout (by name if absent)."""
        self._labels = dict(labels)
        if self._engine.toggle_by == "run":
            self._engine.labels = [self._labels.get(s.name, s.name) for s in self._sources]

    def _sync_engine(self) -> None:
        by_run = self._engine.toggle_by == "run"
        with self._engine.hold_sync():
            self._engine.charts = [
                chart.refs(self._grid_class(section_of(key))) for key, chart in self._charts.items()
            ]
            self._engine.chart_keys = list(self._charts)
            self._engine.names = [s.name for s in self._sources] if by_run else list(self._charts)
            self._engine.labels = (
                [self._labels.get(s.name, s.name) for s in self._sources] if by_run else []
            )
            self._engine.colors = (
                self._colors if by_run else [color(i) for i in range(len(self._charts))]
            )

    # -- drawing ------------------------------------------------------------------

    def redraw(self, full: bool = False) -> int:
        """Send every line whose series changed (all of them if ``full``).

        Returns the number of lines sent. Everything goes in one message.
        """
        with self._lock:
            return self._redraw(full)

    @property
    def _single(self) -> bool:
        """Whether this shows one run, with its header and its table of texts."""
        return len(self._sources) == 1 and self._header in self.children

    def tick(self, final: bool = False) -> None:
        """What a live logger calls from ``log()`` on its redraw timer (and on close,
        ``final``): the charts when they are due (see CHARTS_WAIT), else the header."""
        timer = self._tick_clock()
        with self._lock:
            started = self._ticked = timer()
            if not final and started < self._charts_at:
                if self._single:
                    self._header.value = self._header_html()
                self._behind = True
                return
            far = started >= self._far_at
            if final:
                self.settle()
            else:
                self._redraw(False, far=far)
            if far:
                self._far_at = started + FAR_WAIT
            self._behind = False
            cost = timer() - started
            wait = min(max(cost * CHARTS_WAIT, CHARTS_LEAST), CHARTS_MOST)
            self._charts_at = started + wait

    @property
    def _open(self) -> bool:
        return not all(getattr(source, "closed", True) for source in self._sources)

    def after_cell(self) -> bool:
        """What each cell's end does to a live board: send the whole board if it
        changed (see settle) and refresh its saved picture. Returns whether its
        sources are still open, so that the next cells' ends matter too."""
        self.settle()  # the whole board, if it changed; close() sent it already
        self.refresh_outputs()
        return self._open

    def catch_up(self) -> None:
        """Draw the charts the header went ahead of, once no tick came for
        CHARTS_LEAST seconds: the training paused (an evaluation, a held loop) before
        they were due. Called from another thread while a cell runs."""
        if not self._open:
            return
        timer = self._tick_clock()
        with self._lock:
            if self._behind and timer() - self._ticked >= CHARTS_LEAST:
                self.redraw()
                self._behind = False

    def _tick_clock(self) -> Any:
        return getattr(self._source, "_timer", time.monotonic)  # tests move the logger's

    def _redraw(
        self, full: bool, budget: float | None = None, far: bool = True, fresh: bool = True
    ) -> int:
        """Send what changed (see redraw), within ``budget`` bytes; of the charts no
        view is near (see FAR_WAIT): all if ``far``, else those never sent if
        ``fresh``, else none."""
        budget = BYTES_PER_REDRAW if budget is None else budget  # read now: tests change it
        self._add_charts()
        payload: dict[str, Any] = {}
        spent = 0
        charts = list(self._charts.values())
        waiting = None  # the first line left for the next redraw: it goes first then
        near = set(self._engine.wanted)
        for index in self._send_order(len(charts)):
            chart, key = charts[index], charts[index].key
            for slot, source in enumerate(self._sources):
                if key not in source:
                    continue
                series = source[key]
                count = len(series)
                if not full and count == chart.drawn[slot]:
                    continue
                if near and not (full or far or index in near or (fresh and chart.drawn[slot] < 0)):
                    continue  # out of every view: sent with the next far redraw
                if not full and spent >= budget:
                    waiting = index if waiting is None else waiting
                    continue  # over the budget: this line waits for the next redraw
                resume = None if full else chart.sent[slot]
                line, chart.sent[slot] = self._payload(series, chart, slot, source, resume)
                payload[f"{index}/{slot}"] = line
                spent += sum(v.nbytes for v in line.values() if isinstance(v, memoryview))
                chart.drawn[slot] = line["total"]  # points drained since count was read too
        if waiting is not None:
            self._cursor = waiting
        if payload or full:
            self._rev += 1
            # A full message holds every line: the browser drops the lines it lacks.
            self._engine.data = {"rev": self._rev, "full": full, "lines": payload}
            if full:
                self._whole_rev = self._rev
        if self._single:
            self._header.value = self._header_html()
            self._text.value = self._text_html()
        return len(payload)

    def settle(self) -> int:
        """At a cell's end (and a close): send what changed, however many bytes, as
        every line whole if anything was sent since the last whole message, so that
        what a front end keeps of the widget (the last message's state: nbclient's
        and papermill's saved widget state) is the whole board, not the last change.
        A front end that keeps every line whole itself (``whole_kept``) gets only
        the change, and of the charts no view is near only those never sent: the
        others follow when a view comes near them (see _on_wanted). At 500 keys the
        whole board is 18 MB, and what the byte budget held back of the far charts
        in a 30 s training was 19 MB, one message the page read before the prompt."""
        with self._lock:
            if self._engine.whole_kept:  # a comparison's follower sends its own
                return self._redraw(False, budget=np.inf, far=not self._single)
            self._add_charts()
            self._build(list(self._charts.values())[:EAGER])  # no browser asks for them
            changed = self._rev != self._whole_rev or any(
                key in source and len(source[key]) != chart.drawn[slot]
                for key, chart in self._charts.items()
                for slot, source in enumerate(self._sources)
            )
            if not changed:  # but a text or a key may be new: redraw that as usual
                self._redraw(False)
                changed = self._rev != self._whole_rev
            return self._redraw(True) if changed else 0

    def _add_charts(self) -> dict[str, str]:
        """Lay out a chart for each numeric key new in the sources; return every
        key's kind. The charts are built once a view comes near them."""
        kinds: dict[str, str] = {}
        for source in self._sources:
            for key, kind in source.kinds.items():
                kinds.setdefault(key, kind)
        added = [key for key, kind in kinds.items() if kind != "text" and key not in self._charts]
        for key in added:
            self._add_chart(key, kinds[key])
        if added:
            self._build([], added)
        return kinds

    def _send_order(self, count: int) -> list[int]:
        """The charts in the order a redraw sends them: those near a view first (the
        browser says which), then the rest from where the last redraw's budget ran
        out, so that no chart waits behind the same others every time."""
        near = [i for i in dict.fromkeys(self._engine.wanted) if 0 <= i < count]
        first = self._cursor if 0 <= self._cursor < count else 0
        taken = set(near)
        rest = [i for i in (*range(first, count), *range(first)) if i not in taken]
        return near + rest

    def _add_chart(self, key: str, kind: str) -> None:
        index = len(self._charts)
        chart = Chart(key, kind, index)
        by_run = self._engine.toggle_by == "run"
        chart.set_colors(self._colors if by_run else [color(index)] * len(self._sources))
        self._charts[key] = chart
        section = section_of(key)
        if section not in self._grids:
            grid = GridBox(
                layout=Layout(
                    grid_template_columns="repeat(auto-fit, minmax(380px, 1fr))", width="100%"
                )
            )
            grid.add_class("ht-grid")
            grid.add_class(f"ht-s-{len(self._grids)}")
            self._grids[section] = grid
            title = HTML()
            title.add_class("ht-section-title")
            self._titles[section] = title
            # Keys without a prefix come first, untitled; prefixed sections follow.
            block = (title, grid) if section else (grid,)
            children = self._sections.children
            self._sections.children = (*block, *children) if not section else (*children, *block)

    def _build(self, charts: list[Chart], added: Sequence[str] = ()) -> None:
        """Build these charts, then lay out their sections (and those of the keys just
        ``added``) and tell the engine, once each: per chart, a list of N children sent
        N times made a 500-key board quadratic."""
        new = [chart for chart in charts if not chart.built]
        for chart in new:
            chart.build()
            chart.x_scale.observe(lambda _, key=chart.key: self._on_zoom(key), ["min", "max"])
        if not new and not added:
            return
        for section in dict.fromkeys(section_of(key) for key in (*added, *(c.key for c in new))):
            self._lay_out(section)
        self._sync_engine()

    def built_chart(self, key: str) -> Chart | None:
        """The chart of ``key`` with its bqplot objects made (now, if not yet), or
        None if the board has no such chart: for code that adds marks to it."""
        with self._lock:
            chart = self._charts.get(key)
            if chart is not None:
                self._build([chart])
            return chart

    def _on_wanted(self, _: Any) -> None:
        """The browser asks for the charts near its view; build those not built yet
        and send what their lines lack (the last far redraw's may be old, and a cell's
        end sends none of the far ones): now and whole, however many bytes, for there
        may be no next tick (the cell ended, the run is closed); a view asks only for
        the few dozen charts near it. A comparison's follower sends its lines itself."""
        with self._lock:
            self._charts_at = -np.inf
            charts = list(self._charts.values())
            self._build([charts[i] for i in self._engine.wanted if 0 <= i < len(charts)])
            if self._single and self._charts and self._engine.wanted:
                self._redraw(False, budget=np.inf, far=False, fresh=False)

    def _grid_class(self, section: str) -> str:
        return f"ht-s-{list(self._grids).index(section)}"

    def _lay_out(self, section: str) -> None:
        """Put the section's built charts in its grid, and its count in its title."""
        grid = self._grids[section]
        charts = [c for key, c in self._charts.items() if section_of(key) == section]
        grid.children = [chart.figure for chart in charts if chart.built]
        if section:
            # The browser marks it collapsed (an arrow) and counts what the filter shows.
            self._titles[section].value = (
                f"<div class='ht-section' data-section='{html.escape(section)}' "
                f"data-grid='{self._grid_class(section)}'>"
                f"<span class='ht-arrow'>▾</span> <b>{html.escape(section)}</b> "
                f"<span class='ht-count'>{len(charts)}</span></div>"
            )

    def _snapshot(self) -> dict[str, Any]:
        """Every line whole, for a view made anew (a reload, another tab): the
        ``data`` the engine's state holds when a browser asks for all of it.

        Each line is as last sent, not as its series now is: what every view holds is
        then the same, so the next change's ``from`` and ``keep`` fit them all. A
        line never sent yet comes whole with the next redraw."""
        with self._lock:
            return self._whole_lines()

    def _whole_lines(self) -> dict[str, Any]:
        lines = {}
        for index, (key, chart) in enumerate(self._charts.items()):
            for slot, source in enumerate(self._sources):
                if key not in source or chart.drawn[slot] < 0:
                    continue
                # A line whose next send is whole anyway (zoomed) may show what is new.
                grow = chart.sent[slot] is None
                line, _ = self._payload(source[key], chart, slot, source, None, grow=grow)
                lines[f"{index}/{slot}"] = line
        return {"rev": self._rev, "full": True, "lines": lines}

    def _payload(
        self, series: Any, chart: Chart, slot: int, source: Any, resume: Any, grow: bool = True
    ) -> tuple[dict[str, Any], tuple[int, np.ndarray, int] | None]:
        """The decimated points of one series, as binary arrays for the browser, and
        what of them the browser then holds for good.

        Unzoomed, the line comes from the series' stable buckets, which take in only
        the points added since the last redraw (unless not ``grow``: then it is the
        line as last sent), and only what follows ``resume`` (what the browser held
        for good after the last send) is sent: a redraw costs O(new + drawn points)
        however long the series, and sends O(new buckets), also when buckets merged
        (see :func:`_resumed`). A zoomed chart decimates the visible points anew, all
        of them.
        """
        steps, walls, values = series.columns()  # of one length, whatever drains meanwhile
        timed = series.timed  # logged without steps: x is time (from the first point)
        created = float(source.created)
        low, high = (chart.x_scale.min, chart.x_scale.max) if chart.built else (None, None)
        mode = self._engine.x_mode
        keep = None  # which of the points held for good stay (after a merge)
        if (low is not None or high is not None) and mode != "wall":
            axis = walls - created if (mode == "relative" or timed) else steps
            span = visible(axis, low, high)
            window = values[span].astype(np.float64)
            picked = span[minmax(window, self._budget)]
            sums, counts, size = bucket_sums(window, self._budget)
            ends = (
                span[np.minimum(np.arange(1, len(sums) + 1) * size, len(window)) - 1]
                if len(window)
                else span
            )
            total, shown = len(values), len(window)
            start = mstart = 0
            held = None  # a zoomed line is sent whole, and so is the next one
        else:
            decimation = chart.decimations[slot]
            if decimation is None:
                decimation = chart.decimations[slot] = Decimation(self._budget)
            if grow:
                decimation.update(values)
            picked = decimation.indices()
            sums, counts, ends = decimation.sums()
            size = decimation.size
            total = shown = decimation.points
            start, mstart, keep = _resumed(resume, decimation, picked)
            held = (size, *decimation.stable())
            picked = picked[start:]
            sums, counts, ends = sums[mstart:], counts[mstart:], ends[mstart:]
        columns = {
            "x": steps[picked],
            "y": values[picked].astype(np.float64),
            "mx": steps[ends],
            # Sums rather than means: merged buckets add theirs, in the browser too.
            "ms": sums,
            "mc": counts,
        }
        buffers, wide = _exact(columns)
        line = {
            **buffers,
            # Times since the run began only place a line: float32 is plenty.
            "t": _f32(walls[picked] - created),
            "mt": _f32(walls[ends] - created),
            "wide": wide,
            # These replace the browser's points from index "from" on, and its means
            # from "mfrom" on; what comes before is as the last send left it, but for
            # the points "keep" leaves out and the buckets merged up to "size".
            "from": int(start),
            "mfrom": int(mstart),
            "size": int(size),
            "total": int(total),
            "window": int(shown),
            "timed": timed,
            "created": created,
        }
        if keep is not None:
            line["keep"] = memoryview(keep)
        bad = chart.non_finite[slot]
        bad.update(values)
        if bad.nan or bad.inf:
            # Small (at most 256 places), so sent whole with every send of the line.
            line["bad"] = {
                "x": steps[bad.at].astype(np.float64).tolist(),
                "t": (walls[bad.at] - created).tolist(),
                "nan": bad.nan,
                "inf": bad.inf,
            }
        return line, held

    def _on_zoom(self, key: str) -> None:
        # Runs only once the kernel is idle: zooming redecimates from the full data.
        chart = self._charts[key]
        chart.drawn = [-1] * len(chart.drawn)  # stale: redraw() sends this chart again
        chart.sent = [None] * len(chart.sent)  # whole: the browser holds a zoomed line
        self.redraw()

    def _on_question(self, _: Any, content: Any, buffers: Any) -> None:
        """Answer the browser's readout: the point logged nearest ``x`` (see
        _logged_at) on chart ``chart``, per run, from every stored
        point; the browser draws only each bucket's extremes. Answered while a cell
        is busy too (see _answer)."""
        if not isinstance(content, dict) or content.get("kind") != "at":
            return
        try:
            index, x = int(content["chart"]), float(content["x"])
        except (KeyError, TypeError, ValueError):
            return
        with self._lock:
            charts, sources = list(self._charts.values()), list(self._sources)
        if not 0 <= index < len(charts) or not np.isfinite(x):
            return
        # Outside the lock: a scan of millions of points must not hold up log()'s tick.
        key, rows = charts[index].key, []
        for slot, source in enumerate(sources):
            row = _logged_at(source, key, x, content.get("axis"))
            if row is not None:
                rows.append({"run": slot, **row})
        self._engine.send({"kind": "at", "ask": content.get("ask"), "chart": index, "rows": rows})

    def _on_view_change(self, _: Any) -> None:
        # The browser already cleared the zoom; send every chart for the new x axis.
        self.redraw(full=True)

    # -- where widgets cannot render ----------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        # Front ends that run widgets pick the widget view; nbconvert (without
        # widget state), GitHub and terminals fall back to the picture or the text.
        bundle = super()._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = summary(self._source)
        bundle["image/svg+xml"] = picture(self._source, self._budget)
        return bundle

    def refresh_outputs(self) -> None:
        """Re-send the outputs showing this board, so that a saved notebook's static
        picture (what GitHub and nbconvert without widget state show) is current.

        A front end that renders the widget renders such an output anew: JupyterLab
        builds a whole new view of every chart, shows the output's text meanwhile and
        leaves the old view listening. So where a view runs the engine
        (``whole_kept``), the picture is refreshed once every source has closed (the
        final picture), not at each cell's end; elsewhere (nbclient, papermill) at
        each cell's end that brought new points.
        """
        closed = not self._open
        pictured = (self._source.points, closed)  # a close changes the status shown
        if pictured == self._pictured or (self._engine.whole_kept and not closed):
            return
        self._pictured = pictured
        for handle in self._handles:
            handle.update(self)

    # -- text -------------------------------------------------------------------

    def _header_html(self) -> str:
        source = self._source
        name, status, *rest = header(source)  # the picture's header line, as HTML
        points, now = source.points, source.now()
        when, before = self._rate or (now, points)
        running = status[0] == "running"
        rate = (points - before) / (now - when) if now > when and running else None
        self._rate = (now, points)
        parts = [
            f"<b>{html.escape(name[0])}</b>",
            f"<span class='ht-{html.escape(status[0])}'>{html.escape(status[0])}</span>",
            *(html.escape(text) for text, _ in rest),
        ]
        if rate:  # an idle logger shows no rate
            parts.append(f"{rate:,.0f} points/s")
        return "<div class='ht-header'>" + " · ".join(parts) + "</div>"

    def _text_html(self) -> str:
        blocks = []
        for table in text_tables(self._source):
            rows = "".join(
                f"<tr><td style='text-align:right;padding:0 12px 0 0'>{step}</td>"
                f"<td>{html.escape(value)}</td></tr>"
                for step, value in table.rows
            )
            blocks.append(
                f"<div style='display:inline-block;vertical-align:top;margin:4px 24px 4px 0'>"
                f"<b>{html.escape(table.key)}</b> "
                f"<span style='color:var(--jp-ui-font-color2, #777)'>latest {len(table.rows)} "
                f"of {table.total:,}</span><table class='ht-text' style='line-height:1.3'>"
                "<tr><th>step</th><th>value</th></tr>"
                f"{rows}</table></div>"
            )
        return "".join(blocks)
