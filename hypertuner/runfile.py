"""The points file: its format, and the writer that appends to it.

``docs/format.md`` describes the bytes. In short, the points file is a 12-byte
header (magic, format version) followed by records ``length | crc32 | payload``;
a payload defines a key or carries one chunk of one key's points as little-endian
columns. The writer only ever appends whole records; :mod:`hypertuner.runreader`
reads them back. No widgets here.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ._values import BOOL, MAX_TEXT_BYTES, NUMBER, TEXT
from .errors import RunFormatError

__all__ = [
    "CHUNK",
    "CHUNK_RECORD",
    "DATA_FILE",
    "FORMAT_VERSION",
    "FRAME",
    "HEADER",
    "KEY",
    "KEY_RECORD",
    "MAGIC",
    "MAX_PAYLOAD",
    "MAX_TEXT_BYTES",
    "POINT_BYTES",
    "RunWriter",
    "WriteFailed",
    "check_version",
    "chunk_records",
    "encode_chunk",
    "encode_key",
    "key_parts",
]

FORMAT_VERSION = 1
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


def check_version(version: Any, where: str) -> None:
    if version != FORMAT_VERSION:
        raise RunFormatError(
            f"{where} has run format version {version!r}, but this hypertuner reads "
            f"version {FORMAT_VERSION} only; upgrade hypertuner to read it"
        )


def _framed(parts: list) -> list:
    """Prefix payload ``parts`` (bytes-like, in order) with their frame header."""
    crc = 0
    length = 0
    for part in parts:
        crc = zlib.crc32(part, crc)
        length += memoryview(part).nbytes
    return [FRAME.pack(length, crc), *parts]


def _small(payload: bytes) -> list:
    """A small record as one buffer: frame and payload together."""
    return [FRAME.pack(len(payload), zlib.crc32(payload)) + payload]


def key_parts(key_id: int, name: str, kind: int) -> list:
    """The framed record defining key ``key_id``, as a list of buffers."""
    return _small(KEY_RECORD.pack(KEY, key_id, kind) + name.encode("utf-8"))


# Bytes a point takes in a chunk besides its text: step, wall time, and the value
# (a float64, a byte, or a text's end offset).
POINT_BYTES = {NUMBER: 24, BOOL: 17, TEXT: 24}
# MAX_TEXT_BYTES (from _values, which refuses longer texts at log()) is the longest
# text a record holds: MAX_PAYLOAD less the chunk header and the point's columns.
# Chunks smaller than this are copied into one buffer: fewer buffers per system call.
_SMALL = 4096


def chunk_records(
    key_id: int, kind: int, steps: np.ndarray, walls: np.ndarray, values: Any
) -> list[tuple[list, int]]:
    """Points of ``key_id`` as framed records, each with the number of points it holds.

    As many records as it takes to keep every payload within ``MAX_PAYLOAD`` (the
    bound a reader trusts), whatever was queued: ten million points of one key, or
    three 100 MB texts. Numeric columns of big chunks are handed over as views of the
    arrays, not copies, so a flush of millions of points needs no second copy.

    Raises
    ------
    ValueError
        If one text value is longer than ``MAX_TEXT_BYTES`` (``log()`` refuses those).
    """
    count = len(steps)
    if kind != TEXT:
        per_record = (MAX_PAYLOAD - CHUNK_RECORD.size) // POINT_BYTES[kind]
        records = []
        for i in range(0, count, per_record):
            part = slice(i, i + per_record)
            chunk = _chunk(key_id, kind, steps[part], walls[part], values[part])
            records.append((chunk, min(per_record, count - i)))
        return records
    encoded = [text.encode("utf-8", "surrogatepass") for text in values]
    records = []
    start = 0
    size = CHUNK_RECORD.size
    for i, blob in enumerate(encoded):
        if len(blob) > MAX_TEXT_BYTES:
            raise ValueError(f"a text value of {len(blob):,} bytes is over {MAX_TEXT_BYTES:,}")
        point = POINT_BYTES[TEXT] + len(blob)
        if size + point > MAX_PAYLOAD:
            records.append(
                (_text_chunk(key_id, steps[start:i], walls[start:i], encoded[start:i]), i - start)
            )
            start, size = i, CHUNK_RECORD.size
        size += point
    if start < count:
        records.append(
            (_text_chunk(key_id, steps[start:], walls[start:], encoded[start:]), count - start)
        )
    return records


def _chunk(key_id: int, kind: int, steps: Any, walls: Any, values: Any) -> list:
    head = CHUNK_RECORD.pack(CHUNK, key_id, len(steps))
    dtype = "<f8" if kind == NUMBER else np.uint8
    if len(steps) * POINT_BYTES[kind] < _SMALL:
        # A small chunk is cheaper as one bytes object than as four views.
        payload = b"".join(
            (
                head,
                np.ascontiguousarray(steps, "<f8").tobytes(),
                np.ascontiguousarray(walls, "<f8").tobytes(),
                np.ascontiguousarray(values, dtype).tobytes(),
            )
        )
        return _small(payload)
    return _framed([head, _column(steps, "<f8"), _column(walls, "<f8"), _column(values, dtype)])


def _text_chunk(key_id: int, steps: Any, walls: Any, encoded: list[bytes]) -> list:
    ends = np.cumsum([len(blob) for blob in encoded], dtype="<u8")
    return _framed(
        [
            CHUNK_RECORD.pack(CHUNK, key_id, len(steps)),
            _column(steps, "<f8"),
            _column(walls, "<f8"),
            _column(ends, "<u8"),
            b"".join(encoded),
        ]
    )


def _column(array: Any, dtype: Any) -> memoryview:
    return memoryview(np.ascontiguousarray(array, dtype)).cast("B")


def encode_key(key_id: int, name: str, kind: int) -> bytes:
    """The framed record defining key ``key_id``, as bytes."""
    return b"".join(key_parts(key_id, name, kind))


def encode_chunk(
    key_id: int, kind: int, steps: np.ndarray, walls: np.ndarray, values: Any
) -> bytes:
    """The framed record(s) holding points of ``key_id``, as bytes."""
    records = chunk_records(key_id, kind, steps, walls, values)
    return b"".join(part for record, _ in records for part in record)


class WriteFailed(OSError):
    """An append failed; ``records`` of its records are whole in the file, and kept.

    Records a follower may already have read are never cut back or rewritten: only a
    torn last record is cut, so the next append starts right after the whole ones.
    """

    def __init__(self, cause: OSError, records: int) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause))
        self.cause = cause
        self.records = records


class RunWriter:
    """Appends whole records to a new points file, at its own offset.

    Writes are positional (``pwritev``), so a forked child that holds a copy of the
    file descriptor cannot move where the parent writes.
    """

    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        self.path = Path(path)
        self._fsync = fsync
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        self._size = 0
        self.append([[HEADER.pack(MAGIC, FORMAT_VERSION)]])

    @property
    def size(self) -> int:
        """Bytes of whole records written so far."""
        return self._size

    def append(self, records: list[list]) -> None:
        """Write ``records`` (each a list of buffers), in order, after the last whole one.

        Raises
        ------
        WriteFailed
            If the disk refused. Its ``records`` say how many records are whole in
            the file: those stay (a reader may have read them); a torn one after
            them is cut. A failed sync after every byte landed keeps them all.
        """
        buffers = [part for record in records for part in record]
        progress = [0]
        try:
            _write_all(self._fd, buffers, self._size, progress)
        except OSError as exc:
            whole, whole_bytes = 0, 0
            for record in records:
                size = sum(memoryview(part).nbytes for part in record)
                if whole_bytes + size > progress[0]:
                    break
                whole, whole_bytes = whole + 1, whole_bytes + size
            if whole_bytes < progress[0]:
                try:
                    os.ftruncate(self._fd, self._size + whole_bytes)
                except OSError:
                    pass  # the next append overwrites the torn bytes, from the same offset
            self._size += whole_bytes
            raise WriteFailed(exc, whole) from exc
        self._size += progress[0]
        if self._fsync:
            try:
                os.fdatasync(self._fd) if hasattr(os, "fdatasync") else os.fsync(self._fd)
            except OSError as exc:
                raise WriteFailed(exc, len(records)) from exc

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


# Linux refuses writev() with more buffers than this (IOV_MAX).
_IOV_MAX = 1024


def _write_all(fd: int, buffers: list, offset: int, progress: list[int]) -> None:
    """Write every buffer in order at ``offset``; ``progress[0]`` counts bytes written.

    The count is kept up to date as the writes go, so a caller whose write failed
    halfway knows how much of it landed. Buffers are bytes or byte-format views, so
    ``len()`` is their size.
    """
    pending = [buffer for buffer in buffers if len(buffer)]
    first = 0
    while first < len(pending):
        count = _pwritev(fd, pending[first : first + _IOV_MAX], offset + progress[0])
        progress[0] += count
        # Skip what was written; a short write leaves part of one buffer.
        while count:
            size = len(pending[first])
            if count >= size:
                count -= size
                first += 1
            else:
                pending[first] = memoryview(pending[first])[count:]
                count = 0


def _pwritev(fd: int, buffers: list, offset: int) -> int:
    if hasattr(os, "pwritev"):
        return os.pwritev(fd, buffers, offset)
    os.lseek(fd, offset, os.SEEK_SET)  # platforms without pwritev
    return os.writev(fd, buffers)
