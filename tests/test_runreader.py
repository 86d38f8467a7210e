"""The points reader: every record checked in one place, damage found and named, restarts."""

from __future__ import annotations

import os
import random
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from hypertuner import _crc, runreader
from hypertuner._values import BOOL, NUMBER, TEXT
from hypertuner.runfile import (
    CHUNK_RECORD,
    FORMAT_VERSION,
    FRAME,
    HEADER,
    KEY_RECORD,
    MAGIC,
    MAX_PAYLOAD,
    encode_chunk,
    encode_key,
)
from hypertuner.runreader import RunReader, count_points

HEAD = HEADER.pack(MAGIC, FORMAT_VERSION)
WALL = 1.7e9


def frame(payload: bytes) -> bytes:
    """A record with a valid checksum around any payload."""
    return FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def numbers(key_id: int, start: int, count: int) -> bytes:
    """A chunk of ``count`` numbers: steps start, start+1... and values twice the step."""
    steps = np.arange(start, start + count, dtype=np.float64)
    return encode_chunk(key_id, NUMBER, steps, np.full(count, WALL), steps * 2)


def raw_chunk(key_id: int, count: int, body: bytes) -> bytes:
    """A chunk record of any body, with a valid checksum."""
    return frame(CHUNK_RECORD.pack(2, key_id, count) + body)


def raw_key(key_id: int, kind: int, name: bytes) -> bytes:
    return frame(KEY_RECORD.pack(1, key_id, kind) + name)


def write(path: Path, *records: bytes) -> list[int]:
    """Write a points file of ``records``; return the offset of each record."""
    offsets, at = [], HEADER.size
    for record in records:
        offsets.append(at)
        at += len(record)
    path.write_bytes(HEAD + b"".join(records))
    return offsets


def texts(key_id: int, values: list[str]) -> bytes:
    count = len(values)
    steps = np.arange(count, dtype=np.float64)
    return encode_chunk(key_id, TEXT, steps, np.full(count, WALL), np.array(values, dtype=object))


def columns_body(count: int, value_column: bytes) -> bytes:
    """Steps 0, 1... and walls, then the given value column (for crafted chunks)."""
    steps = np.arange(count, dtype="<f8").tobytes()
    return steps + np.full(count, WALL, "<f8").tobytes() + value_column


def ends_body(ends: list[int], blob: bytes) -> bytes:
    return columns_body(len(ends), np.array(ends, "<u8").tobytes() + blob)


# Each case: the record that follows a good key 0 ("loss", numbers) and a good chunk of
# 3 of its points, and the reason reading stops there. A good chunk follows it.
DAMAGE = {
    "short number chunk": (
        raw_chunk(0, 3, b"\0" * 31),
        "a chunk of 3 numbers must be 81 bytes (got 40)",
    ),
    "long number chunk": (
        raw_chunk(0, 1, b"\0" * 25),
        "a chunk of 1 number must be 33 bytes (got 34)",
    ),
    "undefined key": (
        numbers(7, 0, 2),
        "a chunk of key 7, which no key record before it defines",
    ),
    "chunk record too short": (
        frame(b"\x02\x00\x00\x00\x00"),
        "a chunk record must be at least 9 bytes (got 5)",
    ),
    "key defined twice": (
        encode_key(0, "again", NUMBER),
        "key 0 is defined twice (first as 'loss')",
    ),
    "name defined twice": (
        encode_key(1, "loss", BOOL),
        "key 'loss' is defined twice (as key 0 and key 1)",
    ),
    "name not utf-8": (
        raw_key(1, NUMBER, b"\xffoops"),
        "the name of key 1 is not UTF-8 (invalid start byte at byte 0)",
    ),
    "unknown kind": (
        raw_key(1, 9, b"odd"),
        "key 1 has unknown kind 9 (known: 0 number, 1 bool, 2 text)",
    ),
    "key record too short": (
        frame(b"\x01\x00\x00"),
        "a key record must be at least 6 bytes (got 3)",
    ),
}

# Cases that need a key of another kind first: (key record, bad chunk, reason).
KINDED = {
    "short bool chunk": (
        encode_key(1, "ok", BOOL),
        raw_chunk(1, 2, b"\0" * 35),
        "a chunk of 2 bools must be 43 bytes (got 44)",
    ),
    "bool that is 2": (
        encode_key(1, "ok", BOOL),
        raw_chunk(1, 2, columns_body(2, b"\x01\x02")),
        "the bool of point 1 is 2 (a bool is 0 or 1)",
    ),
    "short text chunk": (
        encode_key(1, "note", TEXT),
        raw_chunk(1, 2, b"\0" * 41),
        "a chunk of 2 texts must be at least 57 bytes (got 50)",
    ),
    "text ends going back": (
        encode_key(1, "note", TEXT),
        raw_chunk(1, 2, ends_body([5, 2], b"hello")),
        "text end offsets must not decrease, but point 1 ends at byte 2 and point 0 at byte 5",
    ),
    "text end past the text": (
        encode_key(1, "note", TEXT),
        raw_chunk(1, 2, ends_body([1, 9], b"hello")),
        "the last text ends at byte 9, but the chunk holds 5 bytes of text",
    ),
    "text shorter than its bytes": (
        encode_key(1, "note", TEXT),
        raw_chunk(1, 2, ends_body([1, 4], b"hello!")),
        "the last text ends at byte 4, but the chunk holds 6 bytes of text",
    ),
    "text not utf-8": (
        encode_key(1, "note", TEXT),
        raw_chunk(1, 2, ends_body([2, 4], b"ok\xff!")),
        "the text of point 1 is not UTF-8 (invalid start byte at byte 0)",
    ),
    "text cut inside a character": (
        encode_key(1, "note", TEXT),
        raw_chunk(1, 2, ends_body([1, 2], "é".encode())),
        "the text of point 0 is not UTF-8 (unexpected end of data at byte 0)",
    ),
    "no texts but bytes": (
        encode_key(1, "note", TEXT),
        raw_chunk(1, 0, b"abc"),
        "a chunk of no texts holds 3 bytes of text",
    ),
}


def check_damage(path: Path, offset: int, reason: str) -> None:
    """The reader and count_points both keep the 3 points before ``offset`` and name it."""
    damage = f"points.htr, record at byte {offset}: {reason}"
    for final in (False, True):  # a record with a valid checksum is damage either way
        reader = RunReader(path)
        new_keys, chunks = reader.read(final=final)
        assert 0 in new_keys and reader.keys[0] == ("loss", NUMBER)
        assert [chunk.key_id for chunk in chunks] == [0]
        assert chunks[0].values.tolist() == [0.0, 2.0, 4.0]
        assert reader.damage == damage
        assert reader.offset == offset
        assert count_points(path, final=final) == (3, damage)


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_record_no_writer_makes_is_damage(tmp_path, case):
    """A whole record with a valid checksum that no writer makes stops reading, named."""
    record, reason = DAMAGE[case]
    path = tmp_path / "points.htr"
    offsets = write(path, encode_key(0, "loss", NUMBER), numbers(0, 0, 3), record, numbers(0, 3, 2))
    check_damage(path, offsets[2], reason)


@pytest.mark.parametrize("case", list(KINDED))
def test_a_chunk_no_writer_makes_is_damage(tmp_path, case):
    """Bool and text chunks of the wrong size or content stop reading, named."""
    key, record, reason = KINDED[case]
    path = tmp_path / "points.htr"
    offsets = write(path, encode_key(0, "loss", NUMBER), numbers(0, 0, 3), key, record)
    check_damage(path, offsets[3], reason)
    reader = RunReader(path)
    reader.read()
    assert set(reader.keys) == {0, 1}  # the key before the damage is kept, without points


def test_a_malformed_record_with_a_bad_checksum_is_a_record_landing(tmp_path):
    """A malformed record whose checksum fails is a record still landing, not damage."""
    record = bytearray(DAMAGE["short number chunk"][0])
    record[-1] ^= 0xFF
    path = tmp_path / "points.htr"
    offsets = write(path, encode_key(0, "loss", NUMBER), numbers(0, 0, 3), bytes(record))
    reader = RunReader(path)
    assert [c.values.tolist() for c in reader.read()[1]] == [[0.0, 2.0, 4.0]]
    assert reader.damage is None and reader.offset == offsets[2]
    assert count_points(path, final=True) == (3, None)  # the last thing in the file


def test_a_bad_checksum_with_bytes_after_it_is_damage_once_the_run_is_over(tmp_path):
    """A bad checksum with records after it is damage once the run ended; silent while it runs."""
    bad = bytearray(numbers(0, 3, 2))
    bad[20] ^= 0xFF
    after = numbers(0, 5, 1)
    path = tmp_path / "points.htr"
    offsets = write(path, encode_key(0, "loss", NUMBER), numbers(0, 0, 3), bytes(bad), after)
    running = RunReader(path)
    assert len(running.read(final=False)[1]) == 1 and running.damage is None
    assert running.offset == offsets[2]
    ended = RunReader(path)
    assert len(ended.read(final=True)[1]) == 1
    damage = (
        f"points.htr, record at byte {offsets[2]}: its checksum does not match, "
        f"and {len(after)} bytes follow it"
    )
    assert ended.damage == damage
    assert count_points(path, final=True) == (3, damage)
    assert count_points(path, final=False) == (3, None)


@pytest.mark.parametrize(
    "tail",
    [
        b"\0" * 4096,  # space a crash left unwritten
        struct.pack("<II", 2**31, 0) + b"\x01" * 64,  # a length reaching past the end
        struct.pack("<II", 500, 0) + b"\x01" * 64,  # a record still being written
        b"\x07\x00\x00",  # a frame header being written
    ],
)
def test_torn_tails_of_an_ended_run_are_not_damage(tmp_path, tail):
    """Zero bytes to the end, or a frame reaching past it, end an ended run's file silently."""
    path = tmp_path / "points.htr"
    offsets = write(path, encode_key(0, "loss", NUMBER), numbers(0, 0, 3))
    with open(path, "ab") as handle:
        handle.write(tail)
    reader = RunReader(path)
    assert len(reader.read(final=True)[1]) == 1
    assert reader.damage is None and reader.offset == offsets[1] + len(numbers(0, 0, 3))


def test_a_zero_length_frame_followed_by_data_is_damage_once_the_run_is_over(tmp_path):
    """A frame of length 0 is no record: with data after it, an ended run is damaged there."""
    path = tmp_path / "points.htr"
    write(path, encode_key(0, "loss", NUMBER), numbers(0, 0, 3), b"\0" * 8, numbers(0, 3, 1))
    offset = path.stat().st_size - len(numbers(0, 3, 1)) - 8
    assert count_points(path, final=True) == (
        3,
        f"points.htr, record at byte {offset}: its frame holds 0 bytes, "
        f"and {len(numbers(0, 3, 1))} bytes follow it",
    )
    assert count_points(path, final=False) == (3, None)


def test_an_oversized_frame_inside_the_file_is_damage(tmp_path):
    """A frame longer than any record, with the file reaching past it, is damage (sparse file)."""
    path = tmp_path / "points.htr"
    offsets = write(path, encode_key(0, "loss", NUMBER), numbers(0, 0, 3))
    end = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.seek(end)
        handle.write(struct.pack("<II", MAX_PAYLOAD + 1, 0))
        handle.truncate(end + FRAME.size + MAX_PAYLOAD + 100)  # sparse: takes no disk space
    assert count_points(path, final=True) == (
        3,
        f"points.htr, record at byte {offsets[1] + len(numbers(0, 0, 3))}: its frame holds "
        "268,435,457 bytes, over the 268,435,456 a record may hold",
    )


def test_unknown_record_types_are_skipped_once_their_checksum_holds(tmp_path):
    """A record of a type this version does not know is skipped; a torn one still stops reading."""
    path = tmp_path / "points.htr"
    future = frame(b"\x09" + b"from a newer writer" * 100)
    write(path, encode_key(0, "loss", NUMBER), future, numbers(0, 0, 3), frame(b"\x09"))
    reader = RunReader(path)
    assert [c.values.tolist() for c in reader.read(final=True)[1]] == [[0.0, 2.0, 4.0]]
    assert reader.damage is None and reader.bytes_read == path.stat().st_size
    bad = bytearray(future)
    bad[-1] ^= 1
    offsets = write(path, encode_key(0, "loss", NUMBER), bytes(bad), numbers(0, 0, 3))
    assert count_points(path, final=True) == (
        0,
        f"points.htr, record at byte {offsets[1]}: its checksum does not match, "
        f"and {len(numbers(0, 0, 3))} bytes follow it",
    )


def test_text_keeps_lone_surrogates_as_the_writer_writes_them(tmp_path):
    """Text the writer encoded with 'surrogatepass' reads back exactly; ASCII and not."""
    values = ["plain", "", "é ✓ 😀", "\ud800 lone", "a\nb"]
    path = tmp_path / "points.htr"
    write(path, encode_key(0, "note", TEXT), texts(0, values))
    assert RunReader(path).read()[1][0].values.tolist() == values
    assert count_points(path, final=True) == (5, None)


def test_read_columns_gives_each_key_its_points_as_whole_columns(tmp_path):
    """read_columns() returns one column per key over all its chunks, in file order."""
    path = tmp_path / "points.htr"
    write(
        path,
        encode_key(0, "loss", NUMBER),
        numbers(0, 0, 3),
        encode_key(1, "ok", BOOL),
        encode_chunk(1, BOOL, np.arange(2.0), np.full(2, WALL), np.array([True, False])),
        numbers(0, 3, 4),
    )
    found = RunReader(path).read_columns()
    assert found.new_keys == [0, 1] and not found.restarted
    steps, walls, values = found.columns[0]
    assert steps.tolist() == list(range(7)) and values.tolist() == [2.0 * i for i in range(7)]
    assert found.columns[1][2].tolist() == [True, False] and found.columns[1][2].dtype == np.bool_
    assert found.chunks == [(0, 0, 3), (1, 0, 2), (0, 3, 4)]


def mixed_file(path: Path, rng: random.Random, records: int) -> list[int]:
    """A points file of many chunks of three kinds and varied sizes; returns the offsets."""
    parts = [encode_key(0, "x", NUMBER), encode_key(1, "ok", BOOL), encode_key(2, "note", TEXT)]
    starts = [0, 0, 0]
    for _ in range(records):
        key = rng.randrange(3)
        count = rng.choice([1, 7, 300, 5000])
        steps = np.arange(starts[key], starts[key] + count, dtype=np.float64)
        if key == 0:
            parts.append(encode_chunk(0, NUMBER, steps, steps + WALL, np.sqrt(steps)))
        elif key == 1:
            parts.append(encode_chunk(1, BOOL, steps, steps + WALL, steps % 3 == 0))
        else:
            notes = np.array([f"n{int(s)} é" for s in steps], dtype=object)
            parts.append(encode_chunk(2, TEXT, steps, steps + WALL, notes))
        starts[key] += count
    return write(path, *parts)


def test_the_threaded_read_of_a_big_file_equals_the_plain_one(tmp_path, monkeypatch):
    """Checksums computed in threads, in blocks, give the same points and damage as one thread."""
    path = tmp_path / "points.htr"
    offsets = mixed_file(path, random.Random(5), 60)
    plain = RunReader(path).read_columns()
    monkeypatch.setattr(runreader, "_PARALLEL_BYTES", 0)
    monkeypatch.setattr(_crc, "BLOCK", 1000)  # many blocks per column, combined
    monkeypatch.setattr(runreader, "cpus", lambda: 3)
    threaded = RunReader(path).read_columns()
    assert threaded.chunks == plain.chunks
    for key, columns in plain.columns.items():
        for ours, theirs in zip(threaded.columns[key], columns):
            assert ours.tolist() == theirs.tolist()
    # A bad checksum in the middle is found at its record, the points before it kept.
    data = bytearray(path.read_bytes())
    middle = offsets[40]
    data[middle + FRAME.size + CHUNK_RECORD.size] ^= 0x10
    path.write_bytes(bytes(data))
    reader = RunReader(path)
    found = reader.read_columns(final=True)
    assert reader.offset == middle
    assert reader.damage.startswith(
        f"points.htr, record at byte {middle}: its checksum does not match, and "
    )
    assert found.chunks == [chunk for chunk, at in zip(plain.chunks, offsets[3:]) if at < middle]


def test_crc32_combine_agrees_with_zlib():
    """The CRC of two parts combined equals zlib's CRC of the whole, for any split."""
    rng = random.Random(1)
    for _ in range(50):
        data = rng.randbytes(rng.randrange(0, 5000))
        cut = rng.randrange(0, len(data) + 1)
        first, second = data[:cut], data[cut:]
        combined = _crc.crc32_combine(zlib.crc32(first), zlib.crc32(second), len(second))
        assert combined == zlib.crc32(data)


def test_each_byte_is_read_once_and_a_torn_tail_only_its_frame_header_again(tmp_path):
    """bytes_read covers the file once; a torn record costs a re-read of its 8-byte frame header."""
    path = tmp_path / "points.htr"
    write(path, encode_key(0, "loss", NUMBER), numbers(0, 0, 3))
    reader = RunReader(path)
    reader.read()
    size = path.stat().st_size
    assert (reader.bytes_read, reader.bytes_reread) == (size, 0)
    later = numbers(0, 3, 10)
    with open(path, "ab") as handle:
        handle.write(later[:100])
    assert reader.read() == ([], [])
    assert reader.bytes_reread == FRAME.size
    with open(path, "ab") as handle:
        handle.write(later[100:])
    assert len(reader.read()[1]) == 1
    assert reader.bytes_read - reader.bytes_reread == path.stat().st_size == reader.offset


def test_a_damaged_file_is_not_read_past_the_damage_again(tmp_path):
    """Once damage is found, later reads read nothing, until the file is replaced."""
    path = tmp_path / "points.htr"
    write(path, encode_key(0, "loss", NUMBER), numbers(0, 0, 3), DAMAGE["undefined key"][0])
    reader = RunReader(path)
    reader.read()
    read = reader.bytes_read
    with open(path, "ab") as handle:
        handle.write(numbers(0, 3, 2))
    assert reader.read() == ([], []) and reader.bytes_read == read
    assert reader.damage.endswith("a chunk of key 7, which no key record before it defines")


def test_a_file_cut_below_the_offset_is_read_again_from_the_start(tmp_path):
    """A points file now shorter than what was read is another file: the reader starts over."""
    path = tmp_path / "points.htr"
    write(path, encode_key(0, "loss", NUMBER), numbers(0, 0, 3), numbers(0, 3, 3))
    reader = RunReader(path)
    assert reader.read_columns().columns[0][0].tolist() == list(range(6))
    with open(path, "r+b") as handle:
        handle.truncate(HEADER.size + len(encode_key(0, "loss", NUMBER)) + len(numbers(0, 0, 3)))
    found = reader.read_columns()
    assert found.restarted and found.new_keys == [0]
    assert found.columns[0][0].tolist() == [0.0, 1.0, 2.0]
    assert reader.bytes_read - reader.bytes_reread == path.stat().st_size


def test_a_file_replaced_by_another_is_read_again_from_the_start(tmp_path):
    """A points file renamed over the one being read (another inode) is read from the start."""
    path = tmp_path / "points.htr"
    write(path, encode_key(0, "loss", NUMBER), numbers(0, 0, 3))
    reader = RunReader(path)
    reader.read()
    other = tmp_path / "other.htr"
    write(other, encode_key(0, "acc", NUMBER), numbers(0, 10, 5))
    os.replace(other, path)
    found = reader.read_columns()
    assert found.restarted and reader.keys == {0: ("acc", NUMBER)}
    assert found.columns[0][0].tolist() == [10.0, 11.0, 12.0, 13.0, 14.0]
