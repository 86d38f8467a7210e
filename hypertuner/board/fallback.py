"""What a board shows where widgets cannot render: a static picture and a summary.

Imports neither ipywidgets nor bqplot, so terminal IPython can use it too.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from .._table import format_duration
from ..downsample import minmax
from .static import (
    CHART_WIDTH,
    STATUS_COLOURS,
    TIME,
    Line,
    Section,
    StaticChart,
    Table,
    TextTable,
    render_svg,
    summary_text,
)

__all__ = ["header", "overlay", "picture", "summary", "text_tables"]


def summary(source: Any) -> str:
    """A plain-text summary of a run: one row per key with points, last, min and max."""
    rows = []
    for key, series in source.items():
        values = series.values
        if series.kind == "number" and len(values):
            rows.append((key, len(values), *series.stats()))
        else:
            last = values[-1] if len(values) else None
            rows.append(
                (key, len(values), bool(last) if series.kind == "bool" else last, None, None)
            )
    return summary_text(f"run {source.name}", source.status, rows)


COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
TEXT_ROWS = 8  # the latest values a text key's table shows


def color(index: int) -> str:
    """The colour of line ``index``: the palette, then hues a golden angle apart."""
    return COLORS[index] if index < len(COLORS) else f"hsl({index * 137.508 % 360:.0f}, 65%, 42%)"


def section_of(key: str) -> str:
    """A key's section: its prefix before the first "/" ("" for none)."""
    return key.split("/", 1)[0] if "/" in key else ""


def number(value: float) -> str:
    """A step as people write it: 12,000, or 0.5 when it is not whole."""
    return f"{int(value):,}" if float(value).is_integer() and abs(value) < 1e15 else f"{value:.6g}"


# The picture shows this many charts at most: a kernel computes it whenever the
# board is displayed or a cell ends, and a notebook saves it. At 500 keys all of them
# took 4.5 s and 11.5 MB; 167 rows of small charts would not be read anyway.
PICTURE_CHARTS = 48
# Points per line: two per pixel of a chart's width, as the live board draws.
PICTURE_POINTS = 2 * CHART_WIDTH


def _line(series: Any, created: float, budget: int, colour: str) -> tuple[Line, bool]:
    """A series as a picture's line: two points per pixel, its NaN and inf counted and
    placed; and whether its x is wall time (seconds since ``created``) rather than step."""
    steps, walls, values = series.columns()  # of one length while another thread logs
    values = values.astype(np.float64)
    timed = series.timed
    x = walls - created if timed else steps
    picked = minmax(values, min(budget, PICTURE_POINTS))
    bad = ~np.isfinite(values)
    nan = int(np.isnan(values).sum())
    return Line(x[picked], values[picked], colour, nan, int(bad.sum()) - nan, x[bad]), timed


def _sections(charts: list[tuple[str, StaticChart]], counts: dict[str, int]) -> list[Any]:
    """The charts grouped as the board groups them: unprefixed keys first, then a
    section per prefix before "/" in order of first appearance."""
    grouped: dict[str, list[StaticChart]] = {"": []}
    for key, chart in charts:
        grouped.setdefault(section_of(key), []).append(chart)
    return [Section(name, group, counts.get(name, 0)) for name, group in grouped.items()]


def _counts(keys: list[str]) -> dict[str, int]:
    return Counter(section_of(key) for key in keys)


def text_tables(source: Any) -> list[TextTable]:
    """The text keys' latest values, newest first, as the board's text tables show."""
    tables = []
    for key, kind in source.kinds.items():
        if kind != "text":
            continue
        steps, _, values = source[key].columns()
        rows = [(number(s), str(v)) for s, v in zip(steps[-TEXT_ROWS:], values[-TEXT_ROWS:])]
        tables.append(TextTable(key, rows[::-1], len(steps)))
    return tables


def header(source: Any) -> list[tuple[str, str | None]]:
    """A run's header line as (text, colour) pieces: its name, its status (in the
    status's colour), its points, its last step (if it has one) and its duration."""
    status = source.status
    parts: list[tuple[str, str | None]] = [
        (source.name, None),
        (status, STATUS_COLOURS.get(status)),
        (f"{source.points:,} points", None),
    ]
    last = source.last_step()
    if last is not None:
        parts.append((f"last step {number(last)}", None))
    end = source.ended or source.now()
    parts.append((format_duration(max(0.0, end - source.created)), None))
    return parts


def picture(source: Any, budget: int = 2000) -> str:
    """An SVG of a run laid out as its board: the header, the numeric charts (the
    first PICTURE_CHARTS) in their sections and colours, decimated like the live
    board to two points per pixel (at most ``budget``), then the text tables."""
    numeric = [key for key, kind in source.kinds.items() if kind != "text"]
    charts = []
    for index, key in enumerate(numeric[:PICTURE_CHARTS]):
        series = source[key]
        line, timed = _line(series, source.created, budget, color(index))
        x_label = TIME if timed else "step"
        charts.append((key, StaticChart(key, [line], series.kind, len(series), x_label)))
    title = header(source)
    if len(numeric) > PICTURE_CHARTS:
        title.append((f"the first {PICTURE_CHARTS} of {len(numeric)} charts", None))
    return render_svg(_sections(charts, _counts(numeric)), title=title, texts=text_tables(source))


def overlay(
    title: list[tuple[str, str | None]],
    runs: list[tuple[Any, str, str]],
    table: Table,
    budget: int = 2000,
) -> str:
    """An SVG of a comparison: its header, the runs table, and the numeric keys of
    ``runs`` ((run, colour, label) each) overlaid, one line per run in its colour."""
    keys: dict[str, str] = {}
    for run, _, _ in runs:
        for key, kind in run.kinds.items():
            if kind != "text":
                keys.setdefault(key, kind)
    numeric = list(keys)
    charts = []
    for key in numeric[:PICTURE_CHARTS]:
        lines, timed, total = [], False, 0
        for run, colour, _ in runs:
            if key in run.kinds:
                line, timed = _line(run[key], run.created, budget, colour)
                lines.append(line)
                total += len(run[key])
        x_label = TIME if timed else "step"
        charts.append((key, StaticChart(key, lines, keys[key], total, x_label)))
    if len(numeric) > PICTURE_CHARTS:
        title = [*title, (f"the first {PICTURE_CHARTS} of {len(numeric)} charts", None)]
    legend = [(label, colour) for _, colour, label in runs]
    return render_svg(_sections(charts, _counts(numeric)), title=title, legend=legend, table=table)
