"""A notebook saved while its training cell runs, reopened later: the whole board is back.

What JupyterLab saves of a widget (with Settings > Save Widget State Automatically,
which the test server turns on) is its model's state as the browser holds it. The
kernel sends a board only what changed since its last message, so the browser keeps
its board's ``data`` as every line whole, and a notebook saved mid-run keeps the
board drawn up to that moment. The test saves while the cell shows [*], stops the
training and every kernel, and opens the saved notebook again: no kernel knows the
board now, so what is drawn comes from the file alone.
"""

from __future__ import annotations

import base64
import json
import re

import lab
import numpy as np
import pytest
from board_dom import look_at, wait_for_board

pytestmark = pytest.mark.browser

NAME = "saved_board.ipynb"
STOP = "stop-saved-board"
KEYS = ["train/loss", "train/acc", "lr"]
CELL = f"""\
import math, pathlib, time
import hypertuner

logger = hypertuner.Logger(name="saved-board")
stop = pathlib.Path({STOP!r})
step = 0
while not stop.exists():
    logger.log({{"train/loss": 1 / (1 + step / 300) + 0.05 * math.sin(step / 7),
                "train/acc": 1 - 1 / (1 + step / 500), "lr": 0.1 * 0.999 ** step}}, step)
    step += 1
    time.sleep(0.001)
logger.close()
"""
POINTS = re.compile(r"([\d,]+) pts")


def points_in(title: str) -> int:
    found = POINTS.search(title)
    return int(found.group(1).replace(",", "")) if found else 0


def board(page):
    return lab.code_cell(page, 0).locator(".ht-board").last


def saved_engine(path) -> dict:
    """The engine's model in the saved file's widget state."""
    models = json.loads(path.read_text())["metadata"]["widgets"][
        "application/vnd.jupyter.widget-state+json"
    ]["state"]
    (engine,) = [m for m in models.values() if "chart_keys" in m["state"]]
    return engine


def drawn_whole(state) -> bool:
    """Every chart is drawn, from its first step on."""
    charts = [c for c in state.charts if c.marks]
    return len(charts) == len(KEYS) and all(
        c.raw.points >= 2 and points_in(c.title) >= 2000 and c.x_axis.ticks[0][0] == "0"
        for c in charts
    )


def describe(state) -> list:
    return [(c.title, c.raw.points if c.marks else None, c.x_axis.ticks[:2]) for c in state.charts]


def test_a_notebook_saved_mid_run_reopens_with_the_whole_board(page, lab_server, artifacts_dir):
    path = lab_server.root_dir / NAME
    with lab.cell_until_stopped(page, lab_server, NAME, CELL, STOP, "saved-board"):
        live = wait_for_board(
            page,
            board(page),
            lambda s: all(points_in(c.title) >= 2000 for c in s.charts) and len(s.charts) == 3,
            "every chart past 2,000 points while the cell runs",
            describe,
        )
        assert lab.prompts(page)[0] == "*", "the cell ended before the save"
        page.locator(f"{lab.PANEL} .jp-Toolbar [data-command='docmanager:save']").click()
        page.wait_for_selector(".lm-TabBar-tab.lm-mod-current:not(.jp-mod-dirty)")
        assert lab.prompts(page)[0] == "*", "the cell ended before the save was done"

    # The file holds every line whole, from step 0, as the page had it.
    engine = saved_engine(path)
    data = engine["state"]["data"]
    assert engine["state"]["chart_keys"] == KEYS
    assert data["full"] and sorted(data["lines"]) == ["0/0", "1/0", "2/0"]
    totals = {line["total"] for line in data["lines"].values()}
    assert min(totals) >= min(points_in(c.title) for c in live.charts)
    buffers = {tuple(b["path"]): base64.b64decode(b["data"]) for b in engine["buffers"]}
    for where, line in data["lines"].items():
        assert (line["from"], line["mfrom"]) == (0, 0)
        wide = "x" in line["wide"]
        x = np.frombuffer(
            buffers[("data", "lines", where, "x")], np.float64 if wide else np.float32
        )
        assert x[0] == 0 and np.all(np.diff(x) > 0), where

    # Reopened with no kernel holding the board: drawn from the file alone.
    lab_server.shutdown_kernels()
    lab.open_notebook(page, lab_server.url, NAME)
    lab.collapse_left_sidebar(page)
    look_at(board(page).locator(".ht-chart").first)
    reopened = wait_for_board(
        page,
        board(page),
        drawn_whole,
        "every chart drawn from step 0 from the saved state",
        describe,
    )
    for chart in reopened.charts:
        assert points_in(chart.title) in totals, chart.title
    lab.screenshot(board(page), artifacts_dir, "saved-board-reopened")
