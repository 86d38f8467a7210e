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


number_forms = st.sampled_from([float, int, np.float64, np.float32, np.int64, np.int32])


@st.composite
def shaped_calls(draw):
    """Calls that reuse a few shapes (flat or one level nested, under a / name), each
    number passed in a random form: the fast path's cache is hit, missed and varied."""
    shapes = draw(
        st.lists(
            st.lists(st.sampled_from(["a", "b", "g/x", "g/y", "h/z"]), min_size=1, unique=True),
            min_size=1,
            max_size=3,
        )
    )
    calls = []
    for step in range(draw(st.integers(1, 30))):
        flat = {name: draw(number_forms)(draw(st.integers(-1000, 1000))) for name in draw(
            st.sampled_from(shapes))}  # fmt: skip
        nested: dict = {}
        for name, value in flat.items():
            if "/" in name and draw(st.booleans()):
                outer, inner = name.split("/")
                nested.setdefault(outer, {})[inner] = value
            else:
                nested[name] = value
        calls.append((nested, flat, step))
    return calls


@given(shaped_calls())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fast_and_slow_paths_store_the_same(calls):
    """However a call's numbers are passed (numpy or Python, nested or flat), each key holds
    exactly float(value) at each step, in call order, in memory and after reopening."""
    logger = hypertuner.Logger(display=False)
    expected: dict[str, list[tuple[float, float]]] = {}
    for nested, flat, step in calls:
        logger.log(nested, step)
        for name, value in flat.items():
            expected.setdefault(name, []).append((float(step), float(value)))
    logger.close()
    run = hypertuner.load(logger.path)
    for source in (logger, run):
        assert sorted(source) == sorted(expected)
        for name, points in expected.items():
            assert list(zip(source[name].steps.tolist(), source[name].values.tolist())) == points
