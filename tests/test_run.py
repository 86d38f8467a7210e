"""The read side: load(), Run, runs(), refresh, status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import hypertuner
from hypertuner import Logger, RunNotFoundError


def make_run(name="r", params=None, points=5):
    logger = Logger(name=name, params=params)
    for i in range(points):
        logger.log({"loss": 1.0 / (i + 1), "phase": "warm" if i < 2 else "main", "best": i == 3}, i)
    logger.close()
    return logger


def test_load_gives_the_same_read_api_as_the_logger():
    """A reopened run has the logger's keys, kinds, series, params and status."""
    logger = make_run(params={"lr": 0.1, "model": {"depth": 3}})
    run = hypertuner.load(logger.path)
    assert list(run) == list(logger) == ["loss", "phase", "best"]
    assert run.kinds == logger.kinds
    for key in run:
        assert np.array_equal(run[key].steps, logger[key].steps)
        assert run[key].values.tolist() == logger[key].values.tolist()
    assert run.params.lr == 0.1 and run.params.model.depth == 3
    assert run.status == "finished" and run.name == logger.name and run.id == logger.id
    assert run.ended >= run.created
    assert repr(run) == f"<Run {logger.name!r} finished: 3 keys, 15 points>"


def test_load_accepts_a_file_inside_or_a_run_name():
    """load() takes the folder, run.json or the points file inside it, or a bare run name."""
    logger = make_run()
    for target in (logger.path, logger.path / "run.json", logger.path / "points.htr", logger.name):
        assert hypertuner.load(target).name == logger.name


def test_load_of_a_regular_file_is_a_clear_error(tmp_path):
    """load() of a file that is not a run's own file raises RunNotFoundError: a file, not a run."""
    path = tmp_path / "notes.txt"
    path.write_text("not a run")
    with pytest.raises(RunNotFoundError) as info:
        hypertuner.load(path)
    assert str(info.value) == (
        f"no run at {str(path)!r}: it is a file, not a run folder "
        "(pass the folder that holds run.json, e.g. logger.path)"
    )


def test_a_run_name_wins_over_a_file_of_that_name(tmp_path, monkeypatch):
    """load(name) opens the run of that name even when the working folder has a file so named."""
    logger = make_run("r")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r").write_text("an export, say")
    assert hypertuner.load("r").path == logger.path


def test_points_are_read_only_when_asked_for():
    """Opening a run reads run.json only; the points file is read on first access.
    What a listing asks of a run closed cleanly (its points, kinds, each key's count,
    last, min and max) run.json's summary answers, with the points read."""
    logger = make_run()
    run = hypertuner.load(logger.path)
    assert run.bytes_read == 0
    assert run.points == 15
    assert run.kinds == logger.kinds
    summaries = run.summaries()
    assert run.bytes_read == 0 and not run.loaded
    assert list(run["loss"].values) == [1.0, 0.5, 1 / 3, 0.25, 0.2]  # now it reads
    assert run.bytes_read == (logger.path / "points.htr").stat().st_size
    assert summaries == run.summaries()  # the summary says what the points do
    assert summaries == {"loss": (5, 0.2, 0.2, 1.0), "best": (5, 0.0, 0.0, 1.0)}
    closed = hypertuner.load(logger.path)
    assert closed.points == 15 and closed.refresh() == 0  # nothing new, nothing read
    assert closed.bytes_read == 0


@pytest.mark.parametrize(
    "change",
    [
        "append",
        "cut",
        "overwritten",
        "bad count",
        "bad kind",
        "not a list",
        "total",
        "hostile types",
        "running",
    ],
)
def test_a_summary_that_no_longer_holds_is_not_used(change):
    """A summary is used only while the points file has its size at close and the
    summary itself adds up: otherwise the points are read, never a traceback."""
    import json

    logger = make_run()
    info_path, data = logger.path / "run.json", logger.path / "points.htr"
    info = json.loads(info_path.read_text())
    summary = info["summary"]
    if change == "append":
        with open(data, "ab") as handle:
            handle.write(b"\0" * 8)  # another writer, or a torn tail: read the file
    elif change == "cut":
        data.write_bytes(data.read_bytes()[:-1])
    elif change == "overwritten":  # the same size, other bytes (a damaged disk, a tool)
        raw = bytearray(data.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        data.write_bytes(bytes(raw))
        stat = data.stat()
        os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))  # coarse clocks too
    elif change == "bad count":
        summary["keys"]["loss"][1] = -5
    elif change == "bad kind":
        summary["keys"]["loss"][0] = "image"
    elif change == "not a list":
        summary["keys"]["loss"] = {"last": 0.2}
    elif change == "total":
        summary["points"] = 99
    elif change == "hostile types":
        summary["bytes"] = "1e999"
    elif change == "running":
        info["status"] = "running"
    info_path.write_text(json.dumps(info))
    run = hypertuner.load(logger.path)
    assert run.saved_summary() is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a cut file is damaged: it says so
        points = run.points
    assert run.loaded and points <= 15


def test_refresh_reads_only_appended_bytes():
    """refresh() picks up new points from a live logger without rereading the file."""
    logger = Logger(flush_every=1000)
    logger.log({"x": 1.0}, 0)
    logger.flush()
    run = hypertuner.load(logger.path)
    assert run["x"].values.tolist() == [1.0]
    logger.log({"x": 2.0, "y": "new"}, 1)
    logger.flush()
    assert run.refresh() == 2
    assert run["x"].values.tolist() == [1.0, 2.0] and run["y"].values.tolist() == ["new"]
    assert run.refresh() == 0
    assert run.bytes_read == (logger.path / "points.htr").stat().st_size
    logger.close()
    run.refresh()
    assert run.status == "finished"


def test_a_run_whose_writer_died_reads_as_crashed(tmp_path):
    """A run left 'running' by a process that no longer exists reads as crashed."""
    code = (
        "import os, hypertuner\n"
        f"lg = hypertuner.Logger(dir={str(tmp_path)!r}, name='dead')\n"
        "lg.log({'a': 1.0}, 0); lg.flush()\n"
        "os._exit(0)\n"  # no close, no exit handlers: as if killed
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    run = hypertuner.load(tmp_path / "dead")
    assert run.info["status"] == "running"
    assert run.status == "crashed"
    assert run["a"].values.tolist() == [1.0]


def test_a_recycled_pid_does_not_revive_a_run():
    """A run whose recorded pid now belongs to another process still reads as crashed."""
    logger = make_run()
    info = json.loads((logger.path / "run.json").read_text())
    info.update(status="running", pid=os.getpid(), pid_start=1)
    (logger.path / "run.json").write_text(json.dumps(info))
    assert hypertuner.load(logger.path).status == "crashed"


def test_runs_lists_a_folder_oldest_first(runs_folder):
    """runs() lists every run in a folder with status and params, skipping other folders."""
    first = make_run("first", params={"lr": 0.1})
    live = Logger(name="live", params={"lr": 0.01})
    (runs_folder / "not-a-run").mkdir()
    listed = hypertuner.runs()
    assert [r.name for r in listed] == ["first", "live"]
    assert [r.status for r in listed] == ["finished", "running"]
    assert [r.params.lr for r in listed] == [0.1, 0.01]
    text = repr(listed)
    assert text.splitlines()[0].split() == [
        "name",
        "status",
        "started",
        "duration",
        "points",
        "params",
    ]
    assert "first" in text and "lr=0.01" in text
    live.close()
    assert first.path.parent == runs_folder


def test_runs_of_a_missing_folder(tmp_path):
    """runs() of a folder that does not exist is a clear error."""
    with pytest.raises(RunNotFoundError, match="no runs folder at"):
        hypertuner.runs(tmp_path / "nope")


def test_to_pandas_is_long_format():
    """to_pandas() has one row per point: key, step, time, value."""

    run = hypertuner.load(make_run(points=3).path)
    frame = run.to_pandas()
    assert list(frame.columns) == ["key", "step", "time", "value"]
    assert len(frame) == 9
    loss = frame[frame.key == "loss"]
    assert loss.value.tolist() == [1.0, 0.5, 1.0 / 3]
    assert frame[frame.key == "phase"].value.tolist() == ["warm", "warm", "main"]
    assert str(frame.time.dtype) == "datetime64[ns, UTC]"


def test_a_run_of_more_keys_than_summary_keys_keeps_no_summary(monkeypatch, tmp_path):
    """Every listing reads run.json whole: past SUMMARY_KEYS keys the summary is left
    out, and the run's points are read when asked for, as before."""
    from hypertuner import runinfo

    monkeypatch.setattr(runinfo, "SUMMARY_KEYS", 2)
    logger = Logger(dir=tmp_path)
    logger.log({"a": 1.0, "b": 2.0, "c": 3.0}, 0)
    logger.close()
    assert "summary" not in json.loads((logger.path / "run.json").read_text())
    run = hypertuner.load(logger.path)
    assert run.saved_summary() is None
    assert run.summaries() == {
        "a": (1, 1.0, 1.0, 1.0),
        "b": (1, 2.0, 2.0, 2.0),
        "c": (1, 3.0, 3.0, 3.0),
    }
    assert run.loaded
