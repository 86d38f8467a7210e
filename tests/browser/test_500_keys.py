"""A board of 500 keys in JupyterLab and Chromium, while its training cell runs.

Beyond 64 charts a board builds a chart's bqplot widgets only once the chart comes
near the notebook's view (each chart is 15 widgets: building all 500 took the kernel
and the browser seconds each). The cell logs 500 keys in ten sections until the test
creates a stop file, so everything here happens while the cell shows [*]: the kernel
builds the charts the browser asks for from inside log().
"""

from __future__ import annotations

import lab
import pytest
from board_dom import wait_for_board

pytestmark = pytest.mark.browser

NAME = "keys_500.ipynb"
STOP = "stop-500-keys"
KEYS = [f"block_{k // 50}/key_{k:03d}" for k in range(500)]
CELL = f"""\
import math, pathlib, time
import hypertuner

logger = hypertuner.Logger(name="keys-500")
stop = pathlib.Path({STOP!r})
step = 0
while not stop.exists():
    logger.log({{key: math.sin(step / 40 + k) for k, key in enumerate({KEYS!r})}}, step)
    step += 1
    time.sleep(0.002)
logger.close()
"""


class BigBoard:
    def __init__(self, page) -> None:
        self.page = page

    def board(self):
        return lab.code_cell(self.page, 0).locator(".ht-board").last

    def wait_for(self, condition, what: str, timeout: float = 60.0):
        def describe(board):
            built = [c.index for c in board.charts if not c.placeholder]
            in_view = [
                (c.index, "placeholder" if c.placeholder else c.raw.points if c.marks else 0)
                for c in board.charts
                if c.in_view
            ]
            return (board.header, board.key_count, f"built: {built[:40]}", in_view)

        return wait_for_board(self.page, self.board(), condition, what, describe, timeout)

    def assert_running(self, doing: str) -> None:
        prompts = lab.prompts(self.page)
        assert prompts[0] == "*", f"the cell finished before {doing} (prompts {prompts})"


def drawn_in_view(board) -> bool:
    """Some chart is in view, and every chart in view is built and has its line."""
    in_view = [chart for chart in board.charts if chart.in_view and chart.on_show]
    return bool(in_view) and all(
        not chart.placeholder and chart.marks and chart.raw.points >= 2 for chart in in_view
    )


@pytest.fixture(scope="module")
def big(page, lab_server):
    with lab.cell_until_stopped(page, lab_server, NAME, CELL, STOP, "keys-500"):
        yield BigBoard(page)


def test_the_charts_in_view_are_built_and_drawn_the_rest_wait(big):
    board = big.wait_for(
        lambda b: len(b.charts) == len(KEYS) and drawn_in_view(b),
        "the board holds 500 charts and those in view are drawn",
        timeout=120,
    )
    assert board.key_count == "500 charts"
    assert [s["count"] for s in board.sections] == ["50"] * 10
    built = [chart.index for chart in board.charts if not chart.placeholder]
    assert 0 < len(built) < 100, f"{len(built)} charts built: {built}"
    assert [chart.index for chart in board.charts] == list(range(len(KEYS)))  # in key order
    big.assert_running("the first charts were drawn")


def test_a_chart_scrolled_to_is_built_and_drawn_while_the_cell_runs(big):
    last = len(KEYS) - 1
    big.board().locator(f".ht-chart.ht-i-{last}").scroll_into_view_if_needed()
    board = big.wait_for(
        lambda b: b.charts[last].in_view and not b.charts[last].placeholder and drawn_in_view(b),
        f"{KEYS[last]}, scrolled to, is built and drawn",
    )
    assert board.charts[last].key == KEYS[last]
    assert sum(not chart.placeholder for chart in board.charts) < len(KEYS) // 2
    big.assert_running("scrolling to the last chart")


def test_the_filter_brings_a_far_chart_into_view(big):
    big.board().locator(".ht-chart.ht-i-0").scroll_into_view_if_needed()
    big.board().locator(".ht-controls [data-testid='key-filter']").fill("key_(250|251)$")
    board = big.wait_for(
        lambda b: b.shown_keys == [KEYS[250], KEYS[251]] and drawn_in_view(b),
        "the two charts the filter matches are built and drawn",
    )
    assert board.key_count == "2 of 500 charts"
    big.board().locator(".ht-controls [data-testid='key-filter']").fill("")
    big.wait_for(lambda b: b.key_count == "500 charts", "every chart is back")
    big.assert_running("filtering")


def test_a_page_reloaded_while_the_cell_runs_gets_the_big_board_back(big):
    """A reloaded page starts with no chart built in its view: it asks again, and the
    kernel, still in the training loop, sends the charts it built and their points."""
    big.board().locator(".ht-chart.ht-i-0").scroll_into_view_if_needed()
    lab.save_and_reload(big.page)
    board = big.wait_for(
        lambda b: len(b.charts) == len(KEYS) and drawn_in_view(b) and "running" in b.header,
        "the reloaded page shows the 500-key board, the charts in view drawn",
        timeout=120,
    )
    assert board.key_count == "500 charts"
    # A reloaded page shows no prompt for an execution it did not start: the header,
    # still counting steps, shows the cell goes on.
    at = last_step(board)
    big.wait_for(lambda b: last_step(b) > at + 100, "the header still counts steps")


def last_step(board) -> int:
    return int(board.header.split("last step ")[1].split(" ")[0].replace(",", ""))


def points_of(chart) -> int:
    """The point count of a built chart's note ("key  ·  12,345 pts, 1,100 drawn")."""
    return int(chart.title.split("  ·  ")[1].split(" pts")[0].replace(",", ""))


def test_after_the_cell_ends_a_chart_scrolled_to_gets_every_point(big, lab_server):
    """The cell's end sends the charts in view, not all 500 (what the byte budget held
    back of the others was tens of megabytes); one scrolled to afterwards, never near
    a view before, is sent then, whole to the last step."""
    (lab_server.root_dir / STOP).touch()
    board = big.wait_for(lambda b: "finished" in b.header, "the header says finished", 120)
    points = last_step(board) + 1  # every key at every step from 0
    far = 375  # never scrolled to, filtered to or reloaded near
    big.board().locator(f".ht-chart.ht-i-{far}").scroll_into_view_if_needed()
    board = big.wait_for(
        lambda b: (
            b.charts[far].in_view
            and not b.charts[far].placeholder
            and drawn_in_view(b)
            and points_of(b.charts[far]) == points
        ),
        f"{KEYS[far]}, scrolled to after the end, holds all {points:,} points",
    )
    assert board.charts[far].key == KEYS[far]
