"""A board of 64 keys in JupyterLab and Chromium, while its training cell runs.

The notebook's one cell logs 64 keys (16 under train/, 16 under val/, 32 under
grad_norm/) until the test creates a stop file in the notebook's folder, so the
cell shows [*] for exactly as long as the test looks, however loaded the machine.
The key filter and the sections must work then, in the browser alone (the kernel
is busy and runs no widget callback), and a chart hidden while points arrive must
show its newest points once shown again.
"""

from __future__ import annotations

import lab
import pytest
from board_dom import wait_for_board

pytestmark = pytest.mark.browser

NAME = "many_keys.ipynb"
STOP = "stop-many-keys"
SECTIONS = {"train": 16, "val": 16, "grad_norm": 32}
KEYS = [
    *(f"train/loss_{i}" for i in range(16)),
    *(f"val/metric_{i}" for i in range(16)),
    *(f"grad_norm/layer_{i:02d}" for i in range(32)),
]
CELL = f"""\
import math, pathlib, time
import hypertuner

logger = hypertuner.Logger(name="many-keys")
stop = pathlib.Path({STOP!r})
step = 0
while not stop.exists():
    values = {{f"train/loss_{{i}}": math.exp(-step / 400) * (1 + i) for i in range(16)}}
    values.update({{f"val/metric_{{i}}": math.sin(step / 50 + i) for i in range(16)}})
    values.update({{f"grad_norm/layer_{{i:02d}}": 1 / (1 + step + i) for i in range(32)}})
    logger.log(values, step)
    step += 1
    time.sleep(0.001)
logger.close()
"""


class ManyKeys:
    def __init__(self, page, root, artifacts) -> None:
        self.page, self.root, self.artifacts = page, root, artifacts

    def board(self):
        return lab.code_cell(self.page, 0).locator(".ht-board").last

    def control(self, testid: str):
        return self.board().locator(f".ht-controls [data-testid='{testid}']")

    def wait_for(self, condition, what: str, timeout: float = 60.0):
        def describe(board):
            return (board.header, board.key_count, board.shown_keys[:8], board.sections)

        return wait_for_board(self.page, self.board(), condition, what, describe, timeout)

    def look_at(self, key: str) -> None:
        """Scroll the chart of ``key`` into the window: only charts near it are drawn."""
        self.board().locator(f".ht-chart.ht-i-{KEYS.index(key)}").scroll_into_view_if_needed()

    def assert_running(self, doing: str) -> None:
        prompts = lab.prompts(self.page)
        assert prompts[0] == "*", f"the cell finished before {doing} (prompts {prompts})"

    def last_step(self, board) -> int:
        header = board.header
        return int(header.split("last step ")[1].split(" ")[0].replace(",", ""))


@pytest.fixture(scope="module")
def many(page, lab_server, artifacts_dir):
    with lab.cell_until_stopped(page, lab_server, NAME, CELL, STOP, "many-keys"):
        view = ManyKeys(page, lab_server.root_dir, artifacts_dir)
        view.wait_for(
            lambda b: len(b.charts) == len(KEYS) and "last step" in b.header,
            "the board has its 64 charts",
            timeout=120,
        )
        yield view


def test_sections_count_their_charts(many):
    board = many.wait_for(lambda b: b.key_count == "64 charts", "the count says 64 charts")
    assert [(s["name"], s["count"], s["arrow"]) for s in board.sections] == [
        (name, str(count), "▾") for name, count in SECTIONS.items()
    ]
    assert board.toggles == []
    assert board.shown_keys == KEYS
    many.assert_running("the sections")
    lab.screenshot(many.board(), many.artifacts, "many_keys_1_all")


def test_the_filter_narrows_the_charts_while_the_cell_runs(many):
    many.control("key-filter").fill("^val/")
    board = many.wait_for(
        lambda b: b.shown_keys == KEYS[16:32], "only the 16 val/ charts are on show"
    )
    assert board.key_count == "16 of 64 charts"
    shown = {s["name"]: (s["on_show"], s["count"]) for s in board.sections}
    assert shown == {"train": (False, "0 of 16"), "val": (True, "16 of 16"),
                     "grad_norm": (False, "0 of 32")}  # fmt: skip
    lab.screenshot(many.board(), many.artifacts, "many_keys_2_filtered")

    many.control("key-filter").fill("metric_1")  # a regular expression: 1, 10..15
    many.wait_for(
        lambda b: b.shown_keys == ["val/metric_1", *(f"val/metric_{i}" for i in range(10, 16))],
        "metric_1 matches seven charts",
    )
    many.control("key-filter").fill("layer_0(")  # not a regular expression: plain text
    board = many.wait_for(lambda b: b.key_count == "0 of 64 charts", "nothing matches the text")
    assert board.filter_literal is True and board.shown_keys == []
    many.control("key-filter").fill("")
    many.wait_for(lambda b: b.shown_keys == KEYS and b.key_count == "64 charts", "all are back")
    many.assert_running("filtering")


def test_a_collapsed_section_stays_collapsed_and_catches_up_when_expanded(many):
    """Collapsing grad_norm hides its 32 charts through later redraws, and they are not
    drawn meanwhile; expanded again, they show points logged while collapsed."""
    many.look_at("grad_norm/layer_00")
    many.wait_for(lambda b: b.chart("grad_norm/layer_00").raw.points >= 2, "layer_00 is drawn")
    title = many.board().locator(".ht-section[data-section='grad_norm']")
    title.click()
    board = many.wait_for(
        lambda b: b.section("grad_norm")["arrow"] == "▸" and b.shown_keys == KEYS[:32],
        "grad_norm is collapsed",
    )
    folded_at = many.last_step(board)
    before = board.chart("grad_norm/layer_00").raw
    in_view = KEYS[31]  # the last val/ chart, now just above the collapsed section
    many.look_at(in_view)
    shown_before = many.wait_for(lambda b: b.chart(in_view).in_view, f"{in_view} is in view")
    shown_before = shown_before.chart(in_view).raw
    board = many.wait_for(
        lambda b: (
            many.last_step(b) > folded_at + 200
            and b.chart(in_view).raw.d_hash != shown_before.d_hash  # the others in view are
        ),
        f"training goes on 200 steps and {in_view} is redrawn",
        timeout=120,
    )
    assert board.section("grad_norm")["arrow"] == "▸" and board.shown_keys == KEYS[:32]
    # Not drawn while collapsed: its line is as it was, 200 steps ago.
    assert board.chart("grad_norm/layer_00").raw.d_hash == before.d_hash
    many.assert_running("the collapsed section")
    title.click()
    many.look_at("grad_norm/layer_00")
    board = many.wait_for(
        lambda b: (
            b.shown_keys == KEYS and b.chart("grad_norm/layer_00").raw.d_hash != before.d_hash
        ),
        "grad_norm is back, drawn anew",
    )
    assert board.chart("grad_norm/layer_00").raw.points >= 2
    many.assert_running("expanding the section")


def test_a_page_reloaded_while_the_cell_runs_shows_every_chart_growing(many):
    """Saved and reloaded mid-training, the page gets the board back while the cell still
    runs: all 64 charts with their lines, the header still counting steps."""
    board = many.wait_for(lambda b: "last step" in b.header, "the header counts steps")
    before = many.last_step(board)
    lab.save_and_reload(many.page)
    many.wait_for(lambda b: len(b.charts) == len(KEYS), "the reloaded page has the board")
    many.look_at(KEYS[0])
    board = many.wait_for(
        lambda b: (
            len(b.charts) == len(KEYS)
            and any(chart.in_view for chart in b.charts)
            and all(chart.raw.points >= 2 for chart in b.charts if chart.in_view)
            and many.last_step(b) > before
        ),
        "the reloaded page shows every chart in view with its line",
        timeout=120,
    )
    assert board.key_count == "64 charts" and "running" in board.header
    # The charts further down are drawn as they come into view.
    last = KEYS[-1]
    many.look_at(last)
    board = many.wait_for(
        lambda b: b.chart(last).in_view and b.chart(last).raw.points >= 2,
        f"{last}, scrolled to, shows its line",
    )
    reloaded_at = many.last_step(board)
    board = many.wait_for(
        lambda b: many.last_step(b) > reloaded_at + 100, "the board still grows", timeout=60
    )
    assert not (many.root / STOP).exists()  # the cell was running all along
    lab.screenshot(many.board(), many.artifacts, "many_keys_3_reloaded")
