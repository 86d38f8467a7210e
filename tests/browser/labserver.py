"""Start and stop an isolated JupyterLab server for the browser tests.

The server gets its own free port, its own root folder (the notebooks under test are
copied there and their runs land in ``<root>/runs``), and its own config, runtime,
settings and workspace folders, so nothing from ``~/.jupyter`` leaks in. It runs in
its own process group; kernels run in their own sessions, so :meth:`LabServer.stop`
asks the server to shut them down before killing the group.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from gate import GATE_ENV, DemoGate

# User settings seeded into the server's settings folder, by "<package>/<plugin>".
SEED_SETTINGS: dict[str, dict[str, Any]] = {
    # No "receive Jupyter news?" toast and no update check (and no network call).
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    # Put every cell in the DOM: the default windowing mode may skip rendering
    # off-screen cells, which makes DOM queries flaky.
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    # Never write the notebook under test back to disk.
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    # Save the widgets' state with the notebook (Settings > Save Widget State
    # Automatically), as a person who wants the board in the saved file turns on.
    "@jupyter-widgets/jupyterlab-manager/plugin": {"saveState": True},
}

# Variables of the test process that must not reach the kernel: the unit tests point
# HYPERTUNER_DIR at a temporary folder, and the notebook's runs belong in the root.
DROPPED_ENV = ("HYPERTUNER_DIR", "HYPERTUNER_PARAMS")


def free_port() -> int:
    """A TCP port nobody listens on right now (the server is told not to retry others)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LabServer:
    """One ``jupyter lab`` process serving ``root_dir``; scratch state lives in ``state_dir``."""

    def __init__(self, root_dir: Path, state_dir: Path) -> None:
        self.root_dir = Path(root_dir)
        self.state_dir = Path(state_dir)
        self.log_path = self.state_dir / "jupyterlab.log"
        self.gate = DemoGate(self.state_dir / "demo-gate")
        self.port = 0
        self.startup_seconds = 0.0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> LabServer:
        """Launch the server and wait until both its API and the /lab page answer."""
        self.root_dir.mkdir(parents=True, exist_ok=True)
        settings, workspaces = self._seed_state()
        self.gate.release()
        self.port = free_port()
        env = {key: value for key, value in os.environ.items() if key not in DROPPED_ENV}
        env.update(
            JUPYTER_CONFIG_DIR=str(self.state_dir / "config"),
            JUPYTER_RUNTIME_DIR=str(self.state_dir / "runtime"),
            JUPYTER_PLATFORM_DIRS="1",
            PYTHONUNBUFFERED="1",
        )
        env[GATE_ENV] = str(self.gate.path)
        command = [
            sys.executable, "-m", "jupyterlab",
            "--no-browser",
            "--allow-root",  # CI containers run as root
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",  # a lost port race fails loudly
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            f"--ServerApp.root_dir={self.root_dir}",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={workspaces}",
            "--LabApp.news_url=",
        ]  # fmt: skip
        started = time.monotonic()
        self._log = open(self.log_path, "wb")
        self._proc = subprocess.Popen(
            command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.root_dir,
            start_new_session=True,
        )
        while not self._answers():
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"jupyter lab exited with code {self._proc.returncode}:\n{self.log_tail()}"
                )
            if time.monotonic() - started > timeout:
                self.stop()
                raise TimeoutError(
                    f"jupyter lab did not answer within {timeout:.0f} s:\n{self.log_tail()}"
                )
            time.sleep(0.25)
        self.startup_seconds = time.monotonic() - started
        return self

    def _seed_state(self) -> tuple[Path, Path]:
        settings = self.state_dir / "user-settings"
        workspaces = self.state_dir / "workspaces"
        for key, value in SEED_SETTINGS.items():
            package, plugin = key.rsplit("/", 1)
            folder = settings / package
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{plugin}.jupyterlab-settings").write_text(json.dumps(value))
        workspaces.mkdir(parents=True, exist_ok=True)
        return settings, workspaces

    def _answers(self) -> bool:
        try:
            for path in ("/api/status", "/lab"):  # /lab: the front end is served too
                with urllib.request.urlopen(self.url + path, timeout=5) as response:
                    if response.status != 200:
                        return False
        except (urllib.error.URLError, OSError):
            return False
        return True

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the server's log (kernel start-up errors show up there)."""
        if self._log is not None:
            self._log.flush()
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def shutdown_kernels(self) -> None:
        """Ask the server to stop every kernel (killing its process group misses them)."""
        try:
            with urllib.request.urlopen(self.url + "/api/kernels", timeout=10) as response:
                kernels = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError):
            return
        for kernel in kernels:
            request = urllib.request.Request(
                f"{self.url}/api/kernels/{kernel['id']}", method="DELETE"
            )
            try:
                urllib.request.urlopen(request, timeout=10).close()
            except (urllib.error.URLError, OSError):
                pass

    def stop(self) -> None:
        """Stop the kernels, then the server's process group (SIGTERM, then SIGKILL)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            self.shutdown_kernels()
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        _signal_group(proc.pid, signal.SIGKILL)  # anything the server left in its group
        self._log.close()


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
