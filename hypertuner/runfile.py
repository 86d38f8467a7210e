"""The run on disk: ``run.json`` and the append-only points file.

``docs/format.md`` describes the bytes. In short, the points file is a 12-byte
header (magic, format version) followed by records ``length | crc32 | payload``;
a payload defines a key or carries one chunk of one key's points as little-endian
columns. Writers only ever append whole records; a reader keeps a byte offset,
stops cleanly at a torn tail and resumes from there later. No widgets here.
"""

from __future__ import annotations

import errno
import json
import math
import os
import socket
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._values import BOOL, KIND_NAMES, NUMBER, describe
from .errors import RunFormatError, RunNotFoundError

__all__ = [
    "DATA_FILE",
    "FORMAT_VERSION",
    "INFO_FILE",
    "INFO_TMP",
    "Chunk",
    "RunReader",
    "RunWriter",
    "chunk_parts",
    "count_points",
    "encode_chunk",
    "encode_key",
    "key_parts",
    "live_status",
    "process_start",
    "read_info",
    "remove_run",
    "write_info",
]

FORMAT_VERSION = 1
INFO_FILE = "run.json"
INFO_TMP = f".{INFO_FILE}.tmp"  # run.json being rewritten
DATA_FILE = "points.htr"
MAGIC = b"\x89HTRUN\r\n"
HEADER = struct.Struct("<8sI")
FRAME = struct.Struct("<II")  # payload length, crc32 of payload
KEY_RECORD = struct.Struct("<BIB")  # record type, key id, kind; then the UTF-8 name
CHUNK_RECORD = struct.Struct("<BII")  # record type, key id, point count; then columns
KEY, CHUNK = 1, 2
# A frame longer than this is damage, not data: no flush writes a quarter gigabyte
# for one key (at 24 bytes a point that is ten million points in one second).
MAX_PAYLOAD = 1 << 28


# -- run.json ---------------------------------------------------------------------


def write_info(folder: Path, info: dict[str, Any]) -> None:
    """Replace ``run.json`` atomically: write a temporary file, fsync, rename."""
    tmp = folder / INFO_TMP
    data = json.dumps(info, indent=2, allow_nan=False).encode()
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, folder / INFO_FILE)
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot fsync a directory; the rename still happened
    finally:
        os.close(fd)


def read_info(folder: Path) -> dict[str, Any]:
    """Read and check ``run.json``: every reader of a run goes through here.

    Raises
    ------
    RunNotFoundError
        If ``folder`` holds no run (it does not exist, has no ``run.json``, or is a file).
    RunFormatError
        If ``run.json`` cannot be read, is not a run description, is from an unknown
        format version, or lacks a field readers need or has one of the wrong type.
    """
    folder = Path(folder)
    path = folder / INFO_FILE
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        if folder.is_file():
            raise RunNotFoundError(
                f"no run at {str(folder)!r}: it is a file, not a run folder "
                f"(pass the folder that holds {INFO_FILE}, e.g. logger.path)"
            ) from None
        raise RunNotFoundError(
            f"no run at {str(folder)!r}: it has no {INFO_FILE} "
            "(pass the folder a Logger created, e.g. logger.path)"
        ) from None
    except IsADirectoryError:
        raise RunFormatError(
            f"{path} is a folder, not a file; fix or remove the run folder"
        ) from None
    except OSError as exc:
        hint = "; make it readable by this user" if isinstance(exc, PermissionError) else ""
        raise RunFormatError(f"cannot read {path}: {exc.strerror or exc}{hint}") from None
    try:
        info = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RunFormatError(
            f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}){_DAMAGED}"
        ) from None
    except json.JSONDecodeError as exc:
        raise RunFormatError(f"{path} is not valid JSON: {exc}{_DAMAGED}") from None
    if not isinstance(info, dict) or "format" not in info:
        raise RunFormatError(f"{path} is not a hypertuner run description")
    _check_version(info["format"], str(path))
    for field, (required, valid, expected) in _FIELDS.items():
        if field not in info:
            if required:
                raise RunFormatError(
                    f"{path}: {field!r} is missing (it must be {expected}){_DAMAGED}"
                )
        elif not valid(info[field]):
            raise RunFormatError(
                f"{path}: {field!r} must be {expected} (got {describe(info[field])}){_DAMAGED}"
            )
    return info


_DAMAGED = "; fix the file or remove the run folder"


def _finite(value: Any) -> bool:
    try:
        return type(value) in (int, float) and math.isfinite(value)
    except OverflowError:  # an int too large for a float, as JSON allows
        return False


# The fields readers rely on: name -> (required, check, what it must be). Others are
# read with care where they are used (host, pid_start, error...).
_FIELDS: dict[str, tuple[bool, Callable[[Any], bool], str]] = {
    "id": (True, lambda v: type(v) is str, "a string"),
    "name": (True, lambda v: type(v) is str, "a string"),
    "created": (True, _finite, "a finite number"),
    "status": (True, lambda v: type(v) is str, "a string"),
    "ended": (False, lambda v: v is None or _finite(v), "a finite number or null"),
    "params": (False, lambda v: type(v) is dict, "a JSON object"),
    "pid": (False, lambda v: type(v) is int, "an integer"),
}


def _check_version(version: Any, where: str) -> None:
    if version != FORMAT_VERSION:
        raise RunFormatError(
            f"{where} has run format version {version!r}, but this hypertuner reads "
            f"version {FORMAT_VERSION} only; upgrade hypertuner to read it"
        )


def process_start(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot, or None if unknown.

    Together with the pid this names a process uniquely, so a recycled pid is not
    mistaken for a run's writer.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: fields start after the last ')'.
    fields = stat[stat.rindex(b")") + 2 :].split()
    if fields[0] == b"Z":
        return None  # a zombie has finished running
    return int(fields[19])


def _alive(pid: int, started: int | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    if os.path.exists("/proc/self/stat"):
        now = process_start(pid)
        return now is not None and (started is None or now == started)
    return True


def live_status(info: dict[str, Any]) -> str:
    """The status a reader should report: a 'running' run whose writer is gone crashed."""
    status = info["status"]
    if status == "running" and info.get("host") == socket.gethostname():
        pid = info.get("pid")  # an int if present: read_info checked it
        if pid is not None and not _alive(pid, info.get("pid_start")):
            return "crashed"
    return status


def remove_run(folder: Path) -> None:
    """Delete the files a writer makes in ``folder`` (never others), then it if empty.

    Raises
    ------
    OSError
        If a file or the emptied folder could not be removed. A folder that still
        holds other files, or is already gone, is no error.
    """
    # run.json first: without it the folder is no longer a run to any reader.
    for name in (INFO_FILE, DATA_FILE, INFO_TMP):
        (folder / name).unlink(missing_ok=True)
    try:
        folder.rmdir()
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
            raise


# -- the points file: writing -------------------------------------------------------


def _framed(parts: list) -> list:
    """Prefix payload ``parts`` (bytes-like, in order) with their frame header."""
    crc = 0
    length = 0
    for part in parts:
        crc = zlib.crc32(part, crc)
        length += memoryview(part).nbytes
    return [FRAME.pack(length, crc), *parts]


def key_parts(key_id: int, name: str, kind: int) -> list:
    """The framed record defining key ``key_id``, as a list of buffers."""
    return _framed([KEY_RECORD.pack(KEY, key_id, kind) + name.encode("utf-8")])


def chunk_parts(key_id: int, kind: int, steps: np.ndarray, walls: np.ndarray, values: Any) -> list:
    """The framed record holding points of ``key_id``, as a list of buffers.

    Numeric columns are handed over as views of the arrays, not copies, so a flush
    of millions of points needs no second copy of them in memory.
    """
    parts = [
        CHUNK_RECORD.pack(CHUNK, key_id, len(steps)),
        _column(steps, "<f8"),
        _column(walls, "<f8"),
    ]
    if kind == NUMBER:
        parts.append(_column(values, "<f8"))
    elif kind == BOOL:
        parts.append(_column(values, np.uint8))
    else:
        encoded = [text.encode("utf-8", "surrogatepass") for text in values]
        ends = np.cumsum([len(b) for b in encoded], dtype="<u8")
        parts.append(_column(ends, "<u8"))
        parts.append(b"".join(encoded))
    return _framed(parts)


def _column(array: Any, dtype: Any) -> memoryview:
    return memoryview(np.ascontiguousarray(array, dtype)).cast("B")


def encode_key(key_id: int, name: str, kind: int) -> bytes:
    """The framed record defining key ``key_id``, as bytes."""
    return b"".join(key_parts(key_id, name, kind))


def encode_chunk(
    key_id: int, kind: int, steps: np.ndarray, walls: np.ndarray, values: Any
) -> bytes:
    """The framed record holding points of ``key_id``, as bytes."""
    return b"".join(chunk_parts(key_id, kind, steps, walls, values))


class RunWriter:
    """Appends whole records to a new points file.

    A failed write is rolled back (the file is cut back to its last whole record)
    so a retry never leaves a torn record in the middle of the file.
    """

    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        self.path = Path(path)
        self._fsync = fsync
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        self._size = 0
        self.append([HEADER.pack(MAGIC, FORMAT_VERSION)])

    @property
    def size(self) -> int:
        """Bytes of whole records written so far."""
        return self._size

    def append(self, buffers: list) -> None:
        """Write ``buffers`` (whole records, in order) at the end of the file, then sync.

        Raises
        ------
        OSError
            If the disk refused; the file is then as it was before the call.
        """
        written = 0
        try:
            os.lseek(self._fd, self._size, os.SEEK_SET)
            written = _write_all(self._fd, buffers)
            if self._fsync:
                os.fdatasync(self._fd) if hasattr(os, "fdatasync") else os.fsync(self._fd)
        except OSError:
            try:
                os.ftruncate(self._fd, self._size)
            except OSError:
                pass  # the next append seeks to _size and overwrites the torn bytes
            raise
        self._size += written

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


# Linux refuses writev() with more buffers than this (IOV_MAX).
_IOV_MAX = 1024


def _write_all(fd: int, buffers: list) -> int:
    """Write every buffer in order with as few system calls as possible."""
    pending = [memoryview(b).cast("B") for b in buffers if memoryview(b).nbytes]
    total = 0
    while pending:
        batch = pending[:_IOV_MAX]
        count = os.writev(fd, batch)
        total += count
        # Drop what was written; a short write leaves part of one buffer.
        while count:
            head = pending[0]
            if count >= head.nbytes:
                count -= head.nbytes
                pending.pop(0)
            else:
                pending[0] = head[count:]
                count = 0
    return total


# -- the points file: reading -------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    """Points of one key read from one record."""

    key_id: int
    steps: np.ndarray
    walls: np.ndarray
    values: np.ndarray


class RunReader:
    """Reads records from a points file, resuming where the last read stopped.

    Parameters
    ----------
    path : Path
        The points file; it may still be being written by another process.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.offset = 0  # start of the first record not yet read
        # Bytes read from disk, for callers that measure it. Every byte before
        # ``offset`` was read once; the bytes of a torn tail are read again on the next
        # call (they may yet be cut back and rewritten by the writer), and
        # ``bytes_reread`` counts those.
        self.bytes_read = 0
        self.bytes_reread = 0
        self.keys: dict[int, tuple[str, int]] = {}  # key id -> (name, kind)

    def read(self) -> tuple[list[int], list[Chunk]]:
        """Read every whole record appended since the last call.

        Returns
        -------
        new_keys : list of int
            Ids of keys defined in what was read (see ``self.keys``).
        chunks : list of Chunk
            The point chunks read, in file order.
        """
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            return [], []
        self.bytes_read += len(data)
        start = 0
        if self.offset == 0:
            if len(data) < HEADER.size:
                if not MAGIC.startswith(data[: len(MAGIC)]):
                    raise RunFormatError(f"{self.path} is not a hypertuner points file")
                return [], []  # the writer has not finished the header yet
            magic, version = HEADER.unpack_from(data)
            if magic != MAGIC:
                raise RunFormatError(f"{self.path} is not a hypertuner points file")
            _check_version(version, str(self.path))
            start = HEADER.size
        new_keys: list[int] = []
        chunks: list[Chunk] = []
        for end, payload in _records(data, start):
            self._decode(payload, new_keys, chunks)
            start = end
        self.offset += start
        self.bytes_reread += len(data) - start
        return new_keys, chunks

    def _decode(self, payload: memoryview, new_keys: list[int], chunks: list[Chunk]) -> None:
        record = payload[0]
        if record == KEY:
            _, key_id, kind = KEY_RECORD.unpack_from(payload)
            if kind not in KIND_NAMES:
                raise RunFormatError(f"{self.path}: key {key_id} has unknown kind {kind}")
            name = bytes(payload[KEY_RECORD.size :]).decode("utf-8")
            self.keys[key_id] = (name, kind)
            new_keys.append(key_id)
        elif record == CHUNK:
            _, key_id, count = CHUNK_RECORD.unpack_from(payload)
            if key_id not in self.keys:
                raise RunFormatError(f"{self.path}: points for undefined key {key_id}")
            kind = self.keys[key_id][1]
            chunks.append(Chunk(key_id, *_columns(payload, count, kind)))
        # Unknown record types are skipped: a newer minor writer may add some.


def _records(data: bytes, start: int) -> Iterator[tuple[int, memoryview]]:
    """Yield (end offset, payload) for each whole, intact record from ``start``."""
    view = memoryview(data)
    size = len(data)
    while start + FRAME.size <= size:
        length, crc = FRAME.unpack_from(data, start)
        end = start + FRAME.size + length
        if length == 0 or length > MAX_PAYLOAD or end > size:
            return  # a torn tail: the writer is mid-append, or died there
        payload = view[start + FRAME.size : end]
        if zlib.crc32(payload) != crc:
            return  # half-written bytes: stop here and try again on the next read
        yield end, payload
        start = end


def _columns(payload: memoryview, count: int, kind: int) -> tuple[np.ndarray, ...]:
    at = CHUNK_RECORD.size
    steps = np.frombuffer(payload, "<f8", count, at)
    walls = np.frombuffer(payload, "<f8", count, at + 8 * count)
    at += 16 * count
    if kind == NUMBER:
        values = np.frombuffer(payload, "<f8", count, at)
    elif kind == BOOL:
        values = np.frombuffer(payload, np.uint8, count, at).astype(np.bool_)
    else:
        ends = np.frombuffer(payload, "<u8", count, at).tolist()
        blob = bytes(payload[at + 8 * count :])
        values = np.empty(count, np.object_)
        begin = 0
        for i, end in enumerate(ends):
            values[i] = blob[begin:end].decode("utf-8", "surrogatepass")
            begin = end
    return steps, walls, values


def count_points(path: Path) -> int:
    """Count the points in a points file from record headers, without decoding them.

    Reads record by record, so memory stays at one record, and stops where
    :class:`~hypertuner.runfile.RunReader` stops: at the first torn or damaged record.
    """
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return 0
    count = 0
    with handle:
        head = handle.read(HEADER.size)
        if len(head) < HEADER.size:
            return 0
        magic, version = HEADER.unpack(head)
        if magic != MAGIC or version != FORMAT_VERSION:
            raise RunFormatError(f"{path} is not a points file this hypertuner reads")
        while True:
            frame = handle.read(FRAME.size)
            if len(frame) < FRAME.size:
                break
            length, crc = FRAME.unpack(frame)
            if length == 0 or length > MAX_PAYLOAD:
                break
            payload = handle.read(length)
            if len(payload) < length or zlib.crc32(payload) != crc:
                break
            if payload[0] == CHUNK:
                count += CHUNK_RECORD.unpack_from(payload)[2]
    return count
