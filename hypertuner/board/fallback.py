"""What a board shows where widgets cannot render: a static picture and a summary.

Imports neither ipywidgets nor bqplot, so terminal IPython can use it too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..downsample import minmax
from .static import StaticChart, render_svg, summary_text

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


def picture(source: Any, budget: int = 2000) -> str:
    """An SVG of every numeric chart, decimated like the live board."""
    charts = []
    for key, series in source.items():
        if series.kind == "text":
            continue
        values = series.values.astype(np.float64)
        timed = series.timed
        x = series.walls - source.created if timed else series.steps
        picked = minmax(values, budget)
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
    return render_svg(charts, title=f"{source.name} · {source.status}")
