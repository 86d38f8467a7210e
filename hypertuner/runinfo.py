"""``run.json``: what a run is (name, status, params, times, writer), and whether its
writer still lives.

``docs/format.md`` describes the fields. The file is replaced atomically, and
:func:`read_info` is the one validation every reader (``load``, ``runs``, the
command line) goes through. Runs are shared between people and machines, so it
trusts nothing: it opens only regular files (a FIFO would block, ``/dev/zero``
never end), reads at most :data:`MAX_INFO_BYTES`, and refuses values that would
break a reader later (a time ``time.localtime`` cannot convert, a pid ``os.kill``
cannot take, params nested deeper than :data:`MAX_DEPTH`).
"""

from __future__ import annotations

import errno
import json
import math
import os
import socket
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from ._values import describe
from .errors import RunFormatError, RunNotFoundError
from .runfile import DATA_FILE, check_version

__all__ = [
    "INFO_FILE",
    "INFO_TMP",
    "MAX_DEPTH",
    "MAX_INFO_BYTES",
    "MAX_TIME",
    "STATUSES",
    "STOP_FILE",
    "STOP_REASONS",
    "live_status",
    "open_regular",
    "process_start",
    "read_info",
    "read_json",
    "read_stop",
    "remove_run",
    "replace_json",
    "request_stop",
    "saved_summary",
    "summary_of",
    "write_info",
]

INFO_FILE = "run.json"
INFO_TMP = f".{INFO_FILE}.tmp"  # run.json being rewritten

# Every status a writer records. "interrupted" is a run stopped by Ctrl-C or by a
# stop request; "pruned" a sweep's trial stopped early because it did worse than
# the others. A reader shows a status it does not know (from a newer writer) as it is.
STATUSES = ("running", "finished", "crashed", "interrupted", "pruned")

# A request that the run's writer stop, written by a sweep into the run folder
# (docs/format.md): {"reason": "pruned" | "stopped", "time": seconds}.
STOP_FILE = "stop.json"
STOP_REASONS = {"pruned": "pruned", "stopped": "interrupted"}  # reason -> the run's status

# A run.json is a few hundred bytes; one this large is not a run description.
MAX_INFO_BYTES = 16 * 1024 * 1024
# Params nested deeper than this are refused: flattening or printing them would
# recurse without end, and no configuration needs more.
MAX_DEPTH = 64
# Times are seconds since the epoch below 2**33 (the year 2242): time.localtime and
# pandas' nanosecond timestamps both take every such time.
MAX_TIME = 2**33
# A pid is a positive C int: os.kill refuses anything larger.
MAX_PID = 2**31 - 1


# A run closed cleanly keeps each key's kind, count, last, min and max in run.json
# ("summary"), so listing and comparing finished runs reads no points file. Past
# this many keys it is left out: every listing reads run.json whole (500 keys make
# it 81 KB, read and checked in 3 ms, against 0.1 ms without), summaries needed or not.
SUMMARY_KEYS = 1_000
KINDS = ("number", "bool", "text")


def summary_of(series: Any, data: Path) -> dict[str, Any] | None:
    """The ``summary`` field for a closed run: its series (name -> Series), and its
    points file as closed (its size tells a reader the summary still holds)."""
    if len(series) > SUMMARY_KEYS:
        return None
    keys: dict[str, list[Any]] = {}
    points = 0
    for name, each in series.items():
        count = len(each)
        if not count:
            continue
        points += count
        stats = (math.nan,) * 3 if each.kind == "text" else each.stats()
        keys[name] = [each.kind, count, *(v if math.isfinite(v) else None for v in stats)]
    status = data.stat()
    return {"bytes": status.st_size, "mtime_ns": status.st_mtime_ns, "points": points, "keys": keys}


def saved_summary(info: dict[str, Any], folder: Path) -> tuple[int, dict[str, tuple]] | None:
    """A closed run's ``summary``: its points and, per key, (kind, count, last, min,
    max), NaN for null. None unless it is whole and still holds: the points file has
    the size and modification time it had at close (it was not appended to, cut,
    written over or replaced since; a copy without its times reads the file). A
    damaged or hostile summary is none: the points file then says."""
    summary = info.get("summary")
    if info.get("status") == "running" or type(summary) is not dict:
        return None
    size, mtime = summary.get("bytes"), summary.get("mtime_ns")
    points, keys = summary.get("points"), summary.get("keys")
    if not all(type(v) is int for v in (size, mtime, points)) or type(keys) is not dict:
        return None
    try:
        status = (folder / DATA_FILE).stat()
    except OSError:
        return None
    if (status.st_size, status.st_mtime_ns) != (size, mtime):
        return None
    entries: dict[str, tuple] = {}
    total = 0
    for name, entry in keys.items():
        if type(entry) is not list or len(entry) != 5 or entry[0] not in KINDS:
            return None
        kind, count, *stats = entry
        if type(count) is not int or count < 1:
            return None
        if not all(v is None or type(v) in (int, float) for v in stats):
            return None
        total += count
        entries[name] = (kind, count, *(math.nan if v is None else float(v) for v in stats))
    return (points, entries) if total == points else None


def write_info(folder: Path, info: dict[str, Any]) -> None:
    """Replace ``run.json`` atomically and durably."""
    replace_json(folder / INFO_FILE, info, durable=True)


def replace_json(path: Path, data: Any, *, durable: bool = False) -> None:
    """Replace the JSON file ``path`` atomically: write ``.NAME.tmp`` beside it, rename.

    A reader sees the old file or the new one, never part of one. ``durable`` also
    fsyncs the file and its folder, so the new one survives a power cut.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(json.dumps(data, indent=2, allow_nan=False).encode())
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(tmp, path)
    if durable:
        _fsync_dir(path.parent)


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or None when it is missing or is not JSON."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot fsync a directory; the rename still happened
    finally:
        os.close(fd)


def open_regular(path: Path) -> tuple[BinaryIO, os.stat_result]:
    """Open a file of a run for reading, refusing anything but a regular file.

    The file is opened without blocking, so a FIFO (which would wait for a writer)
    is refused at once instead of hanging, as are devices such as ``/dev/zero``
    (which never end), even behind a symlink.

    Raises
    ------
    FileNotFoundError, NotADirectoryError
        If there is no such file.
    RunFormatError
        If it is a folder, a FIFO, a device or a socket, or cannot be opened.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        raise
    except OSError as exc:
        hint = "; make it readable by this user" if isinstance(exc, PermissionError) else ""
        raise RunFormatError(f"cannot read {path}: {exc.strerror or exc}{hint}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise RunFormatError(f"{path} is a folder, not a file; fix or remove the run folder")
        if not stat.S_ISREG(info.st_mode):
            raise RunFormatError(
                f"{path} is {_file_kind(info.st_mode)}, not a regular file; "
                "fix or remove the run folder"
            )
    except BaseException:
        os.close(fd)
        raise
    return open(fd, "rb", buffering=0), info


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_info(folder: Path) -> dict[str, Any]:
    """Read and check ``run.json``: every reader of a run goes through here.

    Raises
    ------
    RunNotFoundError
        If ``folder`` holds no run (it does not exist, has no ``run.json``, or is a file).
    RunFormatError
        If ``run.json`` cannot be read, is not a regular file, is over
        ``MAX_INFO_BYTES``, is not a run description, is from an unknown format
        version, nests values deeper than ``MAX_DEPTH``, or lacks a field readers
        need or has one of the wrong type or out of range.
    """
    folder = Path(folder)
    path = folder / INFO_FILE
    try:
        handle, status = open_regular(path)
    except (FileNotFoundError, NotADirectoryError):
        if folder.is_file():
            raise RunNotFoundError(
                f"no run at {str(folder)!r}: it is a file, not a run folder "
                f"(pass the folder that holds {INFO_FILE}, e.g. logger.path)"
            ) from None
        raise RunNotFoundError(
            f"no run at {str(folder)!r}: it has no {INFO_FILE} "
            "(pass the folder a Logger created, e.g. logger.path)"
        ) from None
    with handle:
        if status.st_size > MAX_INFO_BYTES:
            raise _too_big(path, status.st_size)
        try:
            data = _read_at_most(handle, MAX_INFO_BYTES + 1)
        except OSError as exc:
            raise RunFormatError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_INFO_BYTES:  # it grew after we looked
        raise _too_big(path, len(data))
    try:
        info = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RunFormatError(
            f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}){_DAMAGED}"
        ) from None
    except RecursionError:
        raise RunFormatError(
            f"{path} nests JSON objects or arrays too deeply to read "
            f"(at most {MAX_DEPTH} levels are allowed){_DAMAGED}"
        ) from None
    except ValueError as exc:  # JSONDecodeError, or an integer of over 4300 digits
        raise RunFormatError(f"{path} is not valid JSON: {exc}{_DAMAGED}") from None
    if not isinstance(info, dict) or "format" not in info:
        raise RunFormatError(f"{path} is not a hypertuner run description")
    deep = _too_deep(info)  # first: the checks below repr() values
    if deep is not None:
        raise RunFormatError(
            f"{path}: {deep!r} nests JSON objects or arrays more than {MAX_DEPTH} "
            f"levels deep{_DAMAGED}"
        )
    check_version(info["format"], str(path))
    for field, (required, valid, expected) in (*_FIELDS.items(), *_FIELDS_IN_RANGE.items()):
        if field not in info:
            if required:
                raise RunFormatError(
                    f"{path}: {field!r} is missing (it must be {expected}){_DAMAGED}"
                )
        elif not valid(info[field]):
            raise RunFormatError(
                f"{path}: {field!r} must be {expected} (got {describe(info[field])}){_DAMAGED}"
            )
    return info


def _read_at_most(handle: BinaryIO, limit: int) -> bytes:
    """Up to ``limit`` bytes: a file may say it is empty and hold more (as /proc's do)."""
    parts = []
    while limit > 0:
        part = handle.read(min(limit, 1 << 20))
        if not part:
            break
        parts.append(part)
        limit -= len(part)
    return b"".join(parts)


def _too_big(path: Path, size: int) -> RunFormatError:
    return RunFormatError(
        f"{path} is {size:,} bytes, over the {MAX_INFO_BYTES:,} a run description may "
        f"have{_DAMAGED}"
    )


def _too_deep(info: dict[str, Any]) -> str | None:
    """The first top-level field nesting containers over MAX_DEPTH deep, or None.

    Walks with a stack, not recursion, so any depth json.loads returned is safe.
    """
    for field, value in info.items():
        stack = [(value, 1)]
        while stack:
            item, depth = stack.pop()
            if isinstance(item, dict):
                children: Any = item.values()
            elif isinstance(item, list):
                children = item
            else:
                continue
            if depth > MAX_DEPTH:
                return field
            stack.extend((child, depth + 1) for child in children)
    return None


_DAMAGED = "; fix the file or remove the run folder"


def _finite(value: Any) -> bool:
    try:
        return type(value) in (int, float) and math.isfinite(value)
    except OverflowError:  # an int too large for a float, as JSON allows
        return False


def _time(value: Any) -> bool:
    return _finite(value) and 0 <= value < MAX_TIME


_TIME = "a time in seconds since the epoch, from 0 to 2**33 (the year 2242)"

# The fields readers rely on: name -> (required, check, what it must be). Others are
# read with care where they are used (pid_start, error...).
_FIELDS: dict[str, tuple[bool, Callable[[Any], bool], str]] = {
    "id": (True, lambda v: type(v) is str, "a string"),
    "name": (True, lambda v: type(v) is str, "a string"),
    "created": (True, _finite, "a finite number"),
    "status": (True, lambda v: type(v) is str, "a string"),
    "ended": (False, lambda v: v is None or _finite(v), "a finite number or null"),
    "params": (False, lambda v: type(v) is dict, "a JSON object"),
    "pid": (False, lambda v: type(v) is int, "an integer"),
    "host": (False, lambda v: type(v) is str, "a string"),
}
# Checked after _FIELDS (so a wrong type is named as such): values that have the
# right type but would break a reader later (localtime, pandas, os.kill overflow).
_FIELDS_IN_RANGE: dict[str, tuple[bool, Callable[[Any], bool], str]] = {
    "created": (True, _time, _TIME),
    "ended": (False, lambda v: v is None or _time(v), f"{_TIME}, or null"),
    "pid": (False, lambda v: 1 <= v <= MAX_PID, "a process id, from 1 to 2**31 - 1"),
}


def process_start(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot, or None if unknown.

    Together with the pid this names a process uniquely, so a recycled pid is not
    mistaken for a run's writer.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            line = handle.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: fields start after the last ')'.
    fields = line[line.rindex(b")") + 2 :].split()
    if fields[0] == b"Z":
        return None  # a zombie has finished running
    return int(fields[19])


def _alive(pid: int, started: int | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    if os.path.exists("/proc/self/stat"):
        now = process_start(pid)
        return now is not None and (started is None or now == started)
    return True


def live_status(info: dict[str, Any]) -> str:
    """The status a reader should report: a 'running' run whose writer is gone crashed.

    Any other status is reported as recorded, one of :data:`STATUSES` or a status of
    a newer writer.
    """
    status = info["status"]
    if status == "running" and info.get("host") == socket.gethostname():
        pid = info.get("pid")  # an int if present: read_info checked it
        if pid is not None and not _alive(pid, info.get("pid_start")):
            return "crashed"
    return status


def remove_run(folder: Path) -> None:
    """Delete the files a writer makes in ``folder`` (never others), then it if empty.

    Raises
    ------
    OSError
        If a file or the emptied folder could not be removed. A folder that still
        holds other files, or is already gone, is no error.
    """
    # run.json first: without it the folder is no longer a run to any reader.
    for name in (INFO_FILE, DATA_FILE, INFO_TMP):
        (folder / name).unlink(missing_ok=True)
    try:
        folder.rmdir()
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
            raise


def request_stop(folder: Path, reason: str) -> None:
    """Ask the writer of the run in ``folder`` to stop, for ``reason`` (see STOP_REASONS).

    The request is a file, so that it reaches a writer on another machine through
    shared storage; it is written atomically and never removed by a reader.
    """
    if reason not in STOP_REASONS:
        raise ValueError(f"reason must be one of {', '.join(STOP_REASONS)} (got {reason!r})")
    replace_json(folder / STOP_FILE, {"reason": reason, "time": time.time()})


def read_stop(folder: Path) -> str | None:
    """The reason a stop was requested for the run in ``folder``, or None if it was not.

    A request that cannot be read or names no known reason still asks for a stop,
    read as ``"stopped"``: something meant the run to end.
    """
    try:
        handle, _ = open_regular(folder / STOP_FILE)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except RunFormatError:
        return "stopped"
    with handle:
        data = handle.read(4096)
    try:
        reason = json.loads(data).get("reason")
    except (ValueError, AttributeError):
        return "stopped"
    return reason if reason in STOP_REASONS else "stopped"
