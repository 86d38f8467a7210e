"""Reading a long run's charts: smoothing, axes, titles and outliers as a person sees them.

One finished run of 200,000 steps: a loss that falls from 2.3 to 0.3, wandering as
it goes; a gradient norm near 0.33 with one spike to 40 at step 150,000; a
throughput near 5,800 under a key too long for its chart's width; and a score with
200 NaN from step 100,000 and an infinity at step 180,000. The tests look at
what a person reads off the page: where the smoothed line is drawn, the tick
labels' text and boxes, the title's ellipsis, the y range the bulk of the values
gets.
"""

from __future__ import annotations

import lab
import pytest
from board_dom import look_at, snapshot, wait_for_board

pytestmark = pytest.mark.browser

NAME = "reading.ipynb"
STEPS = 200_000
SPIKE = 150_000
GRAD = "grad_norm"
SCORE = "eval/score"
LONG = "throughput_of_the_very_long_named_metric_per_device_in_samples"
CELL = f"""\
import numpy as np
import hypertuner

rng = np.random.default_rng(0)
# Noise that wanders over about 1,000 steps (a few pixels), as a real loss does.
wander = np.convolve(rng.standard_normal({STEPS} + 999), np.ones(1000) / np.sqrt(1000), "valid")
loss = 2.0 * np.exp(-np.arange({STEPS}) / 40_000) + 0.3 + 0.05 * wander
grad = 0.33 + 0.05 * rng.standard_normal({STEPS})
grad[{SPIKE}] = 40.0
speed = 5800 + 300 * rng.standard_normal({STEPS})
score = 0.8 + 0.01 * rng.standard_normal({STEPS})
score[100_000:100_200] = np.nan
score[180_000] = np.inf
logger = hypertuner.Logger(name="reading")
for i in range({STEPS}):
    values = {{"loss": loss[i], "grad_norm": grad[i], {LONG!r}: speed[i], {SCORE!r}: score[i]}}
    logger.log(values, i)
logger.close()
"""


def describe(board) -> str:
    return "\n".join(
        f"{c.title!r} clipped={c.title_clipped} h={c.height}: "
        + ", ".join(f"{m.points} pts y {m.min_y}..{m.max_y} var {m.variation:.0f}" for m in c.marks)
        + f" | x {c.x_axis.labels} y {c.y_axis.labels}"
        for c in board.charts
    )


class Reading:
    def __init__(self, page, artifacts):
        self.page = page
        self.artifacts = artifacts

    def board(self):
        return lab.code_cell(self.page, 0).locator(".ht-board")

    def wait_for(self, condition, what: str):
        return wait_for_board(self.page, self.board(), condition, what, describe, look=True)

    def control(self, test_id: str):
        return self.board().locator(f".ht-controls [data-testid='{test_id}']")


@pytest.fixture(scope="module")
def reading(page, lab_server, artifacts_dir) -> Reading:
    lab.open_cells(page, lab_server, NAME, [CELL])
    lab.run_all(page)
    lab.wait_all_done(page, timeout=300)
    run = Reading(page, artifacts_dir)
    run.wait_for(
        lambda b: "finished" in b.header and all(c.raw.points >= 2 for c in b.charts),
        "the finished run's two charts are drawn",
    )
    return run


def test_the_smoothing_slider_visibly_moves_a_200k_point_line(reading):
    """At 0.6 the smoothed line still follows the noise; at 0.99 it is a smooth curve:
    the slider acts per pixel, not per point, so it matters at any length."""
    reading.control("smoothing").fill("0.6")
    light = reading.wait_for(
        lambda b: b.smoothing == pytest.approx(0.6) and b.chart("loss").smooth.shown,
        "smoothing 0.6 draws the smoothed loss",
    ).chart("loss")
    reading.control("smoothing").fill("0.99")
    heavy = reading.wait_for(
        lambda b: b.chart("loss").smooth.d_hash != light.smooth.d_hash,
        "smoothing 0.99 redraws the smoothed loss",
    ).chart("loss")
    lab.screenshot(reading.board(), reading.artifacts, "reading_1_smoothing_0.99")
    print(
        f"smoothed line's variation: 0.6 -> {light.smooth.variation:.0f} px, "
        f"0.99 -> {heavy.smooth.variation:.0f} px (raw {light.raw.variation:.0f} px)"
    )
    assert heavy.smooth.variation < 0.5 * light.smooth.variation, (light, heavy)
    reading.control("smoothing").fill("0.6")


def test_tick_labels_are_few_round_and_never_overlap(reading):
    """Every axis has 2 to 8 ticks, none of whose labels overlap; thousands read as
    5.8k, not 5.8e+3."""
    board = reading.wait_for(lambda b: b.chart(LONG).y_axis.labels, "the throughput has y ticks")
    for chart in board.charts:
        for axis in (chart.x_axis, chart.y_axis):
            labels = [text for text in axis.labels if text]
            assert 2 <= len(labels) <= 8, (chart.key, axis.labels)
            assert not axis.overlapping(), (chart.key, axis.labels, axis.boxes)
            assert not any("e+" in text for text in labels), (chart.key, axis.labels)
    assert all(text.endswith("k") for text in board.chart(LONG).y_axis.labels if text != "0")
    # Round values, evenly apart: 0, 50k, 100k, 150k.
    steps = [tick for tick in board.chart("loss").x_axis.values()]
    assert steps[0] == 0 and len({b - a for a, b in zip(steps, steps[1:])}) == 1, steps


def test_a_long_key_is_cut_with_an_ellipsis_and_named_whole_on_hover(reading):
    board = snapshot(reading.board())
    chart = board.chart(LONG)
    assert chart.title_clipped, describe(board)
    name = reading.board().locator(f".ht-chart.ht-i-{chart.index} .ht-name")
    assert name.get_attribute("title") == LONG
    assert not board.chart("loss").title_clipped
    # The note says how many points stand behind the drawn ones, on its own line.
    assert chart.title.endswith(f"{STEPS:,} pts, {chart.raw.points:,} drawn"), chart.title


def test_ignoring_outliers_gives_the_bulk_of_the_values_the_plot(reading):
    """One spike to 40 squashes the gradient norm into the bottom of its chart; with
    outliers ignored, y fits the bulk of the values and the spike is drawn on the top
    edge."""
    look_at(reading.board().locator(".ht-chart.ht-i-1"))
    squashed = reading.wait_for(lambda b: b.chart(GRAD).raw.points > 100, "grad_norm drawn")
    before = squashed.chart(GRAD)
    reading.control("outliers").check()
    try:
        fitted = reading.wait_for(
            lambda b: top_tick(b.chart(GRAD)) < 1,
            "the grad_norm's y axis no longer reaches the spike's 40",
        )
        grad = fitted.chart(GRAD)
        lab.screenshot(reading.board(), reading.artifacts, "reading_2_outliers_ignored")
        # The spike, at the top edge (bqplot pads the plot by 2.5% of its height).
        assert grad.raw.min_y <= 0.04 * grad.height, grad.raw
        assert grad.raw.max_y - grad.raw.min_y >= 0.8 * grad.height, grad.raw
    finally:
        reading.control("outliers").uncheck()
    back = reading.wait_for(
        lambda b: b.chart(GRAD).y_axis.labels == before.y_axis.labels,
        "the grad_norm's y axis reaches the spike again",
    )
    assert back.chart(GRAD).raw.min_y == pytest.approx(before.raw.min_y, abs=1)


def test_nan_and_infinities_are_marked_and_counted(reading):
    """A line cannot draw NaN or an infinity (200 NaN left a 3 px gap, an infinity
    nothing): ticks mark where they are on the plot's bottom edge, and the note
    under the title counts them. Nothing is logged to the console (checked for
    every test)."""
    figure = reading.board().locator(".ht-chart", has_text=SCORE)
    look_at(figure)
    board = reading.wait_for(  # drawn to its end (a chart out of view waits to be drawn)
        lambda b: (
            b.chart(SCORE).title == f"{SCORE}  ·  {STEPS:,} pts, "
            f"{b.chart(SCORE).raw.points:,} drawn · 200 NaN · 1 inf"
        ),
        "the score, drawn to its end, counts its NaN and infinity",
    )
    chart = board.chart(SCORE)
    area = figure.locator("rect.plotarea_events").bounding_box()
    ticks = [box for box in (m.bounding_box() for m in figure.locator(".ht-mark").all()) if box]
    lab.screenshot(figure, reading.artifacts, "reading_3_nan_marks")
    at = sorted((t["x"] + t["width"] / 2 - area["x"]) / area["width"] for t in ticks)
    assert at and all(abs(f - 0.5) < 0.01 or abs(f - 0.9) < 0.01 for f in at), at
    assert any(abs(f - 0.9) < 0.01 for f in at) and any(abs(f - 0.5) < 0.01 for f in at), at
    bottom = area["y"] + area["height"]
    assert all(abs(t["y"] + t["height"] - bottom) <= 1 for t in ticks), (ticks, area)
    assert chart.raw.points > 100 and chart.raw.min_y >= 0, chart.raw  # the line is drawn


def top_tick(chart) -> float:
    """The largest value among the chart's y tick labels."""
    return max((v for v in map(parse, chart.y_axis.labels) if v is not None), default=0.0)


def parse(text: str) -> float | None:
    try:
        return float(text.replace("\u2212", "-"))
    except ValueError:
        return None
