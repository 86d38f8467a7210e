"""The write path: ``Logger.log`` keeps every point in memory and mirrors it to disk.

``log()`` only validates and queues: a call whose keys (in order) and value types
were accepted before is checked with two dict look-ups of tuples made in C, its
step, time and values are packed into one bytes object, and that is appended to
the queue with the call's shape in one C-level step (so threads may log at once,
and no object the garbage collector tracks outlives the call). The background
thread moves queued calls into the columnar :class:`~hypertuner.series.Series`
once the queue passes :data:`DRAIN_AT` entries, reading whole columns out of the
packed bytes, and appends what is new to the run file at least once per
``flush_every`` seconds; a reader (``logger["loss"]``, the board, ``flush``,
``close``) drains first, so it sees every point logged before it asked. The
training thread drains itself only far past the threshold, when the background
thread cannot keep up, so memory stays bounded.

Everything the logger knows of one key lives in one :class:`_Key` record, and
everything it knows of one call shape in one cache entry; both are only ever
changed under one lock, so threads that log at once cannot define a key twice or
let two kinds into one series.
"""

from __future__ import annotations

import functools
import math
import os
import random
import socket
import struct
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from itertools import groupby, repeat
from operator import is_
from pathlib import Path
from typing import Any

import numpy as np

from . import _process
from ._base import RunBase, runs_dir
from ._notebook import in_notebook
from ._values import (
    FAST_KINDS,
    KIND_PHRASES,
    NUMBER,
    TEXT,
    check_name,
    describe,
    fast_check,
    flatten,
    is_kept,
    kept_groups,
    normalise,
    normalise_step,
    read_kept,
)
from ._version import __version__
from .errors import HypertunerWarning, InvalidValueError, RunClosedError
from .params import coerce as _coerce_params
from .params import current_dict as _current_params
from .runfile import DATA_FILE, FORMAT_VERSION, RunWriter, WriteFailed, chunk_records, key_parts
from .runinfo import (
    INFO_FILE,
    STATUSES,
    STOP_REASONS,
    process_start,
    read_stop,
    remove_run,
    summary_of,
    write_info,
)
from .series import Series, SeriesView

__all__ = ["Logger"]

# Seconds between redraws of a live board. A slow redraw stretches this, so that
# drawing takes at most REDRAW_SHARE of the loop, up to REDRAW_MOST seconds apart
# (the board must not fall further behind than that).
REDRAW_EVERY = 0.2
REDRAW_SHARE = 0.1
REDRAW_MOST = 1.0
# Seconds between samples of the system metrics, for Logger(system=True).
SYSTEM_EVERY = 5.0

# The queue holds two entries per call: its shape and its packed values. Past
# DRAIN_AT entries log() wakes the background thread to drain it (16,384 calls of 5
# numbers take it a few milliseconds, during which the training thread waits for
# the GIL: once per drain, so drains are rare); only past DRAIN_LIMIT, when that
# thread cannot keep up, does log() drain it itself, so memory stays bounded (about
# 7 MB for calls of 5 numbers, 30 MB for 50) even when nothing reads.
DRAIN_AT = 1 << 15
DRAIN_LIMIT = 4 * DRAIN_AT
# With a board watching, the flush thread also drains this often (s): a redraw tick
# reads the series, and would otherwise drain everything queued since the last one
# in log() (at 64 keys and 3,000 calls a second, more than the drawing itself).
DRAIN_WATCHED = 0.05
# bytes.join lets the GIL go to join a megabyte or more (see _HELD_COPY_BYTES in
# series.py for why a drain must not): packed calls are joined at most this much at
# a time.
_JOIN_BYTES = 1 << 19
_NEVER = math.inf  # _redraw_at with no board to redraw
# Integer steps below this convert to float64 exactly; others take the careful path.
_STEP_LIMIT = 2**53
# Type variants cached per keys tuple (a call whose types change every step stays slow).
_VARIANTS = 8
# Failed checks of a cached variant before it is rebuilt from the call that failed.
_REBUILD_AFTER = 16
# Seconds between looks for a stop request (Logger.should_stop reads a file).
STOP_CHECK_EVERY = 0.2
# Set by a sweep for each trial it launches: the folder the trial's run goes in.
TRIAL_FOLDER_ENV = "HYPERTUNER_RUN_FOLDER"
_trial_folder_claimed = False

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
# Names are drawn from a generator of our own: a user who seeded `random` must get
# the same numbers whether or not a Logger was made in between.
_names = random.Random()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_names.seed)  # forked children name runs apart


class _Key:
    """One key: its series, kind and id, and how much of it is on disk."""

    __slots__ = ("name", "kind", "id", "series", "flushed", "defined")

    def __init__(self, name: str, kind: int, key_id: int, series: Series) -> None:
        self.name = name
        self.kind = kind
        self.id = key_id
        self.series = series
        self.flushed = 0  # points already on disk
        self.defined = False  # its key record already on disk


class _Shape:
    """The keys a kind of call logs, in order, and how such a call is queued.

    Every call of these keys (holding values to convert at the drain, or not)
    shares one shape: in the queue it marks where a call starts, and the drain
    groups calls by it. ``pack(step, wall, *values)`` makes what is queued: bytes
    when every key is a number or a bool (one object, and the drain reads whole
    columns straight out of them), else a tuple (texts, kept values).
    """

    __slots__ = ("keys", "kept", "pack", "packed")

    def __init__(self, keys: tuple[_Key, ...], kept: bool) -> None:
        self.keys = keys
        self.kept = kept
        self.packed = not kept and all(key.kind != TEXT for key in keys)
        if self.packed:
            # Each value in 8 bytes (a bool as one byte 0/1 and 7 of padding), so
            # numbers are columns of doubles and bools columns of bytes.
            layout = "".join("d" if key.kind == NUMBER else "?7x" for key in keys)
            self.pack = _packer("=dd" + layout)
        else:
            self.pack = _row


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
    system : bool or float
        Also log CPU and memory use (and, where NVML finds GPUs, their utilisation and
        memory) under ``system/...`` keys at the wall time: every 5 seconds for True,
        or every that many seconds; sampled by the flush thread. Needs psutil.
    clock, timer : callable, optional
        The wall clock points and ``run.json`` record (``time.time``), and the
        monotonic clock that schedules redraws (``time.monotonic``); tests move them.

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
        system: bool | float = False,
        clock: Callable[[], float] = time.time,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        if not (
            type(flush_every) in (int, float)
            and math.isfinite(flush_every)
            and 0 < flush_every <= threading.TIMEOUT_MAX
        ):
            raise ValueError(
                "flush_every must be a positive, finite number of seconds, at most "
                f"threading.TIMEOUT_MAX (got {flush_every!r})"
            )
        sampler = None
        if system is not False:
            if system is True:
                system = SYSTEM_EVERY
            if not (type(system) in (int, float) and math.isfinite(system) and system > 0):
                raise ValueError(
                    "system must be True, False or a positive, finite number of seconds "
                    f"between samples (got {system!r})"
                )
            from ._system import Sampler

            sampler = Sampler()  # before any folder exists: psutil may be missing
        if params is None:
            params_dict = _current_params()
        else:
            params_dict = _coerce_params(params)
        self._clock = clock  # wall time: what points and run.json record
        self._timer = timer  # monotonic: what schedules redraws
        now = clock()
        self._path = _trial_folder() or _new_run_folder(runs_dir(dir), name, now)
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

        self._keys: dict[str, _Key] = {}  # name -> record, in the order keys were defined
        # What every series calls before it is read: one bound method for all keys.
        self._drain_first = self._drain
        self._series = SeriesView(self._keys)  # what the read API (SeriesMap) looks at
        # Calls seen before: outer keys -> {value types -> [shape, check, misses]},
        # where check is None when the values can be queued as they are, else a
        # function returning the call's flat values, or None to take the full check.
        # A call of one key is looked up by its name and its value's type alone.
        self._seen: dict[Any, dict[Any, list]] = {}
        # Flat keys (or flat keys, True when the calls hold kept values) -> the
        # shape of such calls.
        self._shapes: dict[Any, _Shape] = {}
        self._tensor_warned: set[str] = set()  # keys warned of a NaN or a failed conversion
        self._dirty: dict[int, _Key] = {}  # keys with points not yet on disk, by id
        # Calls not yet moved into the series: shape, then its packed values, each.
        self._queue: list[Any] = []
        self._drain_at = DRAIN_AT  # log() acts once the queue is this long
        self._lock = threading.RLock()  # guards the keys, the shapes and the drain
        self._flush_lock = threading.Lock()  # one flush at a time
        self._end_lock = threading.Lock()  # one close, from whichever thread ends the run
        self._closed = False
        self._detached = False  # a copy in a forked child: never touches the run
        self._disk_warned = False
        self._flush_warned = False
        self._owner = threading.current_thread()
        self._flush_every = float(flush_every)
        self._sampler = sampler
        self._system_every = float(system) if sampler is not None else math.inf
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by log(): the queue wants draining
        self._thread = threading.Thread(
            target=self._flush_loop, name=f"hypertuner-flush-{self.name}", daemon=True
        )
        # Live boards: log() calls them when the monotonic clock passes _redraw_at.
        self._listeners: list[Callable[[bool], Any]] = []
        self._redraw_at = math.inf
        self._display_warned = False
        self._stop_reason: str | None = None
        self._stop_checked_at = -math.inf
        _process.register(self)
        self._thread.start()
        if display or (display is None and in_notebook()):
            self._show_or_warn(stacklevel=3)

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
        # The step first: a call that fails must not have defined its new keys.
        wall = self._clock()
        if step is None:
            step = wall
        elif type(step) is int:
            if not -_STEP_LIMIT < step < _STEP_LIMIT:
                step = normalise_step(step)
        elif type(step) is not float or step - step != 0.0:  # NaN and inf fail x - x == 0
            step = normalise_step(step)
        # The fast path: a call whose keys, in this order, and value types were seen
        # and accepted before needs no per-value Python work at all. Closing empties
        # the cache, so a closed logger always comes to the full check below.
        seen = None
        if isinstance(values, dict):
            if len(values) == 1:  # the commonest call, {"loss": loss}: no tuples to hash
                for name, value in values.items():
                    row = (value,)
                    variants = self._seen.get(name)
                    seen = None if variants is None else variants.get(type(value))
            else:
                row = tuple(values.values())
                variants = self._seen.get(tuple(values))
                seen = None if variants is None else variants.get(tuple(map(type, row)))
            if seen is not None:
                shape, check, _ = seen
                if check is not None:
                    row = check(row)
                    if row is None:
                        seen = None
        if seen is None:
            if self._closed:
                self._refuse()
                return
            shape, row = self._admit(values)
        queue = self._queue
        queue += (shape, shape.pack(step, wall, *row))  # one C step: no thread comes between
        if len(queue) >= self._drain_at:
            self._overflow()
        redraw_at = self._redraw_at
        if redraw_at != _NEVER and self._timer() >= redraw_at:
            self._redraw()

    def _overflow(self) -> None:
        """The queue passed the threshold: wake the flush thread to drain it.

        The caller drains only far past it (the flush thread is busy writing, or
        gone), so that a loop that nothing reads still holds bounded memory.
        """
        if len(self._queue) >= DRAIN_LIMIT or not self._thread.is_alive():
            self._drain()
        else:
            self._drain_at = DRAIN_LIMIT  # until the drain re-arms it: one wake per drain
            self._wake.set()

    def _refuse(self) -> None:
        if not self._detached:
            raise RunClosedError(f"log(): run {self.name!r} is closed; create a new Logger")
        if not self._detached_warned:
            self._detached_warned = True
            warnings.warn(
                f"log() in a forked child process (pid {os.getpid()}) does nothing: run "
                f"{self.name!r} belongs to the parent process (pid {self._info['pid']}). "
                "Log from the parent, or make a new Logger in the child.",
                HypertunerWarning,
                stacklevel=3,
            )

    def _admit(self, values: Any) -> tuple[_Shape, tuple]:
        """The slow path of log(): flatten, normalise, check kinds, define new keys.

        Returns the call's shape and flat values; remembers its shape when the
        values were plain Python types, so the next call like it takes the fast path.
        The kind check and the definition happen under one lock: two threads that log
        a new key at once define it once, and the second sees the first's kind.
        """
        if not isinstance(values, Mapping):
            raise InvalidValueError(
                f"log() takes a dict of name -> value (got {type(values).__name__}); "
                "e.g. logger.log({'loss': 0.25}, step)"
            )
        flat = flatten(values)
        plain: dict[str, Any] = {}
        kinds: dict[str, int] = {}
        for key, value in flat.items():
            kinds[key], plain[key] = normalise(key, value)
        with self._lock:
            for key, kind in kinds.items():
                known = self._keys.get(key)
                if known is None:
                    check_name(key)
                elif known.kind != kind:
                    raise InvalidValueError(
                        f"log(): {key!r} was first logged as {KIND_PHRASES[known.kind]}, so "
                        f"its values must stay {KIND_PHRASES[known.kind]} "
                        f"(got {describe(flat[key])})."
                    )
            for key, kind in kinds.items():
                if key not in self._keys:
                    self._define(key, kind)
            names = tuple(plain)
            # Calls holding values the drain reads (tensors off the CPU, JAX arrays)
            # have a shape of their own: the drain converts them.
            kept = any(map(is_kept, plain.values()))
            at: Any = (names, True) if kept else names
            shape = self._shapes.get(at)
            if shape is None:
                # Not cached for the fast path until seen again: a call made once
                # (a key logged once, of 100,000) costs no cache entry.
                shape = self._shapes[at] = _Shape(tuple(self._keys[k] for k in names), kept)
            elif isinstance(values, dict):
                self._remember(values, shape, kinds, plain)
        return shape, tuple(plain.values())

    def _remember(self, values: dict, shape: _Shape, kinds: dict, plain: dict) -> None:
        """Cache this call's shape, if plain types make it up, for the fast path.

        The key is the call's outer keys and the types of its values: several
        variants per keys tuple (ints one step, floats the next) are kept side by
        side, up to _VARIANTS, so alternating types do not evict each other. The
        entry's check (``_values.fast_check``) unnests dicts one level deep, reads
        CPU tensors, copies other tensors, checks the dtypes of kept values and
        bounds ints and texts, in a few C-level calls.
        """
        outer = tuple(values)
        types = tuple(map(type, values.values()))
        inner_keys: list[tuple[str, ...] | None] = []
        flat: list[Any] = []
        for value, kind in zip(values.values(), types):
            if kind is dict:
                if dict in map(type, value.values()):
                    return  # deeper nesting: always the slow path
                inner_keys.append(tuple(value))
                flat.extend(value.values())
            else:
                inner_keys.append(None)
                flat.append(value)
        names = [key.name for key in shape.keys]
        if len(flat) != len(names):
            return
        flat_types = tuple(map(type, flat))
        torch = sys.modules.get("torch")
        tensors: dict[int, type] = {}  # position -> the type its .item() gives
        kept: dict[int, Any] = {}  # position -> the dtype of a value kept for the drain
        for i, (value, normal) in enumerate(zip(flat, plain.values())):
            if is_kept(normal):
                kept[i] = normal.dtype
            elif torch is not None and isinstance(value, torch.Tensor):
                tensors[i] = type(value.item())  # read at the call, on the CPU
        read = [tensors.get(i, t) for i, t in enumerate(flat_types)]
        if not all(
            i in kept or FAST_KINDS.get(t) == kinds[name]
            for i, (name, t) in enumerate(zip(names, read))
        ):
            return  # numpy arrays, .item() objects and the like: always the slow path
        # A call of one key is looked up by its name and its value's type themselves.
        names_at, types_at = (outer[0], types[0]) if len(outer) == 1 else (outer, types)
        variants = self._seen.setdefault(names_at, {})
        entry = variants.get(types_at)
        if entry is not None:
            # Its check failed this call (a nested dict with other keys, say). Calls
            # that alternate between two such forms would rebuild it at every call:
            # it is replaced only after _REBUILD_AFTER misses, so the form a loop
            # settles on is cached soon enough either way.
            entry[2] += 1
            if entry[2] < _REBUILD_AFTER:
                return
        elif len(variants) >= _VARIANTS:
            return
        variants[types_at] = [shape, fast_check(inner_keys, flat_types, tensors, kept), 0]

    def _define(self, key: str, kind: int) -> None:
        series = Series(key, kind, sync=self._drain_first)
        self._keys[key] = _Key(key, kind, len(self._keys), series)

    def _drain(self) -> None:
        """Move queued calls into the series: each key's points in the order logged.

        Called by the flush thread when log() wakes it, and by every reader first.
        Nothing here lets the GIL go but the copy of a series of millions of points
        as it grows (numpy would for any copy of over 500 elements, and bytes.join
        for a megabyte, and this thread would then wait for the training thread to
        hand the GIL back, stalling it each time), so a drain in the background
        holds the training thread up once, for a few milliseconds.
        """
        with self._lock:
            queue = self._queue
            if not queue:
                return
            # log() only ever appends whole calls, from any thread, and drains are
            # serialised by the lock, so the first len(batch) entries are exactly the
            # ones copied, and they end where a call ends.
            batch = queue[:]
            del queue[: len(batch)]
            self._drain_at = DRAIN_AT
            shapes = batch[::2]
            first = shapes[0]
            if all(map(is_, shapes, repeat(first))):
                runs = [(first, batch[1::2])]  # the usual case: every call alike
            else:
                runs = []
                start = 0
                for shape, same in groupby(shapes):  # shapes compare by identity
                    count = len(list(same))
                    runs.append((shape, batch[2 * start + 1 : 2 * (start + count) : 2]))
                    start += count
            blocks = []
            for shape, payloads in runs:
                step = max(1, _JOIN_BYTES // len(payloads[0])) if shape.packed else len(payloads)
                for at in range(0, len(payloads), step):
                    blocks.append((shape, _columns(shape, payloads[at : at + step])))
            if any(shape.kept for shape, _ in blocks):
                self._read_kept(blocks)
            self._store(blocks)

    def _store(self, blocks: list[tuple[_Shape, list]]) -> None:
        """Append each block's columns to its keys' series, in the order of the blocks."""
        parts: dict[int, tuple[_Key, list]] = {}
        for shape, columns in blocks:
            if not shape.packed:
                columns = _typed(shape, columns)
            steps, walls = columns[0], columns[1]
            for key, column in zip(shape.keys, columns[2:]):
                part = parts.get(key.id)
                if part is None:
                    parts[key.id] = (key, [(steps, walls, column)])
                else:
                    part[1].append((steps, walls, column))
        dirty = self._dirty
        for key, pieces in parts.values():
            key.series.extend_many(pieces)
            dirty[key.id] = key

    def _read_kept(self, blocks: list[tuple[_Shape, list]]) -> None:
        """Replace the blocks' kept values by floats: one read per device, not one per value.

        A value that is NaN or infinite, or one that fails to convert, warns once per
        key (the call could not check it without waiting for the device) and is
        stored as logged (NaN where the conversion failed).
        """
        # group -> [(column, its positions holding the group's values, key, steps)]
        groups: dict[Any, list[tuple[list, list[int], _Key, Any]]] = {}
        for shape, columns in blocks:
            if not shape.kept:
                continue
            steps = columns[0]
            for key, column in zip(shape.keys, columns[2:]):
                for group, positions in kept_groups(column).items():
                    groups.setdefault(group, []).append((column, positions, key, steps))
        for group, parts in groups.items():
            values = [column[at] for column, positions, _, _ in parts for at in positions]
            try:
                numbers = read_kept(values)
            except Exception:  # noqa: BLE001 - one bad value (a deleted array): read each
                numbers = self._read_each(group, parts)
            start = 0
            for column, positions, key, steps in parts:
                mine = numbers[start : start + len(positions)]
                start += len(positions)
                for at, number in zip(positions, mine):
                    column[at] = number
                finite = np.isfinite(mine)
                if not finite.all():
                    first = int(np.argmin(finite))
                    step = float(steps[positions[first]])
                    self._warn_tensor({key.name}, f"it was {mine[first]} at step {step:g}")

    def _read_each(self, group: Any, parts: list) -> list[float]:
        """Read kept values one by one: NaN for each that fails, a warning per key."""
        numbers: list[float] = []
        failed: dict[str, Exception] = {}  # key -> its first error
        for column, positions, key, _ in parts:
            for at in positions:
                try:
                    [number] = read_kept([column[at]])
                except Exception as exc:  # noqa: BLE001 - keep the point, say which key
                    number = math.nan
                    failed.setdefault(key.name, exc)
                numbers.append(number)
        where = "JAX array" if group == "jax" else f"tensor on {group}"
        for name, exc in failed.items():
            self._warn_tensor(
                {name},
                f"a {where} could not be read ({type(exc).__name__}: {exc}); "
                "such values are stored as NaN",
            )
        return numbers

    def _warn_tensor(self, names: set[str], what: str) -> None:
        for name in sorted(names - self._tensor_warned):
            self._tensor_warned.add(name)
            warnings.warn(
                f"hypertuner: the tensor logged as {name!r} in run {self.name!r}: {what} "
                "(tensors are checked when the queue is drained, not at the call).",
                HypertunerWarning,
                stacklevel=1,
            )

    _sync = _drain  # readers see every point logged so far

    # -- live boards ------------------------------------------------------------

    def show(self) -> Any:
        """Display the live board in the current notebook cell (again, if shown before)."""
        from .board import show

        return show(self)

    def _show_or_warn(self, stacklevel: int) -> None:
        """Show the board; if it cannot be shown, warn once and let logging go on."""
        try:
            self.show()
        except Exception as exc:  # noqa: BLE001 - no board must never mean no logging
            warnings.warn(
                f"hypertuner cannot show the board of run {self.name!r} "
                f"({type(exc).__name__}: {exc}); logging goes on without it.",
                HypertunerWarning,
                stacklevel=stacklevel,
            )

    def _watch(self, redraw: Callable[[bool], Any]) -> None:
        """Call ``redraw(final)`` from log() every REDRAW_EVERY seconds and on close."""
        self._listeners.append(redraw)
        self._redraw_at = self._timer()
        self._wake.set()  # the flush thread now drains on time too

    def _redraw(self, final: bool = False) -> None:
        # Scheduled on the monotonic clock: a wall clock stepped back by NTP must not
        # hold redraws back until it catches up.
        started = self._timer()
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
        cost = self._timer() - started
        # A slow redraw (many keys, a huge run) waits longer, so drawing stays a small
        # share of the loop.
        wait = min(max(REDRAW_EVERY, cost / REDRAW_SHARE), REDRAW_MOST)
        self._redraw_at = started + wait

    # -- flushing -----------------------------------------------------------------

    def flush(self) -> bool:
        """Write every point not yet on disk. Returns False if the disk refused.

        A refusal warns once (``HypertunerWarning``) and keeps the points in
        memory; the next flush retries. It never raises into the training loop.
        Only keys with new points are visited, so a flush costs what is new. In a
        forked child it does nothing and returns False (see :class:`Logger`).
        """
        if self._detached:
            return False
        self._drain()
        with self._flush_lock:
            with self._lock:
                dirty = [self._dirty[key_id] for key_id in sorted(self._dirty)]
                self._dirty.clear()
            try:
                return self._write(dirty)
            except Exception as exc:  # noqa: BLE001 - keep the points, say so once
                self._mark_dirty(dirty)
                if not self._flush_warned:
                    self._flush_warned = True
                    warnings.warn(
                        f"hypertuner could not write run {self.name!r}: {type(exc).__name__}: "
                        f"{exc}. Its points are kept in memory and every flush tries again.",
                        HypertunerWarning,
                        stacklevel=2,
                    )
                return False

    def _write(self, dirty: list[_Key]) -> bool:
        # Each record, with what it puts on disk: a key's definition (None) or its
        # points up to a count. Records that land whole count even if a later one
        # fails: a follower may have read them, so they are never written again.
        records: list[list] = []
        landing: list[tuple[_Key, int | None]] = []
        for record in dirty:
            if not record.defined:
                records.append(key_parts(record.id, record.name, record.kind))
                landing.append((record, None))
            count = record.flushed
            steps, walls, values = record.series.tail(count)
            for parts, points in chunk_records(record.id, record.kind, steps, walls, values):
                count += points
                records.append(parts)
                landing.append((record, count))
        if not records:
            return True
        try:
            self._writer.append(records)
            landed, failure = len(records), None
        except WriteFailed as exc:
            landed, failure = exc.records, exc
        for record, count in landing[:landed]:
            if count is None:
                record.defined = True
            else:
                record.flushed = count
        if failure is None:
            self._disk_warned = self._flush_warned = False
            return True
        self._mark_dirty(dirty)
        if not self._disk_warned:
            self._disk_warned = True
            warnings.warn(
                f"hypertuner could not write run {self.name!r} to {self._path}: "
                f"{failure.cause}. Its points are kept in memory and the write is retried "
                "at every flush.",
                HypertunerWarning,
                stacklevel=3,
            )
        return False

    def _mark_dirty(self, records: list[_Key]) -> None:
        with self._lock:
            for record in records:
                if not record.defined or record.flushed < len(record.series):
                    self._dirty[record.id] = record

    def _flush_loop(self) -> None:
        """The background thread: drains when log() wakes it (and every DRAIN_WATCHED s
        while a board watches), samples, flushes on time."""
        now = time.monotonic()
        flush_at, sample_at = now + self._flush_every, now + self._system_every
        drain_at = now + DRAIN_WATCHED
        while True:
            due = min(flush_at, sample_at, drain_at if self._listeners else math.inf)
            woken = self._wake.wait(max(0.0, due - time.monotonic()))
            if self._stop.is_set():
                return  # _end() flushes what is left, in its own thread
            now = time.monotonic()
            try:
                if woken or (self._listeners and now >= drain_at):
                    self._wake.clear()  # before draining: a later wake-up drains again
                    self._drain()
                    drain_at = now + DRAIN_WATCHED
                if self._sampler is not None and now >= sample_at:
                    sample_at = now + self._system_every
                    self._sample()
                if now >= flush_at:
                    flush_at = now + self._flush_every
                    self.flush()
            except Exception as exc:  # noqa: BLE001 - the thread must live on
                if not self._flush_warned:  # flush() warns of its own failures
                    self._flush_warned = True
                    warnings.warn(
                        f"hypertuner's background thread of run {self.name!r} failed: "
                        f"{type(exc).__name__}: {exc}",
                        HypertunerWarning,
                        stacklevel=1,
                    )

    def _sample(self) -> None:
        """Queue one reading of the system figures, at the wall time (flush thread only).

        Queued directly rather than through log(): log() may redraw a board, and the
        board is drawn from the thread that trains, never from this one.
        """
        try:
            values = self._sampler.sample()
            wall = self._clock()
            shape, row = self._admit(values)
            queue = self._queue
            queue += (shape, shape.pack(wall, wall, *row))
        except Exception as exc:  # noqa: BLE001 - a broken sensor must not stop the flushes
            self._sampler = None
            warnings.warn(
                f"hypertuner stopped sampling system metrics of run {self.name!r}: "
                f"{type(exc).__name__}: {exc}",
                HypertunerWarning,
                stacklevel=1,
            )

    # -- closing ------------------------------------------------------------------

    def set_params(self, params: Any) -> None:
        """Record ``params`` as the run's hyperparameters, replacing those it had.

        For frameworks that hand their config over after the run began (Lightning's
        ``log_hyperparams``); ``run.json`` is rewritten at once. Takes what ``params=``
        takes: a dict, a ``Params`` or the path of a JSON file.

        Raises
        ------
        ParamsError
            If a value has no JSON form.
        RunClosedError
            If the logger was closed.
        """
        if self._detached:
            return
        if self._closed:
            raise RunClosedError(f"set_params(): run {self.name!r} is closed")
        self._info["params"] = _coerce_params(params)
        write_info(self._path, self._info)

    def close(self, status: str = "finished", *, error: BaseException | str | None = None) -> None:
        """Flush every point, mark the run ``status`` (finished) and release the file.

        Closing twice does nothing. Points the disk refused stay in memory and a
        warning says so; the run on disk still reopens with what it holds. A run
        that never accepted a point is removed instead (see :class:`Logger`).

        Parameters
        ----------
        status : str
            How the run ended: one of ``runinfo.STATUSES``.
        error : exception or str, optional
            What ended it, recorded as ``run.info["error"]`` (for a crashed run).

        Raises
        ------
        ValueError
            If ``status`` is not a known status.
        """
        if status not in STATUSES:
            allowed = ", ".join(repr(s) for s in STATUSES)
            raise ValueError(f"close(): status must be one of {allowed} (got {status!r})")
        self._end(status, error)

    def _end(self, status: str, error: BaseException | str | None) -> None:
        """Close with ``status``, recording ``error`` (the exception that ended the run)."""
        with self._end_lock:
            if self._closed:
                return
            self._closed = True
            self._seen = {}  # every later call takes the full check, which refuses it
        if isinstance(error, BaseException):
            self._info["error"] = f"{type(error).__name__}: {error}"[:1000]
        elif error is not None:
            self._info["error"] = str(error)[:1000]
        self._stop.set()
        self._wake.set()
        if threading.current_thread() is not self._thread:
            self._thread.join()
        flushed = self.flush()
        self._writer.close()
        reason = self._stop_reason or read_stop(self._path)
        if reason is not None:
            status = STOP_REASONS[reason]  # the run ended because it was asked to
        self._info["status"] = status if flushed else "crashed"
        self._info["ended"] = self._clock()
        try:
            if self._keys:
                if flushed:  # every point is on disk: a listing may read this instead
                    self._summarise()
                write_info(self._path, self._info)
            else:
                # No key was ever defined, so no point accepted: an empty run folder
                # (say, of a script whose first log() raised) would only be clutter.
                remove_run(self._path)
        except OSError as exc:
            doing = (
                f"mark run {self.name!r} {status}"
                if self._keys
                else f"remove empty run {self.name!r}"
            )
            warnings.warn(
                f"hypertuner could not {doing}: {exc}",
                HypertunerWarning,
                stacklevel=3,
            )
        _process.unregister(self)
        if self._listeners:
            self._redraw(final=True)

    def _summarise(self) -> None:
        """Put each key's count, last, min and max into run.json's ``summary``."""
        try:
            summary = summary_of(self._series, self._path / DATA_FILE)
        except OSError:
            return  # the points file is gone or unreadable: a reader finds out itself
        if summary is not None:
            self._info["summary"] = summary

    def _detach(self) -> None:
        """In a forked child: let go of the parent's run without touching it.

        The child's copy never writes, closes or marks the run, and gets fresh
        locks: one held by another thread of the parent at the fork would never be
        released here.
        """
        self._detached = True
        self._detached_warned = False
        self._closed = True
        self._seen = {}
        self._lock = threading.RLock()
        self._flush_lock = threading.Lock()
        self._end_lock = threading.Lock()
        self._queue = []
        self._drain_at = DRAIN_AT
        self._wake = threading.Event()  # its lock may have been held at the fork
        self._stop = threading.Event()
        self._dirty = {}
        self._listeners = []
        self._redraw_at = math.inf

    @property
    def should_stop(self) -> bool:
        """True once a stop was asked for this run: a sweep pruned or stopped its trial.

        A training loop that checks it can end cleanly (``if logger.should_stop:
        break``); the run then closes as ``pruned`` (or ``interrupted``), whatever
        status :meth:`close` is given. Reads a file at most every 0.2 s, so it is
        cheap to check every step. A sweep stops a trial that does not check within
        a grace period itself.
        """
        if self._stop_reason is None:
            now = self._timer()
            if now - self._stop_checked_at >= STOP_CHECK_EVERY:
                self._stop_checked_at = now
                self._stop_reason = read_stop(self._path)
        return self._stop_reason is not None

    def now(self) -> float:
        """The time by this logger's clock (``clock``), in seconds since the epoch."""
        return self._clock()

    def _owned_by(self, thread: threading.Thread) -> bool:
        return thread is self._owner

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run (and in a forked child's copy)."""
        return self._closed

    def __enter__(self) -> Logger:
        return self

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        status = _process.status_of(error)
        self._end(status, None if status == "finished" else error)


def _row(*values: Any) -> tuple:
    """How a call whose values cannot be packed (texts, kept values) is queued: a tuple."""
    return values


@functools.lru_cache(maxsize=1024)
def _packer(layout: str) -> Callable[..., bytes]:
    """``struct.pack`` for a layout; shared by every shape of it (a run of 100,000 keys)."""
    return struct.Struct(layout).pack


def _columns(shape: _Shape, payloads: list) -> list:
    """A run of queued calls of one shape as columns: steps, walls, then each key's.

    Packed calls give memoryviews into their joined bytes (doubles; a bool key's
    one byte per call), which the series copy from as they are; others give lists.
    """
    if not shape.packed:
        return [list(column) for column in zip(*payloads)]
    data = memoryview(b"".join(payloads))
    numbers = data.cast("d")
    width = len(shape.keys) + 2
    columns = [numbers[0::width], numbers[1::width]]
    for at, key in enumerate(shape.keys, 2):
        if key.kind == NUMBER:
            columns.append(numbers[at::width])
        else:
            columns.append(data[8 * at :: 8 * width])
    return columns


def _typed(shape: _Shape, columns: list) -> list:
    """Unpacked columns as their series hold them: float64, bool, or a list of texts."""
    count = len(columns[0])
    typed: list[Any] = [
        np.fromiter(columns[0], np.float64, count),
        np.fromiter(columns[1], np.float64, count),
    ]
    for key, column in zip(shape.keys, columns[2:]):
        if key.kind == TEXT:
            typed.append(column)
        else:
            typed.append(np.fromiter(column, np.float64 if key.kind == NUMBER else np.bool_, count))
    return typed


def _trial_folder() -> Path | None:
    """The folder a sweep made for this trial's run, for the process's first logger.

    A sweep names it in ``$HYPERTUNER_RUN_FOLDER``, so that a training script needs
    no change to log where the sweep follows it, whatever ``name`` and ``dir`` it
    passes. Later loggers, and any once the folder holds a run, go where they ask.
    """
    global _trial_folder_claimed
    folder = os.environ.get(TRIAL_FOLDER_ENV)
    if not folder or _trial_folder_claimed:
        return None
    _trial_folder_claimed = True
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    if (path / INFO_FILE).exists():
        return None  # a process started by the trial's script, say, reached here first
    return path


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
            candidate = f"{stamp}-{_names.choice(_ADJECTIVES)}-{_names.choice(_NOUNS)}"
            if attempt >= 10:
                candidate += f"-{attempt}"
        try:
            (root / candidate).mkdir()
        except FileExistsError:
            continue
        return root / candidate
    raise FileExistsError(f"could not find a free run name in {root}")
