"""The run file format: records, checksums, torn tails, versions."""

from __future__ import annotations

import json
import math
import re
import struct
import zlib

import numpy as np
import pytest

import hypertuner
from hypertuner import RunFormatError, RunNotFoundError, runfile, runreader
from hypertuner._values import BOOL, NUMBER, TEXT


def write_points(path, *records):
    """A points file with the current header and the given encoded records."""
    path.write_bytes(runfile.HEADER.pack(runfile.MAGIC, runfile.FORMAT_VERSION) + b"".join(records))


def logged_run():
    """A closed run with one point, and the path of its run.json."""
    with hypertuner.Logger() as logger:
        logger.log({"a": 1.0}, 0)
    return logger.path / "run.json"


def test_header_is_magic_then_version(tmp_path):
    """A new points file starts with the 8-byte magic and the format version."""
    writer = runfile.RunWriter(tmp_path / "p.htr")
    writer.close()
    data = (tmp_path / "p.htr").read_bytes()
    assert data == b"\x89HTRUN\r\n" + struct.pack("<I", runfile.FORMAT_VERSION)


def test_records_round_trip_all_kinds(tmp_path):
    """Key and chunk records of each kind read back exactly."""
    steps = np.array([0.0, 1.5, -2.0])
    walls = np.array([10.0, 11.0, 12.0])
    write_points(
        tmp_path / "p.htr",
        runfile.encode_key(0, "loss", NUMBER),
        runfile.encode_key(1, "ok", BOOL),
        runfile.encode_key(2, "note ✓", TEXT),
        runfile.encode_chunk(0, NUMBER, steps, walls, np.array([np.nan, np.inf, -0.0])),
        runfile.encode_chunk(1, BOOL, steps, walls, np.array([True, False, True])),
        runfile.encode_chunk(2, TEXT, steps, walls, ["", "ünïcode", "a\nb"]),
    )
    reader = runreader.RunReader(tmp_path / "p.htr")
    new_keys, chunks = reader.read()
    assert new_keys == [0, 1, 2]
    assert reader.keys == {0: ("loss", NUMBER), 1: ("ok", BOOL), 2: ("note ✓", TEXT)}
    number, flag, text = chunks
    assert np.array_equal(number.steps, steps) and np.array_equal(number.walls, walls)
    assert np.isnan(number.values[0]) and number.values[1] == np.inf
    assert np.signbit(number.values[2])
    assert flag.values.tolist() == [True, False, True]
    assert text.values.tolist() == ["", "ünïcode", "a\nb"]


def test_chunk_layout_is_little_endian_columns():
    """A chunk payload is type, key id, count, then steps, walls and values as <f8."""
    record = runfile.encode_chunk(7, NUMBER, np.array([1.0]), np.array([2.0]), np.array([3.0]))
    length, crc = struct.unpack_from("<II", record)
    payload = record[8:]
    assert length == len(payload) == 9 + 24 and crc == zlib.crc32(payload)
    assert payload == struct.pack("<BII", 2, 7, 1) + struct.pack("<3d", 1.0, 2.0, 3.0)


def test_reader_stops_at_a_torn_tail_and_resumes(tmp_path):
    """A half-written record is not read; once completed, it is read from where reading stopped."""
    key = runfile.encode_key(0, "x", NUMBER)
    chunk = runfile.encode_chunk(0, NUMBER, np.array([1.0]), np.array([2.0]), np.array([3.0]))
    later = runfile.encode_chunk(0, NUMBER, np.array([4.0]), np.array([5.0]), np.array([6.0]))
    write_points(tmp_path / "p.htr", key, chunk, later[:10])
    reader = runreader.RunReader(tmp_path / "p.htr")
    _, chunks = reader.read()
    assert [c.values.tolist() for c in chunks] == [[3.0]]
    stopped_at = reader.offset
    with open(tmp_path / "p.htr", "ab") as handle:
        handle.write(later[10:])
    _, chunks = reader.read()
    assert [c.values.tolist() for c in chunks] == [[6.0]]
    assert reader.offset == stopped_at + len(later)


def test_reader_stops_at_a_bad_checksum(tmp_path):
    """A record whose checksum does not match ends the readable part."""
    key = runfile.encode_key(0, "x", NUMBER)
    chunk = bytearray(
        runfile.encode_chunk(0, NUMBER, np.array([1.0]), np.array([2.0]), np.array([3.0]))
    )
    chunk[-1] ^= 0xFF
    write_points(tmp_path / "p.htr", key, bytes(chunk))
    new_keys, chunks = runreader.RunReader(tmp_path / "p.htr").read()
    assert new_keys == [0] and chunks == []


def test_unknown_version_is_refused_with_a_clear_message(tmp_path):
    """A points file of a newer format version is refused, naming both versions."""
    (tmp_path / "p.htr").write_bytes(runfile.HEADER.pack(runfile.MAGIC, 99))
    message = (
        f"has run format version 99, but this hypertuner reads version {runfile.FORMAT_VERSION} "
        "only; upgrade hypertuner to read it"
    )
    with pytest.raises(RunFormatError, match=re.escape(message)):
        runreader.RunReader(tmp_path / "p.htr").read()


def test_run_json_of_unknown_version_is_refused():
    """load() refuses a run whose run.json has an unknown format version."""
    path = logged_run()
    info = json.loads(path.read_text())
    info["format"] = 2
    path.write_text(json.dumps(info))
    with pytest.raises(
        RunFormatError, match="run format version 2, but this hypertuner reads version 1"
    ):
        hypertuner.load(path.parent)


def test_not_a_points_file(tmp_path):
    """A file without the magic is refused."""
    (tmp_path / "p.htr").write_bytes(b"PK\x03\x04 something else")
    with pytest.raises(RunFormatError, match="is not a hypertuner points file"):
        runreader.RunReader(tmp_path / "p.htr").read()


def test_header_being_written_reads_as_empty(tmp_path):
    """A points file holding only part of its header has no points yet."""
    (tmp_path / "p.htr").write_bytes(runfile.MAGIC[:5])
    assert runreader.RunReader(tmp_path / "p.htr").read() == ([], [])


def test_missing_run_is_a_clear_error(tmp_path):
    """load() of a folder with no run.json raises RunNotFoundError naming the path."""
    with pytest.raises(
        RunNotFoundError, match=re.escape(f"no run at {str(tmp_path)!r}: it has no run.json")
    ):
        hypertuner.load(tmp_path)


MISSING = object()
FIX = "; fix the file or remove the run folder"


@pytest.mark.parametrize(
    "field, value, problem",
    [
        ("id", MISSING, "'id' is missing (it must be a string)"),
        ("id", 7, "'id' must be a string (got 7 that is an int)"),
        ("name", MISSING, "'name' is missing (it must be a string)"),
        ("name", None, "'name' must be a string (got None that is a NoneType)"),
        ("created", MISSING, "'created' is missing (it must be a finite number)"),
        ("created", "soon", "'created' must be a finite number (got 'soon' that is a str)"),
        ("created", True, "'created' must be a finite number (got True that is a bool)"),
        ("created", math.nan, "'created' must be a finite number (got nan that is a float)"),
        ("status", MISSING, "'status' is missing (it must be a string)"),
        ("status", ["done"], "'status' must be a string (got ['done'] that is a list)"),
        (
            "ended",
            "later",
            "'ended' must be a finite number or null (got 'later' that is a str)",
        ),
        ("ended", math.inf, "'ended' must be a finite number or null (got inf that is a float)"),
        ("params", [1, 2], "'params' must be a JSON object (got [1, 2] that is a list)"),
        ("params", None, "'params' must be a JSON object (got None that is a NoneType)"),
        ("pid", "123", "'pid' must be an integer (got '123' that is a str)"),
        ("pid", 1.5, "'pid' must be an integer (got 1.5 that is a float)"),
    ],
)
def test_run_json_fields_are_checked(field, value, problem):
    """load() refuses a run.json lacking a field every reader needs, or of the wrong type."""
    path = logged_run()
    info = json.loads(path.read_text())
    if value is MISSING:
        del info[field]
    else:
        info[field] = value
    path.write_text(json.dumps(info))  # NaN and Infinity as Python's json writes them
    with pytest.raises(RunFormatError) as caught:
        hypertuner.load(path.parent)
    assert str(caught.value) == f"{path}: {problem}{FIX}"


def test_a_run_json_with_only_the_required_fields_reads():
    """id, name, created, status and format are enough: ended, params and pid may be left out."""
    path = logged_run()
    path.write_text('{"format": 1, "id": "x", "name": "n", "created": 5, "status": "finished"}')
    run = hypertuner.load(path.parent)
    assert (run.name, run.created, run.ended, run.status) == ("n", 5, None, "finished")
    assert dict(run.params) == {} and run["a"].values.tolist() == [1.0]


def test_a_run_json_that_is_a_folder_is_refused():
    """load() of a run whose run.json is a folder raises RunFormatError naming it."""
    path = logged_run()
    path.unlink()
    path.mkdir()
    with pytest.raises(RunFormatError) as caught:
        hypertuner.load(path.parent)
    assert str(caught.value) == f"{path} is a folder, not a file; fix or remove the run folder"


def test_a_run_json_that_is_not_utf8_is_refused():
    """load() of a run.json holding bytes that are not UTF-8 raises RunFormatError naming it."""
    path = logged_run()
    path.write_bytes(b'{"name": "caf\xe9"}')
    with pytest.raises(RunFormatError) as caught:
        hypertuner.load(path.parent)
    assert str(caught.value) == (
        f"{path} is not UTF-8 text (invalid continuation byte at byte 13){FIX}"
    )


def test_run_json_is_replaced_atomically():
    """No temporary file is left beside run.json after it is rewritten."""
    path = logged_run()
    assert sorted(p.name for p in path.parent.iterdir()) == ["points.htr", "run.json"]


def test_writer_disk_usage_per_point():
    """A numeric point takes 24 bytes on disk plus a few bytes per flushed record."""
    logger = hypertuner.Logger(flush_every=1000)
    for i in range(100_000):
        logger.log({"a": float(i), "b": 1.0}, i)
    logger.close()
    size = (logger.path / runfile.DATA_FILE).stat().st_size
    assert 24 * 200_000 < size < 24 * 200_000 + 100
