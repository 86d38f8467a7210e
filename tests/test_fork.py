"""Forked children (DataLoader workers, multiprocessing's fork) never touch the parent's run.

Each test forks real children from a process whose logger is busy, in the main thread
and in a second one, so that locks are often held at the moment of the fork.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import sys
import threading
import warnings

import numpy as np
import pytest

import hypertuner
from hypertuner import logger as logger_module

CHILD_OK, CHILD_FAILED = 0, 3


def child_checks(logger: hypertuner.Logger) -> None:
    """What a child does with its copy of the logger: everything must be harmless."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        logger.log({"x": -1.0}, -1)  # detached: does nothing, warns once
        logger.log({"x": -2.0}, -2)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1, messages
    assert messages[0].startswith(f"log() in a forked child process (pid {os.getpid()}) does")
    assert logger.flush() is False
    # Reading takes the lock, which must not be one held at the fork, and shows the
    # points the parent had stored by then: an exact prefix of its steps.
    steps = logger["x"].steps
    np.testing.assert_array_equal(steps, np.arange(len(steps), dtype=np.float64))
    np.testing.assert_array_equal(logger["x"].values, steps)
    logger.close()  # does nothing to the parent's run


def fork_and_exit(logger: hypertuner.Logger) -> int:
    """os.fork() a child that checks its copy and exits as a program does: atexit runs."""
    pid = os.fork()
    if pid == 0:  # the child
        code = CHILD_OK
        try:
            child_checks(logger)
        except BaseException as exc:  # noqa: BLE001 - report, never raise past the fork
            print(f"child {os.getpid()}: {type(exc).__name__}: {exc}", file=sys.stderr)
            code = CHILD_FAILED
        # As at a normal exit: the atexit handlers (ours among them) run. os._exit,
        # not sys.exit: the child must not unwind into the test runner's frames.
        atexit._run_exitfuncs()
        os._exit(code)
    return pid


def wait_child(pid: int, timeout: float = 60.0) -> int | None:
    """The child's exit code, or None if it hung (it is then killed)."""
    deadline = threading.Event()
    result: list[int] = []

    def waiter() -> None:
        _, status = os.waitpid(pid, 0)
        result.append(os.waitstatus_to_exitcode(status))
        deadline.set()

    thread = threading.Thread(target=waiter, daemon=True)
    thread.start()
    if not deadline.wait(timeout):
        os.kill(pid, 9)
        thread.join()
        return None
    return result[0]


def busy_logger(tmp_path, stop: threading.Event, threads: int):
    """A logger and ``threads`` threads logging into it until ``stop`` is set."""
    logger = hypertuner.Logger(name="parent", dir=tmp_path, flush_every=0.001)
    counts = [0] * threads

    def work(k: int) -> None:
        while not stop.is_set():
            logger.log({f"t{k}": float(counts[k])}, counts[k])
            counts[k] += 1

    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    return logger, workers, counts


@pytest.mark.parametrize("queue", ["default queue", "small queue"])
@pytest.mark.parametrize(("threads", "forks"), [(0, 100), (1, 60)])
def test_forked_children_leave_the_parents_run_alone(tmp_path, threads, forks, queue, monkeypatch):
    """Children forked while the parent logs (and flushes every millisecond) neither hang nor
    write, close or mark the parent's run; it reopens with exactly the parent's points. Also
    with a queue so small that the parent's flush thread is draining it at most forks."""
    if queue == "small queue":
        monkeypatch.setattr(logger_module, "DRAIN_AT", 16)
        monkeypatch.setattr(logger_module, "DRAIN_LIMIT", 128)
    stop = threading.Event()
    logger, workers, counts = busy_logger(tmp_path, stop, threads)
    step = 0
    outcomes = []
    for _ in range(forks):
        for _ in range(50):
            logger.log({"x": float(step)}, step)
            step += 1
        outcomes.append(wait_child(fork_and_exit(logger)))
    assert outcomes == [CHILD_OK] * forks  # none hung (None) or failed a check (3)
    assert hypertuner.load(logger.path).status == "running"  # no child marked it
    stop.set()
    for worker in workers:
        worker.join()
    logger.close()

    run = hypertuner.load(logger.path)
    assert run.status == "finished"
    np.testing.assert_array_equal(run["x"].steps, np.arange(step, dtype=np.float64))
    np.testing.assert_array_equal(run["x"].values, np.arange(step, dtype=np.float64))
    for k, count in enumerate(counts):
        np.testing.assert_array_equal(run[f"t{k}"].values, np.arange(count, dtype=np.float64))


def _pool_worker(_: int) -> int:
    """In a fork-started pool worker: the inherited logger is detached."""
    logger = _SHARED["logger"]
    child_checks(logger)
    return os.getpid()


_SHARED: dict[str, hypertuner.Logger] = {}


def test_multiprocessing_fork_pool_workers_leave_the_run_alone(tmp_path):
    """Fork-started pool workers (as DataLoader's) inherit the logger harmlessly."""
    logger = hypertuner.Logger(name="pool", dir=tmp_path, flush_every=0.01)
    for i in range(1000):
        logger.log({"x": float(i)}, i)
    _SHARED["logger"] = logger
    try:
        # One task per worker, so each is a fresh fork that warns once.
        with multiprocessing.get_context("fork").Pool(4, maxtasksperchild=1) as pool:
            pids = pool.map(_pool_worker, range(16))
    finally:
        _SHARED.clear()
    assert os.getpid() not in pids
    for i in range(1000, 2000):
        logger.log({"x": float(i)}, i)
    logger.close()
    run = hypertuner.load(logger.path)
    assert run.status == "finished"
    np.testing.assert_array_equal(run["x"].values, np.arange(2000, dtype=np.float64))
