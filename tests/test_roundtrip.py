"""Property tests: whatever is logged comes back bit for bit after reopening."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hypertuner

names = st.text(min_size=1, max_size=12).filter(lambda s: "/" not in s)
kind_values = {
    "number": st.floats(allow_nan=True, allow_infinity=True, width=64)
    | st.integers(min_value=-(2**53), max_value=2**53),
    "bool": st.booleans(),
    "text": st.text(max_size=30),
}


@st.composite
def logs(draw):
    """A schema of unicode keys with kinds, then calls logging subsets of them."""
    keys = draw(
        st.dictionaries(names, st.sampled_from(sorted(kind_values)), min_size=1, max_size=5)
    )
    calls = []
    for _ in range(draw(st.integers(1, 25))):
        chosen = draw(st.lists(st.sampled_from(sorted(keys)), min_size=1, unique=True))
        values = {key: draw(kind_values[keys[key]]) for key in chosen}
        step = draw(st.none() | st.integers(-(10**6), 10**6) | st.floats(-1e9, 1e9))
        calls.append((values, step))
    return calls


def same(a, b):
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return (
        type(a) is type(b)
        and a == b
        and (not isinstance(a, float) or math.copysign(1, a) == math.copysign(1, b))
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(calls=logs(), flush_every=st.sampled_from([0.001, 1000.0]))
def test_logged_points_reopen_exactly(tmp_path, calls, flush_every):
    """Every point, of every kind, under any unicode name, reopens with the same bits."""
    logger = hypertuner.Logger(dir=tmp_path, flush_every=flush_every)
    expected: dict[str, list] = {}
    for values, step in calls:
        logger.log(values, step)
        for key, value in values.items():
            kind = logger.kinds[key]
            if kind == "number":
                value = float(value)
            expected.setdefault(key, []).append((value, step))
    logger.close()
    run = hypertuner.load(logger.path)
    assert set(run) == set(expected)
    for key, points in expected.items():
        series = run[key]
        got = series.values.tolist()
        assert len(got) == len(points)
        for (want, step), have, have_step, wall in zip(points, got, series.steps, series.walls):
            assert same(want, have)
            assert have_step == (wall if step is None else float(step))
        assert np.array_equal(series.steps, logger[key].steps)
