"""Open the quickstart in JupyterLab, and stop JupyterLab cleanly with the demo.

The notebook is copied into a work folder (``./hypertuner-demo`` by default), and
JupyterLab serves that folder, so the notebook's runs land in
``hypertuner-demo/runs`` rather than inside the installed package, and a user's
edits to the copy are kept from one demo to the next.

JupyterLab runs in a session of its own, so a Ctrl-C in the terminal reaches only
this process, which then asks JupyterLab to shut down (SIGTERM: it stops its
kernels and frees the port) and says so in one line. SIGTERM and SIGHUP to this
process do the same, and on Linux JupyterLab is told to end with the demo even if
the demo is killed outright, so it is never left behind holding the port.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ._resources import resource

__all__ = ["DEMO_FOLDER", "open_notebook"]

DEMO_FOLDER = Path("hypertuner-demo")
NOTEBOOK = "quickstart.ipynb"

# How long JupyterLab may take to start, and to stop before it is killed.
_START_SECONDS = 120.0
_STOP_SECONDS = 15.0


class _Stopped(Exception):
    """A signal asked the demo to stop; ``code`` is the exit status to return."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def open_notebook(
    folder: str | os.PathLike[str] | None = None,
    *,
    port: int | None = None,
    browser: bool = True,
    out: Any = None,
) -> int:
    """Serve the quickstart from ``folder`` in JupyterLab until stopped; return an exit status.

    Parameters
    ----------
    folder : path, optional
        The work folder (default ``./hypertuner-demo``); made if missing, and given
        a copy of the quickstart unless it already has one.
    port : int, optional
        The port to serve on; by default JupyterLab's (8888, or the next free one).
    browser : bool
        Let JupyterLab open a web browser on the notebook when it finds one.

    Returns
    -------
    int
        0 if JupyterLab exited by itself, 130 after Ctrl-C, 128 + the signal's
        number after SIGTERM or SIGHUP, 2 if JupyterLab is not installed, and
        JupyterLab's own status if it failed to start.
    """
    out = out or sys.stdout
    if importlib.util.find_spec("jupyterlab") is None:
        print(
            "JupyterLab is not installed here: pip install 'hypertuner[demo]' (or jupyterlab)",
            file=sys.stderr,
        )
        return 2
    work = Path(folder or DEMO_FOLDER).resolve()
    work.mkdir(parents=True, exist_ok=True)
    notebook = work / NOTEBOOK
    if not notebook.exists():
        shutil.copyfile(resource(NOTEBOOK), notebook)
    log_path = work / "jupyterlab.log"
    command = [
        sys.executable, "-m", "jupyterlab",
        f"--ServerApp.root_dir={work}",
        f"--LabApp.default_url=/lab/tree/{NOTEBOOK}",  # the printed URL opens the notebook
        f"--ServerApp.open_browser={browser}",
    ]  # fmt: skip
    if port is not None:
        command += [f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # JupyterLab refuses root unless told

    # Signal handlers can only be set from the main thread; elsewhere the caller decides.
    in_main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}

    def stop(signum: int, _frame: Any) -> None:
        raise _Stopped(128 + signum)

    with open(log_path, "ab") as log:
        server = subprocess.Popen(
            command,
            cwd=work,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_end_with_parent,
        )
        try:
            for sig in previous if in_main else ():
                signal.signal(sig, stop)
            try:
                url = _wait_for_url(server, log_path)
                if url is None:
                    print(
                        f"JupyterLab did not start (exit status {server.returncode}); "
                        f"the end of its log, {log_path}:\n{_tail(log_path)}",
                        file=sys.stderr,
                    )
                    return server.returncode or 1
                print(
                    f"The quickstart is open in JupyterLab at\n    {url}\n"
                    f"Its runs go to {work / 'runs'}, JupyterLab's log to {log_path}.\n"
                    "Press Ctrl-C to stop.",
                    file=out,
                    flush=True,
                )
                server.wait()
                return 0
            except KeyboardInterrupt:
                code = 130
            except _Stopped as stopped:
                code = stopped.code
        finally:
            # A second Ctrl-C while JupyterLab shuts down must not cut that short.
            interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main else None
            try:
                _shut_down(server)
            finally:
                if in_main:
                    signal.signal(signal.SIGINT, interrupt)
                    for sig, handler in previous.items():
                        signal.signal(sig, handler)
    print("JupyterLab stopped.", file=out, flush=True)
    return code


def _end_with_parent() -> None:
    """In JupyterLab's process: get SIGTERM when the demo dies, even by SIGKILL (Linux).

    A demo killed outright cannot shut JupyterLab down itself; without this the
    server would be orphaned, holding its port.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: Ctrl-C, SIGTERM and SIGHUP still stop it through the demo


def _wait_for_url(server: subprocess.Popen[bytes], log_path: Path) -> str | None:
    """The notebook's URL, once the server has written its runtime file; None if it exited."""
    from jupyter_core.paths import jupyter_runtime_dir

    info_file = Path(jupyter_runtime_dir()) / f"jpserver-{server.pid}.json"
    deadline = time.monotonic() + _START_SECONDS
    while server.poll() is None:
        try:
            info = json.loads(info_file.read_text())
        except (OSError, ValueError):
            info = None
        # The server writes that file before it listens (it binds once its loop runs):
        # the URL is printed only once it answers.
        if info and info.get("url") and _listening(info["url"]):
            token = f"?token={info['token']}" if info.get("token") else ""
            return f"{info['url'].rstrip('/')}/lab/tree/{NOTEBOOK}{token}"
        if time.monotonic() > deadline:
            print(f"JupyterLab is slow to start; see {log_path}", file=sys.stderr)
            deadline = float("inf")
        time.sleep(0.1)
    return None


def _listening(url: str) -> bool:
    """Whether something accepts connections at the host and port of ``url``."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "localhost", parts.port or 80), 1):
            return True
    except OSError:
        return False


def _shut_down(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM JupyterLab (it stops its kernels), then kill its group if it lingers."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(server.pid, signal.SIGKILL)  # whatever it left in its session
    except (ProcessLookupError, PermissionError):
        pass
    server.wait()


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
