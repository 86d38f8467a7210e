"""Damaged or hostile run folders are reported: never a traceback, a hang, unbounded memory
or a file written outside the current folder. Runs are shared between people and machines.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

import hypertuner
from hypertuner import HypertunerWarning, Logger, RunFormatError
from hypertuner.cli import main
from hypertuner.runfile import FRAME, HEADER
from hypertuner.runinfo import process_start

FIX = "; fix the file or remove the run folder"
CLEAR = "; fix or remove the run folder"


def make_run(name, params=None, points=39, flushes=3, extra=None):
    """A finished run logging ``loss`` = step at steps 0..points-1, in ``flushes`` records."""
    logger = Logger(name=name, params=params, flush_every=1000)
    per_flush = -(-points // flushes)
    for i in range(points):
        logger.log({"loss": float(i), **(extra(i) if extra else {})}, i)
        if i % per_flush == per_flush - 1:
            logger.flush()
    logger.close()
    return logger.path


def edit_info(path, **changes):
    """Change fields of a run's run.json (None removes one)."""
    info = json.loads((path / "run.json").read_text())
    info.update(changes)
    (path / "run.json").write_text(json.dumps(info))


def run_cli(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def cli_process(*argv, cwd=None, limit_memory=False, timeout=60):
    """Run the hypertuner command in a real process; a hang fails by the timeout."""
    code = "import sys; from hypertuner.cli import main; sys.exit(main(sys.argv[1:]))"
    if limit_memory:
        # Address space for Python, numpy and a few threads, far less than /dev/zero has.
        code = (
            "import resource; resource.setrlimit(resource.RLIMIT_AS, (1 << 31, 1 << 31)); " + code
        )
    return subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


def data_offsets(path):
    """(offset, length) of each record of a run's points file."""
    data = (path / "points.htr").read_bytes()
    at, found = HEADER.size, []
    while at < len(data):
        length, _ = FRAME.unpack_from(data, at)
        found.append((at, length))
        at += FRAME.size + length
    return found


def flip(path, offset):
    """Damage one byte of the points file, as a disk or a tool would, later than the
    close: a file's time moves by clock ticks (milliseconds), so a write within the
    tick of the close would keep the time run.json's summary recorded (see
    saved_summary), and a listing would trust the summary."""
    data = bytearray((path / "points.htr").read_bytes())
    data[offset] ^= 0xFF
    (path / "points.htr").write_bytes(bytes(data))
    stat = (path / "points.htr").stat()
    os.utime(path / "points.htr", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


# -- 1. run.json fields that would break a reader later ---------------------------------

TIME = "a time in seconds since the epoch, from 0 to 2**33 (the year 2242)"


def deep(levels):
    params = value = {}
    for _ in range(levels - 1):
        value["a"] = {}
        value = value["a"]
    return params


BAD_FIELDS = [
    ("created", 1e300, f"'created' must be {TIME} (got 1e+300 that is a float)"),
    ("created", -1, f"'created' must be {TIME} (got -1 that is an int)"),
    ("ended", 2.0**40, f"'ended' must be {TIME}, or null (got 1099511627776.0 that is a float)"),
    (
        "pid",
        2**70,
        "'pid' must be a process id, from 1 to 2**31 - 1 "
        "(got 1180591620717411303424 that is an int)",
    ),
    ("pid", 0, "'pid' must be a process id, from 1 to 2**31 - 1 (got 0 that is an int)"),
    ("host", 5, "'host' must be a string (got 5 that is an int)"),
    ("params", deep(65), "'params' nests JSON objects or arrays more than 64 levels deep"),
]


@pytest.mark.parametrize("field, value, problem", BAD_FIELDS, ids=lambda v: str(v)[:20])
def test_one_bad_field_among_good_runs_is_skipped_by_ls_varying_and_summary(
    capsys, runs_folder, field, value, problem
):
    """A run.json field out of range is refused naming it; ls, varying() and summary() go on."""

    make_run("a", {"lr": 0.1})
    bad = make_run("bad", {"lr": 0.2})
    make_run("c", {"lr": 0.3})
    edit_info(bad, **{field: value}, status="running")  # running: the pid is looked up
    reason = f"{bad / 'run.json'}: {problem}{FIX}"
    with pytest.raises(RunFormatError) as caught:
        hypertuner.load(bad)
    assert str(caught.value) == reason
    status, out, err = run_cli(capsys, "ls")
    assert status == 0 and [line.split()[0] for line in out.splitlines()] == ["name", "a", "c"]
    assert err == (
        f"hypertuner: warning: skipped run folder {str(bad)!r}: cannot read its run.json "
        f"({reason})\n"
    )
    with pytest.warns(HypertunerWarning):
        listed = hypertuner.runs()
    assert listed.varying() == ["lr"]
    assert listed.summary()["lr"].tolist() == [0.1, 0.3]


def test_params_nested_to_the_bound_still_read():
    """Params nested 64 levels deep read (and flatten) as usual."""
    path = make_run("a")
    edit_info(path, params=deep(64))
    run = hypertuner.load(path)
    assert list(hypertuner.runs().varying()) == []
    assert hypertuner.runlist.flat_params(run) == {"a." * 62 + "a": {}}


def test_json_nested_past_what_the_parser_can_take_is_refused():
    """A run.json of 100,000 nested arrays (a RecursionError in json) is refused, named."""
    path = make_run("a") / "run.json"
    path.write_text('{"format": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(RunFormatError) as caught:
        hypertuner.load(path.parent)
    assert str(caught.value) == (
        f"{path} nests JSON objects or arrays too deeply to read (at most 64 levels are "
        f"allowed){FIX}"
    )


def test_an_integer_too_long_to_parse_is_refused():
    """An integer of 5,000 digits (a ValueError, not a JSON error, in json) is refused, named."""
    path = make_run("a") / "run.json"
    text = '{"format": 1, "pid": ' + "7" * 5000 + "}"
    path.write_text(text)
    try:
        json.loads(text)
    except ValueError as exc:
        parser_says = str(exc)
    with pytest.raises(RunFormatError) as caught:
        hypertuner.load(path.parent)
    assert str(caught.value) == f"{path} is not valid JSON: {parser_says}{FIX}"


def test_a_huge_run_json_is_refused_without_reading_it():
    """A run.json over 16 MiB is refused from its size (a sparse 1 TiB file reads nothing)."""
    path = make_run("a") / "run.json"
    with open(path, "r+b") as handle:
        handle.truncate(1 << 40)
    with pytest.raises(RunFormatError) as caught:
        hypertuner.load(path.parent)
    assert str(caught.value) == (
        f"{path} is 1,099,511,627,776 bytes, over the 16,777,216 a run description may have{FIX}"
    )


def test_a_run_json_that_is_a_fifo_or_a_device_does_not_hang_ls(runs_folder):
    """ls in a real process names a run.json that is a FIFO or /dev/zero, and lists the rest."""
    make_run("good")
    fifo = make_run("fifo") / "run.json"
    fifo.unlink()
    os.mkfifo(fifo)
    zero = make_run("zero") / "run.json"
    zero.unlink()
    zero.symlink_to("/dev/zero")
    result = cli_process("ls", str(runs_folder), limit_memory=True)
    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.decode().splitlines()] == ["name", "good"]
    skipped = "hypertuner: warning: skipped run folder {!r}: cannot read its run.json ({})"
    assert result.stderr.decode().splitlines() == [
        skipped.format(
            str(fifo.parent), f"{fifo} is a FIFO (named pipe), not a regular file{CLEAR}"
        ),
        skipped.format(
            str(zero.parent), f"{zero} is a character device, not a regular file{CLEAR}"
        ),
    ]


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder"])
def test_a_points_file_that_is_no_regular_file_is_reported_by_every_command(runs_folder, kind):
    """ls, show, export and load() in real processes report a points.htr FIFO, device or folder."""
    make_run("good")
    path = make_run("odd")
    data = path / "points.htr"
    data.unlink()
    if kind == "fifo":
        os.mkfifo(data)
        what = "a FIFO (named pipe), not a regular file; fix or remove the run folder"
    elif kind == "dev-zero":
        data.symlink_to("/dev/zero")
        what = "a character device, not a regular file; fix or remove the run folder"
    else:
        data.mkdir()
        what = "a folder, not a file; fix or remove the run folder"
    reason = f"{data} is {what}"

    result = cli_process("ls", limit_memory=True)
    lines = result.stdout.decode().splitlines()
    assert result.returncode == 0 and [line.split()[0] for line in lines[:3]] == [
        "name",
        "good",
        "odd",
    ]
    assert lines[2].split()[5] == "?"
    assert lines[3:] == ["", f"odd: cannot read its points: {reason}"]
    for argv in (("show", "odd"), ("export", "odd", "-o", "-")):
        result = cli_process(*argv, limit_memory=True)
        assert (result.returncode, result.stdout) == (1, b"")
        assert result.stderr.decode() == f"hypertuner: error: {reason}\n"
    run = hypertuner.load(path)  # run.json is fine: the points are read when asked for
    with pytest.raises(RunFormatError) as caught:
        run["loss"]
    assert str(caught.value) == reason


# -- statuses -----------------------------------------------------------------------------


def test_interrupted_and_unknown_statuses_are_listed_as_recorded(capsys):
    """An 'interrupted' run filters by status; a status from a newer writer shows as it is."""
    edit_info(make_run("stopped"), status="interrupted")
    edit_info(make_run("newer"), status="paused")
    listed = hypertuner.runs()
    assert [run.status for run in listed] == ["interrupted", "paused"]
    assert [run.name for run in listed.filter(status="interrupted")] == ["stopped"]
    with pytest.raises(ValueError) as caught:
        listed.filter(status="paused")
    assert str(caught.value) == (
        "status must be one of 'running', 'finished', 'crashed', 'interrupted', 'pruned' "
        "(got 'paused')"
    )
    out = run_cli(capsys, "ls")[1].splitlines()
    assert [line.split()[1] for line in out[1:]] == ["interrupted", "paused"]


# -- 2. damaged points -------------------------------------------------------------------


def damaged_message(path, damage, points):
    return (
        f"run {str(path)!r} is damaged: {damage}; the {points:,} points before that record "
        "are read, none after it"
    )


def test_a_bad_checksum_early_in_a_finished_run_warns_instead_of_reading_nothing():
    """A finished run whose first chunk's checksum fails warns once, naming it: 0 of 39 points."""
    path = make_run("r")
    first, length = data_offsets(path)[1]  # the key record comes first
    flip(path, first + FRAME.size + 20)
    after = (path / "points.htr").stat().st_size - first - FRAME.size - length
    damage = (
        f"points.htr, record at byte {first}: its checksum does not match, and {after:,} "
        "bytes follow it"
    )
    run = hypertuner.load(path)
    with pytest.warns(HypertunerWarning) as caught:
        assert run.points == 0
    assert [str(w.message) for w in caught] == [damaged_message(path, damage, 0)]
    assert caught[0].filename == __file__  # it points at the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run.damage == damage and run.refresh() == 0 and len(run["loss"]) == 0


def test_damage_in_the_middle_keeps_the_points_before_it_and_warns_once():
    """A crafted chunk after 26 good points: load() keeps those 26, warns once, names the record."""
    path = make_run("r")
    at, length = data_offsets(path)[3]  # the third chunk
    data = bytearray((path / "points.htr").read_bytes())
    payload = at + FRAME.size
    data[payload + 5 : payload + 9] = (9).to_bytes(4, "little")  # 9 points where 13 are
    data[at + 4 : at + 8] = zlib.crc32(data[payload : payload + length]).to_bytes(4, "little")
    (path / "points.htr").write_bytes(bytes(data))
    damage = f"points.htr, record at byte {at}: a chunk of 9 numbers must be 225 bytes (got 321)"
    run = hypertuner.load(path)
    with pytest.warns(HypertunerWarning) as caught:
        assert run["loss"].values.tolist() == [float(i) for i in range(26)]
        assert run.points == 26 and run.refresh() == 0
    assert [str(w.message) for w in caught] == [damaged_message(path, damage, 26)]
    assert run.damage == damage
    assert hypertuner.load(path).damage == damage  # asked for: no warning
    assert hypertuner.load(make_run("intact")).damage is None


def running_here(path):
    """Make a run read as running: its writer is this live process."""
    pid = os.getpid()
    edit_info(
        path,
        status="running",
        ended=None,
        pid=pid,
        pid_start=process_start(pid),
        host=socket.gethostname(),
    )


def test_a_running_run_is_damaged_by_a_bad_checksum_only_once_it_ends():
    """A bad checksum mid-file of a running run is silent (a record landing); once ended, damage."""
    path = make_run("r")
    running_here(path)
    at, _ = data_offsets(path)[2]
    flip(path, at + FRAME.size + 30)
    run = hypertuner.load(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run.status == "running" and run.points == 13 and run.damage is None
    edit_info(path, status="finished")
    with pytest.warns(HypertunerWarning, match="its checksum does not match"):
        assert run.refresh() == 0
    assert run.damage.startswith(f"points.htr, record at byte {at}: its checksum does not match")


def test_a_torn_tail_of_a_running_run_is_silent():
    """A half-written last record of a running run is no damage and no warning."""
    path = make_run("r")
    running_here(path)
    with open(path / "points.htr", "ab") as handle:
        handle.write(b"\x30\x00\x00\x00\x00\x00\x00\x00\x02\x00")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = hypertuner.load(path)
        assert run.points == 39 and run.damage is None


def damaged_folder(runs_folder):
    """Runs a, b (damaged after 13 points) and c; returns b's path and damage."""
    make_run("a", {"lr": 0.1})
    bad = make_run("b", {"lr": 0.2})
    make_run("c", {"lr": 0.3})
    at, _ = data_offsets(bad)[2]
    flip(bad, at + FRAME.size + 30)
    tail = (bad / "points.htr").stat().st_size - at - FRAME.size - 9 - 13 * 24
    damage = f"points.htr, record at byte {at}: its checksum does not match, and {tail} bytes "
    return bad, damage + "follow it"


def test_ls_names_a_damaged_run_and_its_reason(capsys, runs_folder):
    """ls lists a damaged run with the points before the damage, marked, and the reason below."""
    bad, damage = damaged_folder(runs_folder)
    status, out, err = run_cli(capsys, "ls")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert [line.split()[:2] for line in lines[1:4]] == [
        ["a", "finished"],
        ["b", "finished"],
        ["c", "finished"],
    ]
    assert lines[2].split()[5:7] == ["13", "damaged"] and lines[1].split()[5] == "39"
    assert lines[4:] == ["", f"b: {damage}"]
    listed = hypertuner.runs()
    with pytest.warns(HypertunerWarning, match="is damaged"):
        assert listed[1].points == 13  # read: the table then uses the run's own damage
    assert repr(listed).splitlines()[4:] == ["", f"b: {damage}"]


def test_summary_leaves_damaged_runs_out_with_one_warning(runs_folder):
    """summary() skips damaged runs and names them in one warning; the others are summarised."""
    import pandas as pd

    bad, damage = damaged_folder(runs_folder)
    with pytest.warns(HypertunerWarning) as caught:
        frame = hypertuner.runs().summary()
    assert [str(w.message) for w in caught] == [f"summary() left out 1 damaged run: 'b' ({damage})"]
    assert list(frame.index) == ["a", "c"] and isinstance(frame, pd.DataFrame)
    assert frame["loss/last"].tolist() == [38.0, 38.0]


def test_show_prints_the_damage_and_export_warns_and_writes_what_is_intact(capsys, runs_folder):
    """show names the damage among the facts; export warns on stderr and writes the 13 points."""
    bad, damage = damaged_folder(runs_folder)
    status, out, err = run_cli(capsys, "show", "b")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[6:8] == [
        "points    13",
        f"damaged   {damage}; the points before that record are shown",
    ]
    status, out, err = run_cli(capsys, "export", "b", "-o", "-")
    assert status == 0 and len(out.splitlines()) == 1 + 13
    assert err == f"hypertuner: warning: {damaged_message(bad, damage, 13)}\n"


# -- 3. what the command writes and prints -----------------------------------------------


@pytest.mark.parametrize(
    "name, file",
    [
        ("../../../escaped", "escaped.csv"),
        ("/etc/cron.d/job", "job.csv"),
        ("..", "run.csv"),
        (".bashrc", "bashrc.csv"),
        ("a\\b", "b.csv"),
        ("x\x1b]0;title\x07y\nz", "x_]0;title_y_z.csv"),
    ],
)
def test_export_names_its_file_after_the_run_only_inside_the_current_folder(
    tmp_path, runs_folder, name, file
):
    """export's default file is one plain name in the current folder, whatever run.json names."""
    path = make_run("r", points=3)
    edit_info(path, name=name)
    work = tmp_path / "a" / "b" / "c" / "work"
    work.mkdir(parents=True)
    before = {p for p in tmp_path.rglob("*") if p.is_file()}
    result = cli_process("export", str(path), cwd=work)
    assert result.returncode == 0, result.stderr
    written = {p for p in tmp_path.rglob("*") if p.is_file()} - before
    assert written == {work / file}
    assert (work / file).read_text().startswith("key,step,time,value\n")


def test_ls_and_show_print_no_control_characters(runs_folder):
    """Escape sequences in names, params, keys and text values print as escapes, not raw."""
    evil = "\x1b[2J\x1b]0;pwned\x07"
    logger = Logger(name="r" + evil, params={"note" + evil: "v" + evil})
    logger.log({"key" + evil: 1.0, "text": "t\x1b[2J\r\n\u202e\ud800"}, 0)
    logger.close()
    for argv in (("ls",), ("show", logger.name)):
        result = cli_process(*argv)
        assert result.returncode == 0, result.stderr
        assert not any(byte < 0x20 and byte != 0x0A for byte in result.stdout), result.stdout
        assert b"\\x1b[2J\\x1b]0;pwned\\x07" in result.stdout
    show = cli_process("show", logger.name).stdout.decode()
    assert "t\\x1b[2J\\r\\n\\u202e\\ud800" in show


def test_csv_text_cells_that_look_like_formulas_are_quoted(capsys):
    """Key names and text values starting with = + - @ tab or CR get a leading ' in CSV."""
    starts = ["=1+1", "+x", "-y", "@z", "\tq", "\rr", "plain", "", "'kept"]
    logger = Logger(name="r")
    for i, text in enumerate(starts):
        logger.log({"=cmd|' /C calc'!A0": text, "n": -1.5 - i}, -i)
    logger.close()
    status, out, _ = run_cli(capsys, "export", "r", "-o", "-")
    assert status == 0 and out.count("\n") == 1 + 2 * len(starts)  # a CR is quoted, kept
    rows = list(csv.reader(io.StringIO(out, newline="")))
    texts = [row for row in rows[1:] if row[0] != "n"]
    assert {row[0] for row in texts} == {"'=cmd|' /C calc'!A0"}
    assert [row[3] for row in texts] == [
        "'=1+1",
        "'+x",
        "'-y",
        "'@z",
        "'\tq",
        "'\rr",
        "plain",
        "",
        "'kept",
    ]
    numbers = [row for row in rows[1:] if row[0] == "n"]
    assert numbers[1][1:4:2] == ["-1", "-2.5"]  # numbers are not text cells


def test_csv_to_stdout_keeps_lone_surrogates_as_escapes(runs_folder):
    """Text holding a lone surrogate exports to stdout as an escape instead of failing halfway."""
    logger = Logger(name="r")
    logger.log({"t": "a\ud800b"}, 0)
    logger.log({"t": "after"}, 1)
    logger.close()
    result = cli_process("export", "r", "-o", "-")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert len(lines) == 3 and lines[1].endswith(",a\\ud800b") and lines[2].endswith(",after")


# -- 4. a run replaced under a reader ----------------------------------------------------

REPLACE = r"""
import shutil, sys, hypertuner
shutil.rmtree(sys.argv[1])
logger = hypertuner.Logger(name="r", dir=sys.argv[2], flush_every=1000)
for i in range(5):
    logger.log({"acc": i / 10}, 100 + i)
logger.close()
"""


def test_a_run_folder_replaced_by_another_run_starts_over(runs_folder):
    """A follower of a folder another process replaced by a new run reads the new run, not a mix."""
    path = make_run("r")
    run = hypertuner.load(path)
    assert run.points == 39
    old_id = run.id
    subprocess.run(
        [sys.executable, "-c", REPLACE, str(path), str(runs_folder)], check=True, timeout=60
    )
    assert run.refresh() == 5
    assert run.id != old_id and list(run) == ["acc"]
    assert run["acc"].steps.tolist() == [100.0, 101.0, 102.0, 103.0, 104.0]
    assert run.bytes_read - run.bytes_reread == (path / "points.htr").stat().st_size


def test_a_points_file_cut_short_starts_over():
    """A points file cut below what was read (rewritten shorter) is read again from the start."""
    path = make_run("r")
    run = hypertuner.load(path)
    assert run.points == 39
    data = (path / "points.htr").read_bytes()
    end_of_first_chunk = sum(FRAME.size + n for _, n in data_offsets(path)[:2]) + HEADER.size
    (path / "points.htr").write_bytes(data[:end_of_first_chunk])
    assert run.refresh() == 13
    assert run["loss"].values.tolist() == [float(i) for i in range(13)]


def test_runlist_refresh_reloads_run_json_through_the_run(runs_folder):
    """RunList.refresh() re-reads each run.json through the run: a replaced run starts over."""
    path = make_run("r")
    listed = hypertuner.runs()
    assert listed[0].points == 39
    subprocess.run(
        [sys.executable, "-c", REPLACE, str(path), str(runs_folder)], check=True, timeout=60
    )
    assert listed.refresh() == 5
    assert list(listed[0]) == ["acc"] and np.array_equal(listed[0]["acc"].values, np.arange(5) / 10)


@pytest.mark.parametrize("name", ["run.json", "points.htr"])
def test_a_file_the_system_refuses_to_open_is_reported(monkeypatch, name):
    """A run file that cannot be opened (permission) is a RunFormatError with the reason."""
    path = make_run("r")
    real_open = os.open

    def refuse(file, flags, *args, **kwargs):
        # Tests run as root, which chmod cannot lock out: the refusal is simulated.
        if Path(file).name == name:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(RunFormatError) as caught:
        len(hypertuner.load(path))
    assert str(caught.value) == (
        f"cannot read {path / name}: Permission denied; make it readable by this user"
    )
