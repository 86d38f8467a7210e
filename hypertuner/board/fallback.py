"""What a board shows where widgets cannot render: a static picture and a summary.

Imports neither ipywidgets nor bqplot, so terminal IPython can use it too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..downsample import minmax
from .static import CHART_WIDTH, StaticChart, render_svg, summary_text

__all__ = ["picture", "summary"]


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


# The picture shows this many charts at most: a kernel computes it whenever the
# board is displayed or a cell ends, and a notebook saves it. At 500 keys all of them
# took 4.5 s and 11.5 MB; 167 rows of small charts would not be read anyway.
PICTURE_CHARTS = 48
# Points per line: two per pixel of a chart's width, as the live board draws.
PICTURE_POINTS = 2 * CHART_WIDTH


def picture(source: Any, budget: int = 2000) -> str:
    """An SVG of the numeric charts (the first PICTURE_CHARTS), decimated like the
    live board to two points per pixel (at most ``budget``)."""
    charts = []
    numeric = [key for key, kind in source.kinds.items() if kind != "text"]
    for key in numeric[:PICTURE_CHARTS]:
        series = source[key]
        steps, walls, values = series.columns()  # of one length while another thread logs
        values = values.astype(np.float64)
        timed = series.timed
        x = walls - source.created if timed else steps
        picked = minmax(values, min(budget, PICTURE_POINTS))
        charts.append(
            StaticChart(
                title=key,
                x=x[picked],
                y=values[picked],
                kind=series.kind,
                total=len(values),
                x_label="time (s)" if timed else "step",
            )
        )
    title = f"{source.name} · {source.status}"
    if len(numeric) > PICTURE_CHARTS:
        title += f" · the first {PICTURE_CHARTS} of {len(numeric)} charts"
    return render_svg(charts, title=title)
