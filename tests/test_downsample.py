"""Decimation keeps every extreme within its budget; smoothing matches TensorBoard."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hypertuner.downsample import Decimation, bucket_means, ema, minmax, visible


def test_short_series_are_kept_whole():
    """A series within the budget is drawn point for point."""
    assert minmax(np.arange(10.0), budget=10).tolist() == list(range(10))


def test_a_single_spike_among_ten_million_survives():
    """One spike in 10 million points is among the ~2,000 drawn."""
    values = np.zeros(10_000_000)
    values[7_654_321] = 1e6
    values[1_234_567] = -5.0
    picked = minmax(values, budget=2000)
    assert len(picked) <= 2000
    assert 7_654_321 in picked and 1_234_567 in picked


@settings(max_examples=200, deadline=None)
@given(
    values=arrays(
        np.float64, st.integers(1, 5000), elements=st.floats(allow_nan=True, allow_infinity=True)
    ),
    budget=st.integers(4, 600),
)
def test_budget_first_last_and_extremes_are_kept(values, budget):
    """Within budget; first and last kept; every bucket's finite min and max kept; deterministic."""
    picked = minmax(values, budget)
    assert len(picked) <= max(budget, 2)
    assert picked[0] == 0 and picked[-1] == len(values) - 1
    assert np.all(np.diff(picked) > 0)
    finite = values[np.isfinite(values)]
    if len(finite):
        chosen = values[picked]
        assert np.nanmin(np.where(np.isfinite(chosen), chosen, np.nan)) == finite.min()
        assert np.nanmax(np.where(np.isfinite(chosen), chosen, np.nan)) == finite.max()
    assert np.array_equal(picked, minmax(values.copy(), budget))


def test_budget_must_allow_first_and_last():
    """A budget under 4 points is refused."""
    with pytest.raises(ValueError, match="budget must be at least 4 points"):
        minmax(np.zeros(10), budget=3)


def test_tensorboard_smoothing_on_known_inputs():
    """The debiased EMA equals TensorBoard's formula, worked by hand."""
    got = ema(np.array([1.0, 2.0, 3.0]), 0.5)
    # last: 0.5, 1.25, 2.125; debias: 0.5, 0.75, 0.875
    assert got.tolist() == pytest.approx([1.0, 1.25 / 0.75, 2.125 / 0.875])
    assert ema(np.array([1.0, 2.0]), 0.0).tolist() == [1.0, 2.0]
    assert ema(np.array([4.0, 4.0, 4.0]), 0.9).tolist() == [4.0, 4.0, 4.0]


def test_smoothing_passes_non_finite_values_through():
    """NaN and infinities are kept where they are and skipped by the average."""
    got = ema(np.array([1.0, np.nan, 3.0, np.inf]), 0.5)
    assert got[0] == 1.0 and np.isnan(got[1]) and got[3] == np.inf
    assert got[2] == pytest.approx((0.5 * 0.5 + 0.5 * 3.0) / 0.75)


def test_smoothing_weight_is_checked():
    """A weight outside [0, 1) is refused."""
    with pytest.raises(ValueError, match=r"smoothing weight must be in \[0, 1\) \(got 1.0\)"):
        ema(np.zeros(3), 1.0)


def test_bucket_means_approximate_full_smoothing():
    """Smoothing bucket means with weight w**size tracks smoothing every point with w."""
    rng = np.random.default_rng(0)
    values = np.cumsum(rng.normal(size=200_000)) + rng.normal(size=200_000) * 5
    means, size = bucket_means(values, budget=2000)
    assert size == 201 and len(means) == -(-200_000 // 201)
    full = ema(values, 0.999)
    coarse = ema(means, 0.999**size)
    ends = np.minimum(np.arange(1, len(means) + 1) * size, len(values)) - 1
    assert np.max(np.abs(coarse[5:] - full[ends][5:])) < 0.05 * np.ptp(values)


def test_visible_keeps_a_neighbour_each_side():
    """A zoom window keeps the points inside plus one beyond each edge."""
    steps = np.arange(10.0)
    assert visible(steps, 3.5, 6.5).tolist() == [3, 4, 5, 6, 7]
    assert visible(steps, None, 1.0).tolist() == [0, 1, 2]
    assert visible(steps, None, None).tolist() == list(range(10))


def decimated(values, budget, cuts=()):
    """A Decimation fed ``values`` in pieces ending at ``cuts``, then whole."""
    decimation = Decimation(budget)
    for cut in sorted(cuts):
        decimation.update(values[:cut])
    decimation.update(values)
    return decimation


def early_then_grown(values, budget, cuts, cut):
    """A Decimation fed the pieces up to ``cut``, then the whole series: what a board's
    holds after sending at ``cut`` and then again at the end."""
    decimation = Decimation(budget)
    for earlier in sorted(c for c in cuts if c <= cut):
        decimation.update(values[:earlier])
    decimation.update(values)
    return decimation


# Finite values far from overflow (a sum of 3,000 stays finite), and the non-finite ones.
ELEMENTS = st.floats(-1e300, 1e300) | st.sampled_from([np.nan, np.inf, -np.inf])


@settings(max_examples=200, deadline=None)
@given(
    values=arrays(np.float64, st.integers(1, 3000), elements=ELEMENTS),
    budget=st.integers(6, 300),
    cuts=st.lists(st.integers(0, 3000), max_size=6),
)
def test_stable_buckets_fed_in_pieces_equal_them_fed_at_once(values, budget, cuts):
    """However a series grew between redraws, the stable buckets are the same as for the
    whole series at once: within budget, the first and last point, each bucket's finite
    minimum and maximum (as minmax picks them for buckets of that size), its mean."""
    cuts = [c for c in cuts if c <= len(values)]
    grown, whole = decimated(values, budget, cuts), decimated(values, budget)
    picked = grown.indices()
    np.testing.assert_array_equal(picked, whole.indices())
    # Sums merged pairwise differ from sums made at once only by rounding.
    finite_values = values[np.isfinite(values)]
    scale = max(1.0, float(np.abs(finite_values).max())) if len(finite_values) else 1.0
    np.testing.assert_allclose(grown.means()[0], whole.means()[0], rtol=1e-9, atol=1e-12 * scale)
    np.testing.assert_array_equal(grown.means()[1], whole.means()[1])
    assert len(picked) <= budget
    assert picked[0] == 0 and picked[-1] == len(values) - 1
    # What stable() calls settled is a prefix of what more points give, at that size;
    # once buckets merged, those settled points that stay lead, and the settled sums
    # added pairwise are the merged ones (what the browser does with what it holds).
    for cut in cuts:
        early = Decimation(budget)
        for earlier in sorted(c for c in cuts if c <= cut):
            early.update(values[:earlier])
        if cut == 0:
            continue
        settled, settled_means = early.stable()
        np.testing.assert_array_equal(early.indices()[: len(settled)], settled)
        if early.size == grown.size:
            np.testing.assert_array_equal(settled, picked[: len(settled)])
            assert early.means()[0][:settled_means].tolist() == pytest.approx(
                grown.means()[0][:settled_means].tolist(), rel=1e-9, abs=1e-12 * scale, nan_ok=True
            )
            continue
        stays = np.isin(settled, picked)
        np.testing.assert_array_equal(picked[: stays.sum()], settled[stays])
        sums, counts = early.sums()[0][:settled_means], early.sums()[1][:settled_means]
        size = early.size
        while size < grown.size:
            sums = sums[: len(sums) // 2 * 2 : 2] + sums[1 : len(sums) // 2 * 2 : 2]
            counts = counts[: len(counts) // 2 * 2 : 2] + counts[1 : len(counts) // 2 * 2 : 2]
            size *= 2
        merged = early_then_grown(values, budget, cuts, cut)
        np.testing.assert_array_equal(merged.sums()[0][: len(sums)], sums)
        np.testing.assert_array_equal(merged.sums()[1][: len(counts)], counts)
    size = grown.size
    finite = np.where(np.isfinite(values), values, np.nan)
    means, ends = grown.means()
    for number, start in enumerate(range(0, len(values), size)):
        bucket = finite[start : start + size]
        assert ends[number] == min(start + size, len(values)) - 1
        if np.isnan(bucket).all():
            assert np.isnan(means[number])
            continue
        assert start + int(np.nanargmin(bucket)) in picked
        assert start + int(np.nanargmax(bucket)) in picked
        assert means[number] == pytest.approx(np.nanmean(bucket), rel=1e-9, abs=1e-12 * scale)


def test_an_update_reads_only_the_points_added_since_the_last():
    """Growing by 1,000 points reads those points (and the partial bucket), not the
    10 million before them: overwriting the old points changes nothing drawn."""
    values = np.sin(np.arange(10_001_000) / 1e4)
    values[1_234_567] = 50.0  # a spike among the old points
    decimation = Decimation(2000)
    decimation.update(values[:10_000_000])
    before = decimation.indices()
    tail_start = decimation.done
    values[:tail_start] = np.nan  # whatever the old points now hold, they are not read
    decimation.update(values)
    after = decimation.indices()
    assert 1_234_567 in after
    assert len(after) <= 2000
    assert set(before[before < tail_start]) <= set(after)


def test_stable_buckets_refuse_a_series_that_shrank():
    decimation = Decimation(100)
    decimation.update(np.arange(50.0))
    with pytest.raises(ValueError, match="held 50 points, now 10"):
        decimation.update(np.arange(10.0))


def test_non_finite_counts_exactly_and_keeps_a_bounded_spread_of_places():
    from hypertuner.downsample import NonFinite

    values = np.ones(100_000)
    values[10_000:10_200] = np.nan
    values[50_000] = np.inf
    values[60_000] = -np.inf
    bad = NonFinite(most=64)
    for end in (5_000, 10_100, 55_000, 100_000):  # a growing series, read in pieces
        bad.update(values[:end])
    assert (bad.nan, bad.inf) == (200, 2)
    assert len(bad.at) <= 64 and np.all(~np.isfinite(values[bad.at]))
    assert bad.at.min() == 10_000 and bad.at.max() >= 10_100  # spread over the NaN run
    assert 50_000 in bad.at or 60_000 in bad.at
    ints = NonFinite()
    ints.update(np.arange(10))
    assert (ints.nan, ints.inf, len(ints.at)) == (0, 0, 0)
