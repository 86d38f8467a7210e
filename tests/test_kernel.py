"""A shown board in a real ipykernel, driven over its channels as a front end would.

What training cells do beside logging: fork DataLoader workers while the board's
answering thread reads the kernel's socket, and await in async cells. Each busy
cell ends when the test writes its stop file, never after a fixed amount of work.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import jupyter_client
import pytest

import hypertuner

WIDGET = "application/vnd.jupyter.widget-view+json"


class Kernel:
    """A python3 kernel started in ``folder``, its stderr kept in ``stderr.txt``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.stderr_path = folder / "stderr.txt"
        self._stderr = open(self.stderr_path, "w")  # noqa: SIM115 - closed in stop()
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        self.manager = jupyter_client.KernelManager(kernel_name="python3")
        self.manager.start_kernel(cwd=str(folder), env=env, stderr=self._stderr)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=120)

    def start(self, code: str) -> str:
        return self.client.execute(code)

    def finish(self, msg_id: str, timeout: float = 120) -> list[dict]:
        """The outputs of the cell ``msg_id``, once the kernel is idle after it."""
        outputs = []
        deadline = time.monotonic() + timeout
        while True:
            message = self.client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "status" and content["execution_state"] == "idle":
                return outputs
            if kind in ("stream", "display_data", "execute_result", "error"):
                outputs.append({"type": kind, **content})

    def run(self, code: str) -> list[dict]:
        outputs = self.finish(self.start(code))
        errors = [output for output in outputs if output["type"] == "error"]
        assert not errors, errors[0]["traceback"]
        return outputs

    def reply(self, msg_id: str, timeout: float) -> dict:
        """The shell reply to ``msg_id`` (other replies, e.g. execute's, are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.client.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
            if message["parent_header"].get("msg_id") == msg_id:
                return message

    def comm_msg(self, comm_id: str, data: dict) -> str:
        """Send a front end's message to the comm ``comm_id``; return its id."""
        message = self.client.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self.client.shell_channel.send(message)
        return message["header"]["msg_id"]

    def comm_replies(self, msg_id: str, timeout: float) -> dict:
        """The first comm message the kernel published in reply to ``msg_id``."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            if message["parent_header"].get("msg_id") == msg_id and (
                message["msg_type"] == "comm_msg"
            ):
                return message["content"]

    def stop(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
        self._stderr.close()


@pytest.fixture
def kernel(tmp_path):
    started = Kernel(tmp_path)
    try:
        yield started
    finally:
        started.stop()


def printed(outputs: list[dict]) -> str:
    return "".join(o["text"] for o in outputs if o["type"] == "stream" and o["name"] == "stdout")


def stderr_of(outputs: list[dict]) -> str:
    return "".join(o["text"] for o in outputs if o["type"] == "stream" and o["name"] == "stderr")


SHOW = """\
import hypertuner
logger = hypertuner.Logger(name="parent", dir="runs")
for step in range(100):
    logger.log({"loss": 1 / (step + 1)}, step)
"""

# Forks children (DataLoader workers do this with fork) while the parent logs and its
# answering thread reads the kernel's socket every 0.1 s, so it sometimes holds its
# lock at the fork. Each child checks it is no notebook, logs a run of its own and
# exits; the parent waits for each with a deadline and the cell waits for `stop`.
FORKS = """\
import json, os, pathlib, time
from hypertuner import _notebook
from hypertuner.board import _answer

def child(number):
    code = 4  # raised: written to child-N.txt
    try:
        ok = not _notebook.in_notebook() and _notebook.ipython() is None
        with hypertuner.Logger(name=f"child-{number}", dir="children") as own:
            ok = ok and getattr(own, "_board", None) is None
            for step in range(20):
                own.log({"x": step}, step)
        ok = ok and _answer.answer() == 0 and not _answer.answer_in_background()
        code = 0 if ok else 3
    except BaseException:
        import traceback
        pathlib.Path(f"child-{number}.txt").write_text(traceback.format_exc())
    finally:
        os._exit(code)  # never back into the kernel's copy

outcomes = []
for number in range(12):
    for step in range(100 + 50 * number, 150 + 50 * number):
        logger.log({"loss": 1 / (step + 1)}, step)
    time.sleep(0.013 * number)  # lands at varied points of the thread's period
    pid = os.fork()
    if pid == 0:
        child(number)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            outcomes.append(os.waitstatus_to_exitcode(status))
            break
        time.sleep(0.01)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        outcomes.append("hung")
pathlib.Path("forked").write_text(json.dumps(outcomes))
while not pathlib.Path("stop").exists():
    time.sleep(0.02)
print(json.dumps({"outcomes": outcomes, "steps": len(logger["loss"])}))
"""


def wait_for(path: Path, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} was never written"
        time.sleep(0.05)
    return path.read_text()


def test_children_forked_in_a_busy_cell_show_nothing_and_the_kernel_still_answers(kernel):
    outputs = kernel.run(SHOW)
    assert any(WIDGET in o.get("data", {}) for o in outputs)  # the board is shown
    busy = kernel.start(FORKS)
    assert json.loads(wait_for(kernel.folder / "forked")) == [0] * 12
    # The cell is still busy: the parent's answering thread takes a comm request.
    reply = kernel.reply(kernel.client.comm_info(), timeout=30)
    assert reply["content"]["status"] == "ok"
    assert any(
        comm["target_name"] == "jupyter.widget" for comm in reply["content"]["comms"].values()
    )
    (kernel.folder / "stop").write_text("")
    outputs = kernel.finish(busy)
    assert not [o for o in outputs if o["type"] == "error"]
    assert json.loads(printed(outputs)) == {"outcomes": [0] * 12, "steps": 700}
    assert stderr_of(outputs) == ""
    # A child would have tried to send from its copy of the kernel's session.
    assert "attempted to send message from fork" not in kernel.stderr_path.read_text()

    children = hypertuner.runs(kernel.folder / "children")
    assert sorted(run.name for run in children) == sorted(f"child-{n}" for n in range(12))
    assert all(run.status == "finished" and len(run["x"]) == 20 for run in children)
    assert kernel.run("print(1 + 1)")[0]["text"] == "2\n"  # the kernel took the next cell


# An async cell awaits between steps: its event loop reads the kernel's socket, so the
# answering thread must stay out, and ipykernel answers comms itself.
ASYNC = """\
import asyncio, json, pathlib
from hypertuner.board import _answer
steps, reading = 0, []
while not pathlib.Path("stop").exists():
    logger.log({"loss": 1 / (steps + 1), "word": "async"}, 100 + steps)
    steps += 1
    if steps == 50:
        pathlib.Path("logging").write_text("")
    reading.append(_answer._get().in_cell)
    await asyncio.sleep(0.005)
print(json.dumps({"steps": steps, "thread_read": any(reading)}))
"""


def test_an_async_cell_logs_with_the_board_shown_and_its_loop_answers(kernel):
    shown = kernel.run(SHOW)
    (board,) = [o["data"][WIDGET]["model_id"] for o in shown if WIDGET in o.get("data", {})]
    busy = kernel.start(ASYNC)
    wait_for(kernel.folder / "logging")
    # A rebuilt view asks the board's model for its state: ipykernel takes comm
    # messages while an async cell awaits (kernel and comm info wait for its end).
    reply = kernel.comm_replies(kernel.comm_msg(board, {"method": "request_state"}), 30)
    assert reply["comm_id"] == board and reply["data"]["method"] == "update"
    assert not (kernel.folder / "stop").exists()  # answered while the cell ran
    (kernel.folder / "stop").write_text("")
    outputs = kernel.finish(busy)
    assert not [o for o in outputs if o["type"] == "error"], outputs
    assert stderr_of(outputs) == ""
    result = json.loads(printed(outputs))
    assert result["thread_read"] is False  # the loop read the socket, the thread did not
    kernel.run("logger.close()")

    (run,) = hypertuner.runs(kernel.folder / "runs")
    assert len(run["loss"]) == 100 + result["steps"]
    assert list(run["word"].values[-3:]) == ["async"] * 3
