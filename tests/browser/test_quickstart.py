"""notebooks/quickstart.ipynb, run for real in JupyterLab and Chromium.

The module copies the notebook into the server's root folder, opens it and runs
all cells once (its runs land in ``<root>/runs``). The tests then share that one
run, in file order: first those that must act while the training cell still shows
[*] (its ~6000 steps take about 15 s), then those that look at the end result.

Every check is a wait for a condition on the board's DOM (see ``board_dom``), with
generous timeouts; "still running" is judged by the cell's prompt only, because the
kernel status in JupyterLab reads "Idle" between widget messages while a cell runs.
"""

from __future__ import annotations

import math
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import lab
import pytest
from board_dom import Board, log_spaced, snapshot, x_pixel_to_value

import hypertuner

pytestmark = pytest.mark.browser

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"
# The numeric keys train() logs, in chart order ("phase" is text: it goes to the table).
KEYS = ["train/loss", "train/acc", "lr", "val/loss", "val/acc", "is_best"]
LOSS = "train/loss"
READOUT = re.compile(r"^step ([\d,]+): (\S+)$")


class QuickstartRun:
    """The page running the quickstart, and ways to look at its boards."""

    def __init__(self, page, root: Path, artifacts: Path) -> None:
        self.page = page
        self.root = root
        self.artifacts = artifacts
        self.train_cell = lab.code_cell_index(page, "train(")
        self.reopen_cell = lab.code_cell_index(page, "hypertuner.load(")
        self.started = 0.0  # time.monotonic() at Run All

    def board(self, cell: int | None = None):
        """Locator of the board shown by a code cell (the training cell by default)."""
        cell = self.train_cell if cell is None else cell
        return lab.code_cell(self.page, cell).locator(".ht-board").last

    def control(self, testid: str):
        return self.board().locator(f".ht-controls [data-testid='{testid}']")

    def snapshot(self, cell: int | None = None) -> Board:
        return snapshot(self.board(cell))

    def wait_for(
        self,
        condition: Callable[[Board], object],
        what: str,
        cell: int | None = None,
        timeout: float = 30.0,
    ) -> Board:
        """Poll the board until ``condition(board)`` is true; return that board.

        A board still being built raises (no such chart yet, element replaced): that
        counts as "not yet". On timeout the last state is in the failure message.
        """
        deadline = time.monotonic() + timeout
        last: object = "no board yet"
        while True:
            try:
                board = self.snapshot(cell)
                if condition(board):
                    return board
                last = describe(board)
            except Exception as exc:  # noqa: BLE001 - not there yet; keep polling
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout:.0f} s waiting until {what}; last seen:\n{last}"
                )
            self.page.wait_for_timeout(100)

    def assert_running(self, doing: str) -> None:
        """Fail clearly if the training cell no longer shows [*]."""
        prompts = lab.prompts(self.page)
        assert prompts[self.train_cell] == "*", (
            f"the training cell finished before {doing} was checked (prompts {prompts}, "
            f"{time.monotonic() - self.started:.1f} s after Run All); "
            "this check must run while it trains"
        )

    def wait_all_done(self) -> None:
        lab.wait_all_done(self.page, timeout=180)

    def shot(self, name: str, cell: int | None = None, keep_mouse: bool = False) -> None:
        """Screenshot a cell's board into the artifacts folder.

        The mouse is first moved off the board (unless ``keep_mouse``): over a chart,
        bqplot shows its toolbar on top of the title.
        """
        if not keep_mouse:
            self.page.mouse.move(0, 0)
        lab.screenshot(self.board(cell), self.artifacts, f"quickstart_{name}")

    def hover(self, key: str, fraction: float | None, cell: int | None = None) -> str:
        """Move the mouse over chart ``key`` at ``fraction`` of its plot width; return the readout.

        ``fraction=None`` points just past the plot's right edge, into the chart's
        margin: the readout then shows the last point.
        """
        index = KEYS.index(key)
        figure = self.board(cell).locator(f".ht-chart.ht-i-{index}")
        figure.scroll_into_view_if_needed()
        box = figure.locator("rect.plotarea_events").bounding_box()
        assert box, f"chart {key} has no plot area"
        before = readout_text(figure)
        x = box["x"] + (box["width"] + 3 if fraction is None else fraction * box["width"])
        self.page.mouse.move(x, box["y"] + box["height"] / 2)
        deadline = time.monotonic() + 10
        while (text := readout_text(figure)) in ("", before) and time.monotonic() < deadline:
            self.page.wait_for_timeout(50)
        return text


def inside_plot(chart) -> bool:
    """Whether the raw line has points, all within the plot area (none at NaN or off it)."""
    raw = chart.raw
    return raw.points >= 2 and -1 <= raw.min_y <= raw.max_y <= chart.height + 1


def readout_text(figure) -> str:
    readout = figure.locator(".ht-readout")
    return readout.text_content() if readout.count() else ""


def describe(board: Board) -> str:
    """A short, readable account of a board for failure messages."""
    lines = [
        f"header: {board.header!r}",
        f"controls: smoothing={board.smoothing} log_y={board.log_y} x_axis={board.x_axis} "
        f"toggles off={[key for key, off in board.toggles if off]}",
    ]
    for chart in board.charts:
        marks = ", ".join(
            f"{'shown' if m.shown else 'hidden'} {m.points} pts op={m.opacity} x<={m.max_x}"
            for m in chart.marks
        )
        axes = ", ".join(
            f"{a.label or '-'}{'' if a.shown else '(hidden)'} {a.labels[:3]}..." for a in chart.axes
        )
        lines.append(f"  [{chart.index}] {chart.title!r} w={chart.width}: {marks} | axes {axes}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def quickstart(page, lab_server, artifacts_dir) -> QuickstartRun:
    """A fresh copy of the quickstart, opened and Run All'd; returns once training draws."""
    shutil.copy(NOTEBOOK, lab_server.root_dir / "quickstart.ipynb")
    lab.open_notebook(page, lab_server.url, "quickstart.ipynb")
    lab.collapse_left_sidebar(page)
    run = QuickstartRun(page, lab_server.root_dir, artifacts_dir)
    lab.run_all(page)
    run.started = time.monotonic()
    lab.wait_running(page, run.train_cell, timeout=120)
    run.wait_for(
        lambda b: b.chart(LOSS).raw.points >= 2, "the train/loss line has points", timeout=60
    )
    return run


@pytest.fixture(scope="module")
def finished(quickstart) -> QuickstartRun:
    """The same run once every cell has finished."""
    quickstart.wait_all_done()
    return quickstart


@pytest.fixture(scope="module")
def saved_run(finished):
    """The training run as written to ``<root>/runs``, reopened here."""
    header = finished.wait_for(lambda b: "finished" in b.header, "the header says finished")
    name = header.header.split(" · ")[0].strip()
    path = finished.root / "runs" / name
    assert path.is_dir(), (
        f"run {name!r} not in {finished.root / 'runs'}: {list((finished.root / 'runs').iterdir())}"
    )
    return hypertuner.load(path)


# -- while the training cell runs ------------------------------------------------------


def test_line_grows_while_training_runs(quickstart):
    """The train/loss raw line gains points between samples while the cell shows [*]."""
    samples: list[tuple[float, int]] = []
    quickstart.assert_running("the line's growth")
    for _ in range(4):
        previous = samples[-1][1] if samples else 0
        board = quickstart.wait_for(
            lambda b, previous=previous: b.chart(LOSS).raw.points > previous,
            f"the train/loss line has more than {previous} points",
            timeout=20,
        )
        samples.append(
            (round(time.monotonic() - quickstart.started, 2), board.chart(LOSS).raw.points)
        )
        if len(samples) == 1:
            quickstart.shot("1_running")
    # Each sample waited for more points than the one before; [*] now proves the
    # cell showed [*] at all of them (a prompt only goes from [*] to a number).
    quickstart.assert_running("the line's growth")
    assert "running" in board.header, board.header
    print(f"(seconds after Run All, train/loss points): {samples}")


def test_log_y_while_training_runs(quickstart):
    """Log y swaps in a log-spaced y axis and redraws the line; unticking restores linear."""
    quickstart.assert_running("log y")
    before = quickstart.snapshot().chart(LOSS)
    assert not before.y_is_log and before.y_axis.shown, describe(quickstart.snapshot())
    quickstart.control("log-y").check()
    board = quickstart.wait_for(
        lambda b: (
            b.log_y
            and b.chart(LOSS).y_is_log
            and log_spaced(b.chart(LOSS).y_axis)[0]
            and b.chart(LOSS).raw.d_hash != before.raw.d_hash
            and inside_plot(b.chart(LOSS))
        ),
        "train/loss has a log-spaced y axis",
    )
    quickstart.assert_running("log y")
    quickstart.shot("2_log_y")
    after = board.chart(LOSS)
    assert after.y_axis.ticks != before.y_axis.ticks  # log-spaced: labels or places moved
    # True/false charts keep their linear 0/1 axis: a log scale has no place for 0.
    assert [c.key for c in board.charts if not c.y_is_log] == ["is_best"], describe(board)
    print("log y:", log_spaced(after.y_axis)[1])

    quickstart.control("log-y").uncheck()
    quickstart.wait_for(
        lambda b: (
            not b.log_y and not b.chart(LOSS).y_is_log and not log_spaced(b.chart(LOSS).y_axis)[0]
        ),
        "train/loss is back on a linear y axis",
    )
    quickstart.assert_running("log y off")


def test_smoothing_while_training_runs(quickstart):
    """The smoothing slider reshapes the smoothed line; at 0 it hides it and the raw is opaque."""
    quickstart.assert_running("smoothing")
    board = quickstart.snapshot()
    loss = board.chart(LOSS)
    assert board.smoothing == pytest.approx(0.6), describe(board)
    assert loss.smooth.shown and loss.raw.opacity == pytest.approx(0.25), describe(board)
    jagged = loss.smooth.variation / loss.raw.variation  # how much of the raw wiggle is left

    quickstart.control("smoothing").fill("0.95")
    board = quickstart.wait_for(
        lambda b: (
            b.smoothing == pytest.approx(0.95)
            and b.chart(LOSS).smooth.d_hash != loss.smooth.d_hash
            and b.chart(LOSS).smooth.variation / b.chart(LOSS).raw.variation < 0.7 * jagged
        ),
        f"the smoothed line is flatter than at 0.6 (variation ratio {jagged:.3f})",
    )
    quickstart.assert_running("smoothing 0.95")
    quickstart.shot("3_smoothing_0.95")
    smoother = board.chart(LOSS)
    ratio = smoother.smooth.variation / smoother.raw.variation
    print(f"smoothed/raw variation: 0.6 -> {jagged:.3f}, 0.95 -> {ratio:.3f}")

    quickstart.control("smoothing").fill("0")
    board = quickstart.wait_for(
        lambda b: all((c.smooth is None or not c.smooth.shown) and c.raw.opacity == 1 for c in b.charts),
        "smoothing 0 hides every smoothed line and draws the raw ones opaque",
    )
    quickstart.assert_running("smoothing 0")
    quickstart.shot("4_smoothing_0")

    quickstart.control("smoothing").fill("0.6")
    quickstart.wait_for(
        lambda b: all(
            c.smooth.shown and c.raw.opacity == pytest.approx(0.25)
            for c in b.charts
            if c.key != "is_best"
        ),
        "smoothing 0.6 shows the smoothed lines again over faint raw ones",
    )
    # A true/false series is never smoothed: it would draw values it never had.
    flags = quickstart.snapshot().chart("is_best")
    assert (flags.smooth is None or not flags.smooth.shown) and flags.raw.opacity == 1
    quickstart.assert_running("smoothing back to 0.6")


def test_show_hide_while_training_runs(quickstart):
    """A chart's show/hide button hides both of its lines, and shows them again."""
    quickstart.assert_running("show/hide")
    index = KEYS.index(LOSS)
    quickstart.control(f"toggle-{index}").click()
    board = quickstart.wait_for(
        lambda b: (
            not b.chart(LOSS).raw.shown
            and not b.chart(LOSS).smooth.shown
            and all(c.raw.shown for c in b.charts if c.key != LOSS)
        ),
        "train/loss's lines are hidden and the other charts' are not",
    )
    assert dict(board.toggles)[LOSS] is True, board.toggles  # the button shows it is off
    quickstart.assert_running("hiding a line")
    quickstart.shot("5_hidden_train_loss")

    quickstart.control(f"toggle-{index}").click()
    board = quickstart.wait_for(
        lambda b: b.chart(LOSS).raw.shown and b.chart(LOSS).smooth.shown,
        "train/loss's lines are back",
    )
    assert dict(board.toggles)[LOSS] is False, board.toggles
    quickstart.assert_running("showing a line again")


def test_x_axis_modes_while_training_runs(quickstart):
    """The x axis switches to relative time (seconds), then wall time, then back to step."""
    quickstart.assert_running("the x axis")
    before = quickstart.snapshot().chart(LOSS).x_axis
    assert before.label == "step", before
    quickstart.control("x-axis").select_option("relative")
    board = quickstart.wait_for(
        lambda b: (
            all(c.x_axis.label == "time (s)" for c in b.charts)
            and b.chart(LOSS).x_axis.labels != before.labels
        ),
        "every chart's x axis reads time (s)",
    )
    quickstart.assert_running("relative time")
    quickstart.shot("6_relative_time")
    seconds = max(v for v in board.chart(LOSS).x_axis.values() if math.isfinite(v))
    elapsed = time.monotonic() - quickstart.started
    # Ticks are seconds since the logger was made: within the time since Run All.
    assert 0 < seconds <= elapsed + 1, (board.chart(LOSS).x_axis.labels, elapsed)

    quickstart.control("x-axis").select_option("wall")
    board = quickstart.wait_for(
        lambda b: (
            all(c.x_axis.label == "wall time" for c in b.charts)
            and all(c.raw.points >= 2 and c.raw.max_x >= c.width - 2 for c in b.charts)
        ),
        "every chart is drawn against wall time",
    )
    quickstart.assert_running("wall time")
    quickstart.shot("6b_wall_time")
    labels = board.chart(LOSS).x_axis.labels
    assert labels and not any(bad in " ".join(labels) for bad in ("NaN", "Invalid")), labels

    quickstart.control("x-axis").select_option("step")
    quickstart.wait_for(
        lambda b: all(c.x_axis.label == "step" for c in b.charts),
        "every chart's x axis reads step again",
    )
    quickstart.assert_running("the x axis back to step")


def test_zoom_and_reset_while_training_runs(quickstart):
    """The mouse wheel zooms a chart's x axis mid-run, and reset zoom brings the full range back."""
    quickstart.assert_running("zoom")
    figure = quickstart.board().locator(f".ht-chart.ht-i-{KEYS.index(LOSS)}")
    figure.scroll_into_view_if_needed()
    box = figure.locator("rect.plotarea_events").bounding_box()
    before = quickstart.snapshot().chart(LOSS).x_axis.values()
    quickstart.page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    for _ in range(4):
        quickstart.page.mouse.wheel(0, -120)  # wheel up: zoom in
    zoomed = quickstart.wait_for(
        lambda b: (lambda v: len(v) >= 2 and v[-1] - v[0] < 0.8 * (before[-1] - before[0]))(
            b.chart(LOSS).x_axis.values()
        ),
        "the train/loss x axis spans less than before",
    )
    quickstart.assert_running("zooming in")
    quickstart.shot("6c_zoomed")
    quickstart.page.mouse.move(0, 0)
    quickstart.control("reset-zoom").click()
    reset = quickstart.wait_for(
        lambda b: b.chart(LOSS).raw.max_x >= b.chart(LOSS).width - 2
        and b.chart(LOSS).raw.min_x <= 2,
        "after reset the train/loss line spans the whole plot again",
    )
    quickstart.assert_running("resetting the zoom")
    span = reset.chart(LOSS).x_axis.values()
    assert span[-1] - span[0] > zoomed.chart(LOSS).x_axis.values()[-1] - zoomed.chart(LOSS).x_axis.values()[0]


# -- after the notebook ends ------------------------------------------------------------


def test_header_says_finished(finished, saved_run):
    """The training board's header reads finished, with the run's point count and last step."""
    board = finished.wait_for(lambda b: "finished" in b.header, "the header says finished")
    assert "running" not in board.header
    assert f"{saved_run.points:,} points" in board.header, (board.header, saved_run.points)
    assert "last step 5,999" in board.header, board.header


def test_every_chart_ends_at_its_final_point(finished, saved_run):
    """Each chart's line reaches the right edge at its key's last step, with the final value."""
    last_steps = {key: int(saved_run[key].steps[-1]) for key in KEYS}

    def ends_at_last_step(board: Board) -> bool:
        for chart in board.charts:
            x = x_pixel_to_value(chart.x_axis, chart.raw.max_x)
            one_pixel = last_steps[chart.key] / chart.width
            if not (chart.raw.shown and abs(x - last_steps[chart.key]) <= 1.5 * one_pixel):
                return False
        return True

    board = finished.wait_for(ends_at_last_step, "every line ends at its last step")
    assert [c.key for c in board.charts] == KEYS, describe(board)
    finished.shot("7_final")
    # Decimated, so the title says how many points stand behind the drawn ones.
    drawn = board.chart(LOSS).raw.points
    title = f"train/loss  ·  {len(saved_run[LOSS]):,} pts, {drawn:,} drawn"
    assert board.chart(LOSS).title == title
    for key in KEYS:
        # Just past the right edge, the readout shows the last point drawn.
        text = finished.hover(key, None)
        match = READOUT.match(text)
        assert match, f"{key}: readout {text!r}"
        assert int(match.group(1).replace(",", "")) == last_steps[key], (key, text)
        final = float(saved_run[key].values[-1])
        assert float(match.group(2)) == pytest.approx(final, rel=1e-4, abs=1e-6), (key, text, final)


def test_hover_shows_readout(finished, saved_run):
    """Hovering mid-chart shows 'step N: value' for the point under the cursor."""
    series = saved_run[LOSS]
    steps, values = series.steps, series.values
    text = finished.hover(LOSS, 0.5)
    finished.shot("8_readout", keep_mouse=True)
    match = READOUT.match(text)
    assert match, f"readout {text!r} is not 'step N: value'"
    step = int(match.group(1).replace(",", ""))
    assert abs(step - steps[-1] / 2) <= 0.02 * steps[-1], (text, steps[-1])
    value = float(values[list(steps).index(step)])
    assert float(match.group(2)) == pytest.approx(value, rel=1e-4), (text, value)
    finished.page.mouse.move(1, 1)  # leaving the board clears the readout
    figure = finished.board().locator(f".ht-chart.ht-i-{KEYS.index(LOSS)}")
    finished.page.wait_for_function(
        "(el) => !el.querySelector('.ht-readout')?.textContent", arg=figure.element_handle()
    )


def test_text_table_shows_cosine_last(finished):
    """The text table lists phase newest first: cosine at the last step."""
    board = finished.wait_for(
        lambda b: b.table("phase")[:1] == [["5,999", "cosine"]], "phase's newest row is cosine"
    )
    rows = board.table("phase")
    assert all(value == "cosine" for _, value in rows), rows


def test_reopened_run_board_renders(finished, saved_run):
    """The board of the run reopened from disk draws all its charts and its text table."""
    cell = finished.reopen_cell
    output = lab.output_text(finished.page, cell)
    assert f"finished 1.0 {len(saved_run[LOSS])} points of train/loss" in output, output
    board = finished.wait_for(
        lambda b: (
            [c.key for c in b.charts] == KEYS
            and all(
                c.raw.shown and c.raw.points >= 2 and c.raw.max_x >= c.width - 2 for c in b.charts
            )
            and b.table("phase")[:1] == [["5,999", "cosine"]]
        ),
        "the reopened board has every chart drawn to the right edge",
        cell=cell,
    )
    finished.shot("9_reopened", cell=cell)
    assert "finished" in board.header, board.header
    assert board.chart(LOSS).raw.points > 100, describe(board)


def test_first_boards_render(finished):
    """The two small boards above draw their 10 points; headers give steps, not clock times."""
    first = lab.code_cell_index(finished.page, '"ok": True')
    second = lab.code_cell_index(finished.page, "hypertuner.params(")
    for cell, keys in ((first, ["Square"]), (second, ["Square", "Cube", "Float"])):
        board = finished.wait_for(
            lambda b, keys=keys: (
                all(b.chart(key).raw.points == 10 for key in keys)
                and b.table("Word of the day")[:1] == [["9", "Peacock"]]
            ),
            f"the board of code cell {cell} is drawn",
            cell=cell,
        )
        assert "last step 9 ·" in board.header, board.header
    # "loss" was logged without a step: its x is time, and it must not count as a step.
    assert board.chart("loss").x_axis.label == "time (s)", describe(board)
    finished.shot("0_second_board", cell=second)


def test_no_errors_anywhere(finished):
    """No browser console errors or page errors, and no traceback or stderr in any output."""
    assert lab.stderr_outputs(finished.page) == []
    outputs = finished.page.locator(f"{lab.PANEL} .jp-OutputArea-output").all_inner_texts()
    bad = [text for text in outputs if "Traceback" in text or "Error displaying widget" in text]
    assert bad == []
    finished.page.screenshot(path=str(finished.artifacts / "quickstart_page_end.png"))
    assert finished.page.console_log.errors == []
