"""Static pictures of a run for places where notebook widgets cannot render.

nbconvert HTML, GitHub's notebook viewer and terminal IPython show no live widgets,
so the board also offers a plain SVG grid of small line charts and a text table.
This module is pure: it takes already-decimated numpy arrays and returns strings,
using only the standard library and numpy so it works wherever the notebook is read.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "CHART_WIDTH",
    "STATUS_COLOURS",
    "Line",
    "Section",
    "StaticChart",
    "Table",
    "TextTable",
    "render_svg",
    "summary_text",
]

_BLUE, _GREY, _GRID, _FRAME = "#2b6cd4", "#6b7280", "#e5e7eb", "#9ca3af"
_BAD = "#c62828"  # what NaN and infinity counts are written in
_FONT = "Helvetica, Arial, sans-serif"
# The colour of each status wherever a status is shown (unknown ones keep the text's),
# in a light theme and a dark one: the darker shades on white, the lighter on black.
STATUS_COLOURS = {
    "running": "#2e7d32",
    "finished": "#1565c0",
    "crashed": "#c62828",
    "interrupted": "#ef6c00",
    "pruned": "#6a1b9a",
}
STATUS_COLOURS_DARK = {
    "running": "#81c784",
    "finished": "#64b5f6",
    "crashed": "#e57373",
    "interrupted": "#ffb74d",
    "pruned": "#ce93d8",
}
# Margins inside each chart cell: left room for y labels, top for title, bottom for x labels.
_LEFT, _RIGHT, _TOP, _BOTTOM = 50, 18, 30, 34
# The line is kept a few pixels off the frame so extremes stay visible against it.
_INSET = 5
# Values beyond this are clipped so spans and pixel maths never overflow to inf.
_HUGE = 1e300
_SUFFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
# Characters XML 1.0 forbids: a stray escape code in a key must not make the SVG unparsable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _array(values: object) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


@dataclass(frozen=True, eq=False)  # eq=False: comparing numpy arrays with == is ambiguous
class Line:
    """One run's line on a chart.

    Parameters
    ----------
    x, y : numpy.ndarray
        Equal-length 1-D float arrays; non-finite points leave gaps.
    color : str
        The stroke colour, as the live board draws this line.
    nan, inf : int
        NaN and infinite values in the whole series (the points drawn are a sample).
    bad : numpy.ndarray
        Where (on x) those are: marked at the chart's bottom edge, as the board does.
    """

    x: np.ndarray
    y: np.ndarray
    color: str = _BLUE
    nan: int = 0
    inf: int = 0
    bad: np.ndarray = field(default_factory=lambda: np.empty(0))

    def __post_init__(self) -> None:
        x, y = _array(self.x), _array(self.y)
        if len(x) != len(y):
            raise ValueError(f"x and y differ in length ({len(x)} != {len(y)})")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "bad", _array(self.bad))


@dataclass(frozen=True, eq=False)
class StaticChart:
    """One small chart: a key's decimated points (a line per run) and their labels.

    Parameters
    ----------
    title : str
        The key name, shown as text.
    lines : sequence of Line
        Drawn in order, each in its colour.
    kind : {"number", "bool"}
        Bools (y of 0/1) are drawn as a step line with "false"/"true" ticks.
    total : int
        Points held before decimation; a caption tells when more than drawn.
    x_label : str
        Name of the x axis; ``TIME`` ("time") marks x as seconds since the run
        began, ticked as clocks (1:30, 1:02:03).
    """

    title: str
    lines: Sequence[Line]
    kind: str = "number"
    total: int = 0
    x_label: str = "step"

    def __post_init__(self) -> None:
        if self.kind not in ("number", "bool"):
            raise ValueError(f"kind must be 'number' or 'bool' (got {self.kind!r})")
        object.__setattr__(self, "lines", tuple(self.lines))


@dataclass(frozen=True)
class Section:
    """Charts under one heading, as the board groups keys by their prefix before "/".

    ``name`` is empty for the keys without a prefix (drawn first, untitled); ``count``
    is the section's keys, more than its charts when a picture leaves some out.
    """

    name: str
    charts: Sequence[StaticChart]
    count: int = 0


@dataclass(frozen=True)
class TextTable:
    """A text key's latest values, newest first: (step, value) rows of ``total``."""

    key: str
    rows: Sequence[tuple[str, str]]
    total: int


@dataclass(frozen=True)
class Table:
    """A table drawn as text: a note line, a header row, then rows of cells, each row
    led by a colour swatch when ``swatches`` gives one; a cell is a text or (text,
    colour)."""

    head: Sequence[str]
    rows: Sequence[Sequence[str | tuple[str, str]]]
    swatches: Sequence[str] = ()
    note: str = ""


def _esc(text: object) -> str:
    return html.escape(_NOT_XML.sub("\ufffd", str(text)), quote=True)


def _num(value: float, digits: int = 3) -> str:
    """Format a number compactly: 0.001, 1.5k, 2M, 1e-05."""
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    value = float(f"{value:.{digits}g}")  # round first so 999.97 becomes "1k", not "1e+03"
    # Already rounded, so at least 3 digits adds none but keeps 250 from printing as 2.5e+02.
    shown = max(digits, 3)
    for scale, suffix in _SUFFIXES:
        if scale <= abs(value) < scale * 1000:
            return f"{value / scale:.{shown}g}{suffix}"
    return f"{value:.{shown}g}"


def _c(value: float) -> str:
    text = f"{value:.1f}".removesuffix(".0")
    return "0" if text == "-0" else text


def _ticks(lo: float, hi: float, expand: bool) -> tuple[list[float], list[str]]:
    """At most five round ticks (1, 2, 2.5 or 5 times a power of ten) and their labels.

    With ``expand`` they enclose [lo, hi] (y axes), else they lie inside it (x axes).
    """
    mag = 10.0 ** math.floor(math.log10((hi - lo) / 5))
    for step in (m * mag for m in (1, 2, 2.5, 5, 10, 20, 25, 50, 100)):
        if expand:
            first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
        else:
            first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
        if last - first <= 4:
            break
    ticks = [k * step for k in range(first, last + 1)]
    # The fewest digits that pin each tick to 1% of a step: short labels that stay distinct.
    digits = next(
        (d for d in range(1, 16) if all(abs(float(f"{t:.{d}g}") - t) < step / 100 for t in ticks)),
        15,
    )
    return ticks, [_num(t, digits) for t in ticks]


#: The x label of charts whose x is seconds since the run began.
TIME = "time"

#: Round durations (seconds) a time axis steps by, as the board's: 1 s to 12 h.
_DURATIONS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200)


def clock(seconds: float, step: float = 1.0) -> str:
    """Seconds as a clock reads them: 0:05, 12:30, 1:02:03, 2d 3:00:00 (tenths where
    ``step``, the ticks' spacing, is under a second)."""
    if not math.isfinite(seconds):
        return _num(seconds)
    digits = min(3, math.ceil(-math.log10(step) - 1e-9)) if step < 1 else 0
    rest = round(abs(seconds), digits)
    days, rest = divmod(rest, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, rest = divmod(rest, 60)
    secs = f"{rest:0{3 + digits}.{digits}f}" if digits else f"{round(rest):02d}"
    text = f"{int(hours)}:{int(minutes):02d}:{secs}" if hours or days else f"{int(minutes)}:{secs}"
    return ("-" if seconds < 0 else "") + (f"{int(days)}d {text}" if days else text)


def _time_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """At most six ticks inside [lo, hi] seconds, a round duration apart, as clocks."""
    rough = (hi - lo) / 5
    if rough < 1:
        ticks, _ = _ticks(lo, hi, expand=False)
    else:
        days = max(1, round(rough / 86400))
        step = next((d for d in _DURATIONS if d >= rough), 86400 * days)
        ticks = [k * step for k in range(math.ceil(lo / step), math.floor(hi / step) + 1)]
    spacing = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    return ticks, [clock(t, spacing) for t in ticks]


def _span(lo: float, hi: float) -> tuple[float, float]:
    """Widen a zero or vanishing range so a constant series or a lone point still has an axis."""
    if hi - lo > 1e-9 * max(abs(lo), abs(hi)):
        return lo, hi
    mid = (lo + hi) / 2
    pad = abs(mid) * 0.1 if abs(mid) > 1e-200 else 1.0
    return mid - pad, mid + pad


def _line(xs: np.ndarray, ys: np.ndarray, step: bool) -> str:
    """Path data through pixel points, dropping repeats that round to the same pixel."""
    xs, ys = np.round(xs, 1), np.round(ys, 1)
    keep = np.ones(len(xs), dtype=bool)
    keep[1:] = (np.diff(xs) != 0) | (np.diff(ys) != 0)
    xs, ys = xs[keep], ys[keep]
    if step:  # hold each value until the next point, then jump: how a flag really behaves
        parts = [f"M{_c(xs[0])},{_c(ys[0])}"]
        parts += [f"H{_c(xs[i])}V{_c(ys[i])}" for i in range(1, len(xs)) if ys[i] != ys[i - 1]]
        if len(xs) > 1 and ys[-1] == ys[-2]:
            parts.append(f"H{_c(xs[-1])}")
        d = "".join(parts)
    else:
        d = "M" + " ".join(f"{_c(a)},{_c(b)}" for a, b in zip(xs, ys))
    return d + ("h0" if len(xs) == 1 else "")  # a round cap turns a zero-length stroke into a dot


def _scale(lo: float, hi: float, a: float, b: float):
    """Linear map from the data range [lo, hi] to the pixel range [a, b]."""
    return lambda v: a + (np.asarray(v) - lo) / (hi - lo) * (b - a)


def _text(x: float, y: float, body: str, anchor: str = "start", extra: str = "") -> str:
    align = "" if anchor == "start" else f' text-anchor="{anchor}"'
    return f'<text x="{x:g}" y="{y:g}"{align}{extra}>{body}</text>'


def _caption(chart: StaticChart) -> list[tuple[str, str | None]]:
    """What the title line says after the name: points drawn of held, NaN and inf."""
    drawn = sum(len(line.x) for line in chart.lines)
    nan, inf = (sum(getattr(line, what) for line in chart.lines) for what in ("nan", "inf"))
    parts: list[tuple[str, str | None]] = []
    if chart.total > drawn:
        parts.append((f"{chart.total:,} pts, {drawn:,} drawn", None))
    if nan:
        parts.append((f"{nan:,} NaN", _BAD))
    if inf:
        parts.append((f"{inf:,} inf", _BAD))
    return parts


def _spans(parts: Sequence[tuple[str, str | None]], sep: str = " · ", lead: bool = False) -> str:
    """Text pieces in their colours (None: the surrounding text's), separated (and led,
    if ``lead``, by the separator)."""
    out = []
    for i, (text, fill) in enumerate(parts):
        colour = f' fill="{fill}"' if fill else ""
        out.append(f"<tspan{colour}>{_esc((sep if i or lead else '') + text)}</tspan>")
    return "".join(out)


def _chart(chart: StaticChart, left: float, top: float, w: int, h: int) -> list[str]:
    x0, x1, y0, y1 = _LEFT, w - _RIGHT, _TOP, h - _BOTTOM
    mid = (_LEFT + w - _RIGHT) / 2
    caption = _caption(chart)
    length = sum(len(text) + 3 for text, _ in caption)
    room = int((x1 - x0 - 5.5 * length) / 7) - 1  # ~7 px per bold 12 px character
    name = chart.title if len(chart.title) <= room else chart.title[: max(room - 1, 1)] + "…"
    out = [
        f'<g class="chart" transform="translate({_c(left)},{_c(top)})">'
        f"<title>{_esc(chart.title)}</title>",  # the full title as a hover tooltip
        f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" fill="none" '
        f'stroke="{_FRAME}"/>',
        _text(x0, y0 - 9, _esc(name), extra=' font-size="12" font-weight="bold" fill="#111"'),
    ]
    if caption:
        out.append(_text(x1, y0 - 9, _spans(caption, ", "), "end"))
    lines = [(line, np.isfinite(line.x) & np.isfinite(line.y)) for line in chart.lines]
    if not any(ok.any() for _, ok in lines):
        drawn = sum(len(line.x) for line in chart.lines)
        message = "no points yet" if drawn == 0 else "no finite points"
        return [*out, _text(mid, (y0 + y1) / 2 + 4, message, "middle", ' font-size="12"'), "</g>"]
    out.append(_text(mid, h - 5, _esc(chart.x_label), "middle"))
    boolean = chart.kind == "bool"
    xs = np.concatenate([np.clip(line.x[ok], -_HUGE, _HUGE) for line, ok in lines])
    ys = np.concatenate([np.clip(line.y[ok], -_HUGE, _HUGE) for line, ok in lines])
    if boolean:
        ylo, yhi, yticks, ylabels = -0.2, 1.2, [0.0, 1.0], ["false", "true"]
    else:
        yticks, ylabels = _ticks(*_span(float(ys.min()), float(ys.max())), expand=True)
        ylo, yhi = yticks[0], yticks[-1]
    xlo, xhi = _span(float(xs.min()), float(xs.max()))
    if chart.x_label == TIME:
        xticks, xlabels = _time_ticks(xlo, xhi)
    else:
        xticks, xlabels = _ticks(xlo, xhi, expand=False)
    px = _scale(xlo, xhi, x0 + _INSET, x1 - _INSET)
    py = _scale(ylo, yhi, y1 - _INSET, y0 + _INSET)  # SVG y grows downwards
    for tick, label in zip(yticks, ylabels):
        ty = float(_c(float(py(tick))))
        out.append(
            f'<path d="M{x0},{ty:g}H{x1}" stroke="{_GRID}"/>'
            + _text(x0 - 5, ty + 3.5, label, "end")
        )
    for tick, label in zip(xticks, xlabels):
        tx = float(_c(float(px(tick))))
        out.append(
            f'<path d="M{tx:g},{y1}v4" stroke="{_FRAME}"/>' + _text(tx, y1 + 15, label, "middle")
        )
    for line, ok in lines:
        out += _strokes(line, ok, px, py, boolean)
        out += _bad_marks(line, px, x0, x1, y1)
    return [*out, "</g>"]


def _strokes(line: Line, ok: np.ndarray, px: Any, py: Any, boolean: bool) -> list[str]:
    """A line's paths: one per unbroken run of finite points, so NaN and inf show as gaps."""
    if not ok.any():
        return []
    x, y = np.clip(line.x, -_HUGE, _HUGE), np.clip(line.y, -_HUGE, _HUGE)
    if boolean:
        y = (y != 0).astype(np.float64)
    out = [
        f'<g fill="none" stroke="{_esc(line.color)}" stroke-width="1.5" '
        f'stroke-linejoin="round" stroke-linecap="round">'
    ]
    index = np.flatnonzero(ok)
    for run in np.split(index, np.flatnonzero(np.diff(index) != 1) + 1):
        width = ' stroke-width="4"' if len(run) == 1 else ""  # a lone point needs a visible dot
        out.append(
            f'<path class="line" data-points="{len(run)}"{width} '
            f'd="{_line(px(x[run]), py(y[run]), boolean)}"/>'
        )
    return [*out, "</g>"]


def _bad_marks(line: Line, px: Any, x0: float, x1: float, y1: float) -> list[str]:
    """Ticks at the bottom edge where the series holds NaN or an infinity (one per pixel)."""
    bad = line.bad[np.isfinite(line.bad)]
    if not len(bad):
        return []
    where = np.unique(np.clip(np.round(px(np.clip(bad, -_HUGE, _HUGE))), x0, x1))
    d = "".join(f"M{_c(float(x))},{_c(y1)}v-7" for x in where)
    return [f'<path class="bad" d="{d}" stroke="{_esc(line.color)}" stroke-width="2"/>']


CHART_WIDTH = 320  # px, of each chart of a picture
_HEAD, _SECTION, _SWATCH_ROW, _ROW = 30, 26, 18, 15


def _header(title: str | Sequence[tuple[str, str | None]], top: float) -> list[str]:
    parts = [(title, None)] if isinstance(title, str) else list(title)
    if not parts or not parts[0][0]:
        return []
    first, rest = parts[0][0], parts[1:]
    bold = f'<tspan font-size="15" font-weight="bold" fill="#111">{_esc(first)}</tspan>'
    return [_text(12, top + 21, bold + _spans(rest, lead=True), extra=' font-size="12"')]


def _legend(entries: Sequence[tuple[str, str]], top: float, width: int) -> tuple[list[str], float]:
    """Swatches and labels in rows across the width; returns them and their height."""
    out, x, y = [], 12.0, top + 4
    for label, colour in entries:
        text = label if len(label) <= 40 else label[:39] + "…"
        wide = 22 + 6.2 * len(text)
        if x + wide > width - 12 and x > 12:
            x, y = 12.0, y + _SWATCH_ROW
        out.append(
            f'<rect x="{_c(x)}" y="{_c(y + 6)}" width="14" height="3" fill="{_esc(colour)}"/>'
            + _text(x + 19, y + 11, _esc(text), extra=' font-size="11" fill="#333"')
        )
        x += wide + 14
    return out, (y - top + _SWATCH_ROW if entries else 0)


def _table(table: Table, top: float) -> tuple[list[str], float, float]:
    """A table as text; returns it, its height and its width."""

    def text(cell: str | tuple[str, str]) -> tuple[str, str | None]:
        body, fill = (cell, None) if isinstance(cell, str) else cell
        return (body if len(body) <= 32 else body[:31] + "…"), fill

    rows = [[text(cell) for cell in row] for row in table.rows]
    lead = 22 if table.swatches else 0
    widths = [
        max([len(head), *(len(row[i][0]) for row in rows if i < len(row))]) * 6.2 + 14
        for i, head in enumerate(table.head)
    ]
    lefts = [12 + lead + sum(widths[:i]) for i in range(len(widths))]
    out = []
    if table.note:
        out.append(_text(12, top + 12, _esc(table.note), extra=' font-size="11"'))
        top += _ROW + 2
    out += [
        _text(left, top + 12, _esc(head), extra=' font-weight="bold" font-size="11" fill="#333"')
        for left, head in zip(lefts, table.head)
    ]
    for r, row in enumerate(rows):
        y = top + 12 + (r + 1) * _ROW
        if r < len(table.swatches):
            out.append(
                f'<rect x="12" y="{_c(y - 9)}" width="12" height="12" rx="2" '
                f'fill="{_esc(table.swatches[r])}"/>'
            )
        for left, (body, fill) in zip(lefts, row):
            out.append(_text(left, y, _esc(body), extra=f' font-size="11" fill="{fill or "#333"}"'))
    noted = _ROW + 2 if table.note else 0
    return out, noted + 18 + len(rows) * _ROW, 12 + lead + sum(widths) + 12


def _text_tables(tables: Sequence[TextTable], top: float, cols: int, w: int) -> tuple[list, float]:
    """Each text key's latest values as a small two-column table, ``cols`` to a row."""
    if not tables:
        return [], 0.0
    out, height = [], 10.0  # a gap below the charts
    top += height
    for start in range(0, len(tables), cols):
        row = tables[start : start + cols]
        for i, table in enumerate(row):
            left = 12 + i * w
            room = int((w - 80) / 6.2)
            shown = f"latest {len(table.rows)} of {table.total:,}"
            out.append(
                _text(
                    left,
                    top + 14,
                    _esc(table.key),
                    extra=' font-size="12" font-weight="bold" fill="#111"',
                )
                + _text(left + w - 24, top + 14, shown, "end")
            )
            for r, (step, value) in enumerate(table.rows):
                y = top + 30 + r * _ROW
                value = value if len(value) <= room else value[: room - 1] + "…"
                out.append(
                    _text(left + 48, y, _esc(step), "end")
                    + _text(left + 58, y, _esc(value), extra=' font-size="11" fill="#333"')
                )
        tallest = max(len(table.rows) for table in row)
        top += 30 + tallest * _ROW
        height += 30 + tallest * _ROW
    return out, height


def render_svg(
    charts: Sequence[StaticChart | Section],
    *,
    title: str | Sequence[tuple[str, str | None]] = "",
    legend: Sequence[tuple[str, str]] = (),
    table: Table | None = None,
    texts: Sequence[TextTable] = (),
    columns: int = 3,
    chart_width: int = CHART_WIDTH,
    chart_height: int = 200,
) -> str:
    """One SVG document laid out as the board is: a header line, a legend and a
    table when given, the charts in sections, then the text keys' tables.

    Parameters
    ----------
    charts : sequence of StaticChart or Section
        Charts before the first section are drawn untitled, first; each section
        under its heading and count. Left to right, then top to bottom.
    title : str or sequence of (text, colour)
        The header line: its first piece in bold, the rest after " · " in their
        colours (None: grey), e.g. a run's name, its status, its points.
    legend : sequence of (label, colour)
        A swatch and label per line colour, when the charts hold several runs.
    table : Table, optional
        Drawn below the header (the runs of a comparison).
    texts : sequence of TextTable
        Drawn after the charts.
    columns : int
        Charts per row at most (fewer when there are fewer charts).
    chart_width, chart_height : int
        Size of each chart cell in pixels.

    Returns
    -------
    str
        A standalone SVG document with a white background.
    """
    if columns < 1:
        raise ValueError(f"columns must be at least 1 (got {columns})")
    sections: list[Section] = []
    for item in charts:
        if isinstance(item, Section):
            sections.append(item)
        elif sections and not sections[-1].name:
            sections[-1] = Section("", [*sections[-1].charts, item])
        else:
            sections.append(Section("", [item]))
    most = max((len(s.charts) for s in sections), default=0)
    cols = max(1, min(columns, most))
    width = cols * chart_width
    body: list[str] = []
    top = 0.0
    head = _header(title, top)
    body += head
    top += _HEAD if head else 0
    marks, tall = _legend(legend, top, width)
    body += marks
    top += tall
    if table is not None:
        cells, tall, wide = _table(table, top)
        body += cells
        top += tall + 8
        width = max(width, math.ceil(wide))
    if not any(s.charts for s in sections) and not texts:
        body.append(_text(12, top + 25, "nothing logged yet"))
        top += 40
    for section in sections:
        if section.name:
            count = section.count or len(section.charts)
            heading = _spans([(section.name, "#111"), (f"{count:,}", _GREY)], "  ")
            body.append(
                '<g class="section">'
                + _text(12, top + 18, "▾ " + heading, extra=' font-size="13" font-weight="bold"')
                + "</g>"
            )
            top += _SECTION
        for i, chart in enumerate(section.charts):
            row, col = divmod(i, cols)
            body += _chart(
                chart, col * chart_width, top + row * chart_height, chart_width, chart_height
            )
        top += math.ceil(len(section.charts) / cols) * chart_height
    cells, tall = _text_tables(texts, top, cols, chart_width)
    body += cells
    top += tall
    height = math.ceil(top)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{_FONT}" font-size="10" '
        f'fill="{_GREY}">',  # grey text by default; charts override where needed
        f'<rect width="{width}" height="{height}" fill="#fff"/>',  # readable in dark themes
        *body,
        "</svg>",
    ]
    return "\n".join(out)


def _cell(value: float | str | bool | None) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, str):
        text = re.sub(r"\s", " ", value)  # a newline in a logged text must not break the table
        return text if len(text) <= 40 else text[:39] + "…"
    return _num(float(value), 4)


def summary_text(
    title: str,
    status: str,
    rows: Sequence[tuple[str, int, float | str | bool | None, float | None, float | None]],
) -> str:
    """Plain-text summary: a header line, then one aligned row per key.

    Parameters
    ----------
    title : str
        Shown first on the header line, e.g. ``"run 20261126-101530-swift-heron"``.
    status : str
        Shown next, e.g. ``"finished"``; either may be empty to omit it.
    rows : sequence of (name, points, last, min, max)
        Numbers are shown to 4 significant digits; texts and bools fill "last" only
        (pass None for min and max); None shows as blank.

    Returns
    -------
    str
        The lines joined by newlines, without trailing spaces or newline.
    """
    keys = f"{len(rows)} key" + ("" if len(rows) == 1 else "s")
    lines = [" · ".join(part for part in (title, status, keys) if part)]
    table = [["key", "points", "last", "min", "max"]]
    table += [[_cell(str(r[0])), f"{r[1]:,}", _cell(r[2]), _cell(r[3]), _cell(r[4])] for r in rows]
    points = max(len(r[1]) for r in table)
    table = [[r[0], r[1].rjust(points), *r[2:]] for r in table]  # counts align on the last digit
    # Columns at least 10 wide, with at least 3 spaces between, so short values still align.
    widths = [max(max(len(r[i]) for r in table) + 3, 10) for i in range(5)]
    lines += ["".join(c.ljust(wd) for c, wd in zip(r, widths)).rstrip() for r in table]
    return "\n".join(lines)
