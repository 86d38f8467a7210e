"""A board whose logger stays open across cells is the same board after each cell.

Re-running a training cell with the same logger is how a person trains for longer.
JupyterLab renders a widget's output anew whenever the kernel updates it (a whole
new view of every chart, the output's text shown meanwhile, the old view left
listening), so the kernel must not update a live board's output at each cell's end
to refresh its static picture. The picture is brought up to date once, when the
logger closes, so that the saved notebook shows the final charts where widgets
cannot render (GitHub, nbconvert).
"""

from __future__ import annotations

import json
import re

import lab
import pytest
from board_dom import look_at, wait_for_board

pytestmark = pytest.mark.browser

NAME = "board_kept.ipynb"
GO = ("go-kept-1", "go-kept-2")
FIRST = """\
import pathlib, time
import hypertuner

logger = hypertuner.Logger(name="kept")
for step in range(100):
    logger.log({"loss": 1 / (1 + step)}, step)
"""
# The cells wait for the test, and for the page's word that it keeps every line
# itself (sent as it first drew the board, read by the kernel while a cell runs).
MORE = """\
while not (pathlib.Path({go!r}).exists() and logger._board._engine.whole_kept):
    time.sleep(0.05)
for step in range({start}, {end}):
    logger.log({{"loss": 1 / (1 + step)}}, step)
"""
LAST = """\
while not pathlib.Path({go!r}).exists():
    time.sleep(0.05)
logger.close()
"""
MARK = "el => el.setAttribute('data-kept', 'yes')"


def wait_header(page, text: str) -> None:
    page.wait_for_function(
        """([cell, text]) => {
            const el = document.querySelectorAll(cell)[0]?.querySelector('.ht-header');
            return !!el && el.textContent.includes(text);
        }""",
        arg=[lab.CODE_CELL, text],
        timeout=60_000,
        polling=100,
    )


def test_the_board_is_not_rebuilt_when_a_cell_ends_only_its_saved_picture_at_close(
    page, lab_server, artifacts_dir
):
    root = lab_server.root_dir
    for go in GO:
        (root / go).unlink(missing_ok=True)
    cells = [
        FIRST,
        MORE.format(go=GO[0], start=100, end=300),
        LAST.format(go=GO[1]),
    ]
    lab.open_cells(page, lab_server, NAME, cells)
    try:
        lab.run_all(page)
        lab.wait_running(page, 1, timeout=120)  # the first cell has ended
        wait_header(page, "100 points")
        board = lab.code_cell(page, 0).locator(".ht-board")
        board.evaluate(MARK)  # the element a person is looking at
        (root / GO[0]).touch()
        lab.wait_running(page, 2, timeout=120)  # the second cell has ended
        wait_header(page, "300 points")
        kept = lab.code_cell(page, 0).locator(".ht-board[data-kept='yes']")
        assert kept.count() == 1, "the board was built anew when the cell ended"
        assert lab.code_cell(page, 0).locator(".ht-board").count() == 1
        look_at(kept.locator(".ht-chart").first)
        wait_for_board(  # and it still draws: its one chart holds all 300 points
            page,
            kept,
            lambda s: (
                [c.key for c in s.charts] == ["loss"]
                and s.charts[0].raw.points == 300
                and s.key_count == "1 chart"
            ),
            "the kept board's chart drawn to step 299",
            lambda s: [(c.title, c.raw.points if c.marks else None) for c in s.charts],
        )
    finally:
        (root / GO[1]).touch()
    lab.wait_all_done(page)
    wait_header(page, "finished")

    # Saved now, the notebook's picture of the board is the final one.
    page.locator(f"{lab.PANEL} .jp-Toolbar [data-command='docmanager:save']").click()
    page.wait_for_selector(".lm-TabBar-tab.lm-mod-current:not(.jp-mod-dirty)")
    (output,) = json.loads((root / NAME).read_text())["cells"][0]["outputs"]
    text = "".join(output["data"]["text/plain"])
    assert re.search(r"\bfinished\b", text) and re.search(r"\bloss\s+300\b", text), text
    assert "<svg" in "".join(output["data"]["image/svg+xml"])
    lab.screenshot(lab.code_cell(page, 0), artifacts_dir, "board-kept")


def test_a_page_reloaded_between_cells_gets_the_board_back_and_the_next_cell_draws_on_it(
    page, lab_server, artifacts_dir
):
    """Reloaded while the kernel is idle, the page rebuilds the board from the kernel's
    widget state; the next cell's points join its lines, none lost or doubled."""
    root = lab_server.root_dir
    go = ("go-reload-1", "go-reload-2")
    for path in go:
        (root / path).unlink(missing_ok=True)
    cells = [
        FIRST.replace('name="kept"', 'name="reloaded"'),
        MORE.format(go=go[0], start=100, end=300),
        LAST.format(go=go[1]),
    ]
    name = "board_reloaded.ipynb"
    lab.open_cells(page, lab_server, name, cells)
    try:
        lab.run_cell(page, 0)
        page.wait_for_function(  # the first cell alone has run: the kernel is idle
            "(s) => /\\[\\d+\\]/.test(document.querySelectorAll(s)[0]?.textContent)",
            arg=lab.PROMPT,
            timeout=120_000,
        )
        wait_header(page, "100 points")
        lab.save_and_reload(page)
        wait_header(page, "100 points")  # rebuilt from the kernel, not a picture
        lab.collapse_left_sidebar(page)
        lab.run_cell(page, 1, below=True)
        (root / go[0]).touch()
        lab.wait_running(page, 2, timeout=120)  # the second cell has ended
        wait_header(page, "300 points")
        board = lab.code_cell(page, 0).locator(".ht-board")
        assert board.count() == 1
        look_at(board.locator(".ht-chart").first)
        wait_for_board(
            page,
            board,
            lambda s: (
                [c.key for c in s.charts] == ["loss"]
                and s.charts[0].raw.points == 300  # steps 0-299, each once
            ),
            "the reloaded board's chart drawn with all 300 points",
            lambda s: [(c.title, c.raw.points) for c in s.charts if c.marks],
        )
        lab.screenshot(lab.code_cell(page, 0), artifacts_dir, "board-reloaded")
    finally:
        (root / go[1]).touch()
    lab.wait_all_done(page)
    wait_header(page, "finished")
