"""Columnar, growable, in-memory storage of logged points.

Each key owns one :class:`Series`: three parallel buffers (step, wall time, value)
that grow geometrically, so appends are amortised O(1) and reads are zero-copy
read-only numpy views. This module does no I/O, reads no clock and knows nothing
of widgets; the logger and the run reader both fill it, and charts read it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ._values import BOOL, KIND_NAMES, NUMBER, TEXT

__all__ = ["Series", "SeriesMap", "SeriesView", "require_pandas"]

_DTYPES = {NUMBER: np.float64, BOOL: np.bool_, TEXT: np.object_}

# Growing by a quarter keeps the slack under 25% (a numeric point then costs at
# most 30 bytes held) while still making appends amortised O(1). A key starts small:
# runs with a million one-point keys exist (per-item metrics), and must fit in memory.
_GROWTH = 1.25
_MIN_CAPACITY = 1


def require_pandas(caller: str) -> Any:
    """Import pandas for ``caller``, or say how to install it."""
    try:
        import pandas
    except ImportError:
        raise ImportError(
            f"{caller} needs pandas, which is not installed: pip install pandas"
        ) from None
    return pandas


# numpy lets the GIL go while it copies over 500 elements, and a thread that lets it
# go while another computes waits to get it back (up to the 5 ms switch interval),
# the other thread stalling when it does. The logger's background thread appends
# and grows series while the training thread logs, so copies up to this size are
# made holding the GIL, as one memcpy: the training thread then waits once per
# drain, briefly, not once per copy. Bigger ones (a series of millions of points
# growing) let it run meanwhile.
_HELD_COPY_BYTES = 1 << 24
_NUMPY_HOLDS = 500  # numpy copies this many elements or fewer holding the GIL
# numpy asks for huge pages (2 MB each, one first touch) from this size on, where a
# fresh copy is cheap; below it, a series grows in place when it can.
_HUGE_PAGES = 1 << 22


def _copy(target: np.ndarray, start: int, source: Any) -> None:
    """``target[start:start + len(source)] = source``, holding the GIL if it is small.

    ``source`` may be a sequence, an array, or a memoryview of the same items (doubles
    for float64, bytes 0 and 1 for bool), strided or not.
    """
    end = start + len(source)
    if end - start <= _NUMPY_HOLDS or not target.flags.aligned:
        # numpy holds the GIL for this (and an export would cost every small series
        # the buffer description numpy keeps); an unaligned (adopted) array's buffer
        # has another format than a plain view's.
        target[start:end] = np.asarray(source) if type(source) is memoryview else source
    elif type(source) is memoryview:
        view = memoryview(target)
        if source.format == "B":
            view = view.cast("B")  # bools: copied as the bytes 0 and 1 they are
        view[start:end] = source
    elif (
        type(source) is np.ndarray
        and source.dtype == target.dtype
        and not source.dtype.hasobject
        and source.nbytes <= _HELD_COPY_BYTES
        and source.flags.c_contiguous
        and source.flags.aligned
    ):
        memoryview(target)[start:end] = memoryview(source)
    else:
        target[start:end] = source


def _readonly(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


class Series:
    """All points logged under one key, in the order they were logged.

    Parameters
    ----------
    name : str
        The key the points were logged under.
    kind : int
        ``NUMBER``, ``BOOL`` or ``TEXT`` from :mod:`hypertuner._values`.

    Examples
    --------
    >>> s = logger["loss"]
    >>> s.steps[-1], s.values[-1]
    """

    __slots__ = ("name", "_kind", "_steps", "_walls", "_values", "_n", "_sync")

    def __init__(self, name: str, kind: int, sync: Callable[[], None] | None = None) -> None:
        self.name = name
        self._kind = kind
        self._steps = np.empty(0, np.float64)
        self._walls = np.empty(0, np.float64)
        self._values = np.empty(0, _DTYPES[kind])
        self._n = 0
        # A live logger keeps recent calls in a queue; reading drains it first.
        self._sync = sync

    @property
    def kind(self) -> str:
        """``"number"``, ``"bool"`` or ``"text"``."""
        return KIND_NAMES[self._kind]

    def __len__(self) -> int:
        if self._sync is not None:
            self._sync()
        return self._n

    def __repr__(self) -> str:
        return f"<Series {self.name!r}: {len(self)} {self.kind} points>"

    def _view(self, buffer_name: str) -> np.ndarray:
        if self._sync is not None:
            self._sync()
        n = self._n  # read the length first: the buffer then holds at least n points
        return _readonly(getattr(self, buffer_name)[:n])

    @property
    def steps(self) -> np.ndarray:
        """The x position of every point (float64; the call's time when no step was given)."""
        return self._view("_steps")

    @property
    def walls(self) -> np.ndarray:
        """The wall-clock time of every point, in seconds since the epoch (float64)."""
        return self._view("_walls")

    @property
    def values(self) -> np.ndarray:
        """Every value: float64 for numbers, bool for booleans, object (str) for text."""
        return self._view("_values")

    def extend(
        self,
        steps: Sequence[float] | np.ndarray,
        walls: Sequence[float] | np.ndarray,
        values: Sequence[Any] | np.ndarray,
    ) -> None:
        """Append points given as three equally long sequences."""
        self.extend_many([(steps, walls, values)])

    def extend_many(self, parts: Sequence[tuple[Any, Any, Any]]) -> None:
        """Append several (steps, walls, values) runs of points, in order, growing once.

        Each column may be a sequence, an array or a memoryview of the series' items
        (doubles; bytes 0 and 1 for bools), which is copied as it is.
        """
        start = self._n
        end = start + sum(len(part[0]) for part in parts)
        if end == start:
            return
        if end > len(self._steps):
            self._grow(end)
        at = start
        for steps, walls, values in parts:
            count = len(steps)
            _copy(self._steps, at, steps)
            _copy(self._walls, at, walls)
            if self._kind == TEXT and not isinstance(values, np.ndarray):
                # Slice assignment would split a str into characters if it saw one alone.
                column = np.empty(count, np.object_)
                column[:] = list(values)
                values = column
            _copy(self._values, at, values)
            at += count
        self._n = end  # published last: readers never see a half-written point

    def _grow(self, needed: int) -> None:
        capacity = max(needed, int(len(self._steps) * _GROWTH), _MIN_CAPACITY)
        for name in ("_steps", "_walls", "_values"):
            if self._kind != TEXT and capacity * 8 < _HUGE_PAGES:
                try:
                    # In place when nothing else holds the buffer (numpy checks: a
                    # reader's view, a flush's), so only the new pages are touched:
                    # first touches of fresh memory cost more than copying it.
                    getattr(self, name).resize(capacity, refcheck=True)
                    continue
                except ValueError:
                    pass  # a view of it is held, or it is not ours (adopted): copy it
            old = getattr(self, name)
            new = np.empty(capacity, old.dtype)
            _copy(new, 0, old[: self._n])
            setattr(self, name, new)

    def adopt(self, steps: np.ndarray, walls: np.ndarray, values: np.ndarray) -> None:
        """Take whole arrays as the contents of an empty series, without copying."""
        assert self._n == 0, "adopt() fills an empty series"
        self._steps, self._walls = steps, walls
        self._values = values.astype(_DTYPES[self._kind], copy=False)
        self._n = len(steps)

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Steps, wall times and values as read-only views of one length, brought up
        to date once. Reading :attr:`steps` then :attr:`values` may see a drain
        between them (another thread's points, the flush thread), and then their
        lengths differ."""
        if self._sync is not None:
            self._sync()
        return self.since(0)

    def since(self, start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The points from index ``start`` on, as read-only views (no sync)."""
        n = self._n
        return (
            _readonly(self._steps[start:n]),
            _readonly(self._walls[start:n]),
            _readonly(self._values[start:n]),
        )

    def tail(self, start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Like :meth:`since`, as plain views, for the writer (which never changes them)."""
        n = self._n
        return self._steps[start:n], self._walls[start:n], self._values[start:n]

    @property
    def timed(self) -> bool:
        """True when the points were logged without a step, so their steps are times."""
        if self._sync is not None:
            self._sync()
        return bool(self._n and self._steps[0] == self._walls[0])

    def stats(self) -> tuple[float, float, float]:
        """The last value, the smallest and the largest, as floats (bools count 0 and 1).

        NaN is skipped by min and max; all three are NaN for no points or text.
        """
        values = self.values
        if self._kind == TEXT or not len(values):
            return math.nan, math.nan, math.nan
        values = values.astype(np.float64, copy=False)
        return float(values[-1]), float(np.fmin.reduce(values)), float(np.fmax.reduce(values))

    def nbytes(self) -> int:
        """Bytes held by the buffers (capacity included; text counts its pointers)."""
        return self._steps.nbytes + self._walls.nbytes + self._values.nbytes


class SeriesView(Mapping[str, Series]):
    """Name -> Series over records that each hold a ``series`` (the logger's keys)."""

    __slots__ = ("_records",)

    def __init__(self, records: Mapping[str, Any]) -> None:
        self._records = records

    def __getitem__(self, name: str) -> Series:
        return self._records[name].series

    def __iter__(self) -> Iterator[str]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)


class SeriesMap(Mapping[str, Series]):
    """The read API shared by a live :class:`Logger` and a reopened :class:`Run`.

    A mapping of key -> :class:`Series`, in the order keys were first logged.
    Subclasses provide ``_series`` (a mapping) and may override ``_sync``.
    """

    _series: Mapping[str, Series]

    def _sync(self) -> None:
        """Bring the in-memory series up to date (a live logger drains its queue)."""

    def __getitem__(self, key: str) -> Series:
        self._sync()
        try:
            return self._series[key]
        except KeyError:
            known = ", ".join(repr(k) for k in list(self._series)[:20]) or "none yet"
            raise KeyError(f"no key {key!r} was logged (keys: {known})") from None

    def __iter__(self) -> Iterator[str]:
        self._sync()
        return iter(list(self._series))

    def __len__(self) -> int:
        self._sync()
        return len(self._series)

    def last_step(self) -> float | None:
        """The largest of the keys' last steps, of those logged with steps (None if
        none): brought up to date once, not once per key (a board's header reads it
        several times a second, with hundreds of keys)."""
        self._sync()
        last = [
            series._steps[series._n - 1]
            for series in self._series.values()
            if series._n and series._steps[0] != series._walls[0]  # not timed
        ]
        return float(max(last)) if last else None

    @property
    def kinds(self) -> dict[str, str]:
        """Each key's kind: ``"number"``, ``"bool"`` or ``"text"``."""
        self._sync()
        return {name: series.kind for name, series in self._series.items()}

    @property
    def points(self) -> int:
        """The number of points held, over all keys."""
        self._sync()
        return sum(series._n for series in self._series.values())

    def to_pandas(self) -> Any:
        """All points as a long pandas DataFrame: key, step, time, value.

        Raises
        ------
        ImportError
            If pandas is not installed.
        """
        pd = require_pandas("to_pandas()")
        frames = []
        for name, series in self.items():
            frames.append(
                pd.DataFrame(
                    {
                        "key": name,
                        "step": series.steps,
                        "time": pd.to_datetime(series.walls, unit="s", utc=True),
                        "value": series.values.astype(object)
                        if series._kind != NUMBER
                        else series.values,
                    }
                )
            )
        if not frames:
            return pd.DataFrame(
                {
                    "key": pd.Series([], dtype=object),
                    "step": pd.Series([], dtype="float64"),
                    "time": pd.Series([], dtype="datetime64[ns, UTC]"),
                    "value": pd.Series([], dtype=object),
                }
            )
        return pd.concat(frames, ignore_index=True)
