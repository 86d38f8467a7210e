"""The demo: its params are checked, its output is labelled, a gate paces it, --lab serves
the quickstart and stops JupyterLab cleanly on Ctrl-C and SIGTERM (real processes)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

import hypertuner
from hypertuner._resources import resource
from hypertuner.demo import DEFAULTS, GATE_ENV, check_config, train
from hypertuner.errors import ParamsError


def demo(tmp_path: Path, *args: str, env: dict[str, str] | None = None):
    """Run ``python -m hypertuner.demo ARGS`` in ``tmp_path``; return the finished process."""
    return subprocess.run(
        [sys.executable, "-m", "hypertuner.demo", *args],
        cwd=tmp_path,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


# -- params -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"steps": 0}, "'steps' must be a whole number of at least 1 (got 0)"),
        ({"batch": 0}, "'batch' must be a whole number of at least 1 (got 0)"),
        ({"hidden": 2.5}, "'hidden' must be a whole number of at least 1 (got 2.5)"),
        ({"warmup": -1}, "'warmup' must be a whole number of at least 0 (got -1)"),
        ({"steps": True}, "'steps' must be a whole number of at least 1 (got True)"),
        ({"lr": 0}, "'lr' must be a number above 0 (got 0)"),
        ({"lr": float("nan")}, "'lr' must be a number above 0 (got nan)"),
        ({"pause": -0.1}, "'pause' must be a number of at least 0 (got -0.1)"),
        (
            {"lrr": 0.1},
            "unknown parameter 'lrr'; known parameters: lr, hidden, batch, steps, warmup, "
            "seed, pause",
        ),
    ],
)
def test_bad_params_are_refused_by_name(given, message):
    """check_config() and train() refuse a value out of range, naming the param and the value."""
    with pytest.raises(ParamsError) as caught:
        check_config(given)
    assert str(caught.value) == message
    with pytest.raises(ParamsError):
        train(given)


def test_bad_params_on_the_command_line_exit_2_and_make_no_run(tmp_path):
    """The headless demo with steps 0 exits 2 with one error line and leaves no run folder."""
    (tmp_path / "cfg.json").write_text(json.dumps({"steps": 0}))
    done = demo(tmp_path, "--params", "cfg.json")
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        "python -m hypertuner.demo: error: 'steps' must be a whole number of at least 1 (got 0)"
    )
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists()


def test_headless_demo_prints_one_line_labelled_with_its_params(tmp_path):
    """The headless demo prints one line naming the params it was given; its run reopens."""
    (tmp_path / "cfg.json").write_text(json.dumps({"lr": 1.5, "steps": 400}))
    done = demo(tmp_path, "--params", "cfg.json")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    (line,) = done.stdout.splitlines()
    assert line.startswith("lr=1.5, steps=400: val/loss "), line
    (folder,) = (tmp_path / "runs").iterdir()
    run = hypertuner.load(folder)
    assert line.endswith(f"(run {run.name}, {run.points:,} points in {folder})"), line
    assert run.status == "finished"
    assert run.params.to_dict() == {**DEFAULTS, "lr": 1.5, "steps": 400}
    assert len(run["train/loss"]) == 400


# -- the gate -----------------------------------------------------------------------------


def test_gate_file_decides_how_far_training_goes(tmp_path, monkeypatch):
    """With $HYPERTUNER_DEMO_GATE set, train() logs only the steps the file allows, then more."""
    gate = tmp_path / "gate"
    gate.write_text("5")
    monkeypatch.setenv(GATE_ENV, str(gate))
    logger = hypertuner.Logger(display=False)
    trainer = threading.Thread(target=train, args=({"steps": 40},), kwargs={"logger": logger})
    trainer.start()
    deadline = time.monotonic() + 60
    while "train/loss" not in logger or len(logger["train/loss"]) < 5:
        assert time.monotonic() < deadline, "training never reached the gate"
        time.sleep(0.01)
    for _ in range(20):  # held: however long we look, no step past the allowance
        assert len(logger["train/loss"]) == 5
        assert trainer.is_alive()
        time.sleep(0.01)
    gate.write_text("inf")
    trainer.join(60)
    assert not trainer.is_alive()
    assert logger["train/loss"].steps.tolist() == list(range(40))


# -- JupyterLab -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_lab_opens_the_quickstart_and_stops_cleanly(tmp_path, sig, status):
    """--lab serves a copy of the quickstart at the printed URL; Ctrl-C or SIGTERM stops
    JupyterLab too, frees the port and prints one short line, no traceback."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "HYPERTUNER_DIR"}
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")  # its own, not the user's
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "config")
    process = subprocess.Popen(
        [sys.executable, "-m", "hypertuner.demo", "--lab", "--no-browser", f"--port={port}"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # SIGINT as in a terminal: a runner started as a background job ignores it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        printed = [process.stdout.readline() for _ in range(4)]  # blocks until it says so
        assert printed[-1] == "Press Ctrl-C to stop.\n", (printed, process.stderr.read())
        url = printed[1].strip()
        assert url.startswith(f"http://localhost:{port}/lab/tree/quickstart.ipynb?token="), url
        folder = tmp_path / "hypertuner-demo"
        assert printed[2] == (
            f"Its runs go to {folder / 'runs'}, JupyterLab's log to {folder / 'jupyterlab.log'}.\n"
        )
        shipped = json.loads(resource("quickstart.ipynb").read_text())
        assert json.loads((folder / "quickstart.ipynb").read_text()) == shipped
        with urllib.request.urlopen(url, timeout=60) as page:
            assert page.status == 200
            assert "JupyterLab" in page.read().decode()
        with urllib.request.urlopen(
            f"http://localhost:{port}/api/contents/quickstart.ipynb?content=0&token="
            + url.split("token=")[1],
            timeout=60,
        ) as answer:
            assert json.loads(answer.read())["type"] == "notebook"

        process.send_signal(sig)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == status
    assert out == "JupyterLab stopped.\n"
    assert err == ""
    assert port_is_free(port)


def test_lab_ends_with_a_demo_killed_outright(tmp_path):
    """A demo killed with SIGKILL cannot shut JupyterLab down itself; JupyterLab still
    ends (the kernel sends it SIGTERM) and frees its port."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "HYPERTUNER_DIR"}
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "config")
    process = subprocess.Popen(
        [sys.executable, "-m", "hypertuner.demo", "--lab", "--no-browser", f"--port={port}"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        printed = [process.stdout.readline() for _ in range(4)]
        assert printed[-1] == "Press Ctrl-C to stop.\n", (printed, process.stderr.read())
        assert not port_is_free(port)
    finally:
        process.kill()
        process.wait()
    deadline = time.monotonic() + 120
    while not port_is_free(port):
        assert time.monotonic() < deadline, "JupyterLab outlived the demo that started it"
        time.sleep(0.2)
