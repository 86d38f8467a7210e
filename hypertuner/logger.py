"""The write path: ``Logger.log`` keeps every point in memory and mirrors it to disk.

``log()`` only validates and queues: a call whose keys (in order) and value types
were accepted before is checked with one dict look-up and one tuple comparison made
in C, and its values are queued as a tuple. The queue is drained into the columnar
:class:`~hypertuner.series.Series` in blocks (when a reader asks, when it grows long,
and before every flush), and a background thread appends what is new to the run
file at least once per ``flush_every`` seconds.
"""

from __future__ import annotations

import atexit
import math
import os
import random
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from ._base import RunBase, runs_dir
from ._notebook import in_notebook
from ._values import (
    FAST_KINDS,
    INT_LIMIT,
    KIND_PHRASES,
    TEXT,
    describe,
    flatten,
    normalise,
    normalise_step,
)
from ._version import __version__
from .errors import HypertunerWarning, InvalidValueError, RunClosedError
from .params import coerce as _coerce_params
from .params import current as _current_params
from .runfile import DATA_FILE, FORMAT_VERSION, RunWriter, chunk_parts, key_parts
from .runinfo import process_start, remove_run, write_info
from .series import Series

__all__ = ["Logger"]

# Seconds between redraws of a live board (a slow redraw stretches this).
REDRAW_EVERY = 0.2

# Drain the queue once it holds this many calls, so memory stays bounded even when
# nothing reads and the flush interval is long.
DRAIN_AT = 4096
# Integer steps below this convert to float64 exactly; others take the careful path.
_STEP_LIMIT = 2**53

_ADJECTIVES = (
    "amber bold brisk calm clever crisp dapper eager fair gentle glad keen lively "
    "lucid merry nimble noble plucky quick quiet rapid sharp steady sunny swift tidy "
    "vivid warm wise witty zesty"
).split()
_NOUNS = (
    "badger bison crane dingo egret falcon ferret gecko heron ibis jackal koala lemur "
    "lynx marten newt ocelot otter panda puffin quail raven seal stoat tapir toucan "
    "walrus wombat yak zebra"
).split()

_open_loggers: set[Logger] = set()


@atexit.register
def _close_open_loggers() -> None:
    for logger in list(_open_loggers):
        logger.close()


class Logger(RunBase):
    """Log training metrics to a new run folder, keeping every point.

    Parameters
    ----------
    name : str, optional
        The run's name and folder name; a readable unique one is made if omitted.
        If a run of that name exists, ``-2``, ``-3``... is appended.
    dir : str or path, optional
        The folder to create the run in; defaults to ``$HYPERTUNER_DIR`` or ``./runs``.
    params : dict, Params or path to a JSON file, optional
        Hyperparameters to record; defaults to those of the last ``hypertuner.params()``.
    flush_every : float
        Seconds between writes to disk (default 1.0); a crash loses at most this much.
    display : bool, optional
        Show the live board in the current notebook cell. By default it is shown in
        a notebook and never elsewhere (outside a notebook no widget code is loaded).

    Notes
    -----
    The run folder is created at once, so other processes can list the run while it
    is being written. A logger closed without ever accepting a point (its first
    ``log()`` raised, or it was never called) removes the run folder again on
    :meth:`close`, whether called, by a ``with`` block or at interpreter exit. Only
    the files the logger made are deleted; a folder that holds others is kept.

    Examples
    --------
    >>> with hypertuner.Logger() as logger:
    ...     for i in range(10):
    ...         logger.log({"loss": 1 / (i + 1)}, i)
    """

    def __init__(
        self,
        name: str | None = None,
        dir: str | os.PathLike[str] | None = None,
        params: Any = None,
        *,
        flush_every: float = 1.0,
        display: bool | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not (isinstance(flush_every, (int, float)) and flush_every > 0):
            raise ValueError(
                f"flush_every must be a positive number of seconds (got {flush_every!r})"
            )
        if params is None:
            current = _current_params()
            params_dict = current.to_dict() if current is not None else {}
        else:
            params_dict = _coerce_params(params)
        self._clock = clock
        now = clock()
        self._path = _new_run_folder(runs_dir(dir), name, now)
        self._info = {
            "format": FORMAT_VERSION,
            "id": uuid.uuid4().hex,
            "name": self._path.name,
            "created": now,
            "ended": None,
            "status": "running",
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "pid_start": process_start(os.getpid()),
            "version": __version__,
            "flush_every": float(flush_every),
            "params": params_dict,
        }
        write_info(self._path, self._info)
        self._writer = RunWriter(self._path / DATA_FILE)

        self._series: dict[str, Series] = {}
        self._kinds: dict[str, int] = {}
        self._interned: dict[tuple[str, ...], tuple[str, ...]] = {}
        # keys tuple -> (the same tuple, value types, positions of ints): calls seen before
        self._schemas: dict[
            tuple[str, ...], tuple[tuple[str, ...], tuple[type, ...], tuple[int, ...]]
        ] = {}
        self._ids: dict[str, int] = {}
        self._flushed: list[int] = []  # per key id: points already on disk
        self._defined: list[bool] = []  # per key id: key record already on disk
        self._queue: list[tuple] = []  # calls not yet moved into the series
        self._lock = threading.RLock()  # guards draining the queue into the series
        self._flush_lock = threading.Lock()  # one flush at a time
        self._closed = False
        self._disk_warned = False
        self._flush_every = float(flush_every)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._flush_loop, name=f"hypertuner-flush-{self.name}", daemon=True
        )
        # Live boards: log() calls them when the wall clock passes _redraw_at.
        self._listeners: list[Callable[[bool], Any]] = []
        self._redraw_at = math.inf
        self._display_warned = False
        _open_loggers.add(self)
        self._thread.start()
        if display or (display is None and in_notebook()):
            try:
                self.show()
            except Exception as exc:  # noqa: BLE001 - no board must never mean no logging
                warnings.warn(
                    f"hypertuner cannot show the board of run {self.name!r} "
                    f"({type(exc).__name__}: {exc}); logging goes on without it.",
                    HypertunerWarning,
                    stacklevel=2,
                )

    # -- writing ------------------------------------------------------------------

    def log(self, values: Mapping[str, Any], step: Any = None) -> None:
        """Record one value per key at ``step``.

        Parameters
        ----------
        values : dict
            Name -> value: a number, bool, str, or a numpy/tensor scalar. Nested
            dicts become ``parent/child`` names. A key keeps the kind of its first value.
        step : int or float, optional
            The x position; when omitted the wall-clock time of the call is used.

        Raises
        ------
        InvalidValueError
            For a key or value that cannot be stored; nothing of the call is kept.
        InvalidStepError
            For a step that is not a finite number.
        RunClosedError
            If the logger was closed.
        """
        if self._closed:
            raise RunClosedError(f"log(): run {self.name!r} is closed; create a new Logger")
        # The step first: a call that fails must not have defined its new keys.
        wall = self._clock()
        if step is None:
            step = wall
        elif type(step) is not int or not -_STEP_LIMIT < step < _STEP_LIMIT:
            step = normalise_step(step)
        if type(values) is dict:
            # The fast path: a call whose keys, in this order, and value types were
            # seen and accepted before needs no per-value Python work at all.
            keys = tuple(values)
            row = tuple(values.values())
            schema = self._schemas.get(keys)
            if (
                schema is None
                or schema[1] != tuple(map(type, row))
                or (schema[2] and not _ints_fit(row, schema[2]))
            ):
                keys, row = self._admit(values)
            else:
                keys = schema[0]  # the shared tuple: the drain groups calls by identity
        else:
            keys, row = self._admit(values)
        queue = self._queue
        queue.append((keys, step, wall, row))
        if len(queue) >= DRAIN_AT:
            self._drain()
        if wall >= self._redraw_at:
            self._redraw(wall)

    def _admit(self, values: Any) -> tuple[tuple[str, ...], tuple]:
        """The slow path of log(): flatten, normalise, check kinds, define new keys.

        Returns the call's keys and values; remembers its schema when the values
        were plain Python types, so the next call like it takes the fast path.
        """
        if not isinstance(values, Mapping):
            raise InvalidValueError(
                f"log() takes a dict of name -> value (got {type(values).__name__}); "
                "e.g. logger.log({'loss': 0.25}, step)"
            )
        flat = flatten(dict(values))
        plain: dict[str, Any] = {}
        new: dict[str, int] = {}
        for key, value in flat.items():
            kind, plain[key] = normalise(key, value)
            known = self._kinds.get(key, new.get(key))
            if known is None:
                new[key] = kind
            elif known != kind:
                raise InvalidValueError(
                    f"log(): {key!r} was first logged as {KIND_PHRASES[known]}, so its "
                    f"values must stay {KIND_PHRASES[known]} (got {describe(value)})."
                )
        with self._lock:
            for key, kind in new.items():
                self._define(key, kind)
            keys = tuple(plain)
            keys = self._interned.setdefault(keys, keys)  # the drain groups by identity
            if type(values) is dict and tuple(values) == keys:
                types = tuple(map(type, flat.values()))
                if all(FAST_KINDS.get(t) == self._kinds[k] for k, t in zip(keys, types)):
                    ints = tuple(i for i, t in enumerate(types) if t is int)
                    self._schemas[keys] = (keys, types, ints)
        return keys, tuple(plain.values())

    def _define(self, key: str, kind: int) -> None:
        # Bookkeeping first: a flush that sees the series must find its id.
        self._ids[key] = len(self._flushed)
        self._flushed.append(0)
        self._defined.append(False)
        self._series[key] = Series(key, kind, sync=self._sync)
        self._kinds[key] = kind

    def _drain(self) -> None:
        """Move queued calls into the series, in runs of calls that share their keys."""
        with self._lock:
            queue = self._queue
            if not queue:
                return
            # log() only ever appends, from any thread, and drains are serialised by
            # the lock, so the first len(batch) entries are exactly the ones copied.
            batch = queue[:]
            del queue[: len(batch)]
            keys_column, steps, walls, rows = zip(*batch)
            first = keys_column[0]
            if keys_column.count(first) == len(keys_column):
                # The usual case: every call logged the same keys.
                self._store(first, steps, walls, rows)
                return
            start = 0
            for i in range(1, len(batch) + 1):
                if i == len(batch) or keys_column[i] is not keys_column[start]:
                    end = i
                    self._store(
                        keys_column[start], steps[start:end], walls[start:end], rows[start:end]
                    )
                    start = i

    def _store(self, keys: tuple[str, ...], steps: tuple, walls: tuple, rows: tuple) -> None:
        step_array = np.array(steps, np.float64)
        wall_array = np.array(walls, np.float64)
        columns: Any
        if any(self._kinds[key] == TEXT for key in keys):
            columns = zip(*rows)
        else:
            # All numbers and bools: one C-level pass over the whole block.
            flat = np.fromiter(chain.from_iterable(rows), np.float64, len(rows) * len(keys))
            columns = flat.reshape(len(rows), len(keys)).T
        for key, column in zip(keys, columns):
            self._series[key].extend(step_array, wall_array, column)

    _sync = _drain  # readers see every point logged so far

    # -- live boards ------------------------------------------------------------

    def show(self) -> Any:
        """Display the live board in the current notebook cell (again, if shown before)."""
        from .board import show

        return show(self)

    def _watch(self, redraw: Callable[[bool], Any]) -> None:
        """Call ``redraw(final)`` from log() every REDRAW_EVERY seconds and on close."""
        self._listeners.append(redraw)
        self._redraw_at = self._clock()

    def _redraw(self, now: float, final: bool = False) -> None:
        started = time.perf_counter()
        try:
            for redraw in self._listeners:
                redraw(final)
        except Exception as exc:  # noqa: BLE001 - a broken display must not stop training
            self._listeners.clear()
            self._redraw_at = math.inf
            if not self._display_warned:
                self._display_warned = True
                warnings.warn(
                    f"hypertuner stopped drawing run {self.name!r}: {type(exc).__name__}: {exc}. "
                    "Logging goes on.",
                    HypertunerWarning,
                    stacklevel=3,
                )
            return
        cost = time.perf_counter() - started
        # A slow redraw (a huge run) waits longer, so drawing stays a small share of the loop.
        self._redraw_at = now + max(REDRAW_EVERY, 4 * cost)

    # -- flushing -----------------------------------------------------------------

    def flush(self) -> bool:
        """Write every point not yet on disk. Returns False if the disk refused.

        A refusal warns once (``HypertunerWarning``) and keeps the points in
        memory; the next flush retries. It never raises into the training loop.
        """
        self._drain()
        with self._flush_lock:
            with self._lock:
                series_now = list(self._series.items())
            parts: list = []
            done: list[tuple[int, int]] = []
            for key, series in series_now:
                key_id = self._ids[key]
                start = self._flushed[key_id]
                steps, walls, values = series.since(start)
                if not self._defined[key_id]:
                    parts += key_parts(key_id, key, series._kind)
                if len(steps):
                    parts += chunk_parts(key_id, series._kind, steps, walls, values)
                done.append((key_id, start + len(steps)))
            if not parts:
                return True
            try:
                self._writer.append(parts)
            except OSError as exc:
                if not self._disk_warned:
                    self._disk_warned = True
                    warnings.warn(
                        f"hypertuner could not write run {self.name!r} to {self._path}: "
                        f"{exc}. Its points are kept in memory and the write is retried "
                        "at every flush.",
                        HypertunerWarning,
                        stacklevel=2,
                    )
                return False
            self._disk_warned = False
            for key_id, count in done:
                self._flushed[key_id] = count
                self._defined[key_id] = True
            return True

    def _flush_loop(self) -> None:
        while not self._stop.wait(self._flush_every):
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - the thread must outlive any one failure
                pass

    # -- closing ------------------------------------------------------------------

    def close(self, status: str = "finished") -> None:
        """Flush every point, mark the run finished and release the file.

        Closing twice does nothing. Points the disk refused stay in memory and a
        warning says so; the run on disk still reopens with what it holds. A run
        that never accepted a point is removed instead (see :class:`Logger`).
        """
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if threading.current_thread() is not self._thread:
            self._thread.join()
        flushed = self.flush()
        self._writer.close()
        self._info["status"] = status if flushed else "crashed"
        self._info["ended"] = self._clock()
        try:
            if self._ids:
                write_info(self._path, self._info)
            else:
                # No key was ever defined, so no point accepted: an empty run folder
                # (say, of a script whose first log() raised) would only be clutter.
                remove_run(self._path)
        except OSError as exc:
            doing = (
                f"mark run {self.name!r} {status}"
                if self._ids
                else f"remove empty run {self.name!r}"
            )
            warnings.warn(
                f"hypertuner could not {doing}: {exc}",
                HypertunerWarning,
                stacklevel=2,
            )
        _open_loggers.discard(self)
        if self._listeners:
            self._redraw(self._clock(), final=True)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._closed

    def __enter__(self) -> Logger:
        return self

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        if error is not None and not isinstance(error, (KeyboardInterrupt, GeneratorExit)):
            self._info["error"] = f"{type(error).__name__}: {error}"[:1000]
            self.close("crashed")
        else:
            self.close()


def _ints_fit(row: tuple, positions: tuple[int, ...]) -> bool:
    """True if the ints at ``positions`` of ``row`` fit in a float64."""
    for i in positions:
        if not -INT_LIMIT < row[i] < INT_LIMIT:
            return False
    return True


def _new_run_folder(root: Path, name: str | None, now: float) -> Path:
    """Create and return a run folder that no other logger can also have created."""
    if name is not None:
        if not isinstance(name, str) or not name.strip() or name in (".", ".."):
            raise ValueError(f"name must be a non-empty string (got {name!r})")
        bad = [c for c in ("/", "\\", "\0") if c in name]
        if bad:
            raise ValueError(
                f"name must not contain {bad[0]!r}, since it names a folder (got {name!r})"
            )
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    for attempt in range(1000):
        if name is not None:
            candidate = name if attempt == 0 else f"{name}-{attempt + 1}"
        else:
            candidate = f"{stamp}-{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}"
            if attempt >= 10:
                candidate += f"-{attempt}"
        try:
            (root / candidate).mkdir()
        except FileExistsError:
            continue
        return root / candidate
    raise FileExistsError(f"could not find a free run name in {root}")
