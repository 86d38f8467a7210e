"""How a run ends, with the program around it: scripts run for real, in processes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap

import pytest

import hypertuner


def default_sigint() -> None:
    """In the child: SIGINT as a terminal's program has it, so Python turns it into
    KeyboardInterrupt. A test runner started as a background job (no job control)
    ignores SIGINT, and its children would inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_script(tmp_path, body: str) -> tuple[subprocess.CompletedProcess, hypertuner.Run | None]:
    """Run a script in ``tmp_path``; return it and its run, if it made exactly one."""
    script = tmp_path / "script.py"
    script.write_text(
        "import os, signal, sys, threading\nimport hypertuner\n" + textwrap.dedent(body)
    )
    env = {k: v for k, v in os.environ.items() if k not in ("HYPERTUNER_DIR", "HYPERTUNER_PARAMS")}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=120, preexec_fn=default_sigint,
    )  # fmt: skip
    folders = list((tmp_path / "runs").iterdir())
    return done, hypertuner.load(folders[0]) if len(folders) == 1 else None


def test_an_uncaught_exception_marks_the_run_crashed_with_the_error(tmp_path):
    """A script with no `with` block that dies of an uncaught error reads crashed, error kept."""
    done, run = run_script(
        tmp_path,
        """
        logger = hypertuner.Logger()
        logger.log({"loss": 1.0}, 0)
        raise ValueError("the data loader ran dry")
        """,
    )
    assert done.returncode == 1 and "ValueError: the data loader ran dry" in done.stderr
    assert run.status == "crashed"
    assert run.info["error"] == "ValueError: the data loader ran dry"
    assert run["loss"].values.tolist() == [1.0]


def test_a_script_that_ends_normally_reads_finished(tmp_path):
    """A script that returns without closing its logger reads finished, with no error."""
    done, run = run_script(tmp_path, 'hypertuner.Logger().log({"loss": 1.0}, 0)\n')
    assert done.returncode == 0 and done.stderr == ""
    assert run.status == "finished" and "error" not in run.info


@pytest.mark.parametrize(
    ("exit_call", "status", "error"),
    [
        ("sys.exit(0)", "finished", None),
        ("sys.exit()", "finished", None),
        ("sys.exit(3)", "crashed", "SystemExit: 3"),
    ],
)
def test_sys_exit_in_a_with_block(tmp_path, exit_call, status, error):
    """sys.exit(0) inside `with Logger()` is a normal end; a non-zero exit is a crash."""
    _, run = run_script(
        tmp_path,
        f"""
        with hypertuner.Logger() as logger:
            logger.log({{"loss": 1.0}}, 0)
            {exit_call}
        """,
    )
    assert run.status == status
    assert run.info.get("error") == error


@pytest.mark.parametrize("inside_with", [True, False])
def test_ctrl_c_marks_the_run_interrupted(tmp_path, inside_with):
    """Ctrl-C (SIGINT) in the training loop leaves the run interrupted, with or without `with`."""
    loop = """
        for i in range(10**9):
            logger.log({"loss": 1.0 / (i + 1)}, i)
            if i == 1000:
                os.kill(os.getpid(), signal.SIGINT)
    """
    if inside_with:
        body = "with hypertuner.Logger() as logger:" + textwrap.indent(
            textwrap.dedent(loop), "    "
        )
    else:
        body = "logger = hypertuner.Logger()\n" + textwrap.dedent(loop)
    done, run = run_script(tmp_path, body)
    assert "KeyboardInterrupt" in done.stderr
    assert run.status == "interrupted"
    assert run.info["error"] == "KeyboardInterrupt: "
    assert len(run["loss"]) >= 1001


def test_a_thread_that_dies_crashes_its_own_run_only(tmp_path):
    """A training thread that dies of an uncaught error marks its run crashed at once; the
    program goes on, and a run the main thread made is not touched."""
    done, _ = run_script(
        tmp_path,
        """
        import json
        main = hypertuner.Logger(name="main")
        main.log({"x": 1.0}, 0)

        def train():
            logger = hypertuner.Logger(name="worker")
            logger.log({"loss": 1.0}, 0)
            raise RuntimeError("CUDA out of memory")

        thread = threading.Thread(target=train)
        thread.start()
        thread.join()
        print(json.dumps([hypertuner.load(main.path.parent / "worker").status, main.status]))
        main.log({"x": 2.0}, 1)
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '["crashed", "running"]'
    worker = hypertuner.load(tmp_path / "runs" / "worker")
    assert worker.info["error"] == "RuntimeError: CUDA out of memory"
    assert hypertuner.load(tmp_path / "runs" / "main").status == "finished"


def test_making_a_logger_leaves_the_global_random_state_alone():
    """A seeded user's random numbers are the same whether or not a Logger was made."""
    random.seed(1234)
    expected = [random.random() for _ in range(3)]
    random.seed(1234)
    logger = hypertuner.Logger()
    logger.log({"a": 1.0}, 0)
    got = [random.random() for _ in range(3)]
    logger.close()
    assert got == expected


def test_forked_children_name_their_runs_apart(tmp_path):
    """Children forked from one process draw different run names (the generator is reseeded)."""
    hypertuner.Logger(dir=tmp_path / "warm").close()  # the parent has drawn names before
    read, write = os.pipe()
    pids = []
    for _ in range(4):
        pid = os.fork()
        if pid == 0:
            from hypertuner.logger import _ADJECTIVES, _names

            os.write(
                write, (_names.choice(_ADJECTIVES) + _names.choice(_ADJECTIVES) + "\n").encode()
            )
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    os.close(write)
    names = os.read(read, 10_000).decode().split()
    os.close(read)
    assert len(names) == 4 and len(set(names)) > 1


def test_the_sigint_default_handler_is_left_in_place():
    """Importing hypertuner and making a logger installs no signal handler of its own."""
    before = signal.getsignal(signal.SIGINT)
    hypertuner.Logger().close()
    assert signal.getsignal(signal.SIGINT) is before
