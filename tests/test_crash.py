"""Crash safety: a writer killed at any moment leaves a run that reopens as a clean prefix."""

from __future__ import annotations

import os
import random
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import hypertuner
from hypertuner._values import NUMBER
from hypertuner.runfile import DATA_FILE, encode_chunk
from hypertuner.runinfo import INFO_FILE

KEYS = ("x", "t", "ok")

# The child logs without pause. Every 500 steps it flushes by hand and, once the
# flush returned True, records in a side file (atomically) how many steps it had
# logged: at least that many points per key are then on disk.
CHILD = r"""
import os
import sys
import time

import hypertuner

root, side = sys.argv[1], sys.argv[2]


def record(count):
    tmp = side + ".tmp"
    with open(tmp, "w") as handle:
        handle.write(str(count))
    os.replace(tmp, side)


logger = hypertuner.Logger(name="crash", dir=root, flush_every=0.1)
record(0)  # also tells the parent that the run folder exists
deadline = time.monotonic() + 60  # never outlive a parent that failed to kill us
i = 0
while True:
    logger.log({"x": float(i), "t": f"s{i}", "ok": i % 2 == 0}, i)
    i += 1
    if i % 500 == 0:
        if logger.flush():
            record(i)
        if time.monotonic() > deadline:
            break
"""


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("HYPERTUNER_DIR", None)
    env.pop("HYPERTUNER_PARAMS", None)
    return env


def wait_for(path: Path, proc: subprocess.Popen, errors: Path, timeout: float = 60.0) -> None:
    """Wait until ``path`` exists, failing early if the child died."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(f"child exited with {proc.returncode} early:\n{errors.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"child did not create {path} within {timeout} s")
        time.sleep(0.01)


def check_prefix(run: hypertuner.Run) -> dict[str, int]:
    """Assert each key holds exactly steps 0..n-1 with the child's values; return each n."""
    assert set(run) <= set(KEYS), list(run)
    assert list(run) == [key for key in KEYS if key in run]  # keys in first-logged order
    counts = {}
    for key in KEYS:
        if key not in run:
            counts[key] = 0
            continue
        series = run[key]
        n = len(series.steps)
        expected = np.arange(n, dtype=np.float64)
        assert len(series.values) == len(series.walls) == n
        np.testing.assert_array_equal(series.steps, expected, err_msg=f"{key} steps")
        if key == "x":
            assert series.kind == "number"
            np.testing.assert_array_equal(series.values, expected)
        elif key == "t":
            assert series.kind == "text"
            assert series.values.tolist() == [f"s{i}" for i in range(n)]
        else:
            assert series.kind == "bool"
            assert series.values.dtype == np.bool_
            np.testing.assert_array_equal(series.values, np.arange(n) % 2 == 0)
        counts[key] = n
    assert run.points == sum(counts.values())
    return counts


def test_sigkill_at_random_moments_leaves_a_flushed_prefix(tmp_path: Path) -> None:
    """A writer killed by SIGKILL reopens as crashed, holding an intact prefix of all it flushed."""
    rng = random.Random(20240611)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    longest = 0
    for attempt in range(6):
        root = tmp_path / f"kill{attempt}"
        side = tmp_path / f"flushed{attempt}.txt"
        errors = tmp_path / f"stderr{attempt}.txt"
        with open(errors, "wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, str(script), str(root), str(side)],
                cwd=tmp_path,
                env=child_env(),
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        try:
            wait_for(side, proc, errors)
            time.sleep(rng.uniform(0.2, 1.5))
            assert proc.poll() is None, f"child exited early:\n{errors.read_text()}"
            os.kill(proc.pid, signal.SIGKILL)
            assert proc.wait(timeout=30) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)

        flushed = int(side.read_text())
        run = hypertuner.load(root / "crash")
        assert run.status == "crashed"
        assert run.ended is None
        counts = check_prefix(run)
        for key in KEYS:
            assert counts[key] >= flushed, (attempt, key, counts, flushed)
        longest = max(longest, *counts.values())
    # The kills did not all land before the first flush: points were really written.
    assert longest >= 500


def logged_run(tmp_path: Path, count: int = 300) -> hypertuner.Logger:
    logger = hypertuner.Logger(name="torn", dir=tmp_path, flush_every=60)
    for i in range(count):
        logger.log({"x": float(i), "t": f"s{i}", "ok": i % 2 == 0}, i)
    logger.close()
    return logger


def torn_tail(kind: str) -> bytes:
    record = encode_chunk(
        0,
        NUMBER,
        np.arange(300, 400, dtype=np.float64),
        np.full(100, 1.7e9),
        np.arange(300, 400, dtype=np.float64),
    )
    if kind == "garbage":
        return random.Random(7).randbytes(1000)
    if kind == "half_record":
        return record[: len(record) // 2]
    if kind == "record_without_last_byte":
        return record[:-1]
    if kind == "partial_frame_header":
        return record[:5]
    if kind == "frame_header_only":
        return record[:8]
    if kind == "zero_bytes":
        return b"\0" * 4096  # a file system that extended the file but lost the data
    if kind == "bad_crc":
        return record[:8] + bytes([record[8] ^ 0xFF]) + record[9:]
    if kind == "huge_length":
        return struct.pack("<II", 2**31, 0) + b"\x01" * 64
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "garbage",
        "half_record",
        "record_without_last_byte",
        "partial_frame_header",
        "frame_header_only",
        "zero_bytes",
        "bad_crc",
        "huge_length",
    ],
)
def test_torn_tail_of_a_closed_run_keeps_every_earlier_point(tmp_path: Path, kind: str) -> None:
    """Bytes after the last whole record of a closed run are ignored; all earlier points reopen."""
    logger = logged_run(tmp_path)
    data_file = logger.path / DATA_FILE
    with open(data_file, "ab") as handle:
        handle.write(torn_tail(kind))

    run = hypertuner.load(logger.path)
    assert run.status == "finished"
    assert check_prefix(run) == {"x": 300, "t": 300, "ok": 300}
    assert run.refresh() == 0
    assert run.points == 900


def test_truncated_points_file_reopens_with_the_whole_records_left(tmp_path: Path) -> None:
    """A points file cut at any byte reopens with exactly the points of the records before it."""
    logger = hypertuner.Logger(name="cut", dir=tmp_path, flush_every=60)
    sizes = [logger._writer.size]  # noqa: SLF001 - the record boundaries are needed here
    for block in range(4):
        for i in range(block * 25, block * 25 + 25):
            logger.log({"x": float(i), "t": f"s{i}", "ok": i % 2 == 0}, i)
        assert logger.flush()
        sizes.append(logger._writer.size)  # noqa: SLF001
    logger.close()
    data = (logger.path / DATA_FILE).read_bytes()
    assert len(data) == sizes[-1]

    rng = random.Random(3)
    cuts = sorted(
        {
            *sizes,
            *(s - 1 for s in sizes[1:]),
            *(rng.randrange(sizes[0], len(data)) for _ in range(20)),
        }
    )
    for cut in cuts:
        folder = tmp_path / f"cut{cut}"
        folder.mkdir()
        (folder / INFO_FILE).write_bytes((logger.path / INFO_FILE).read_bytes())
        (folder / DATA_FILE).write_bytes(data[:cut])
        whole_flushes = sum(1 for size in sizes[1:] if size <= cut)
        run = hypertuner.load(folder)
        counts = check_prefix(run)
        # A flush writes one record per key, so a cut inside a flush may keep some keys of it.
        for key in KEYS:
            assert whole_flushes * 25 <= counts[key] <= (whole_flushes + 1) * 25, (cut, counts)
        if cut in sizes:
            assert counts == dict.fromkeys(KEYS, whole_flushes * 25), (cut, counts)
