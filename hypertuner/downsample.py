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

import numpy as np

__all__ = ["bucket_means", "ema", "minmax", "visible"]


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
    n = len(values)
    if n <= budget:
        return np.asarray(values, dtype=np.float64), 1
    buckets = (budget - 2) // 2
    size = -(-n // buckets)
    padded = np.full(-(-n // size) * size, np.nan)
    padded[:n] = np.where(np.isfinite(values), values, np.nan)
    rows = padded.reshape(-1, size)
    counts = np.sum(~np.isnan(rows), axis=1)
    sums = np.nansum(rows, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan), size


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
