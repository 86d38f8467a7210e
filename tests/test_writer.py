"""The writer under real faults: huge records, writes that fail after their bytes landed,
short writes, a reader following all along, many keys, failures it did not expect."""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import hypertuner
from hypertuner import runfile
from hypertuner._values import MAX_TEXT_BYTES, NUMBER, TEXT
from hypertuner.runfile import FRAME, MAX_PAYLOAD, RunWriter, chunk_records, key_parts
from hypertuner.runinfo import INFO_FILE
from hypertuner.runreader import RunReader


def frames(path):
    """(offset, payload length) of every record in a points file."""
    data = path.read_bytes()
    at, found = 12, []
    while at + FRAME.size <= len(data):
        length, _ = FRAME.unpack_from(data, at)
        found.append((at, length))
        at += FRAME.size + length
    return found


# -- huge records ---------------------------------------------------------------------


def test_ten_million_points_of_one_key_split_under_the_readers_bound(tmp_path):
    """11.2 M points of one key in one flush (269 MB) become records the reader accepts."""
    count = 11_200_000
    steps = np.arange(count, dtype=np.float64)
    writer = RunWriter(tmp_path / "p.htr", fsync=False)
    records = chunk_records(0, NUMBER, steps, steps, steps * 0.5)
    assert sum(points for _, points in records) == count and len(records) == 2
    writer.append([key_parts(0, "x", NUMBER)] + [parts for parts, _ in records])
    writer.close()
    assert max(length for _, length in frames(tmp_path / "p.htr")) <= MAX_PAYLOAD
    reader = RunReader(tmp_path / "p.htr")
    _, chunks = reader.read()
    assert sum(len(c.steps) for c in chunks) == count
    assert chunks[-1].values[-1] == (count - 1) * 0.5


def test_three_100_mb_texts_reopen_with_what_follows(tmp_path):
    """Three 100 MB text values logged before one flush reopen whole, and so do later keys."""
    logger = hypertuner.Logger(name="big", dir=tmp_path, flush_every=1000)
    texts = [chr(ord("a") + i) * 100_000_000 for i in range(3)]
    for i, text in enumerate(texts):
        logger.log({"blob": text}, i)
    logger.log({"after": 1.0}, 3)
    del text
    logger.close()
    assert max(length for _, length in frames(logger.path / "points.htr")) <= MAX_PAYLOAD
    run = hypertuner.load(logger.path)
    assert run.status == "finished"
    got = run["blob"].values
    assert [hashlib.sha1(t.encode()).hexdigest() for t in got] == [
        hashlib.sha1(t.encode()).hexdigest() for t in texts
    ]
    assert run["after"].values.tolist() == [1.0]


def test_a_text_too_long_for_any_record_is_refused_at_the_call():
    """A text value over MAX_TEXT_BYTES is refused by log(), naming the key; nothing is kept."""
    logger = hypertuner.Logger()
    long = "é" * (MAX_TEXT_BYTES // 2 + 1)  # two bytes a character in UTF-8
    with pytest.raises(hypertuner.InvalidValueError) as caught:
        logger.log({"note": long, "x": 1.0}, 0)
    assert str(caught.value) == (
        f"log(): the text of 'note' is {2 * len(long):,} bytes long; a text value may be at "
        f"most {MAX_TEXT_BYTES:,} bytes (256 MiB). Save it to a file and log its path."
    )
    assert len(logger) == 0
    logger.log({"note": "é" * 10, "x": 1.0}, 0)
    logger.close()


def test_the_longest_text_fits_one_record(tmp_path):
    """A text of exactly MAX_TEXT_BYTES makes one record of at most MAX_PAYLOAD bytes."""
    ((parts, points),) = chunk_records(
        0, TEXT, np.zeros(1), np.zeros(1), np.array(["x" * MAX_TEXT_BYTES], dtype=object)
    )
    assert points == 1
    assert sum(memoryview(p).nbytes for p in parts) - FRAME.size == MAX_PAYLOAD


# -- failed writes, with a reader following ---------------------------------------------


def test_a_sync_that_fails_after_the_bytes_landed_keeps_them_for_the_follower(monkeypatch):
    """fdatasync failing with EIO (as NFS reports) after the bytes landed: the records stay,
    nothing is rewritten, and a reader that read them ends with exactly the logger's points."""
    logger = hypertuner.Logger(flush_every=1000)
    follower = hypertuner.load(logger.path)
    real_sync = os.fdatasync
    for i in range(100):
        logger.log({"a": float(i), "b": f"t{i}"}, i)

    def failing_sync(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(runfile.os, "fdatasync", failing_sync)
    with pytest.warns(hypertuner.HypertunerWarning, match="Input/output error"):
        assert logger.flush() is False
    assert follower.refresh() == 200  # the landed records are whole: read now
    monkeypatch.setattr(runfile.os, "fdatasync", real_sync)
    for i in range(100, 150):
        logger.log({"a": float(i), "b": f"t{i}"}, i)
    assert logger.flush() is True
    assert follower.refresh() == 100  # only what came after: nothing read twice
    logger.close()
    follower.refresh()
    assert follower["a"].values.tolist() == [float(i) for i in range(150)]
    assert follower["b"].values.tolist() == [f"t{i}" for i in range(150)]
    assert follower.bytes_read == (logger.path / "points.htr").stat().st_size  # each byte once


def test_a_short_write_then_enospc_cuts_only_the_torn_record(monkeypatch):
    """A write that lands part of its records, then fails with ENOSPC, keeps the whole ones
    (a follower reads them) and cuts only the torn one; the retry ends exactly right."""
    logger = hypertuner.Logger(flush_every=1000)
    follower = hypertuner.load(logger.path)
    keys = [f"k{j}" for j in range(6)]
    for i in range(10):
        logger.log({key: float(i) for key in keys}, i)
    real_pwritev = runfile.os.pwritev
    calls = []

    def short_then_full(fd, buffers, offset):
        calls.append(offset)
        if len(calls) == 1:  # a short write: half the bytes land...
            data = b"".join(bytes(b) for b in buffers)
            return real_pwritev(fd, [data[: len(data) // 2]], offset)
        raise OSError(errno.ENOSPC, "No space left on device")  # ...then the disk is full

    monkeypatch.setattr(runfile.os, "pwritev", short_then_full)
    with pytest.warns(hypertuner.HypertunerWarning, match="No space left on device"):
        assert logger.flush() is False
    size = (logger.path / "points.htr").stat().st_size
    whole_records = frames(logger.path / "points.htr")
    last_end = whole_records[-1][0] + FRAME.size + whole_records[-1][1]
    assert last_end == size  # the torn record was cut: the file ends on a record
    got = follower.refresh()
    assert 0 < got < 60  # part of the points landed whole, and the follower has them
    monkeypatch.setattr(runfile.os, "pwritev", real_pwritev)
    logger.close()
    follower.refresh()
    for key in keys:
        assert follower[key].values.tolist() == [float(i) for i in range(10)]
    assert follower.points == 60


# -- many keys --------------------------------------------------------------------------


def test_a_flush_writes_only_the_keys_that_changed(tmp_path):
    """Of 10,000 keys, a flush after one of them changed writes that one key's chunk only."""
    logger = hypertuner.Logger(name="many", dir=tmp_path, flush_every=1000)
    logger.log({f"k{i}": 1.0 for i in range(10_000)}, 0)
    assert logger.flush()
    before = len(frames(logger.path / "points.htr"))
    logger.log({"k5": 2.0}, 1)
    assert logger.flush()
    assert len(frames(logger.path / "points.htr")) == before + 1
    logger.close()
    assert hypertuner.load(logger.path)["k5"].values.tolist() == [1.0, 2.0]


KEYS_CHILD = r"""
import os, sys, time
import hypertuner

root, side, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
logger = hypertuner.Logger(name="keys", dir=root, flush_every=1000)
for i in range(count):
    logger.log({f"key/{i}": float(i)}, i)
started = time.perf_counter()
assert logger.flush()
took = time.perf_counter() - started
with open(side + ".tmp", "w") as handle:
    handle.write(f"{count} {took}")
os.replace(side + ".tmp", side)
while True:  # keeps logging until killed
    logger.log({"after": 1.0}, 0)
"""


def test_a_flush_of_100k_new_keys_survives_sigkill(tmp_path):
    """A writer that flushed 100,000 new keys and is then killed with SIGKILL reopens with all."""
    script = tmp_path / "child.py"
    script.write_text(KEYS_CHILD)
    side = tmp_path / "flushed"
    env = {k: v for k, v in os.environ.items() if k != "HYPERTUNER_DIR"}
    child = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path), str(side), "100000"],
        env=env, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not side.exists():
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the child never flushed"
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    count, took = side.read_text().split()
    print(f"flush of {count} new keys: {float(took):.2f} s")
    run = hypertuner.load(tmp_path / "keys")
    assert run.status == "crashed"
    keys = [key for key in run if key.startswith("key/")]
    assert len(keys) == 100_000
    assert keys[:3] == ["key/0", "key/1", "key/2"] and keys[-1] == "key/99999"
    assert run["key/99999"].values.tolist() == [99999.0]


# -- failures nobody expected -----------------------------------------------------------


def test_an_unexpected_flush_failure_warns_once_and_keeps_the_points(monkeypatch):
    """A flush failing with something other than a disk error warns once, keeps the points,
    and the next flush that works writes them all."""
    logger = hypertuner.Logger(flush_every=1000)
    logger.log({"a": 1.0}, 0)
    real = runfile.chunk_records

    def broken(*args, **kwargs):
        raise RuntimeError("encoder bug")

    monkeypatch.setattr("hypertuner.logger.chunk_records", broken)
    with pytest.warns(hypertuner.HypertunerWarning, match="RuntimeError: encoder bug"):
        assert logger.flush() is False
    logger.log({"a": 2.0}, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert logger.flush() is False  # once is enough
    monkeypatch.setattr("hypertuner.logger.chunk_records", real)
    logger.close()
    run = hypertuner.load(logger.path)
    assert run["a"].values.tolist() == [1.0, 2.0]
    assert run.status == "finished"
    assert (logger.path / INFO_FILE).is_file()
