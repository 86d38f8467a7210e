"""The in-memory columnar store: growth, views, kinds."""

from __future__ import annotations

import numpy as np
import pytest

from hypertuner._values import BOOL, NUMBER, TEXT
from hypertuner.series import Series


def test_extend_grows_and_keeps_every_point():
    """Thousands of small appends keep every point in order."""
    series = Series("x", NUMBER)
    for start in range(0, 10_000, 7):
        count = min(7, 10_000 - start)
        steps = np.arange(start, start + count, dtype=float)
        series.extend(steps, steps + 0.5, steps * 2)
    assert len(series) == 10_000
    assert np.array_equal(series.steps, np.arange(10_000.0))
    assert np.array_equal(series.walls, np.arange(10_000.0) + 0.5)
    assert np.array_equal(series.values, np.arange(10_000.0) * 2)


def test_slack_stays_under_a_quarter():
    """Capacity never exceeds the held points by more than 25% once past the minimum."""
    series = Series("x", NUMBER)
    for _ in range(100_000):
        series.extend([1.0], [1.0], [1.0])
        assert len(series._steps) <= max(256, int(len(series) * 1.25) + 1)
    assert series.nbytes() / len(series) <= 30


def test_views_survive_growth():
    """A view taken earlier still shows the points it showed, after the buffers grow."""
    series = Series("x", NUMBER)
    series.extend([0.0, 1.0], [0.0, 0.0], [10.0, 11.0])
    before = series.values
    for i in range(2, 5000):
        series.extend([float(i)], [0.0], [float(i) + 10])
    assert before.tolist() == [10.0, 11.0]
    assert series.values[-1] == 5009.0


def test_text_and_bool_kinds():
    """Text is held as Python str objects and bools as a bool array."""
    text = Series("t", TEXT)
    text.extend([0.0, 1.0], [0.0, 0.0], ("alpha", "βeta"))
    assert text.values.dtype == object and text.values.tolist() == ["alpha", "βeta"]
    assert text.kind == "text"
    flags = Series("b", BOOL)
    flags.extend([0.0, 1.0], [0.0, 0.0], (True, False))
    assert flags.values.dtype == np.bool_ and flags.values.tolist() == [True, False]


def test_since_returns_only_new_points():
    """since(n) gives the points from index n on."""
    series = Series("x", NUMBER)
    series.extend([0.0, 1.0, 2.0], [0.0] * 3, [5.0, 6.0, 7.0])
    steps, _, values = series.since(1)
    assert steps.tolist() == [1.0, 2.0] and values.tolist() == [6.0, 7.0]


def test_views_are_read_only():
    """Every view handed out refuses writes."""
    series = Series("x", NUMBER)
    series.extend([0.0], [0.0], [1.0])
    for view in (series.steps, series.walls, series.values, *series.since(0)):
        with pytest.raises(ValueError):
            view[0] = 3.0


def test_stats_are_last_min_max_skipping_nan():
    """stats() gives the last value and the extremes; NaN is skipped, infinities kept."""
    series = Series("x", NUMBER)
    series.extend([0.0, 1.0, 2.0, 3.0], [0.0] * 4, [2.0, np.nan, -np.inf, 5.0])
    assert series.stats() == (5.0, -np.inf, 5.0)
    flags = Series("b", BOOL)
    flags.extend([0.0, 1.0], [0.0, 0.0], (True, False))
    assert flags.stats() == (0.0, 0.0, 1.0)
    text = Series("t", TEXT)
    text.extend([0.0], [0.0], ("a",))
    assert all(np.isnan(v) for v in text.stats())
    assert all(np.isnan(v) for v in Series("e", NUMBER).stats())


def test_timed_tells_points_logged_without_a_step():
    """A series whose steps are its wall times was logged without steps."""
    timed = Series("t", NUMBER)
    timed.extend([10.5, 11.5], [10.5, 11.5], [1.0, 2.0])
    stepped = Series("s", NUMBER)
    stepped.extend([0.0, 1.0], [10.5, 11.5], [1.0, 2.0])
    assert timed.timed and not stepped.timed and not Series("e", NUMBER).timed


def test_last_step_is_the_largest_last_step_of_the_keys_logged_with_steps(tmp_path):
    """What a board's header shows: a key whose steps went back still counts its
    latest, keys logged without a step (their steps are times) do not count, and a
    run of only those has none. Live and reopened alike."""
    import hypertuner

    logger = hypertuner.Logger(dir=tmp_path, display=False)
    assert logger.last_step() is None
    logger.log({"clock": 1.0})  # no step: the wall clock, not a step
    assert logger.last_step() is None
    logger.log({"a": 1.0, "b": 1.0}, 10)
    logger.log({"a": 2.0}, 40)
    logger.log({"b": 2.0}, 25)  # b goes back below a's latest: a's 40 is the last
    assert logger.last_step() == 40.0
    logger.log({"a": 3.0}, 5)  # gradient accumulation, a restart: a's latest is 5
    assert logger.last_step() == 25.0
    logger.close()
    assert hypertuner.load(logger.path).last_step() == 25.0
