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
from dataclasses import dataclass

import numpy as np

__all__ = ["CHART_WIDTH", "StaticChart", "render_svg", "summary_text"]

_BLUE, _GREY, _GRID, _FRAME = "#2b6cd4", "#6b7280", "#e5e7eb", "#9ca3af"
_FONT = "Helvetica, Arial, sans-serif"
# Margins inside each chart cell: left room for y labels, top for title, bottom for x labels.
_LEFT, _RIGHT, _TOP, _BOTTOM = 50, 18, 30, 34
# The line is kept a few pixels off the frame so extremes stay visible against it.
_INSET = 5
# Values beyond this are clipped so spans and pixel maths never overflow to inf.
_HUGE = 1e300
_SUFFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
# Characters XML 1.0 forbids: a stray escape code in a key must not make the SVG unparsable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


@dataclass(frozen=True, eq=False)  # eq=False: comparing numpy arrays with == is ambiguous
class StaticChart:
    """One small chart: a key's decimated points and how to label them.

    Parameters
    ----------
    title : str
        The key name, shown as text.
    x, y : numpy.ndarray
        Equal-length 1-D float arrays; non-finite points leave gaps.
    kind : {"number", "bool"}
        Bools (y of 0/1) are drawn as a step line with "false"/"true" ticks.
    total : int
        Points held before decimation; a caption tells when more than ``len(x)``.
    x_label : str
        Name of the x axis.
    """

    title: str
    x: np.ndarray
    y: np.ndarray
    kind: str = "number"
    total: int = 0
    x_label: str = "step"

    def __post_init__(self) -> None:
        x = np.asarray(self.x, dtype=np.float64).reshape(-1)
        y = np.asarray(self.y, dtype=np.float64).reshape(-1)
        if len(x) != len(y):
            raise ValueError(f"x and y differ in length ({len(x)} != {len(y)})")
        if self.kind not in ("number", "bool"):
            raise ValueError(f"kind must be 'number' or 'bool' (got {self.kind!r})")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)


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


def _chart(chart: StaticChart, left: float, top: float, w: int, h: int) -> list[str]:
    x0, x1, y0, y1 = _LEFT, w - _RIGHT, _TOP, h - _BOTTOM
    n, mid = len(chart.x), (_LEFT + w - _RIGHT) / 2
    caption = f"{chart.total:,} pts, {n:,} drawn" if chart.total > n else ""
    room = int((x1 - x0 - 5.5 * len(caption)) / 7) - 1  # ~7 px per bold 12 px character
    name = chart.title if len(chart.title) <= room else chart.title[: max(room - 1, 1)] + "…"
    out = [
        f'<g class="chart" transform="translate({_c(left)},{_c(top)})">'
        f"<title>{_esc(chart.title)}</title>",  # the full title as a hover tooltip
        f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" fill="none" '
        f'stroke="{_FRAME}"/>',
        _text(x0, y0 - 9, _esc(name), extra=' font-size="12" font-weight="bold" fill="#111"'),
    ]
    if caption:
        out.append(_text(x1, y0 - 9, caption, "end"))
    ok = np.isfinite(chart.x) & np.isfinite(chart.y)
    if not ok.any():
        message = "no points yet" if n == 0 else "no finite points"
        return [*out, _text(mid, (y0 + y1) / 2 + 4, message, "middle", ' font-size="12"'), "</g>"]
    out.append(_text(mid, h - 5, _esc(chart.x_label), "middle"))
    x, y = np.clip(chart.x, -_HUGE, _HUGE), np.clip(chart.y, -_HUGE, _HUGE)
    boolean = chart.kind == "bool"
    if boolean:
        y = (y != 0).astype(np.float64)
        ylo, yhi, yticks, ylabels = -0.2, 1.2, [0.0, 1.0], ["false", "true"]
    else:
        yticks, ylabels = _ticks(*_span(float(y[ok].min()), float(y[ok].max())), expand=True)
        ylo, yhi = yticks[0], yticks[-1]
    xlo, xhi = _span(float(x[ok].min()), float(x[ok].max()))
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
    out.append(
        f'<g fill="none" stroke="{_BLUE}" stroke-width="1.5" stroke-linejoin="round" '
        f'stroke-linecap="round">'
    )
    index = np.flatnonzero(ok)
    # One path per unbroken run of finite points, so a NaN or inf shows as a gap.
    for run in np.split(index, np.flatnonzero(np.diff(index) != 1) + 1):
        width = ' stroke-width="4"' if len(run) == 1 else ""  # a lone point needs a visible dot
        out.append(
            f'<path class="line" data-points="{len(run)}"{width} '
            f'd="{_line(px(x[run]), py(y[run]), boolean)}"/>'
        )
    return [*out, "</g></g>"]


CHART_WIDTH = 320  # px, of each chart of a picture


def render_svg(
    charts: Sequence[StaticChart],
    *,
    title: str = "",
    columns: int = 3,
    chart_width: int = CHART_WIDTH,
    chart_height: int = 200,
) -> str:
    """One SVG document: an optional title line, then a grid of small line charts.

    Parameters
    ----------
    charts : sequence of StaticChart
        Drawn left to right, then top to bottom.
    title : str
        A line above the grid (e.g. the run name); omitted when empty.
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
    charts = list(charts)
    cols, head = max(1, min(columns, len(charts))), 30 if title else 0
    width = cols * chart_width
    height = head + (math.ceil(len(charts) / cols) * chart_height if charts else 40)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{_FONT}" font-size="10" '
        f'fill="{_GREY}">',  # grey text by default; charts override where needed
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
    ]  # readable in dark themes
    if title:
        bold = ' font-size="15" font-weight="bold" fill="#111"'
        out.append(_text(12, 21, _esc(title), extra=bold))
    if not charts:
        out.append(_text(12, head + 25, "nothing logged yet"))
    for i, chart in enumerate(charts):
        row, col = divmod(i, cols)
        out += _chart(
            chart, col * chart_width, head + row * chart_height, chart_width, chart_height
        )
    out.append("</svg>")
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
