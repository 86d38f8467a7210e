"""notebooks/quickstart.ipynb, run for real in JupyterLab and Chromium.

The module copies the notebook into the server's root folder, opens it and runs
all cells once (its runs land in ``<root>/runs``). The tests then share that one
run, in file order: first those that act while the training cell shows [*], then
those that look at the end result.

The tests, not the machine, decide how far training goes: the demo gate (see
``gate.py``) lets the training cell log only as many steps as allowed, so the
running-phase tests look at a board held at a step they know (read back from the
run on disk), and the cell shows [*] for as long as they need it to. The finishing
tests release the gate and wait for every cell to end.

Every check is a wait for a condition on the board's DOM (see ``board_dom``), with
generous timeouts; "still running" is judged by the cell's prompt only, because the
kernel status in JupyterLab reads "Idle" between widget messages while a cell runs.
Tests that change the board's controls put them back afterwards, pass or fail.
"""

from __future__ import annotations

import ast
import json
import math
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import lab
import pytest
from board_dom import (
    CLOCK,
    Board,
    log_spaced,
    look_at,
    snapshot,
    wait_for_board,
    x_pixel_to_value,
)

import hypertuner
from hypertuner.logger import REDRAW_EVERY

pytestmark = pytest.mark.browser

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"
# The numeric keys train() logs, in chart order ("phase" is text: it goes to the table).
KEYS = ["train/loss", "train/acc", "lr", "val/loss", "val/acc", "is_best"]
LOSS = "train/loss"
READOUT = re.compile(r"^step ([\d,]+): (\S+)$")
LAST_STEP = re.compile(r"last step ([\d,]+)")

# Steps training may log before Run All, then the allowances the growth test raises
# it to. Each rise is 500 steps: at least 1 s of the cell's pauses however fast the
# machine, so the board, which log() redraws every REDRAW_EVERY s, draws at least
# once inside each (see check_training_cell). Every running-phase test then looks
# at training held at HELD_AT, far short of its end, so the cell shows [*].
FIRST_ALLOWANCE = 1000
GROWTH = [1500, 2000, 2500, 3000]
HELD_AT = GROWTH[-1]
# A fresh board's controls, which every test that changes them restores.
DEFAULT_SMOOTHING = 0.6


def training_config(notebook: Path = NOTEBOOK) -> dict:
    """The dict the notebook's training cell passes to ``train(...)``."""
    cells = json.loads(notebook.read_text())["cells"]
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and (found := re.search(r"\btrain\((\{.*?\})\)", source)):
            return ast.literal_eval(found.group(1))
    raise LookupError(f"no cell of {notebook} calls train({{...}})")


TRAINING = training_config()
TRAIN_STEPS = TRAINING["steps"]
LAST = f"{TRAIN_STEPS - 1:,}"  # the last step, as the board writes it


def check_training_cell() -> None:
    """Fail, saying why, if the notebook's training no longer suits the allowances above."""
    pause = TRAINING.get("pause", 0)
    rises = [b - a for a, b in zip([FIRST_ALLOWANCE, *GROWTH], GROWTH)]
    if HELD_AT >= TRAIN_STEPS:
        pytest.fail(f"training holds at {HELD_AT} steps but the notebook trains only {TRAIN_STEPS}")
    if min(rises) * pause < 5 * REDRAW_EVERY:
        pytest.fail(
            f"rises of {min(rises)} steps at {pause} s a step may pass between two redraws "
            f"(every {REDRAW_EVERY} s): the growth test needs larger rises or a longer pause"
        )


class QuickstartRun:
    """The page running the quickstart, the gate holding its training, and its boards."""

    def __init__(self, page, gate, root: Path, artifacts: Path) -> None:
        self.page = page
        self.gate = gate
        self.root = root
        self.artifacts = artifacts
        self.train_cell = lab.code_cell_index(page, "train(")
        self.reopen_cell = lab.code_cell_index(page, "hypertuner.load(")
        self.started = 0.0  # time.monotonic() at Run All
        self._on_disk = None  # the training run as read back from <root>/runs

    def board(self, cell: int | None = None):
        """Locator of the board shown by a code cell (the training cell by default)."""
        cell = self.train_cell if cell is None else cell
        return lab.code_cell(self.page, cell).locator(".ht-board").last

    def control(self, testid: str):
        return self.board().locator(f".ht-controls [data-testid='{testid}']")

    def snapshot(self, cell: int | None = None) -> Board:
        board = self.board(cell)
        look_at(board)  # a board far out of the window is not drawn
        return snapshot(board)

    def wait_for(
        self,
        condition: Callable[[Board], object],
        what: str,
        cell: int | None = None,
        timeout: float = 30.0,
    ) -> Board:
        """Poll the board until ``condition(board)`` is true; return that board."""
        board = self.board(cell)
        return wait_for_board(self.page, board, condition, what, describe, timeout, look=True)

    # -- the training run, held at the gate -------------------------------------------

    def on_disk(self):
        """The training run read back from ``<root>/runs``, refreshed to its newest points."""
        if self._on_disk is None:
            header = self.wait_for(lambda b: " · " in b.header, "the header names the run")
            name = header.header.split(" · ")[0].strip()
            self._on_disk = hypertuner.load(self.root / "runs" / name)
        self._on_disk.refresh()
        return self._on_disk

    def last_step_on_disk(self) -> int:
        """The last train/loss step on disk; -1 before the run's folder is written."""
        try:
            series = self.on_disk().get(LOSS)
        except (hypertuner.HypertunerError, OSError):
            self._on_disk = None  # not written yet: open it afresh next time
            return -1
        return int(series.steps[-1]) if series is not None and len(series) else -1

    def hold_at(self, steps: int, timeout: float = 60.0) -> int:
        """Let training go on to ``steps`` steps and wait until it holds there.

        Held means the run on disk ends at step ``steps - 1``: the gate lets no more
        through, and the logger mirrors every point to disk within a second. Returns
        that last step.
        """
        if steps > self.gate.allowed:
            self.gate.allow(steps)
        target = self.gate.last_step
        deadline = time.monotonic() + timeout
        while (step := self.last_step_on_disk()) != target:
            assert step < target, f"training logged step {step}, past the gate's {target}"
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout:.0f} s waiting for training to hold at step "
                    f"{target}: the run on disk ends at step {step} "
                    f"(prompts {lab.prompts(self.page)}; {self.gate!r})"
                )
            self.page.wait_for_timeout(100)
        return target

    def assert_running(self, doing: str) -> None:
        """Fail clearly if the training cell no longer shows [*]."""
        prompts = lab.prompts(self.page)
        assert prompts[self.train_cell] == "*", (
            f"the training cell finished before {doing} was checked (prompts {prompts}, "
            f"{time.monotonic() - self.started:.1f} s after Run All, {self.gate!r}); "
            "this check must run while it trains"
        )

    def wait_all_done(self) -> None:
        lab.wait_all_done(self.page, timeout=180)

    # -- controls -------------------------------------------------------------------

    def restore_controls(self) -> None:
        """Put the controls back as a fresh board has them, and wait until the board shows it.

        Smoothing 0.6, log y off, the x axis on step, every line shown, the zoom reset.
        """
        self.page.mouse.move(0, 0)
        board = self.wait_for(lambda b: b.smoothing is not None, "the board's controls are there")
        if board.smoothing != pytest.approx(DEFAULT_SMOOTHING):
            self.control("smoothing").fill(str(DEFAULT_SMOOTHING))
        if board.log_y:
            self.control("log-y").uncheck()
        if board.x_axis != "step":
            self.control("x-axis").select_option("step")
        if board.key_filter:
            self.control("key-filter").fill("")
        for section in board.sections:
            if section["arrow"] == "▸":
                self.board().locator(f".ht-section[data-section='{section['name']}']").click()
        self.control("reset-zoom").click()
        self.wait_for(at_defaults, "the board's controls are back as on a fresh board")

    # -- looking --------------------------------------------------------------------

    def shot(self, name: str, cell: int | None = None, keep_mouse: bool = False) -> None:
        """Screenshot a cell's board into the artifacts folder.

        The mouse is first moved off the board (unless ``keep_mouse``): over a chart,
        the readout shows.
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
        self.page.mouse.move(0, 0)
        x = box["x"] + (box["width"] + 3 if fraction is None else fraction * box["width"])
        self.page.mouse.move(x, box["y"] + box["height"] / 2)
        deadline = time.monotonic() + 10
        while (text := readout_text(figure)) in ("", before) and time.monotonic() < deadline:
            self.page.wait_for_timeout(50)
        return text


def header_last_step(board: Board) -> int | None:
    """The "last step N" of the board's header, as a number (None if it has none)."""
    found = LAST_STEP.search(board.header)
    return int(found.group(1).replace(",", "")) if found else None


def line_end_step(chart) -> float:
    """The step where the chart's raw line ends, read off its x axis."""
    return x_pixel_to_value(chart.x_axis, chart.raw.max_x)


def unzoomed(chart) -> bool:
    """Whether the raw line runs exactly from the plot's left edge to its right one.

    Zoomed in, the line runs past the edges (clipped); zoomed out, it falls short.
    """
    raw = chart.raw
    return (
        raw.points >= 2 and -2 <= raw.min_x <= 2 and chart.width - 2 <= raw.max_x <= chart.width + 2
    )


def at_defaults(board: Board) -> bool:
    """Whether the board's controls, and every chart, look as on a fresh board."""
    return (
        board.smoothing == pytest.approx(DEFAULT_SMOOTHING)
        and board.log_y is False
        and board.x_axis == "step"
        and not board.key_filter
        and all(section["arrow"] == "▾" for section in board.sections)
        and all(
            c.on_show
            and c.x_axis.label == "step"
            and not c.y_is_log
            and c.raw.shown
            and unzoomed(c)
            for c in board.charts
        )
    )


def inside_plot(chart) -> bool:
    """Whether the raw line has points, all within the plot area (none at NaN or off it)."""
    raw = chart.raw
    return raw.points >= 2 and -1 <= raw.min_y <= raw.max_y <= chart.height + 1


def readout_text(figure) -> str:
    """The readout as "step N: value", once the kernel has said the value logged
    there (until then its step ends in "…"); "" while there is none."""
    readout = figure.locator(".ht-readout")
    if not readout.count():
        return ""
    at = readout.locator(".ht-at").text_content()
    values = readout.locator(".ht-value").all_text_contents()
    if at.endswith("…") or not values:
        return ""
    return f"{at}: {values[0]}"


def describe(board: Board) -> str:
    """A short, readable account of a board for failure messages."""
    lines = [
        f"header: {board.header!r}",
        f"controls: smoothing={board.smoothing} log_y={board.log_y} x_axis={board.x_axis} "
        f"toggles off={[key for key, off in board.toggles if off]}",
    ]
    for chart in board.charts:
        marks = ", ".join(
            f"{'shown' if m.shown else 'hidden'} {m.points} pts op={m.opacity} "
            f"x {m.min_x}..{m.max_x}"
            for m in chart.marks
        )
        axes = ", ".join(
            f"{a.label or '-'}{'' if a.shown else '(hidden)'} {a.labels[:3]}..." for a in chart.axes
        )
        lines.append(f"  [{chart.index}] {chart.title!r} w={chart.width}: {marks} | axes {axes}")
    if board.tables:
        lines.append(f"  tables: {[(t['key'], t['rows'][:2]) for t in board.tables]}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def quickstart(page, gate, lab_server, artifacts_dir) -> QuickstartRun:
    """A fresh copy of the quickstart, Run All'd with training held at FIRST_ALLOWANCE steps."""
    check_training_cell()
    shutil.copy(NOTEBOOK, lab_server.root_dir / "quickstart.ipynb")
    lab.open_notebook(page, lab_server.url, "quickstart.ipynb")
    lab.collapse_left_sidebar(page)
    run = QuickstartRun(page, gate, lab_server.root_dir, artifacts_dir)
    gate.allow(FIRST_ALLOWANCE)
    lab.run_all(page)
    run.started = time.monotonic()
    lab.wait_running(page, run.train_cell, timeout=120)
    run.wait_for(
        lambda b: b.chart(LOSS).raw.points >= 2, "the train/loss line has points", timeout=60
    )
    run.hold_at(FIRST_ALLOWANCE)
    return run


@pytest.fixture
def held(quickstart) -> QuickstartRun:
    """The quickstart with training held at HELD_AT steps; its controls are restored afterwards."""
    quickstart.hold_at(HELD_AT)
    quickstart.assert_running("this test")
    try:
        yield quickstart
    finally:
        quickstart.restore_controls()


@pytest.fixture(scope="module")
def finished(quickstart) -> QuickstartRun:
    """The same run once the gate lets training end and every cell has finished."""
    quickstart.gate.release()
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
    """Each time the gate lets training on, the header's last step and the line's end follow it."""
    quickstart.assert_running("the line's growth")
    previous = quickstart.hold_at(FIRST_ALLOWANCE) + 1
    path = quickstart.snapshot().chart(LOSS).raw.d_hash
    samples: list[tuple[int, int, int]] = []  # (steps allowed, header's last step, drawn points)
    for allowance in GROWTH:
        quickstart.hold_at(allowance)

        def followed(b: Board, low=previous, high=allowance - 1, path=path) -> bool:
            # Redraws come from log() every REDRAW_EVERY s, so the last few steps
            # before the hold may not be drawn; but the board drew at least once
            # within the rise, and never past the gate.
            step = header_last_step(b)
            loss = b.chart(LOSS)
            one_pixel = step / loss.width if step else math.inf
            return (
                step is not None
                and low <= step <= high
                and "running" in b.header
                and loss.raw.d_hash != path
                and abs(line_end_step(loss) - step) <= 1.5 * one_pixel
                and b.table("phase")[:1] == [[f"{step:,}", "cosine"]]
            )

        board = quickstart.wait_for(
            followed,
            f"the board shows a last step from {previous} to {allowance - 1}, "
            "where the train/loss line ends, and phase's newest row",
        )
        quickstart.assert_running(f"the growth to {allowance} steps")
        step = header_last_step(board)
        samples.append((allowance, step, board.chart(LOSS).raw.points))
        if len(samples) == 1:
            quickstart.shot("1_running")
        previous, path = allowance, board.chart(LOSS).raw.d_hash
    # [*] now proves the cell showed [*] at every sample (a prompt only goes from
    # [*] to a number).
    quickstart.assert_running("the line's growth")
    print(f"(steps allowed, header's last step, train/loss points drawn): {samples}")


def test_log_y_while_training_runs(held):
    """Log y swaps in a log-spaced y axis and redraws the line; unticking restores linear."""
    before = held.snapshot().chart(LOSS)
    assert not before.y_is_log and before.y_axis.shown, describe(held.snapshot())
    held.control("log-y").check()
    board = held.wait_for(
        lambda b: (
            b.log_y
            and b.chart(LOSS).y_is_log
            and log_spaced(b.chart(LOSS).y_axis)[0]
            and b.chart(LOSS).raw.d_hash != before.raw.d_hash
            and inside_plot(b.chart(LOSS))
        ),
        "train/loss has a log-spaced y axis",
    )
    held.assert_running("log y")
    held.shot("2_log_y")
    after = board.chart(LOSS)
    assert after.y_axis.ticks != before.y_axis.ticks  # log-spaced: labels or places moved
    # True/false charts keep their linear 0/1 axis: a log scale has no place for 0.
    assert [c.key for c in board.charts if not c.y_is_log] == ["is_best"], describe(board)
    print("log y:", log_spaced(after.y_axis)[1])

    held.control("log-y").uncheck()
    held.wait_for(
        lambda b: (
            not b.log_y and not b.chart(LOSS).y_is_log and not log_spaced(b.chart(LOSS).y_axis)[0]
        ),
        "train/loss is back on a linear y axis",
    )
    held.assert_running("log y off")


def test_smoothing_while_training_runs(held):
    """The smoothing slider reshapes the smoothed line; at 0 it hides it and the raw is opaque."""
    board = held.snapshot()
    loss = board.chart(LOSS)
    assert board.smoothing == pytest.approx(DEFAULT_SMOOTHING), describe(board)
    assert loss.smooth.shown and loss.raw.opacity == pytest.approx(0.25), describe(board)
    jagged = loss.smooth.variation / loss.raw.variation  # how much of the raw wiggle is left

    held.control("smoothing").fill("0.95")
    board = held.wait_for(
        lambda b: (
            b.smoothing == pytest.approx(0.95)
            and b.chart(LOSS).smooth.d_hash != loss.smooth.d_hash
            and b.chart(LOSS).smooth.variation / b.chart(LOSS).raw.variation < 0.7 * jagged
        ),
        f"the smoothed line is flatter than at 0.6 (variation ratio {jagged:.3f})",
    )
    held.assert_running("smoothing 0.95")
    held.shot("3_smoothing_0.95")
    smoother = board.chart(LOSS)
    ratio = smoother.smooth.variation / smoother.raw.variation
    print(f"smoothed/raw variation: 0.6 -> {jagged:.3f}, 0.95 -> {ratio:.3f}")

    held.control("smoothing").fill("0")
    held.wait_for(
        lambda b: all(
            (c.smooth is None or not c.smooth.shown) and c.raw.opacity == 1 for c in b.charts
        ),
        "smoothing 0 hides every smoothed line and draws the raw ones opaque",
    )
    held.assert_running("smoothing 0")
    held.shot("4_smoothing_0")

    held.control("smoothing").fill(str(DEFAULT_SMOOTHING))
    held.wait_for(
        lambda b: all(
            c.smooth.shown and c.raw.opacity == pytest.approx(0.25)
            for c in b.charts
            if c.key != "is_best"
        ),
        "smoothing 0.6 shows the smoothed lines again over faint raw ones",
    )
    # A true/false series is never smoothed: it would draw values it never had.
    flags = held.snapshot().chart("is_best")
    assert (flags.smooth is None or not flags.smooth.shown) and flags.raw.opacity == 1
    held.assert_running("smoothing back to 0.6")


def test_key_filter_and_sections_while_training_runs(held):
    """The key filter shows the charts whose key matches (a regular expression), counts
    them, and hides sections left empty; a section's title collapses and expands it."""
    board = held.snapshot()
    assert board.toggles == []  # no button per key: the filter and the sections do that
    assert board.key_count == f"{len(KEYS)} charts"
    assert {s["name"]: s["count"] for s in board.sections} == {"train": "2", "val": "2"}

    held.control("key-filter").fill("LOSS")
    board = held.wait_for(
        lambda b: b.shown_keys == ["train/loss", "val/loss"], "only the loss charts are on show"
    )
    assert board.key_count == f"2 of {len(KEYS)} charts"
    assert board.section("train")["count"] == "1 of 2"
    held.control("key-filter").fill("^(lr|is_)")
    board = held.wait_for(
        lambda b: b.shown_keys == ["lr", "is_best"], "the regular expression picks lr and is_best"
    )
    assert not any(section["on_show"] for section in board.sections)  # both left empty
    held.shot("5_filtered")
    held.control("key-filter").fill("")
    held.wait_for(lambda b: b.shown_keys == KEYS, "every chart is back")

    held.board().locator(".ht-section[data-section='train']").click()
    board = held.wait_for(
        lambda b: (
            b.section("train")["arrow"] == "▸"
            and b.shown_keys == [k for k in KEYS if not k.startswith("train/")]
        ),
        "the train section is collapsed",
    )
    held.assert_running("collapsing a section")
    held.board().locator(".ht-section[data-section='train']").click()
    held.wait_for(
        lambda b: b.section("train")["arrow"] == "▾" and b.shown_keys == KEYS,
        "the train section is expanded again",
    )
    held.assert_running("filtering and collapsing")


def test_x_axis_modes_while_training_runs(held):
    """The x axis switches to relative time (seconds), then wall time, then back to step."""
    before = held.snapshot().chart(LOSS).x_axis
    assert before.label == "step", before
    held.control("x-axis").select_option("relative")
    board = held.wait_for(
        lambda b: (
            all(c.x_axis.label == "time" for c in b.charts)
            and b.chart(LOSS).x_axis.labels != before.labels
        ),
        "every chart's x axis reads time",
    )
    held.assert_running("relative time")
    held.shot("6_relative_time")
    # Seconds since the start read as clocks (0:05, 1:02:03), never as "30G" or "1.2k".
    labels = board.chart(LOSS).x_axis.labels
    assert labels and all(CLOCK.match(label) for label in labels), labels
    seconds = max(v for v in board.chart(LOSS).x_axis.values() if math.isfinite(v))
    elapsed = time.monotonic() - held.started
    # Ticks are seconds since the logger was made: within the time since Run All.
    assert 0 < seconds <= elapsed + 1, (board.chart(LOSS).x_axis.labels, elapsed)

    held.control("x-axis").select_option("wall")
    board = held.wait_for(
        lambda b: (
            all(c.x_axis.label == "wall time" for c in b.charts)
            and all(c.raw.points >= 2 and c.raw.max_x >= c.width - 2 for c in b.charts)
        ),
        "every chart is drawn against wall time",
    )
    held.assert_running("wall time")
    held.shot("6b_wall_time")
    labels = board.chart(LOSS).x_axis.labels
    assert labels and not any(bad in " ".join(labels) for bad in ("NaN", "Invalid")), labels

    held.control("x-axis").select_option("step")
    held.wait_for(
        lambda b: all(c.x_axis.label == "step" for c in b.charts),
        "every chart's x axis reads step again",
    )
    held.assert_running("the x axis back to step")


def test_zoom_and_reset_while_training_runs(held):
    """The mouse wheel zooms a chart's x axis mid-run, and reset zoom brings the full range back."""
    figure = held.board().locator(f".ht-chart.ht-i-{KEYS.index(LOSS)}")
    figure.scroll_into_view_if_needed()
    box = figure.locator("rect.plotarea_events").bounding_box()
    before = held.snapshot()

    def edges(board) -> tuple[float, float]:
        """The x values at the plot's left and right edges (read off the ticks, however many)."""
        chart = board.chart(LOSS)
        return x_pixel_to_value(chart.x_axis, 0), x_pixel_to_value(chart.x_axis, chart.width)

    def span_of(board) -> float:
        low, high = edges(board)
        return high - low

    held.page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    for _ in range(4):
        held.page.mouse.wheel(0, -120)  # wheel up: zoom in
    zoomed = held.wait_for(
        lambda b: span_of(b) < 0.8 * span_of(before),
        "the train/loss x axis spans less than before",
    )
    held.assert_running("zooming in")
    # Only x zooms; y fits what is in view, so the curve fills the plot's height.
    fills = held.wait_for(
        lambda b: (lambda c: c.raw.points >= 2 and c.raw.max_y - c.raw.min_y >= 0.8 * c.height)(
            b.chart(LOSS)
        ),
        "the zoomed train/loss line fills the plot from top to bottom",
    )
    assert (
        fills.chart(LOSS).raw.min_y >= -1
        and fills.chart(LOSS).raw.max_y <= fills.chart(LOSS).height + 1
    ), describe(fills)
    held.shot("6c_zoomed")
    # A double click on the plot resets its zoom, as the button does every chart's.
    held.page.mouse.dblclick(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    # (A zoomed line, decimated anew by the kernel, spans the plot too: the axis tells.)
    held.wait_for(
        lambda b: unzoomed(b.chart(LOSS)) and span_of(b) >= 0.95 * span_of(before),
        "a double click unzooms train/loss",
    )
    for _ in range(4):
        held.page.mouse.wheel(0, -120)
    held.wait_for(lambda b: span_of(b) < 0.8 * span_of(before), "train/loss is zoomed in again")
    held.page.mouse.move(0, 0)
    held.control("reset-zoom").click()
    reset = held.wait_for(
        lambda b: unzoomed(b.chart(LOSS)),
        "after reset the train/loss line spans the whole plot again",
    )
    held.assert_running("resetting the zoom")
    assert span_of(reset) > span_of(zoomed), (edges(reset), edges(zoomed))

    # A drag across the plot zooms x to the span dragged over, shaded as it goes.
    low, high = edges(reset)
    mid_y = box["y"] + box["height"] * 0.5
    held.page.mouse.move(box["x"] + box["width"] * 0.25, mid_y)
    held.page.mouse.down()
    held.page.mouse.move(box["x"] + box["width"] * 0.5, mid_y, steps=6)
    shade = figure.locator(".ht-zoombox").bounding_box()
    assert shade and shade["width"] == pytest.approx(box["width"] * 0.25, abs=3), shade
    assert figure.locator(".ht-readout:visible").count() == 0, "a readout covers the zoom box"
    held.shot("6d_box_zoom_dragging", keep_mouse=True)
    held.page.mouse.up()
    boxed = held.wait_for(
        lambda b: (
            edges(b)[1] - edges(b)[0] < 0.45 * (high - low)
            and (lambda c: c.raw.points >= 2 and c.raw.max_y - c.raw.min_y >= 0.8 * c.height)(
                b.chart(LOSS)
            )
        ),
        "the box zoom shows a quarter of train/loss, the curve filling the plot's height",
    )
    held.assert_running("a box zoom")
    left, right = edges(boxed)
    # From a quarter to half the way along: the start is half way to the end (the
    # range may have grown while the mouse moved, so the end is not `high / 2`).
    assert left >= low + 0.2 * (high - low), (low, high, left)
    assert left - low == pytest.approx((right - low) / 2, rel=0.05), (low, left, right)
    assert figure.locator(".ht-zoombox").count() == 0
    held.shot("6e_box_zoomed")
    # With shift held a drag pans: dragged leftwards, later steps come into view.
    held.page.keyboard.down("Shift")
    held.page.mouse.move(box["x"] + box["width"] * 0.6, mid_y)
    held.page.mouse.down()
    held.page.mouse.move(box["x"] + box["width"] * 0.4, mid_y, steps=6)
    held.page.mouse.up()
    held.page.keyboard.up("Shift")
    panned = held.wait_for(
        lambda b: edges(b)[0] > left + 0.1 * (right - left),
        "a shift-drag pans train/loss to later steps",
    )
    moved = edges(panned)
    assert moved[1] - moved[0] == pytest.approx(right - left, rel=0.05), (moved, left, right)
    held.page.mouse.move(0, 0)
    held.control("reset-zoom").click()
    held.wait_for(lambda b: unzoomed(b.chart(LOSS)), "reset zoom after the box zoom")


def test_hover_while_training_runs(held):
    """While the training cell is busy, the readout still gets the value logged at
    the step under the cursor: the kernel answers between training steps."""
    text = held.hover(LOSS, 0.3)
    held.assert_running("the readout's answer")
    match = READOUT.match(text)
    assert match, f"readout {text!r} is not 'step N: value' (the kernel never answered?)"
    series = held.on_disk()[LOSS]
    steps, values = list(series.steps), series.values
    step = int(match.group(1).replace(",", ""))
    assert abs(step - 0.3 * steps[-1]) <= 0.02 * steps[-1], (text, steps[-1])
    assert float(match.group(2)) == pytest.approx(float(values[steps.index(step)]), rel=1e-4)
    held.page.mouse.move(0, 0)


# -- after the notebook ends ------------------------------------------------------------


def test_header_says_finished(finished, saved_run):
    """The training board's header reads finished, with the run's point count and last step."""
    board = finished.wait_for(lambda b: "finished" in b.header, "the header says finished")
    assert "running" not in board.header
    assert f"{saved_run.points:,} points" in board.header, (board.header, saved_run.points)
    assert f"last step {LAST}" in board.header, board.header


def test_every_chart_ends_at_its_final_point(finished, saved_run):
    """Each chart's line reaches the right edge at its key's last step, with the final value."""
    last_steps = {key: int(saved_run[key].steps[-1]) for key in KEYS}

    def ends_at_last_step(board: Board) -> bool:
        for chart in board.charts:
            x = line_end_step(chart)
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
    """Hovering mid-chart shows the step under the cursor and the value logged at
    that step (the kernel looks it up: the line drawn holds only each bucket's
    extremes), the smoothed value there, in the line's colour, below the title."""
    series = saved_run[LOSS]
    steps, values = series.steps, series.values
    text = finished.hover(LOSS, 0.5)
    finished.shot("8_readout", keep_mouse=True)
    match = READOUT.match(text)
    assert match, f"readout {text!r} is not 'step N: value'"
    step = int(match.group(1).replace(",", ""))
    chart = finished.snapshot().chart(LOSS)
    one_pixel = steps[-1] / chart.width
    assert abs(step - steps[-1] / 2) <= 2 * one_pixel, (text, steps[-1], chart.width)
    value = float(values[list(steps).index(step)])
    assert float(match.group(2)) == pytest.approx(value, rel=1e-4), (text, value)
    (row,) = chart.readout["rows"]
    assert row["smoothed"].startswith("smoothed "), chart.readout
    assert row["color"] == "rgb(31, 119, 180)", chart.readout  # train/loss's blue
    assert chart.readout["box"][2] >= chart.title_box[1], (chart.readout, chart.title_box)
    finished.page.mouse.move(1, 1)  # leaving the board clears the readout
    figure = finished.board().locator(f".ht-chart.ht-i-{KEYS.index(LOSS)}")
    finished.page.wait_for_function(
        "(el) => !el.querySelector('.ht-readout')", arg=figure.element_handle()
    )


def test_text_table_shows_cosine_last(finished):
    """The text table lists phase newest first: cosine at the last step."""
    board = finished.wait_for(
        lambda b: b.table("phase")[:1] == [[LAST, "cosine"]], "phase's newest row is cosine"
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
            and b.table("phase")[:1] == [[LAST, "cosine"]]
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
    assert board.chart("loss").x_axis.label == "time", describe(board)
    finished.shot("0_second_board", cell=second)


def test_no_errors_anywhere(finished):
    """No browser console errors or page errors, and no traceback or stderr in any output."""
    assert lab.stderr_outputs(finished.page) == []
    outputs = finished.page.locator(f"{lab.PANEL} .jp-OutputArea-output").all_inner_texts()
    bad = [text for text in outputs if "Traceback" in text or "Error displaying widget" in text]
    assert bad == []
    finished.page.screenshot(path=str(finished.artifacts / "quickstart_page_end.png"))
    assert finished.page.console_log.errors == []
