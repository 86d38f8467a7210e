"""Running one trial: a process of the training script, stopped on request.

:func:`run_trial` is the whole of a trial's life on the machine that runs it. The
local launcher calls it in a thread; on a Dask cluster it is the task a worker runs.
Either way the controller talks to it only through the trial's folder: it writes a
stop request there (``stop.json``) and the launcher enforces it — the script gets
``grace`` seconds to end by itself (``Logger.should_stop``), then SIGTERM, then
SIGKILL ``kill_after`` seconds later. So pruning works the same on a cluster with
shared storage as on one machine, and nothing needs a connection back.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import HypertunerError
from ..runinfo import (
    INFO_FILE,
    STOP_FILE,
    STOP_REASONS,
    live_status,
    process_start,
    read_info,
    read_stop,
    replace_json,
    write_info,
)

__all__ = ["LAUNCH_FILE", "TrialExit", "TrialSpec", "end_orphan", "run_trial"]

LAUNCH_FILE = "launch.json"  # the trial process: pid, its start, the host
STDOUT_FILE = "stdout.log"
STDERR_FILE = "stderr.log"
# The end of stderr a failed trial reports as its error.
ERROR_TAIL_BYTES = 4000
# Seconds between looks for a stop request while the script runs.
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class TrialSpec:
    """Everything needed to run one trial, picklable for a Dask worker."""

    number: int
    folder: str
    args: tuple[str, ...]  # after the Python of the machine that runs it: script, --params...
    env: dict[str, str] = field(default_factory=dict)  # set on top of the worker's own
    cwd: str | None = None
    grace: float = 1.0
    kill_after: float = 5.0


@dataclass(frozen=True)
class TrialExit:
    """How a trial's process ended."""

    returncode: int
    stop: str | None  # the stop request's reason, if one was made
    error: str | None  # the end of stderr, for a process that failed unasked
    host: str
    stop_seconds: float | None = None  # from the stop request to the process's end


def run_trial(spec: TrialSpec) -> TrialExit:
    """Run the trial's script to its end, enforcing a stop request; see the module."""
    folder = Path(spec.folder)
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **spec.env}
    command = [sys.executable, *spec.args]
    with open(folder / STDOUT_FILE, "ab") as out, open(folder / STDERR_FILE, "ab") as err:
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                cwd=spec.cwd,
                start_new_session=True,  # its own group: its workers are stopped with it
                preexec_fn=_end_with_parent if sys.platform == "linux" else None,
            )
        except OSError as exc:
            raise HypertunerError(f"trial {spec.number}: cannot start {command[0]}: {exc}") from exc
    replace_json(
        folder / LAUNCH_FILE,
        {
            "pid": process.pid,
            "pid_start": process_start(process.pid),
            "host": socket.gethostname(),
            "launcher": os.getpid(),  # the process that ran this: the controller, or a worker
            "started": time.time(),
        },
    )
    seen = terminated = None
    while True:
        try:
            returncode = process.wait(timeout=POLL_SECONDS)
            break
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if seen is None:
            if read_stop(folder) is not None:
                seen = now
        elif terminated is None and now - seen >= spec.grace:
            _signal_group(process.pid, signal.SIGTERM)
            terminated = now
        elif terminated is not None and now - terminated >= spec.kill_after:
            _signal_group(process.pid, signal.SIGKILL)
    ended = time.time()
    stop = read_stop(folder)
    stop_seconds = None
    if stop is not None:
        _signal_group(process.pid, signal.SIGKILL)  # what the script left behind
        _mark_stopped(folder, stop)
        stop_seconds = _since_request(folder, ended)
    error = None
    if returncode != 0 and stop is None:
        error = _tail(folder / STDERR_FILE) or f"exited with status {returncode}"
    return TrialExit(
        returncode=returncode,
        stop=stop,
        error=error,
        host=socket.gethostname(),
        stop_seconds=stop_seconds,
    )


def end_orphan(folder: Path) -> bool:
    """Stop a trial process left running by a controller that died; True if one was.

    Only a process on this host whose pid and start time match ``launch.json`` is
    signalled, so a pid the system gave to another process since is left alone.
    """
    try:
        launch = json.loads((folder / LAUNCH_FILE).read_text())
        pid, started, host = int(launch["pid"]), launch.get("pid_start"), launch["host"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if host != socket.gethostname() or pid <= 0 or started is None:
        return False
    if process_start(pid) != started:
        return False  # it ended, or the pid now names another process
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and process_start(pid) == started:
        time.sleep(0.05)
    _signal_group(pid, signal.SIGKILL)
    return True


def _mark_stopped(folder: Path, reason: str) -> None:
    """Record why the run ended: its writer may have been killed before it could."""
    try:
        info = read_info(folder)
    except HypertunerError:
        return  # the script made no run (yet)
    status = STOP_REASONS[reason]
    if info["status"] == status:
        return
    if info["status"] == "running" and live_status(info) == "running":
        return  # a writer still alive (another process of the script): let it end the run
    info["status"] = status
    info["ended"] = info.get("ended") or time.time()
    write_info(folder, info)


def _since_request(folder: Path, ended: float) -> float | None:
    """Seconds from the stop request (its recorded time) to the process's end."""
    try:
        asked = float(json.loads((folder / STOP_FILE).read_text())["time"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return max(0.0, ended - asked)


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _end_with_parent() -> None:
    """In the trial process (Linux): get SIGTERM when the launching thread's process dies.

    A controller killed outright then leaves no training running on its own.
    """
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _tail(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - ERROR_TAIL_BYTES))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    if size > ERROR_TAIL_BYTES:
        text = "..." + text[text.find("\n") + 1 :] if "\n" in text else "..." + text
    return text.strip()


def has_run(folder: Path) -> bool:
    """Whether the trial's script made its run in the folder."""
    return (folder / INFO_FILE).exists()
