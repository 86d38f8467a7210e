"""The browser-side engine of a board: one anywidget that draws every chart.

The kernel never writes to the bqplot marks. It sends each chart's decimated
points to this widget's ``data`` trait as binary arrays, and ``engine.js`` (a
plain ES module, no build step) puts them on the marks, smooths them, switches
the x axis and the y scale, hides lines, and shows the value under the cursor.
All of that runs in the browser, so it keeps working while a training loop keeps
the kernel busy (widget callbacks in Python would wait for the cell to finish).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import anywidget
import traitlets
from ipywidgets import widget_serialization

from .._resources import module
from .static import STATUS_COLOURS, STATUS_COLOURS_DARK

__all__ = ["Engine"]

_ESM = module("engine.js")

DARK = "[data-jp-theme-light='false']"


def status_css() -> str:
    """CSS colouring an element of class ``ht-<status>`` by its status, in either theme."""
    return "".join(
        f".ht-{status} {{ color: {STATUS_COLOURS[status]}; }}\n"
        f"{DARK} .ht-{status} {{ color: {STATUS_COLOURS_DARK[status]}; }}\n"
        for status in STATUS_COLOURS
    )


class Engine(anywidget.AnyWidget):
    """Control bar and drawing engine for the charts of one board."""

    _esm = _ESM
    _css = """
    /* bqplot colours axis labels with this variable, orange in a dark theme. */
    .ht-board, .ht-compare, .ht-sweep { --bq-content-font-color: var(--jp-ui-font-color1, #333); }
    .ht-controls { display: flex; flex-wrap: wrap; gap: 4px 16px; align-items: center;
      font: 12px var(--jp-ui-font-family, sans-serif); padding: 2px 4px; }
    .ht-controls label { display: inline-flex; align-items: center; gap: 4px; }
    .ht-controls input[type=range] { width: 120px; }
    .ht-controls .ht-value { min-width: 2.4em; font-variant-numeric: tabular-nums; }
    .ht-controls button { font-size: 11px; padding: 1px 6px; cursor: pointer; }
    .ht-controls button.ht-off { opacity: .45; text-decoration: line-through; }
    .ht-controls input[type=search] { width: 200px; font-size: 12px; }
    .ht-controls input.ht-literal { outline: 1px dashed var(--jp-warn-color1, #ef6c00); }
    .ht-controls .ht-count { color: var(--jp-ui-font-color2, #777); }
    .ht-section { cursor: pointer; user-select: none; padding: 6px 4px 2px;
      font: 13px var(--jp-ui-font-family, sans-serif); }
    .ht-section .ht-count { color: var(--jp-ui-font-color2, #777); font-weight: normal; }
    .ht-gone { display: none !important; }
    /* A board reopened from a saved notebook, with no kernel: ipywidgets marks every
       widget with a broken-link icon, a pseudo-element that a grid lays out as a
       chart of its own. The board's own icon says it once. */
    .ht-board .jupyter-widgets-disconnected::before { content: none; display: none; }
    .ht-placeholder { height: 250px; box-sizing: border-box; padding: 8px 58px;
      font: 12px var(--jp-ui-font-family, sans-serif); color: var(--jp-ui-font-color2, #777);
      text-align: center; border: 1px dashed var(--jp-border-color2, #ddd); }
    .ht-readout { position: absolute; z-index: 2; pointer-events: none; max-width: 60%;
      font: 11px var(--jp-ui-font-family, sans-serif); color: var(--jp-ui-font-color1, #333);
      background: var(--jp-layout-color0, #fff); border: 1px solid var(--jp-border-color1, #ccc);
      border-radius: 3px; padding: 3px 6px; box-shadow: 0 1px 3px rgba(0,0,0,.15); }
    .ht-readout .ht-at { color: var(--jp-ui-font-color2, #666); margin-bottom: 1px; }
    .ht-readout .ht-row { display: flex; align-items: center; gap: 6px; white-space: nowrap; }
    .ht-readout .ht-swatch { width: 10px; height: 3px; flex: none; }
    .ht-readout .ht-who { overflow: hidden; text-overflow: ellipsis; }
    .ht-readout .ht-value, .ht-readout .ht-smoothed { font-variant-numeric: tabular-nums; }
    .ht-readout .ht-value { font-weight: 600; margin-left: auto; }
    .ht-readout .ht-smoothed { color: var(--jp-ui-font-color2, #777); }
    /* The span a drag zooms to, shaded as it goes (the plot spans 38px to 36px from the bottom). */
    .ht-zoombox { position: absolute; top: 38px; bottom: 36px; z-index: 1; pointer-events: none;
      background: rgba(66, 133, 244, .15); border-left: 1px solid rgba(66, 133, 244, .7);
      border-right: 1px solid rgba(66, 133, 244, .7); }
    .ht-chart.ht-dragging .ht-readout { display: none; }
    .ht-chart .plotarea_events, .ht-chart g.interaction,
    .ht-chart g.interaction * { cursor: crosshair !important; }
    /* The engine's title in place of bqplot's: ellipsised, the note under it. */
    .ht-chart.ht-headed text.mainheading { display: none; }
    .ht-head { position: absolute; top: 2px; left: 58px; right: 14px; text-align: center;
      pointer-events: none; font: 14px var(--jp-ui-font-family, sans-serif);
      color: var(--jp-ui-font-color1, #333); }
    .ht-head .ht-name { white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
      pointer-events: auto; }
    /* Over the plot area: the figure less its margins (Chart.build's fig_margin). */
    .ht-bad { position: absolute; left: 58px; right: 14px; bottom: 36px; height: 7px;
      pointer-events: none; }
    .ht-bad .ht-mark { position: absolute; top: 0; width: 2px; height: 7px; }
    .ht-head .ht-drawn { font-size: 10px; line-height: 12px; min-height: 12px;
      color: var(--jp-ui-font-color2, #777); }
    """ + status_css()

    # One dict of bqplot widget references per chart, in chart order.
    charts = traitlets.List(traitlets.Dict()).tag(sync=True, **widget_serialization)
    names = traitlets.List(traitlets.Unicode()).tag(sync=True)  # ("keys" is taken by Widget)
    colors = traitlets.List(traitlets.Unicode()).tag(sync=True)
    # In an overlay, what the legend and the readout call each run (names by default).
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    # What the show/hide buttons name: each chart's key, or each run of an overlay.
    toggle_by = traitlets.Enum(["chart", "run"], "chart").tag(sync=True)
    # {"rev": n, "full": bool, "lines": {"<chart>/<run>": {"x", "t", "y", "mx", ...,
    # "from", "mfrom", "size", "keep"}}}: only what changed since the last send, each
    # line's points from index "from" on (its bucket sums from "mfrom"); the browser
    # keeps the rest, less the points "keep" drops and with its buckets merged up to
    # "size". A full one (every line whole) is what a new view gets, see get_state.
    data = traitlets.Dict().tag(sync=True)

    # Owned by the browser: set there and saved, read here once the kernel is idle.
    smoothing = traitlets.Float(0.6).tag(sync=True)
    log_y = traitlets.Bool(False).tag(sync=True)
    # Ignore outliers: y fits the 1st-99th percentile of what is in view.
    robust = traitlets.Bool(False).tag(sync=True)
    x_mode = traitlets.Unicode("step").tag(sync=True)
    hidden = traitlets.List(traitlets.Unicode()).tag(sync=True)
    # The charts near a view (their indices), as the browser sees them: the board
    # builds those not built yet (see board.Chart) and sends their points first.
    wanted = traitlets.List(traitlets.Int()).tag(sync=True)
    # Runs of an overlay left out altogether (a comparison's unticked runs), set by
    # the browser so that ticking a run shows it at once, even while the kernel is busy.
    masked = traitlets.List(traitlets.Unicode()).tag(sync=True)
    reset = traitlets.Int(0).tag(sync=True)
    # Set by a front end running engine.js, which keeps every line whole in the state
    # it saves (see keepWhole there): a cell's end then sends only what changed. Left
    # False by front ends that save the last message's state (nbclient, papermill),
    # which get every line whole at the end.
    whole_kept = traitlets.Bool(False).tag(sync=True)
    # Which charts are on show: those whose key matches the filter (a regular
    # expression, case-insensitive; text that is not one is matched as it is), in a
    # section not collapsed. Charts not on show are not drawn.
    key_filter = traitlets.Unicode("").tag(sync=True)
    collapsed = traitlets.List(traitlets.Unicode()).tag(sync=True)

    # Set by the kernel: each chart's key, in chart order (whatever the buttons name).
    chart_keys = traitlets.List(traitlets.Unicode()).tag(sync=True)

    # Names this engine to every view of it: anywidget gives initialize() and each
    # render() in engine.js a proxy of their own, so the proxy cannot be the key.
    uid = traitlets.Unicode().tag(sync=True)

    @traitlets.default("uid")
    def _new_uid(self) -> str:
        return uuid.uuid4().hex

    def __init__(self, **kwargs: Any) -> None:
        # What ``data`` a view made anew gets: every line whole (the board's), where
        # the trait itself holds only the last change sent to the views already open.
        self.snapshot: Callable[[], dict[str, Any]] | None = None
        super().__init__(**kwargs)

    def get_state(self, key: Any = None, drop_defaults: bool = False) -> dict[str, Any]:
        # key None: the whole state, for a new view (the widget's opening, a page
        # reload's request): its data is then the snapshot, not the last delta.
        state = super().get_state(key, drop_defaults=drop_defaults)
        if key is None and self.snapshot is not None:
            state["data"] = self.snapshot()
        return state

    def __repr__(self) -> str:
        # The default repr would list every trait, arrays included.
        return f"<hypertuner Engine: {len(self.names)} charts>"
