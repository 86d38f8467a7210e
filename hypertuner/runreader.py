"""Reading the points file: every whole, valid record, resuming where the last read stopped.

A reader keeps a byte offset, stops cleanly at a torn tail (a record still being
written, or the end a killed writer left) and resumes from there later, which is
how a notebook follows a run another process is writing.

Runs are shared between people and machines, so nothing in the file is trusted:
every record is checked in one place (the two passes below, :meth:`RunReader._plan`
and :func:`_fill`), for :class:`RunReader` and :func:`count_points` alike. A
record that is whole and has the right checksum but cannot be what a writer wrote
(a chunk of the wrong size, a key defined twice, text that is not UTF-8) is
*damage*: reading stops there, every point before it is kept, and
:attr:`RunReader.damage` says where and why. So is a bad checksum with bytes after
it in a run that is no longer being written; in a running run that is a record
still landing, read again later.

A read goes in two passes, so that reopening a big run costs little more than
reading its bytes: the first walks the frame headers (reading only each record's
first bytes) to count the points of each key, the second reads each chunk's columns
straight into slices of preallocated arrays (``os.preadv``) and checks each
record's checksum over those slices, in threads when there is much to check.
"""

from __future__ import annotations

import io
import os
import zlib
from array import array
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._crc import combined, cpus, crc_of
from ._values import BOOL, KIND_NAMES, NUMBER, TEXT
from .errors import RunFormatError
from .runfile import (
    CHUNK,
    CHUNK_RECORD,
    DATA_FILE,
    FRAME,
    HEADER,
    KEY,
    KEY_RECORD,
    MAGIC,
    MAX_PAYLOAD,
    POINT_BYTES,
    check_version,
)
from .runinfo import open_regular

__all__ = ["Chunk", "Columns", "RunReader", "count_points"]

# Bytes a chunk holds per point besides its text: step, wall time, and the value (a
# float64, a byte, or a text's end offset).
_DTYPES = {NUMBER: np.float64, BOOL: np.bool_, TEXT: np.object_}
_KIND_WORDS = {NUMBER: ("number", "numbers"), BOOL: ("bool", "bools"), TEXT: ("text", "texts")}

# A frame of length 0 followed by nothing but zero bytes is space a file system
# gave the file but never wrote (a crash), not damage; past this much we stop looking.
_ZERO_SCAN = 16 << 20
# Pass one reads frame headers through a buffer this big; records are often small.
_BUFFER = 16 << 10
# Checksums of reads this big are computed in threads, in blocks of _crc.BLOCK bytes
# (zlib.crc32 releases the GIL): on two cores that hides most of their cost.
_PARALLEL_BYTES = 8 << 20


@dataclass(frozen=True)
class Chunk:
    """Points of one key read from one record."""

    key_id: int
    steps: np.ndarray
    walls: np.ndarray
    values: np.ndarray


@dataclass
class Columns:
    """What one read found: new keys, and each key's new points as three columns."""

    restarted: bool = False  # the file was replaced or cut: this read started over
    new_keys: list[int] = field(default_factory=list)
    columns: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    points: int = 0
    _plans: _Plans | None = None  # the chunks read, the first _accepted of them kept
    _accepted: int = 0

    @property
    def chunks(self) -> list[tuple[int, int, int]]:
        """(key id, first index in its columns, points) per chunk record, in file order."""
        plans = self._plans
        if plans is None:
            return []
        n = self._accepted
        return list(zip(plans.key[:n], plans.at[:n], plans.count[:n]))


class _Plans:
    """The chunks pass one found, for pass two to read: one row each, in compact arrays.

    48 bytes a chunk, so that a file of many tiny records cannot make pass one hold
    many times the file's size; only chunks holding points have a row (pass one
    checks the others itself).
    """

    __slots__ = ("offset", "length", "crc", "key", "count", "at")

    def __init__(self) -> None:
        self.offset = array("q")  # where its frame starts
        self.length = array("q")  # of its payload
        self.crc = array("q")
        self.key = array("q")
        self.count = array("q")  # its points
        self.at = array("q")  # index of its first point in this read's columns of its key

    def __len__(self) -> int:
        return len(self.offset)

    def append(self, offset: int, length: int, crc: int, key: int, count: int, at: int) -> None:
        self.offset.append(offset)
        self.length.append(length)
        self.crc.append(crc)
        self.key.append(key)
        self.count.append(count)
        self.at.append(at)


@dataclass(frozen=True)
class _Stop:
    """Where a read stopped, and the damage found there (None: a tail to read later)."""

    offset: int
    damage: str | None = None


class RunReader:
    """Reads records from a points file, resuming where the last read stopped.

    Parameters
    ----------
    path : Path
        The points file; it may still be being written by another process.

    Attributes
    ----------
    offset : int
        The start of the first record not read yet.
    keys : dict
        Key id -> (name, kind) of every key defined in what was read.
    damage : str or None
        Why reading stopped before the end of the file, when that was damage (see the
        module's docstring), such as ``"points.htr, record at byte 1234: chunk of 3
        numbers must be 81 bytes (got 40)"``; None while the file reads as intact.
        Reading stays stopped there until the file is replaced.
    bytes_read, bytes_reread : int
        Bytes read from the file, and how many of them were read again because a
        read stopped before them (a torn tail) or started over. ``bytes_read -
        bytes_reread`` is ``offset``: every byte of a whole record is read once.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.offset = 0
        self.bytes_read = 0
        self.bytes_reread = 0
        self.keys: dict[int, tuple[str, int]] = {}
        self.damage: str | None = None
        self._names: dict[str, int] = {}  # key name -> id, so a name is defined once
        self._identity: tuple[int, int] | None = None  # (device, inode) of the file read

    def start_over(self) -> None:
        """Forget what was read: the next read starts from the beginning of the file."""
        self.bytes_reread += self.offset  # those bytes will be read again
        self.offset = 0
        self.keys = {}
        self._names = {}
        self.damage = None
        self._identity = None

    def read(self, final: bool = False) -> tuple[list[int], list[Chunk]]:
        """Read every whole, valid record appended since the last call.

        Parameters
        ----------
        final : bool
            True when the run is no longer being written (its status is not
            ``running``): a bad checksum with bytes after it is then damage.

        Returns
        -------
        new_keys : list of int
            Ids of keys defined in what was read (see ``self.keys``).
        chunks : list of Chunk
            The point chunks read, in file order.

        Raises
        ------
        RunFormatError
            If the file is not a points file (its header), is of a format version this
            hypertuner does not read, is not a regular file, or cannot be read.
        """
        found = self.read_columns(final)
        chunks = []
        for key_id, at, count in found.chunks:
            steps, walls, values = found.columns[key_id]
            end = at + count
            chunks.append(Chunk(key_id, steps[at:end], walls[at:end], values[at:end]))
        return found.new_keys, chunks

    def read_columns(self, final: bool = False) -> Columns:
        """Like :meth:`read`, with each key's new points as whole columns.

        When the file was replaced (another inode) or cut below the offset, the read
        starts over from the beginning, and says so (``restarted``): what was read
        before belongs to another file.
        """
        return self._read(final, keep=True)

    def _read(self, final: bool, keep: bool) -> Columns:
        try:
            raw, status = open_regular(self.path)
        except (FileNotFoundError, NotADirectoryError):
            return Columns()  # no points file yet: no points yet
        found = Columns()
        with io.BufferedReader(raw, _BUFFER) as handle:
            identity = (status.st_dev, status.st_ino)
            size = status.st_size
            if self._identity is not None and (identity != self._identity or size < self.offset):
                self.start_over()
                found.restarted = True
            self._identity = identity
            if self.damage is not None:
                return found  # stopped for good at damage (until the file is replaced)
            try:
                self._read_records(handle, size, final, keep, found)
            except OSError as exc:
                raise RunFormatError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        return found

    def _read_records(
        self, handle: io.BufferedReader, size: int, final: bool, keep: bool, found: Columns
    ) -> None:
        start = self.offset
        if start == 0:
            handle.seek(0)
            head = handle.read(HEADER.size)
            self.bytes_read += len(head)
            if len(head) < HEADER.size:
                if not MAGIC.startswith(head[: len(MAGIC)]):
                    raise RunFormatError(f"{self.path} is not a hypertuner points file")
                self.bytes_reread += len(head)
                return  # the writer has not finished the header yet
            magic, version = HEADER.unpack(head)
            if magic != MAGIC:
                raise RunFormatError(f"{self.path} is not a hypertuner points file")
            check_version(version, str(self.path))
            self.offset = start = HEADER.size
        keys = dict(self.keys)
        names = dict(self._names)
        plans, defined, stop, consumed = self._plan(handle, start, size, final, keys, names)
        counts: dict[int, int] = {}
        for key_id, count, at in zip(plans.key, plans.count, plans.at):
            counts[key_id] = at + count
        columns = {
            key_id: (np.empty(n), np.empty(n), np.empty(n, _DTYPES[keys[key_id][1]]))
            for key_id, n in (counts.items() if keep else ())
        }
        accepted, failure, more = _fill(
            handle.raw.fileno(), plans, keys, columns, final, size, keep
        )
        consumed += more
        if failure is not None:
            stop = failure
        end = stop.offset if stop is not None else size
        # Commit what lies before the stop: the keys defined there, and the points.
        for offset, key_id, name, kind in defined:
            if offset < end:
                self.keys[key_id] = (name, kind)
                self._names[name] = key_id
                found.new_keys.append(key_id)
        kept: dict[int, int] = {}
        for key_id, at, count in zip(plans.key[:accepted], plans.at, plans.count):
            kept[key_id] = at + count
        found._plans, found._accepted = plans, accepted
        found.points = sum(kept.values())
        for key_id, n in kept.items():
            if keep:
                steps, walls, values = columns[key_id]
                found.columns[key_id] = (steps[:n], walls[:n], values[:n])
        self.bytes_read += consumed
        self.bytes_reread += consumed - (end - start)
        self.offset = end
        if stop is not None and stop.damage is not None:
            self.damage = f"{DATA_FILE}, record at byte {stop.offset}: {stop.damage}"

    # -- pass one: the frames -------------------------------------------------------------

    def _plan(
        self,
        handle: io.BufferedReader,
        start: int,
        size: int,
        final: bool,
        keys: dict[int, tuple[str, int]],
        names: dict[str, int],
    ) -> tuple[_Plans, list[tuple[int, int, str, int]], _Stop | None, int]:
        """Walk the records from ``start``: the chunks pass two must read, and where to stop.

        Of a chunk of points only the first bytes are read here. Other records are
        read and checked whole: key records (they are small, and size the chunks
        after them), chunks of no points, record types of a newer version, and any
        record found malformed (its checksum decides whether it is damage or a
        record still landing). Returns the plans, the keys defined (offset, id,
        name, kind), the stop (None at the end of the file) and the bytes read.
        """
        plans = _Plans()
        defined: list[tuple[int, int, str, int]] = []
        counts: dict[int, int] = {}
        consumed = 0
        pos = start
        handle.seek(pos)
        while pos < size:
            if pos + FRAME.size > size:
                return plans, defined, _Stop(pos), consumed  # a frame header being written
            frame = handle.read(FRAME.size)
            consumed += len(frame)
            if len(frame) < FRAME.size:
                return plans, defined, _Stop(pos), consumed  # cut while we read
            length, crc = FRAME.unpack(frame)
            end = pos + FRAME.size + length
            if length == 0 or length > MAX_PAYLOAD:
                stop, more = _bad_length(handle, pos, length, size, final)
                return plans, defined, stop, consumed + more
            if end > size:
                return plans, defined, _Stop(pos), consumed  # a record being written
            head = handle.read(min(length, CHUNK_RECORD.size))
            consumed += len(head)
            if len(head) < min(length, CHUNK_RECORD.size):
                return plans, defined, _Stop(pos), consumed  # cut while we read
            problem: str | None = None
            if head[0] == CHUNK and length >= CHUNK_RECORD.size:
                _, key_id, count = CHUNK_RECORD.unpack(head)
                problem = _chunk_size_problem(keys, key_id, count, length)
                if problem is None and count:
                    at = counts.get(key_id, 0)
                    counts[key_id] = at + count
                    plans.append(pos, length, crc, key_id, count, at)
                    handle.seek(end)
                    pos = end
                    continue
            rest = handle.read(length - len(head))
            consumed += len(rest)
            if len(head) + len(rest) < length:
                return plans, defined, _Stop(pos), consumed
            if zlib.crc32(rest, zlib.crc32(head)) != crc:
                return plans, defined, _bad_crc(pos, end, size, final), consumed
            if problem is None:
                if head[0] == KEY:
                    problem = _define_key(head + rest, keys, names)
                    if problem is None:
                        key_id = KEY_RECORD.unpack_from(head)[1]
                        defined.append((pos, key_id, *keys[key_id]))
                elif head[0] == CHUNK and length < CHUNK_RECORD.size:
                    problem = (
                        f"a chunk record must be at least {CHUNK_RECORD.size} bytes (got {length})"
                    )
                elif head[0] == CHUNK and keys[key_id][1] == TEXT:
                    problem = _check_texts(np.empty(0, "<u8"), memoryview(rest), None)
                # Any other type is of a newer minor version: skipped, its checksum good.
            if problem is not None:
                return plans, defined, _Stop(pos, problem), consumed
            pos = end
        return plans, defined, None, consumed


def _define_key(
    payload: bytes, keys: dict[int, tuple[str, int]], names: dict[str, int]
) -> str | None:
    """Add the key a key record defines to ``keys``; or say why it cannot be one."""
    if len(payload) < KEY_RECORD.size:
        return f"a key record must be at least {KEY_RECORD.size} bytes (got {len(payload)})"
    _, key_id, kind = KEY_RECORD.unpack_from(payload)
    if kind not in KIND_NAMES:
        known = ", ".join(f"{code} {name}" for code, name in KIND_NAMES.items())
        return f"key {key_id} has unknown kind {kind} (known: {known})"
    try:
        name = payload[KEY_RECORD.size :].decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"the name of key {key_id} is not UTF-8 ({exc.reason} at byte {exc.start})"
    if key_id in keys:
        return f"key {key_id} is defined twice (first as {keys[key_id][0]!r})"
    if name in names:
        return f"key {name!r} is defined twice (as key {names[name]} and key {key_id})"
    keys[key_id] = (name, kind)
    names[name] = key_id
    return None


def _chunk_size_problem(
    keys: dict[int, tuple[str, int]], key_id: int, count: int, length: int
) -> str | None:
    if key_id not in keys:
        return f"a chunk of key {key_id}, which no key record before it defines"
    kind = keys[key_id][1]
    need = CHUNK_RECORD.size + POINT_BYTES[kind] * count
    what = f"a chunk of {count:,} {_KIND_WORDS[kind][count != 1]}"
    if kind == TEXT:
        if length < need:
            return f"{what} must be at least {need:,} bytes (got {length:,})"
    elif length != need:
        return f"{what} must be {need:,} bytes (got {length:,})"
    return None


def _bad_crc(pos: int, end: int, size: int, final: bool) -> _Stop:
    """A record whose checksum does not match: a tail being written, or damage."""
    if final and end < size:
        # Nothing is written after a record still landing: bytes after it mean the
        # file was changed after it was written.
        return _Stop(pos, f"its checksum does not match, and {size - end:,} bytes follow it")
    return _Stop(pos)


def _bad_length(
    handle: io.BufferedReader, pos: int, length: int, size: int, final: bool
) -> tuple[_Stop, int]:
    """A frame whose length no record has (0, or over MAX_PAYLOAD); and bytes read."""
    after = size - pos - FRAME.size
    if not final:
        return _Stop(pos), 0
    if length > MAX_PAYLOAD:
        if pos + FRAME.size + length >= size:
            return _Stop(pos), 0  # it may be a torn tail: it reaches past the end
        return _Stop(
            pos, f"its frame holds {length:,} bytes, over the {MAX_PAYLOAD:,} a record may hold"
        ), 0
    # Length 0: zero bytes to the end are space a crash left unwritten.
    consumed = 0
    if after <= _ZERO_SCAN:
        while consumed < after:
            block = handle.read(min(after - consumed, 1 << 20))
            if not block:
                break
            consumed += len(block)
            if block.count(0) != len(block):
                break
        else:
            return _Stop(pos), consumed
    return _Stop(pos, f"its frame holds 0 bytes, and {after:,} bytes follow it"), consumed


# -- pass two: the columns ----------------------------------------------------------------


def _fill(
    fd: int,
    plans: _Plans,
    keys: dict[int, tuple[str, int]],
    columns: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]],
    final: bool,
    size: int,
    keep: bool,
) -> tuple[int, _Stop | None, int]:
    """Read the rest of each planned chunk, into ``columns`` when ``keep``, and check it.

    Returns how many plans hold (all, or up to the first that does not), the stop at
    the first that does not (None if all hold), and the bytes read.
    """
    total = sum(plans.length)
    workers = cpus() if keep and total >= _PARALLEL_BYTES else 1
    pool = ThreadPoolExecutor(workers, "hypertuner-crc") if workers > 1 else None
    scratch = bytearray(0 if keep else max(plans.length, default=0))
    consumed = 0
    # Per plan, its checksum; for those computed in the pool, blocks to combine instead,
    # and any problem found in its values (kept apart: both are rare).
    crcs = array("q")
    pending: dict[int, list[tuple[Future[int] | int, int]]] = {}
    problems: dict[int, str] = {}
    try:
        for index in range(len(plans)):
            key_id, count, length = plans.key[index], plans.count[index], plans.length[index]
            kind = keys[key_id][1]
            pieces, check = _pieces(kind, key_id, count, plans.at[index], length, columns, scratch)
            want = length - CHUNK_RECORD.size
            got = os.preadv(fd, pieces, plans.offset[index] + FRAME.size + CHUNK_RECORD.size)
            consumed += got
            if got < want:  # the file was cut while we read it
                stop = _Stop(plans.offset[index])
                return _settle(plans, crcs, pending, problems, final, size, stop, consumed)
            crc = crc_of(CHUNK_RECORD.pack(CHUNK, key_id, count), pieces, length, pool)
            if isinstance(crc, int):
                crcs.append(crc)
            else:
                crcs.append(-1)
                pending[index] = crc
            problem = check() if check is not None else None
            if problem is not None:
                problems[index] = problem
        return _settle(plans, crcs, pending, problems, final, size, None, consumed)
    finally:
        if pool is not None:
            pool.shutdown(wait=True)


def _settle(
    plans: _Plans,
    crcs: array,
    pending: dict[int, list[tuple[Future[int] | int, int]]],
    problems: dict[int, str],
    final: bool,
    size: int,
    stop: _Stop | None,
    consumed: int,
) -> tuple[int, _Stop | None, int]:
    """In file order, the first plan whose checksum or values fail ends the read."""
    for index, crc in enumerate(crcs):
        offset = plans.offset[index]
        if index in pending:
            crc = combined(pending[index])
        if crc != plans.crc[index]:
            end = offset + FRAME.size + plans.length[index]
            return index, _bad_crc(offset, end, size, final), consumed
        if index in problems:
            return index, _Stop(offset, problems[index]), consumed
    return len(crcs), stop, consumed


def _pieces(
    kind: int,
    key_id: int,
    n: int,
    at: int,
    length: int,
    columns: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]],
    scratch: bytearray,
) -> tuple[list[Any], Any]:
    """The buffers to read a chunk's columns into, and a check of its values (or None).

    With ``columns`` (a read that keeps the points) the buffers are slices of them;
    without, parts of ``scratch``, reused for every chunk.
    """
    rest = length - CHUNK_RECORD.size
    if key_id in columns:
        steps, walls, values = columns[key_id]
        part = slice(at, at + n)
        pieces: list[Any] = [steps[part], walls[part]]
        if kind == NUMBER:
            pieces.append(values[part])
            return pieces, None
        if kind == BOOL:
            raw = values.view(np.uint8)[part]
            pieces.append(raw)
            return pieces, lambda: _check_bools(raw)
        ends = np.empty(n, "<u8")
        blob = bytearray(rest - 24 * n)
        pieces += [ends, blob]
        return pieces, lambda: _check_texts(ends, memoryview(blob), values[part])
    view = memoryview(scratch)[:rest]
    if kind == NUMBER:
        return [view], None
    if kind == BOOL:
        raw = np.frombuffer(scratch, np.uint8, n, 16 * n)
        return [view], lambda: _check_bools(raw)
    ends = np.frombuffer(scratch, "<u8", n, 16 * n)
    return [view], lambda: _check_texts(ends, view[24 * n :], None)


def _check_bools(raw: np.ndarray) -> str | None:
    if len(raw) and raw.max() > 1:
        i = int(np.argmax(raw > 1))
        return f"the bool of point {i} is {raw[i]} (a bool is 0 or 1)"
    return None


def _check_texts(ends: np.ndarray, blob: memoryview, out: np.ndarray | None) -> str | None:
    """Check a text chunk's end offsets and UTF-8; decode the values into ``out``."""
    size = len(blob)
    if not len(ends):
        return f"a chunk of no texts holds {size:,} bytes of text" if size else None
    back = np.flatnonzero(ends[1:] < ends[:-1])
    if len(back):
        i = int(back[0]) + 1
        return (
            f"text end offsets must not decrease, but point {i} ends at byte {ends[i]:,} "
            f"and point {i - 1} at byte {ends[i - 1]:,}"
        )
    if ends[-1] != size:
        last = int(ends[-1])
        return f"the last text ends at byte {last:,}, but the chunk holds {size:,} bytes of text"
    if out is None and not np.frombuffer(blob, np.uint8).max(initial=0) & 0x80:
        return None  # ASCII: every value is valid UTF-8, wherever it is cut
    bounds = ends.tolist()
    starts = [0, *bounds[:-1]]
    # The writer encodes with 'surrogatepass', and so lone surrogates are valid here.
    try:
        values = [str(blob[b:e], "utf-8", "surrogatepass") for b, e in zip(starts, bounds)]
    except UnicodeDecodeError:
        for i, (b, e) in enumerate(zip(starts, bounds)):
            try:
                str(blob[b:e], "utf-8", "surrogatepass")
            except UnicodeDecodeError as exc:
                return f"the text of point {i} is not UTF-8 ({exc.reason} at byte {exc.start})"
        raise  # not reached: one of them failed above
    if out is not None:
        out[:] = values
    return None


def count_points(path: Path, *, final: bool = False) -> tuple[int, str | None]:
    """Count the points in a points file, checking every record, without keeping them.

    Reads record by record, so memory stays at one record, and stops where
    :class:`RunReader` stops: at the first torn or damaged record.

    Parameters
    ----------
    path : Path
        The points file.
    final : bool
        True when the run is no longer being written (see :meth:`RunReader.read`).

    Returns
    -------
    points : int
        The points before the first record that does not read.
    damage : str or None
        Why reading stopped, when that was damage (as :attr:`RunReader.damage`).

    Raises
    ------
    RunFormatError
        As :meth:`RunReader.read`.
    """
    reader = RunReader(path)
    found = reader._read(final, keep=False)
    return found.points, reader.damage
