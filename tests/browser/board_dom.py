"""Read a hypertuner board's state out of the DOM, as a person would see it.

A board (``.ht-board``) holds a header, the control bar (``.ht-controls``), one bqplot
figure per numeric key (``.ht-chart.ht-i-<index>``) and tables of text keys
(``table.ht-text``). In a bqplot 0.13 figure (JS 0.6):

- ``svg.svg-background g.axis``: the axes in ``Figure.axes`` order. A board builds
  four: x (steps or seconds), x as dates, y linear, y log; the two of each pair not in
  use are hidden with ``display: none`` on the axis's parent ``<g>``. Ticks are
  ``g.tick`` placed with ``translate(x, y)``; the label is ``text.axislabel``.
- ``svg.svg-figure g.curve > path.line``: one per Lines mark, in ``Figure.marks``
  order: the raw line, then the smoothed one. A hidden mark has ``display: none`` on
  the curve's parent ``<g>``. The path is ``M x,y L x,y ...``: one vertex per point.
- ``rect.plotarea_events``: the plot area; its width is where the x range ends.

A chart scrolled far out of the window is not drawn until it comes near, so a test
reads a chart's line after bringing it into view (``in_view``), as a person would.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field

# Returns plain data about one board element; path strings are summarised in the
# browser (a full train/loss path is ~60 kB) so that polling stays cheap.
_SNAPSHOT_JS = """
(board) => {
  const shown = (el) => !!el && getComputedStyle(el).display !== 'none';
  const vertices = (d) => {
    const numbers = (d || '').match(/-?\\d*\\.?\\d+(?:e[-+]?\\d+)?/gi) || [];
    const points = [];
    for (let i = 0; i + 1 < numbers.length; i += 2) points.push([+numbers[i], +numbers[i + 1]]);
    return points;
  };
  const hash = (text) => {
    let h = 0;
    for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0;
    return h;
  };
  const mark = (curve) => {
    const path = curve.querySelector('path.line');
    const d = (path && path.getAttribute('d')) || '';
    const points = vertices(d);
    const xs = points.map((p) => p[0]);
    const ys = points.map((p) => p[1]);
    let variation = 0;
    for (let i = 1; i < points.length; i++) variation += Math.abs(points[i][1] - points[i - 1][1]);
    return {
      shown: shown(curve.parentElement) && shown(curve) && shown(path),
      opacity: path ? +getComputedStyle(path).opacity : null,
      points: points.length,
      min_x: xs.length ? Math.min(...xs) : null,
      max_x: xs.length ? Math.max(...xs) : null,
      min_y: ys.length ? Math.min(...ys) : null,
      max_y: ys.length ? Math.max(...ys) : null,
      variation,
      d_hash: hash(d),
    };
  };
  const axis = (el) => ({
    shown: shown(el.parentElement),
    label: (el.querySelector('text.axislabel') || {}).textContent || '',
    ticks: [...el.querySelectorAll('g.tick')].map((tick) => {
      const transform = tick.getAttribute('transform') || '';
      const at = /translate\\(\\s*([-\\d.e]+)[ ,]+([-\\d.e]+)\\s*\\)/.exec(transform);
      return [tick.textContent, at ? +at[1] : null, at ? +at[2] : null];
    }),
    // Where each tick's label is on the page: [left, right, top, bottom] px.
    boxes: [...el.querySelectorAll('g.tick text')].filter((t) => t.textContent).map((t) => {
      const box = t.getBoundingClientRect();
      return [box.left, box.right, box.top, box.bottom];
    }),
  });
  // In view: some of it inside the window and inside every ancestor that scrolls.
  const inView = (el) => {
    const box = el.getBoundingClientRect();
    let top = Math.max(box.top, 0);
    let bottom = Math.min(box.bottom, innerHeight);
    const page = document.body;  // its overflow is the window's: it clips nothing itself
    for (let node = el.parentElement; node && node !== page; node = node.parentElement) {
      const overflow = getComputedStyle(node).overflowY;
      if (overflow !== 'auto' && overflow !== 'scroll' && overflow !== 'hidden') continue;
      const clip = node.getBoundingClientRect();
      top = Math.max(top, clip.top);
      bottom = Math.min(bottom, clip.bottom);
    }
    return box.height > 0 && bottom > top;
  };
  const chart = (figure) => {
    const area = figure.querySelector('rect.plotarea_events');
    const readout = figure.querySelector('.ht-readout');
    const head = figure.querySelector('.ht-head');
    const name = head && head.querySelector('.ht-name');
    const note = head ? head.querySelector('.ht-drawn').textContent : '';
    return {
      index: +[...figure.classList].find((c) => c.startsWith('ht-i-')).slice(5),
      on_show: figure.getClientRects().length > 0,  // neither it nor its section hidden
      in_view: inView(figure),
      placeholder: figure.classList.contains('ht-placeholder'),  // not built yet
      // A chart not built yet holds its place with its key: what a person reads there.
      // The engine's title (the key, its note after "  ·  "), else bqplot's.
      title: figure.classList.contains('ht-placeholder')
        ? figure.textContent
        : name ? name.textContent + (note ? '  ·  ' + note : '')
        : (figure.querySelector('text.mainheading') || {}).textContent || '',
      // The key cut short with an ellipsis: the chart is too narrow for all of it.
      title_clipped: !!name && name.scrollWidth > name.clientWidth,
      title_box: name ? (({ top, bottom }) => [top, bottom])(name.getBoundingClientRect()) : null,
      width: area ? +area.getAttribute('width') : 0,
      height: area ? +area.getAttribute('height') : 0,
      marks: [...figure.querySelectorAll('svg.svg-figure g.curve')].map(mark),
      // In Figure.axes order: x, x as dates, y, y log. bqplot renders each axis when
      // its model arrives, so the page's order may differ: x axes are told by their
      // centred labels, the date one by its label.
      axes: [...figure.querySelectorAll('svg.svg-background g.axis')].map((el, at) => {
        const x = el.getAttribute('text-anchor') === 'middle';
        const date = x && (el.querySelector('text.axislabel') || {}).textContent === 'wall time';
        return { el, rank: (x ? 0 : 2) + (date ? 1 : 0) + at / 100 };
      }).sort((a, b) => a.rank - b.rank).map(({ el }) => axis(el)),
      readout: readout ? {
        at: (readout.querySelector('.ht-at') || {}).textContent || '',
        rows: [...readout.querySelectorAll('.ht-row')].map((row) => ({
          who: (row.querySelector('.ht-who') || {}).textContent || '',
          value: (row.querySelector('.ht-value') || {}).textContent || '',
          smoothed: (row.querySelector('.ht-smoothed') || {}).textContent || '',
          color: getComputedStyle(row.querySelector('.ht-swatch')).backgroundColor,
        })),
        box: (({ top, bottom, left, right }) => [left, right, top, bottom])(
          readout.getBoundingClientRect()),
      } : null,
    };
  };
  const control = (id) => board.querySelector(`.ht-controls [data-testid="${id}"]`);
  const tables = [...board.querySelectorAll('table.ht-text')].map((table) => ({
    key: (table.parentElement.querySelector('b') || {}).textContent || '',
    rows: [...table.querySelectorAll('tr')].slice(1)
      .map((row) => [...row.querySelectorAll('td')].map((td) => td.textContent)),
  }));
  return {
    header: (board.querySelector('.ht-header') || {}).textContent || '',
    smoothing: control('smoothing') ? +control('smoothing').value : null,
    log_y: control('log-y') ? control('log-y').checked : null,
    x_axis: control('x-axis') ? control('x-axis').value : null,
    toggles: [...board.querySelectorAll('.ht-controls [data-testid^="toggle-"]')]
      .map((b) => [b.textContent, b.classList.contains('ht-off')]),
    key_filter: control('key-filter') ? control('key-filter').value : null,
    filter_literal: control('key-filter')
      ? control('key-filter').classList.contains('ht-literal') : null,
    key_count: control('key-count') ? control('key-count').textContent : null,
    sections: [...board.querySelectorAll('.ht-section')].map((title) => ({
      name: title.dataset.section,
      on_show: title.getClientRects().length > 0,
      arrow: (title.querySelector('.ht-arrow') || {}).textContent || '',
      count: (title.querySelector('.ht-count') || {}).textContent || '',
    })),
    charts: [...board.querySelectorAll('.ht-chart')].map(chart).sort((a, b) => a.index - b.index),
    tables,
  };
}
"""


@dataclass
class Mark:
    """One Lines mark as drawn: visibility, opacity and a summary of its path."""

    shown: bool
    opacity: float | None
    points: int  # vertices in the path's d
    min_x: float | None  # pixels, in the plot area (y grows downwards)
    max_x: float | None
    min_y: float | None
    max_y: float | None
    variation: float  # total variation of the path's y, in pixels: how jagged it is
    d_hash: int  # changes whenever d does


@dataclass
class Axis:
    shown: bool
    label: str
    ticks: list[tuple[str, float | None, float | None]]  # (text, x px, y px)
    boxes: list[list[float]] = field(default_factory=list)  # labels' [left, right, top, bottom]

    def overlapping(self) -> list[tuple[str, str]]:
        """The pairs of neighbouring tick labels whose boxes overlap on the page."""
        named = [(text, box) for (text, _, _), box in zip(self.ticks, self.boxes) if text]
        named.sort(key=lambda item: (item[1][0], item[1][2]))
        return [
            (a, b)
            for (a, p), (b, q) in zip(named, named[1:])
            if p[0] < q[1] and q[0] < p[1] and p[2] < q[3] and q[2] < p[3]
        ]

    @property
    def labels(self) -> list[str]:
        return [text for text, _, _ in self.ticks]

    def values(self) -> list[float]:
        """Tick labels as numbers ("1.5k" -> 1500, "2e−2" -> 0.02)."""
        return [parse_number(text) for text in self.labels]


@dataclass
class Chart:
    """One chart (a bqplot figure) of the board."""

    index: int
    on_show: bool  # laid out on the page: not filtered out, its section not collapsed
    in_view: bool  # some of it inside the window: charts far from it are not drawn
    placeholder: bool  # a chart of a big board not built yet: built once it comes near
    title: str
    title_clipped: bool  # the key is cut short with an ellipsis
    title_box: list[float] | None  # [top, bottom] of the title on the page
    width: float  # plot area, pixels
    height: float
    marks: list[Mark]
    axes: list[Axis]
    # The value under the cursor: {"at": "step 3,001", "rows": [{"who", "value",
    # "smoothed", "color"}], "box": [left, right, top, bottom]}; None when not hovered.
    readout: dict | None

    @property
    def key(self) -> str:
        return self.title.split("  ·  ")[0]

    @property
    def raw(self) -> Mark:
        return self.marks[0]

    @property
    def smooth(self) -> Mark | None:
        """The smoothed line; None where none was ever drawn (true/false charts)."""
        return self.marks[1] if len(self.marks) > 1 else None

    @property
    def x_axis(self) -> Axis:
        """The x axis on show (steps/seconds, or dates)."""
        return _the_shown(self.axes[:2], "x")

    @property
    def y_axis(self) -> Axis:
        """The y axis on show (linear or log)."""
        return _the_shown(self.axes[2:], "y")

    @property
    def y_is_log(self) -> bool:
        return self.axes[3].shown and not self.axes[2].shown


@dataclass
class Board:
    header: str
    smoothing: float | None
    log_y: bool | None
    x_axis: str | None
    toggles: list[tuple[str, bool]]  # (run, switched off): an overlay's legend
    key_filter: str | None
    filter_literal: bool | None  # the filter is not a regular expression: matched as text
    key_count: str | None  # "64 charts", "16 of 64 charts"
    sections: list[dict]  # {"name", "on_show", "arrow": "▾"/"▸", "count": "16"/"3 of 16"}
    charts: list[Chart]
    tables: list[dict] = field(default_factory=list)  # {"key": .., "rows": [[step, value]..]}

    def chart(self, key: str) -> Chart:
        for chart in self.charts:
            if chart.key == key:
                return chart
        raise LookupError(f"no chart {key!r}; charts: {[c.title for c in self.charts]}")

    @property
    def shown_keys(self) -> list[str]:
        """The keys of the charts on show, in chart order."""
        return [chart.key for chart in self.charts if chart.on_show]

    def section(self, name: str) -> dict:
        for section in self.sections:
            if section["name"] == name:
                return section
        raise LookupError(f"no section {name!r}; sections: {self.sections}")

    def table(self, key: str) -> list[list[str]]:
        for table in self.tables:
            if table["key"] == key:
                return table["rows"]
        raise LookupError(f"no text table {key!r}; tables: {[t['key'] for t in self.tables]}")


# Scrolls an element into the notebook's view unless all of it is in view already
# (or, taller than the view, its top is).
_LOOK_AT_JS = """
(el) => {
  const scrolls = (node) => ['auto', 'scroll'].includes(getComputedStyle(node).overflowY)
    && node.scrollHeight > node.clientHeight + 1;
  let scroller = el.parentElement;
  while (scroller && scroller !== document.body && !scrolls(scroller)) {
    scroller = scroller.parentElement;
  }
  if (scroller === document.body) scroller = null;
  const view = scroller ? scroller.getBoundingClientRect() : { top: 0, bottom: innerHeight };
  const box = el.getBoundingClientRect();
  if (box.height <= view.bottom - view.top) {
    if (box.top < view.top || box.bottom > view.bottom) el.scrollIntoView({ block: "nearest" });
  } else if (box.top < view.top || box.top > view.bottom - 50) {
    el.scrollIntoView({ block: "start" });
  }
}
"""


def look_at(locator) -> None:
    """Scroll the element into the notebook's view, as a person would to read it."""
    locator.evaluate(_LOOK_AT_JS)


def snapshot(board_locator) -> Board:
    """The state of the board element ``board_locator`` points at."""
    raw = board_locator.evaluate(_SNAPSHOT_JS)
    charts = [
        Chart(
            index=c["index"],
            on_show=c["on_show"],
            in_view=c["in_view"],
            placeholder=c["placeholder"],
            title=c["title"],
            title_clipped=c["title_clipped"],
            title_box=c["title_box"],
            width=c["width"],
            height=c["height"],
            marks=[Mark(**m) for m in c["marks"]],
            axes=[
                Axis(a["shown"], a["label"], [tuple(t) for t in a["ticks"]], a["boxes"])
                for a in c["axes"]
            ],
            readout=c["readout"],
        )
        for c in raw.pop("charts")
    ]
    return Board(charts=charts, **raw)


def _the_shown(axes: list[Axis], which: str) -> Axis:
    shown = [axis for axis in axes if axis.shown]
    if len(shown) != 1:
        raise AssertionError(f"expected one {which} axis on show, got {len(shown)}: {axes}")
    return shown[0]


_SI = {"p": 1e-12, "n": 1e-9, "µ": 1e-6, "μ": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9}


CLOCK = re.compile(r"^(?:(\d+)d )?(?:(\d+):)?(\d{1,2}):(\d{2}(?:\.\d+)?)$")


def parse_number(text: str) -> float:
    """A d3-formatted tick label as a float: "1.5k", "500m", "2e−2", "−0.3"; a
    relative-time label as seconds: "0:05", "1:02:03", "2d 3:00:00"."""
    text = text.strip().replace("\u2212", "-").replace(",", "")
    clock = CLOCK.match(text)
    if clock:
        days, hours, minutes, seconds = (float(part or 0) for part in clock.groups())
        return ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    scale = 1.0
    if text and text[-1] in _SI:
        text, scale = text[:-1], _SI[text[-1]]
    try:
        return float(text) * scale
    except ValueError:
        return math.nan


def fit_line(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least-squares ys ~ a * xs + b; returns (a, b, largest residual)."""
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    a = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sxx
    b = mean_y - a * mean_x
    return a, b, max(abs(y - (a * x + b)) for x, y in zip(xs, ys))


def x_pixel_to_value(axis: Axis, pixel: float) -> float:
    """The data x at ``pixel`` on a linear x axis, read off its tick labels."""
    ticks = [(parse_number(text), x) for text, x, _ in axis.ticks if x is not None]
    ticks = [(value, x) for value, x in ticks if math.isfinite(value)]
    if len(ticks) < 2:
        raise AssertionError(f"too few x ticks to read a value: {axis.ticks}")
    # d3 draws each tick half a pixel right of its value's position (crisp lines).
    a, b, _ = fit_line([x - 0.5 for _, x in ticks], [value for value, _ in ticks])
    return a * pixel + b


def log_spaced(axis: Axis) -> tuple[bool, str]:
    """Whether the y ticks are placed by log(value) (and not by value): (ok, detail)."""
    pairs = [(parse_number(text), y) for text, _, y in axis.ticks if y is not None]
    pairs = [(value, y) for value, y in pairs if math.isfinite(value) and value > 0]
    if len(pairs) < 3:
        return False, f"too few positive ticks: {axis.labels}"
    values, positions = [v for v, _ in pairs], [y for _, y in pairs]
    if max(values) / min(values) < 1.5:
        return False, f"ticks span too little to tell: {axis.labels}"
    _, _, off_log = fit_line([math.log(v) for v in values], positions)
    _, _, off_linear = fit_line(values, positions)
    detail = f"ticks {axis.labels}; residual vs log {off_log:.2f} px, vs value {off_linear:.2f} px"
    # Over the 1.5x span required above and ~150 px, log ticks sit ~4 px off a line.
    return off_log < 1.0 and off_linear > 1.5, detail


def wait_for_board(
    page, locator, condition, what: str, describe, timeout: float = 60.0, look: bool = False
) -> Board:
    """Poll the board at ``locator`` until ``condition(board)``; return that board.

    A board still being built raises (no such chart yet): that counts as "not yet".
    On timeout the failure says ``describe(board)`` of the last board seen. With
    ``look``, each poll first scrolls the board into view if it is out of it.
    """
    deadline = time.monotonic() + timeout
    last: object = "no board yet"
    while True:
        try:
            if look:
                look_at(locator)  # a board far out of the view is not drawn
            board = snapshot(locator)
            if condition(board):
                return board
            last = describe(board)
        except Exception as exc:  # noqa: BLE001 - not there yet; keep polling
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f} s until {what}; last seen:\n{last}"
            )
        page.wait_for_timeout(100)
