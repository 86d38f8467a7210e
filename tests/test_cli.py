"""The hypertuner command: ls, show, export and demo, run through main()."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time

import hypertuner
from hypertuner import Logger
from hypertuner.cli import main

START = 1_700_000_000.0  # 2023-11-14T22:13:20Z


class Clock:
    """A clock that stands still until moved."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_run(name="r", params=None, points=3, clock=None):
    """A finished run: loss, phase and best at steps 0..points-1, one second apart."""
    clock = clock or Clock()
    start = clock.now
    logger = Logger(name=name, params=params, clock=clock)
    for i in range(points):
        clock.now = start + i + 1
        logger.log({"loss": 1.0 / (i + 1), "phase": "warm" if i < 2 else "main", "best": i == 1}, i)
    clock.now = start + 75
    logger.close()
    return logger


def local(epoch, zone=False):
    """How the command shows a time: local, to the second."""
    return time.strftime("%Y-%m-%d %H:%M:%S" + (" %Z" if zone else ""), time.localtime(epoch))


def run_cli(capsys, *argv):
    """main(argv) -> (exit status, stdout, stderr)."""
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


# -- the command itself -----------------------------------------------------------------------


def test_help_for_the_command_and_each_subcommand(capsys):
    """--help works everywhere and exits 0."""
    status, out, _ = run_cli(capsys, "--help")
    assert status == 0 and out.startswith("usage: hypertuner [-h] [--version] COMMAND ...")
    for command in ("ls", "show", "export", "demo"):
        status, out, _ = run_cli(capsys, command, "--help")
        assert status == 0 and out.startswith(f"usage: hypertuner {command} [-h]")


def test_usage_errors_exit_2(capsys):
    """No command, an unknown command or a bad option is a usage error: exit 2, stderr."""
    status, out, err = run_cli(capsys)
    assert (status, out) == (2, "")
    assert err.endswith("hypertuner: error: the following arguments are required: COMMAND\n")
    status, _, err = run_cli(capsys, "launch")
    assert status == 2 and "hypertuner: error: argument COMMAND: invalid choice: 'launch'" in err
    status, _, err = run_cli(capsys, "export", "r", "--format", "xlsx")
    assert status == 2 and "argument --format: invalid choice: 'xlsx'" in err


def test_version(capsys):
    """--version prints the library version."""
    status, out, _ = run_cli(capsys, "--version")
    assert (status, out) == (0, f"hypertuner {hypertuner.__version__}\n")


def test_runs_as_a_module(runs_folder):
    """python -m hypertuner.cli runs the same command."""
    make_run("a")
    result = subprocess.run(
        [sys.executable, "-m", "hypertuner.cli", "ls", str(runs_folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.splitlines()[1].startswith("a ")


# -- ls ---------------------------------------------------------------------------------------


def test_ls_prints_the_runs_table(capsys, runs_folder):
    """ls lists the runs of $HYPERTUNER_DIR (or DIR) as a table with the varying params."""
    make_run("a", {"lr": 0.1, "seed": 0})
    make_run("b", {"lr": 0.01, "seed": 0}, points=2000)
    status, out, err = run_cli(capsys, "ls")
    started = local(START)
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        "name  status    started              duration  points  params",
        f"a     finished  {started}    1m 15s       9  lr=0.1",
        f"b     finished  {started}    1m 15s   6,000  lr=0.01",
    ]
    assert run_cli(capsys, "ls", str(runs_folder))[1] == out


def test_ls_of_an_empty_folder(capsys, tmp_path):
    """ls of a folder without runs says so and succeeds."""
    (tmp_path / "empty").mkdir()
    status, out, err = run_cli(capsys, "ls", str(tmp_path / "empty"))
    assert (status, out, err) == (0, f"no runs in {tmp_path / 'empty'}\n", "")


def test_ls_of_a_missing_folder(capsys, tmp_path, runs_folder):
    """ls of a folder that does not exist fails with exit status 1."""
    status, out, err = run_cli(capsys, "ls", str(tmp_path / "nope"))
    assert (status, out) == (1, "")
    assert err == f"hypertuner: error: no runs folder at {str(tmp_path / 'nope')!r}\n"
    status, _, err = run_cli(capsys, "ls")
    assert status == 1
    assert err == (
        f"hypertuner: error: no runs folder at {str(runs_folder)!r} "
        "(give DIR, or set HYPERTUNER_DIR)\n"
    )


def test_ls_warns_about_a_corrupt_run_and_lists_the_rest(capsys, runs_folder):
    """A run folder with an unreadable run.json is named on stderr; the others are listed."""
    make_run("good")
    (make_run("bad").path / "run.json").write_text("{oops")
    status, out, err = run_cli(capsys, "ls")
    assert status == 0 and [line.split()[0] for line in out.splitlines()] == ["name", "good"]
    assert err.startswith(
        f"hypertuner: warning: skipped run folder {str(runs_folder / 'bad')!r}: "
        "cannot read its run.json ("
    )


def test_ls_warns_once_per_damaged_run_and_lists_the_rest(capsys, runs_folder):
    """A run.json that is a folder, not UTF-8 or lacks a field: a warning line each; rest listed."""
    make_run("good")
    folder = make_run("a-folder").path / "run.json"
    folder.unlink()
    folder.mkdir()
    (make_run("b-bytes").path / "run.json").write_bytes(b'{"name": "\xff"}')
    missing = make_run("c-missing").path / "run.json"
    info = json.loads(missing.read_text())
    del info["name"]
    missing.write_text(json.dumps(info))
    status, out, err = run_cli(capsys, "ls")
    assert status == 0 and [line.split()[0] for line in out.splitlines()] == ["name", "good"]
    skipped = "hypertuner: warning: skipped run folder {!r}: cannot read its run.json ({})"
    assert err.splitlines() == [
        skipped.format(
            str(folder.parent), f"{folder} is a folder, not a file; fix or remove the run folder"
        ),
        skipped.format(
            str(runs_folder / "b-bytes"),
            f"{runs_folder / 'b-bytes' / 'run.json'} is not UTF-8 text "
            "(invalid start byte at byte 10); fix the file or remove the run folder",
        ),
        skipped.format(
            str(missing.parent),
            f"{missing}: 'name' is missing (it must be a string); "
            "fix the file or remove the run folder",
        ),
    ]


# -- show -------------------------------------------------------------------------------------


def test_show_describes_a_run(capsys):
    """show prints the run's facts, its params (nested ones indented) and one row per key."""
    logger = make_run("r", {"lr": 0.01, "model": {"hidden": 64, "act": "tanh"}, "tags": ["a"]})
    status, out, err = run_cli(capsys, "show", "r")
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        "name      r",
        "status    finished",
        f"path      {logger.path}",
        f"created   {local(START, zone=True)}",
        f"ended     {local(START + 75, zone=True)}",
        "duration  1m 15s",
        "points    9",
        "params",
        "  lr     0.01",
        "  model",
        "    hidden  64",
        "    act     'tanh'",
        "  tags   ['a']",
        "",
        "key    kind    points      last       min  max",
        "loss   number       3  0.333333  0.333333    1",
        "phase  text         3      main",
        "best   bool         3     False",
    ]
    assert run_cli(capsys, "show", str(logger.path))[1] == out


def test_show_of_a_run_without_params_or_points(capsys):
    """A run with no params and no points yet says so."""
    bare = Logger(name="bare")  # open: closing a run that logged nothing removes it
    lines = run_cli(capsys, "show", "bare")[1].splitlines()
    assert lines[-3:] == ["params    none", "", "no points yet"]
    bare.close()


def test_show_numbers_keep_nan_and_inf(capsys):
    """min and max skip NaN; the last value is shown as it is, nan or inf."""
    logger = Logger(name="odd")
    for i, value in enumerate([float("nan"), 2.0, float("-inf"), 3.5e9, float("nan")]):
        logger.log({"x": value}, i)
    logger.close()
    lines = run_cli(capsys, "show", "odd")[1].splitlines()
    assert lines[-1].split() == ["x", "number", "5", "nan", "-inf", "3.5e+09"]


def test_show_of_a_missing_run(capsys, runs_folder):
    """show of a run that does not exist fails with exit status 1 and says where it looked."""
    status, out, err = run_cli(capsys, "show", "nope")
    assert (status, out) == (1, "")
    assert err == (
        "hypertuner: error: no run 'nope': it is neither a run folder nor the name of a run in "
        f"{str(runs_folder)!r}\n"
    )


def test_show_and_export_of_a_file_that_is_not_a_run(capsys, tmp_path, runs_folder):
    """show or export of a regular file exits 1 with one line saying it is a file, not a run."""
    path = tmp_path / "notes.txt"
    path.write_text("not a run")
    for argv in (("show", str(path)), ("export", str(path), "-o", "-")):
        status, out, err = run_cli(capsys, *argv)
        assert (status, out) == (1, "")
        assert err == (
            f"hypertuner: error: no run {str(path)!r}: it is a file, neither a run folder "
            f"nor the name of a run in {str(runs_folder)!r}\n"
        )


def test_show_of_a_damaged_run_json(capsys):
    """show of a run whose run.json lacks a field exits 1 with one line naming file and field."""
    path = make_run("r").path / "run.json"
    info = json.loads(path.read_text())
    del info["created"]
    path.write_text(json.dumps(info))
    status, out, err = run_cli(capsys, "show", "r")
    assert (status, out) == (1, "")
    assert err == (
        f"hypertuner: error: {path}: 'created' is missing (it must be a finite number); "
        "fix the file or remove the run folder\n"
    )


# -- export -----------------------------------------------------------------------------------


def test_export_csv_to_the_default_file(capsys, tmp_path, monkeypatch):
    """export writes <run name>.csv in the current folder: key, step, time (UTC), value."""
    make_run("r")
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli(capsys, "export", "r")
    assert (status, out, err) == (0, "wrote 9 points of run r to r.csv\n", "")
    assert (tmp_path / "r.csv").read_text().splitlines() == [
        "key,step,time,value",
        "loss,0,2023-11-14T22:13:21.000000Z,1.0",
        "loss,1,2023-11-14T22:13:22.000000Z,0.5",
        "loss,2,2023-11-14T22:13:23.000000Z,0.3333333333333333",
        "phase,0,2023-11-14T22:13:21.000000Z,warm",
        "phase,1,2023-11-14T22:13:22.000000Z,warm",
        "phase,2,2023-11-14T22:13:23.000000Z,main",
        "best,0,2023-11-14T22:13:21.000000Z,false",
        "best,1,2023-11-14T22:13:22.000000Z,true",
        "best,2,2023-11-14T22:13:23.000000Z,false",
    ]


def test_export_csv_to_stdout_keeps_odd_values(capsys):
    """-o - writes CSV to stdout; text with commas and quotes, NaN, inf and time steps survive."""
    clock = Clock(START + 0.25)
    logger = Logger(name="odd", clock=clock)
    logger.log({"note": 'a, "quoted"\nline', "x": float("nan")}, 1.5)
    logger.log({"y": float("-inf")})  # no step: the time of the call is its step
    logger.close()
    status, out, err = run_cli(capsys, "export", "odd", "-o", "-")
    assert (status, err) == (0, "")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows == [
        ["key", "step", "time", "value"],
        ["note", "1.5", "2023-11-14T22:13:20.250000Z", 'a, "quoted"\nline'],
        ["x", "1.5", "2023-11-14T22:13:20.250000Z", "nan"],
        ["y", "1700000000.25", "2023-11-14T22:13:20.250000Z", "-inf"],
    ]


def test_export_to_a_named_file_and_a_bad_place(capsys, tmp_path):
    """-o FILE writes there; a folder that does not exist is an error with exit status 1."""
    make_run("r")
    target = tmp_path / "out.csv"
    assert run_cli(capsys, "export", "r", "-o", str(target))[0] == 0
    assert target.read_text().startswith("key,step,time,value\nloss,0,")
    status, _, err = run_cli(capsys, "export", "r", "-o", str(tmp_path / "no" / "x.csv"))
    assert status == 1
    target = str(tmp_path / "no" / "x.csv")
    assert err == f"hypertuner: error: cannot write {target!r}: No such file or directory\n"


def test_export_parquet(capsys, tmp_path, monkeypatch):
    """--format parquet writes typed columns; text keys' values go in an extra text column."""
    import pyarrow.parquet as pq

    make_run("r")
    monkeypatch.chdir(tmp_path)
    status, out, _ = run_cli(capsys, "export", "r", "--format", "parquet")
    assert (status, out) == (0, "wrote 9 points of run r to r.parquet\n")
    table = pq.read_table(tmp_path / "r.parquet")
    assert table.column_names == ["key", "step", "time", "value", "text"]
    assert [str(field.type) for field in table.schema] == [
        "string",
        "double",
        "timestamp[us, tz=UTC]",
        "double",
        "string",
    ]
    data = table.to_pydict()
    assert data["key"] == ["loss"] * 3 + ["phase"] * 3 + ["best"] * 3
    assert data["step"] == [0.0, 1.0, 2.0] * 3
    assert data["value"] == [1.0, 0.5, 1.0 / 3, None, None, None, 0.0, 1.0, 0.0]
    assert data["text"] == [None] * 3 + ["warm", "warm", "main"] + [None] * 3
    assert data["time"][0].timestamp() == START + 1


def test_export_parquet_of_numbers_only_has_four_columns(capsys, tmp_path):
    """A run with no text keys exports key, step, time, value; -o FILE.parquet picks parquet."""
    import pyarrow.parquet as pq

    logger = Logger(name="n")
    logger.log({"x": 1.0}, 0)
    logger.close()
    assert run_cli(capsys, "export", "n", "-o", str(tmp_path / "n.parquet"))[0] == 0
    table = pq.read_table(tmp_path / "n.parquet")
    assert table.column_names == ["key", "step", "time", "value"] and table.num_rows == 1


def test_export_parquet_without_pyarrow(capsys, tmp_path, monkeypatch):
    """Without pyarrow, parquet export exits 1, says what to install and writes nothing."""
    make_run("r")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    status, out, err = run_cli(capsys, "export", "r", "--format", "parquet")
    assert (status, out, err) == (
        1,
        "",
        "hypertuner: error: parquet export needs pyarrow: pip install pyarrow\n",
    )
    assert not (tmp_path / "r.parquet").exists()


def test_export_parquet_to_stdout_is_a_usage_error(capsys):
    """Parquet cannot go to stdout: exit status 2."""
    make_run("r")
    status, _, err = run_cli(capsys, "export", "r", "--format", "parquet", "-o", "-")
    assert status == 2
    assert err.endswith(
        "hypertuner export: error: '-o -' writes CSV only; give a file name for parquet\n"
    )


def test_export_of_a_missing_run(capsys):
    """export of a run that does not exist fails with exit status 1."""
    status, _, err = run_cli(capsys, "export", "nope", "-o", "-")
    assert status == 1 and err.startswith("hypertuner: error: no run 'nope': ")


# -- runs being written, and damaged ones -----------------------------------------------------


def test_a_run_still_being_written(capsys):
    """ls, show and export read a run whose logger is still open, up to its last flush."""
    logger = Logger(name="live", params={"lr": 0.1}, flush_every=1000)
    for i in range(4):
        logger.log({"loss": 1.0 / (i + 1)}, i)
    logger.flush()
    logger.log({"loss": 0.0}, 99)  # not flushed yet: not on disk

    status, out, _ = run_cli(capsys, "ls")
    assert status == 0 and out.splitlines()[1].split()[:2] == ["live", "running"]
    assert out.splitlines()[1].split()[5] == "4"

    status, out, _ = run_cli(capsys, "show", "live")
    lines = out.splitlines()
    assert status == 0 and lines[1] == "status    running" and lines[4] == "ended     -"
    assert lines[-1].split() == ["loss", "number", "4", "0.25", "0.25", "1"]

    status, out, _ = run_cli(capsys, "export", "live", "-o", "-")
    assert status == 0 and [row.split(",")[1] for row in out.splitlines()[1:]] == [
        "0",
        "1",
        "2",
        "3",
    ]
    logger.close()


def test_a_run_with_a_torn_tail(capsys, runs_folder):
    """A torn record after the last whole one is ignored by ls, show and export, silently."""
    logger = make_run("torn")
    with open(logger.path / "points.htr", "ab") as handle:
        handle.write(b"\x07\x00\x00\x00\xff\xff\x00\x00garbage")  # the last thing: a bad crc
    status, out, err = run_cli(capsys, "ls")
    assert (status, err) == (0, "") and out.splitlines()[1].split()[-1] == "9"
    status, out, err = run_cli(capsys, "show", "torn")
    assert (status, err) == (0, "") and "points    9" in out.splitlines()
    status, out, err = run_cli(capsys, "export", "torn", "-o", "-")
    assert (status, err) == (0, "") and len(out.splitlines()) == 10


def test_a_crashed_run(capsys, tmp_path):
    """A run whose writer died shows as crashed, with what it flushed."""
    code = (
        "import os, hypertuner\n"
        f"lg = hypertuner.Logger(dir={str(tmp_path)!r}, name='dead')\n"
        "lg.log({'a': 1.0}, 0); lg.flush()\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    status, out, _ = run_cli(capsys, "ls", str(tmp_path))
    assert status == 0 and out.splitlines()[1].split()[:2] == ["dead", "crashed"]
    status, out, _ = run_cli(capsys, "show", str(tmp_path / "dead"))
    assert status == 0 and out.splitlines()[1] == "status    crashed"


def test_a_points_file_of_another_kind_is_an_error(capsys):
    """show of a run whose points file is not one fails with exit status 1 and the reason."""
    logger = make_run("r")
    (logger.path / "points.htr").write_bytes(b"PK\x03\x04 a zip file, say")
    status, _, err = run_cli(capsys, "show", "r")
    assert status == 1
    assert (
        err == f"hypertuner: error: {logger.path / 'points.htr'} is not a hypertuner points file\n"
    )


# -- demo -------------------------------------------------------------------------------------


def test_demo_takes_the_options_of_the_demo_module(capsys):
    """`hypertuner demo` opens the quickstart like `python -m hypertuner.demo --lab`, same options.

    tests/test_demo.py starts it for real and stops it with Ctrl-C and SIGTERM.
    """
    status, out, _ = run_cli(capsys, "demo", "--help")
    assert status == 0
    for option in ("--folder FOLDER", "--port PORT", "--no-browser"):
        assert option in out
    assert "python -m hypertuner.demo --lab" in " ".join(out.split())
