"""Reading the points file: every whole record, resuming where the last read stopped.

A reader keeps a byte offset, stops cleanly at a torn tail (a record still being
written, or the end a killed writer left) and resumes from there later, which is
how a notebook follows a run another process is writing.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._values import BOOL, KIND_NAMES, NUMBER
from .errors import RunFormatError
from .runfile import (
    CHUNK,
    CHUNK_RECORD,
    FORMAT_VERSION,
    FRAME,
    HEADER,
    KEY,
    KEY_RECORD,
    MAGIC,
    MAX_PAYLOAD,
    check_version,
)

__all__ = ["Chunk", "RunReader", "count_points"]


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
            check_version(version, str(self.path))
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
