"""Following a run that another process is writing: refresh() reads each new byte once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import hypertuner
from hypertuner._values import NUMBER, TEXT
from hypertuner.runfile import DATA_FILE, FRAME, encode_chunk, encode_key
from hypertuner.runinfo import INFO_FILE

TOTAL = 20_000

# ~20k points over ~2 s; "b", "d" and "c" first appear mid-run, "d" only on some steps.
CHILD = r"""
import sys
import time

import hypertuner

logger = hypertuner.Logger(name="follow", dir=sys.argv[1], flush_every=0.05)
for i in range(20000):
    values = {"a": i * 0.5}
    if i >= 5000:
        values["b"] = "w%d" % i
    if i >= 12000:
        values["c"] = i % 3 == 0
    if i >= 8000 and i % 7 == 0:
        values["d"] = -i
    logger.log(values, i)
    if i % 100 == 99:
        time.sleep(0.01)
logger.close()
"""


def expected_points() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each key's steps and values as the child logs them, in first-logged order."""
    i = np.arange(TOTAL)
    b = i[i >= 5000]
    d = i[(i >= 8000) & (i % 7 == 0)]
    c = i[i >= 12000]
    return {
        "a": (i.astype(np.float64), i * 0.5),
        "b": (b.astype(np.float64), np.array([f"w{j}" for j in b], dtype=object)),
        "d": (d.astype(np.float64), -d.astype(np.float64)),
        "c": (c.astype(np.float64), c % 3 == 0),
    }


def check_prefix_of(run: hypertuner.Run, expected: dict) -> None:
    """Assert every key of ``run`` holds a prefix of what the child logs under it."""
    assert list(run) == [key for key in expected if key in run]
    for key in run:
        series = run[key]
        n = len(series.steps)
        steps, values = expected[key]
        np.testing.assert_array_equal(series.steps, steps[:n], err_msg=key)
        np.testing.assert_array_equal(series.values, values[:n], err_msg=key)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("HYPERTUNER_DIR", None)
    env.pop("HYPERTUNER_PARAMS", None)
    return env


def test_follow_a_live_writer_to_exactly_its_points(tmp_path: Path) -> None:
    """A reader following a live writer ends with exactly its points, each byte read once."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    errors = tmp_path / "stderr.txt"
    path = tmp_path / "runs" / "follow"
    expected = expected_points()

    with open(errors, "wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, str(script), str(tmp_path / "runs")],
            cwd=tmp_path,
            env=child_env(),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 60
        while not (path / INFO_FILE).exists():
            assert proc.poll() is None, f"child exited early:\n{errors.read_text()}"
            assert time.monotonic() < deadline, "the child never created its run"
            time.sleep(0.005)

        run = hypertuner.load(path)
        total = run.points
        growing_refreshes = 0
        while proc.poll() is None:
            assert time.monotonic() < deadline, "the child did not finish in time"
            before = run.points
            new = run.refresh()
            assert new >= 0
            assert run.points == before + new
            total += new
            if new:
                growing_refreshes += 1
                check_prefix_of(run, expected)
            # "finished" may show before the child process has fully exited.
            assert run.status in ("running", "finished")
            time.sleep(0.02)
        assert proc.wait(timeout=30) == 0, errors.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)

    total += run.refresh()
    # The points really arrived while the child was writing, not all at the end.
    assert growing_refreshes >= 2
    assert run.status == "finished"
    assert run.ended is not None
    assert list(run) == ["a", "b", "d", "c"]
    assert run.kinds == {"a": "number", "b": "text", "d": "number", "c": "bool"}
    for key, (steps, values) in expected.items():
        np.testing.assert_array_equal(run[key].steps, steps, err_msg=key)
        np.testing.assert_array_equal(run[key].values, values, err_msg=key)
    assert total == run.points == sum(len(steps) for steps, _ in expected.values())
    assert run.refresh() == 0

    # Nothing was read twice, and nothing left unread.
    assert run.bytes_read - run.bytes_reread == (path / DATA_FILE).stat().st_size

    # A fresh reader agrees with the follower.
    again = hypertuner.load(path)
    for key in expected:
        np.testing.assert_array_equal(again[key].steps, run[key].steps)
        np.testing.assert_array_equal(again[key].values, run[key].values)
        np.testing.assert_array_equal(again[key].walls, run[key].walls)


# -- a torn record written by hand, in two parts ------------------------------------------

BASE = 50


def closed_run(tmp_path: Path) -> Path:
    """A finished run whose only key, "a" (key id 0), holds BASE points."""
    logger = hypertuner.Logger(name="torn", dir=tmp_path, flush_every=60)
    for i in range(BASE):
        logger.log({"a": float(i)}, i)
    logger.close()
    return logger.path


def appended_records() -> list[tuple[bytes, int]]:
    """Records to append by hand, each with the number of points it adds."""
    walls = np.full(30, 1.7e9)
    steps = np.arange(BASE, BASE + 30, dtype=np.float64)
    texts = np.array([f"late {i} é" for i in range(20)], dtype=object)
    return [
        (encode_chunk(0, NUMBER, steps, walls, steps * 2), 30),
        (encode_key(1, "late", TEXT), 0),
        (encode_chunk(1, TEXT, np.arange(20, dtype=np.float64), walls[:20], texts), 20),
    ]


def split_points() -> list[int]:
    first, key, last = (len(record) for record, _ in appended_records())
    return [
        1,  # inside the first frame header
        7,
        8,  # frame header whole, no payload yet
        first // 2,
        first - 1,  # all but the last byte of the first record
        first,  # exactly between records
        first + 3,
        first + key + last // 2,
        first + key + last - 1,
    ]


def check_run(run: hypertuner.Run, a_points: int, late_points: int) -> None:
    a = run["a"]
    n = BASE + a_points
    steps = np.arange(n, dtype=np.float64)
    np.testing.assert_array_equal(a.steps, steps)
    np.testing.assert_array_equal(a.values, np.where(steps < BASE, steps, steps * 2))
    if late_points:
        late = run["late"]
        assert late.kind == "text"
        np.testing.assert_array_equal(late.steps, np.arange(late_points, dtype=np.float64))
        assert late.values.tolist() == [f"late {i} é" for i in range(late_points)]
    assert run.points == n + late_points


@pytest.mark.parametrize("split", split_points())
def test_refresh_keeps_points_before_a_torn_record_and_completes_it(
    tmp_path: Path, split: int
) -> None:
    """refresh() over a half-written record keeps earlier points, then reads it once it is whole."""
    path = closed_run(tmp_path)
    run = hypertuner.load(path)
    assert run.points == BASE

    records = appended_records()
    data = b"".join(record for record, _ in records)
    # What the first part holds whole: records ending at or before the split.
    whole_a = whole_late = 0
    end = 0
    for (record, count), key in zip(records, ("a", "key", "late")):
        end += len(record)
        if end <= split:
            if key == "a":
                whole_a = count
            elif key == "late":
                whole_late = count
    late_defined = split >= len(records[0][0]) + len(records[1][0])

    with open(path / DATA_FILE, "ab") as handle:
        handle.write(data[:split])
    assert run.refresh() == whole_a + whole_late
    check_run(run, whole_a, whole_late)
    assert ("late" in run) == late_defined
    assert run.refresh() == 0  # the torn tail is still torn: nothing new, nothing lost

    with open(path / DATA_FILE, "ab") as handle:
        handle.write(data[split:])
    assert run.refresh() == 30 + 20 - whole_a - whole_late
    check_run(run, 30, 20)
    assert list(run) == ["a", "late"]
    assert run.refresh() == 0

    # A fresh reader of the completed file agrees.
    check_run(hypertuner.load(path), 30, 20)


def test_only_a_torn_tail_is_read_again(tmp_path: Path) -> None:
    """A refresh that met a half-written record reads only its frame header again, nothing else."""
    path = closed_run(tmp_path)
    run = hypertuner.load(path)
    assert run.points == BASE
    record, count = appended_records()[0]

    with open(path / DATA_FILE, "ab") as handle:
        handle.write(record[: len(record) // 2])
    assert run.refresh() == 0
    with open(path / DATA_FILE, "ab") as handle:
        handle.write(record[len(record) // 2 :])
    assert run.refresh() == count

    # The first refresh read the torn record's frame header, saw it runs past the end
    # of the file, and read no further: those 8 bytes are the only ones read twice.
    assert run.bytes_reread == FRAME.size
    assert run.bytes_read - run.bytes_reread == (path / DATA_FILE).stat().st_size
