"""Decimation and smoothing for drawing long series: pure functions on numpy arrays.

A chart is a few hundred pixels wide, a run may hold millions of points. Sampling
would hide spikes, so :func:`minmax` splits the points into equal runs (buckets)
and keeps, from each, the point with the smallest and the one with the largest
value, plus the first and last point of the whole series. A one-point spike among
ten million is therefore always drawn, and the same data always gives the same
picture. Buckets are runs of consecutive points, not ranges of x, so the result is
right even when steps repeat or go backwards.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Decimation", "NonFinite", "bucket_means", "bucket_sums", "ema", "minmax", "visible"]


def minmax(values: np.ndarray, budget: int = 2000) -> np.ndarray:
    """Indices of the points to draw so that no extreme is lost.

    Parameters
    ----------
    values : numpy.ndarray
        The y values (float); NaN and infinities cannot be drawn and are never chosen
        as a bucket's extreme unless the bucket has nothing else.
    budget : int
        The most points to return (at least 4).

    Returns
    -------
    numpy.ndarray
        Sorted, unique int64 indices: all of them when ``len(values) <= budget``,
        else the first, the last, and each bucket's minimum and maximum.
    """
    n = len(values)
    if budget < 4:
        raise ValueError(f"budget must be at least 4 points (got {budget})")
    if n <= budget:
        return np.arange(n, dtype=np.int64)
    buckets = (budget - 2) // 2
    size = -(-n // buckets)  # ceil: every bucket but the last is full
    full = (n // size) * size
    finite = np.where(np.isfinite(values), values, np.nan)
    picks = [np.array([0, n - 1], dtype=np.int64)]
    if full:
        block = finite[:full].reshape(-1, size)
        picks.append(_arg_extremes(block, size))
    if full < n:
        picks.append(_arg_extremes(finite[full:].reshape(1, -1), n - full) + full)
    return np.unique(np.concatenate(picks))


def _arg_extremes(block: np.ndarray, size: int) -> np.ndarray:
    """Absolute indices of each row's finite min and max (or its first point)."""
    empty = np.all(np.isnan(block), axis=1)
    safe = np.where(empty[:, None], 0.0, block)
    low = np.where(np.isnan(safe), np.inf, safe).argmin(axis=1)
    high = np.where(np.isnan(safe), -np.inf, safe).argmax(axis=1)
    starts = np.arange(block.shape[0], dtype=np.int64) * size
    return np.concatenate([starts + low, starts + high])


def bucket_means(values: np.ndarray, budget: int = 2000) -> tuple[np.ndarray, int]:
    """The mean of each bucket :func:`minmax` would use, and the bucket size.

    Smoothing the means with weight ``w ** size`` approximates smoothing every point
    with weight ``w``, which lets the browser smooth a decimated line faithfully.
    Non-finite values are left out of the means.
    """
    sums, counts, size = bucket_sums(values, budget)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan), size


def bucket_sums(values: np.ndarray, budget: int = 2000) -> tuple[np.ndarray, np.ndarray, int]:
    """The sum and the count of the finite values of each bucket :func:`minmax` would
    use, and the bucket size (what :func:`bucket_means` divides)."""
    n = len(values)
    if n <= budget:
        finite = np.isfinite(values)
        return np.where(finite, values, 0.0).astype(np.float64), finite.astype(np.int64), 1
    buckets = (budget - 2) // 2
    size = -(-n // buckets)
    padded = np.full(-(-n // size) * size, np.nan)
    padded[:n] = np.where(np.isfinite(values), values, np.nan)
    rows = padded.reshape(-1, size)
    return np.nansum(rows, axis=1), np.sum(~np.isnan(rows), axis=1), size


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's debiased exponential moving average.

    ``last = last * weight + (1 - weight) * v`` over the finite values, divided by
    ``1 - weight ** k`` after ``k`` of them, so the start is not pulled toward 0.
    Non-finite values pass through unsmoothed; a constant series is left as is.
    """
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1) (got {weight!r})")
    values = np.asarray(values, dtype=np.float64)
    out = values.copy()
    if weight == 0.0 or len(values) == 0 or np.all(values == values[0]):
        return out
    last = 0.0
    count = 0
    for i, value in enumerate(values.tolist()):
        if value - value != 0.0:  # NaN or infinite
            continue
        last = last * weight + (1.0 - weight) * value
        count += 1
        out[i] = last / (1.0 - weight**count)
    return out


def visible(steps: np.ndarray, low: float | None, high: float | None) -> np.ndarray:
    """Indices of the points whose step lies in ``[low, high]`` (None: unbounded).

    One neighbour on each side is kept so lines run to the edges of a zoomed chart.
    """
    n = len(steps)
    if low is None and high is None:
        return np.arange(n, dtype=np.int64)
    inside = np.ones(n, dtype=bool)
    if low is not None:
        inside &= steps >= low
    if high is not None:
        inside &= steps <= high
    keep = inside.copy()
    keep[:-1] |= inside[1:]
    keep[1:] |= inside[:-1]
    return np.flatnonzero(keep)


class Decimation:
    """The min/max buckets of a growing series, updated from its new points alone.

    :func:`minmax` splits a series into buckets anew each time it is called, which
    reads every point: a redraw of 10 million points would cost half a second. Here
    the buckets are stable: each holds ``size`` consecutive points from a multiple
    of ``size`` on, ``size`` is a power of two, and when the buckets would pass the
    budget, neighbours merge pairwise and ``size`` doubles. A bucket keeps the index
    and the value of its finite minimum and maximum and the sum and count of its
    finite values, so merging never reads the series again, and :meth:`update`
    reads only the points added since it last ran (and the last, partial bucket).
    The result keeps every extreme just as :func:`minmax` does: the first and last
    point, and each bucket's minimum and maximum.

    Parameters
    ----------
    budget : int
        The most points :meth:`indices` returns (at least 6): between a half and
        the whole of it once the series is longer.
    """

    def __init__(self, budget: int = 2000) -> None:
        if budget < 6:
            raise ValueError(f"budget must be at least 6 points (got {budget})")
        self.budget = budget
        self._most = (budget - 4) // 2  # whole buckets; the partial one adds two points
        self.size = 1
        self.done = 0  # points covered by whole buckets
        self._low = np.zeros(0, np.int64)  # per whole bucket: where its minimum is
        self._high = np.zeros(0, np.int64)
        self._low_value = np.zeros(0)  # ... and what it is (NaN: no finite value)
        self._high_value = np.zeros(0)
        self._sum = np.zeros(0)
        self._count = np.zeros(0, np.int64)
        self._tail: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int] | None = None
        self._whole: np.ndarray | None = None  # see _kept
        self._n = 0

    @property
    def points(self) -> int:
        """How many points of the series it has taken in."""
        return self._n

    def update(self, values: np.ndarray) -> None:
        """Take in the points of ``values`` (the whole series) after those seen before."""
        n = len(values)
        if n < self._n:
            raise ValueError(f"a series only grows: it held {self._n} points, now {n}")
        self._n = n
        while (n // self.size) > self._most:
            self._merge()
        whole = (n // self.size) * self.size
        if whole > self.done:
            self._append(*self._reduce(values[self.done : whole], self.size, self.done))
            self.done = whole
        tail = values[whole:n]
        self._tail = self._reduce(tail, len(tail), whole) if len(tail) else None

    def indices(self) -> np.ndarray:
        """Sorted unique indices to draw: the first and last point, each bucket's extremes."""
        n = self._n
        if n == 0:
            return np.zeros(0, np.int64)
        if self.size == 1:  # every point is a bucket of its own
            return np.arange(n, dtype=np.int64)
        parts = [self._kept()]
        if self._tail is not None:
            low, high = self._tail[0][0], self._tail[1][0]
            parts.append(np.array([min(low, high), max(low, high)], np.int64))
        parts.append(np.array([n - 1], np.int64))
        return _distinct(np.concatenate(parts))

    def stable(self) -> tuple[np.ndarray, int]:
        """The leading indices and the number of leading means that stay as they
        are while ``size`` does.

        The indices returned begin :meth:`indices`, and the means counted begin
        :meth:`means`; they belong to whole buckets, so new points only add after
        them (until a merge doubles ``size``: then each merged bucket's extremes are
        among its halves', and its sum and count are theirs added). A redraw sends
        the rest.
        """
        if self.size == 1:
            return np.arange(self._n, dtype=np.int64), self._n
        return self._kept(), len(self._low)

    def _kept(self) -> np.ndarray:
        """The first point and each whole bucket's extremes, sorted and distinct.

        A bucket's two extremes lie inside it and buckets follow each other, so each
        bucket's pair in order is already sorted overall: no sort is needed, and an
        index can repeat only next to itself (a bucket whose lowest point is its
        highest). Kept until the buckets change.
        """
        if self._whole is None:
            pairs = np.empty(2 * len(self._low) + 1, np.int64)
            pairs[0] = 0
            pairs[1::2] = np.minimum(self._low, self._high)
            pairs[2::2] = np.maximum(self._low, self._high)
            self._whole = _distinct(pairs)
        return self._whole

    def means(self) -> tuple[np.ndarray, np.ndarray]:
        """Each bucket's mean of its finite values (NaN for none) and its last index."""
        sums, counts, ends = self.sums()
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan), ends

    def sums(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each bucket's sum and count of its finite values, and its last index."""
        sums, counts = self._sum, self._count
        ends = np.arange(1, len(sums) + 1, dtype=np.int64) * self.size - 1
        if self._tail is not None:
            sums = np.append(sums, self._tail[4])
            counts = np.append(counts, self._tail[5])
            ends = np.append(ends, self._n - 1)
        return sums, counts, ends

    @staticmethod
    def _reduce(values: np.ndarray, size: int, start: int) -> tuple:
        """Per bucket of ``size`` points of ``values`` (a multiple of size long, or one
        partial bucket): low and high indices (absolute), their values, sum, count."""
        block = np.asarray(values, np.float64).reshape(-1, size)
        rows = np.arange(block.shape[0])
        finite = np.isfinite(block)
        if finite.all():  # the common case, in half the steps
            low, high = block.argmin(axis=1), block.argmax(axis=1)
            low_value, high_value = block[rows, low], block[rows, high]
            sums = block.sum(axis=1)
            counts = np.full(len(rows), size, np.int64)
        else:
            low = np.where(finite, block, np.inf).argmin(axis=1)
            high = np.where(finite, block, -np.inf).argmax(axis=1)
            any_finite = finite.any(axis=1)
            low_value = np.where(any_finite, block[rows, low], np.nan)
            high_value = np.where(any_finite, block[rows, high], np.nan)
            sums = np.where(finite, block, 0.0).sum(axis=1)
            counts = finite.sum(axis=1)
        starts = start + rows.astype(np.int64) * size
        return starts + low, starts + high, low_value, high_value, sums, counts

    def _append(self, low, high, low_value, high_value, sums, counts) -> None:  # noqa: ANN001
        self._whole = None
        self._low = np.concatenate([self._low, low])
        self._high = np.concatenate([self._high, high])
        self._low_value = np.concatenate([self._low_value, low_value])
        self._high_value = np.concatenate([self._high_value, high_value])
        self._sum = np.concatenate([self._sum, sums])
        self._count = np.concatenate([self._count, counts])

    def _merge(self) -> None:
        """Merge whole buckets pairwise (an odd last one is dropped, to be read again
        from the series as part of the partial bucket) and double the size."""
        self._whole = None
        pairs = len(self._low) // 2
        a, b = slice(0, 2 * pairs, 2), slice(1, 2 * pairs, 2)

        def pick(index: np.ndarray, value: np.ndarray, better: Any) -> tuple:
            first, second = value[a], value[b]
            # A bucket with no finite value stands for its first point, as in minmax.
            take_second = (np.isnan(first) & ~np.isnan(second)) | better(second, first)
            return (
                np.where(take_second, index[b], index[a]),
                np.where(take_second, second, first),
            )

        self._low, self._low_value = pick(self._low, self._low_value, np.less)
        self._high, self._high_value = pick(self._high, self._high_value, np.greater)
        self._sum = self._sum[a] + self._sum[b]
        self._count = self._count[a] + self._count[b]
        self.size *= 2
        self.done = pairs * self.size


class NonFinite:
    """Where a growing series holds NaN or an infinity, from its new points alone.

    A line cannot draw these (a NaN leaves a gap a few pixels wide, an infinity
    nothing at all), so the board marks them at the chart's edge and counts them.
    The counts are exact; the places kept (indices into the series) are at most
    ``most``, every other one dropped whenever there would be more.
    """

    def __init__(self, most: int = 256) -> None:
        self.most = most
        self.nan = 0
        self.inf = 0  # either sign
        self.at = np.zeros(0, np.int64)
        self._seen = 0

    def update(self, values: np.ndarray) -> None:
        """Take in the points of ``values`` (the whole series) after those seen before."""
        new = values[self._seen :]
        start, self._seen = self._seen, len(values)
        if not len(new) or new.dtype.kind in "biu":  # integers and booleans are finite
            return
        where = np.flatnonzero(~np.isfinite(new))
        if not len(where):
            return
        nan = int(np.isnan(new[where]).sum())
        self.nan += nan
        self.inf += len(where) - nan
        self.at = np.concatenate([self.at, where + start])
        while len(self.at) > self.most:
            self.at = self.at[::2]


def _distinct(sorted_indices: np.ndarray) -> np.ndarray:
    """``sorted_indices`` without repeats (which can only be neighbours)."""
    if len(sorted_indices) < 2:
        return sorted_indices
    keep = np.empty(len(sorted_indices), bool)
    keep[0] = True
    np.not_equal(sorted_indices[1:], sorted_indices[:-1], out=keep[1:])
    return sorted_indices[keep]
