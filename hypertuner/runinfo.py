"""``run.json``: what a run is (name, status, params, times, writer), and whether its
writer still lives.

``docs/format.md`` describes the fields. The file is replaced atomically, and
:func:`read_info` is the one validation every reader (``load``, ``runs``, the
command line) goes through.
"""

from __future__ import annotations

import errno
import json
import math
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._values import describe
from .errors import RunFormatError, RunNotFoundError
from .runfile import DATA_FILE, check_version

__all__ = [
    "INFO_FILE",
    "INFO_TMP",
    "live_status",
    "process_start",
    "read_info",
    "remove_run",
    "write_info",
]

INFO_FILE = "run.json"
INFO_TMP = f".{INFO_FILE}.tmp"  # run.json being rewritten


def write_info(folder: Path, info: dict[str, Any]) -> None:
    """Replace ``run.json`` atomically: write a temporary file, fsync, rename."""
    tmp = folder / INFO_TMP
    data = json.dumps(info, indent=2, allow_nan=False).encode()
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, folder / INFO_FILE)
    _fsync_dir(folder)


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


def read_info(folder: Path) -> dict[str, Any]:
    """Read and check ``run.json``: every reader of a run goes through here.

    Raises
    ------
    RunNotFoundError
        If ``folder`` holds no run (it does not exist, has no ``run.json``, or is a file).
    RunFormatError
        If ``run.json`` cannot be read, is not a run description, is from an unknown
        format version, or lacks a field readers need or has one of the wrong type.
    """
    folder = Path(folder)
    path = folder / INFO_FILE
    try:
        data = path.read_bytes()
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
    except IsADirectoryError:
        raise RunFormatError(
            f"{path} is a folder, not a file; fix or remove the run folder"
        ) from None
    except OSError as exc:
        hint = "; make it readable by this user" if isinstance(exc, PermissionError) else ""
        raise RunFormatError(f"cannot read {path}: {exc.strerror or exc}{hint}") from None
    try:
        info = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RunFormatError(
            f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}){_DAMAGED}"
        ) from None
    except json.JSONDecodeError as exc:
        raise RunFormatError(f"{path} is not valid JSON: {exc}{_DAMAGED}") from None
    if not isinstance(info, dict) or "format" not in info:
        raise RunFormatError(f"{path} is not a hypertuner run description")
    check_version(info["format"], str(path))
    for field, (required, valid, expected) in _FIELDS.items():
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


_DAMAGED = "; fix the file or remove the run folder"


def _finite(value: Any) -> bool:
    try:
        return type(value) in (int, float) and math.isfinite(value)
    except OverflowError:  # an int too large for a float, as JSON allows
        return False


# The fields readers rely on: name -> (required, check, what it must be). Others are
# read with care where they are used (host, pid_start, error...).
_FIELDS: dict[str, tuple[bool, Callable[[Any], bool], str]] = {
    "id": (True, lambda v: type(v) is str, "a string"),
    "name": (True, lambda v: type(v) is str, "a string"),
    "created": (True, _finite, "a finite number"),
    "status": (True, lambda v: type(v) is str, "a string"),
    "ended": (False, lambda v: v is None or _finite(v), "a finite number or null"),
    "params": (False, lambda v: type(v) is dict, "a JSON object"),
    "pid": (False, lambda v: type(v) is int, "an integer"),
}


def process_start(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot, or None if unknown.

    Together with the pid this names a process uniquely, so a recycled pid is not
    mistaken for a run's writer.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: fields start after the last ')'.
    fields = stat[stat.rindex(b")") + 2 :].split()
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
    """The status a reader should report: a 'running' run whose writer is gone crashed."""
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
