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

from ._values import BOOL, NUMBER
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
    "RunWriter",
    "check_version",
    "chunk_parts",
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
