"""Several threads logging at once lose nothing and never mix kinds.

The interpreter switches threads every microsecond here, so that two threads defining
the same new key, or a flush and a drain, really do interleave.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter

import numpy as np
import pytest

import hypertuner
from hypertuner import logger as logger_module

THREADS = 8
CALLS = 1500


@pytest.fixture
def switch_often():
    """Switch threads every microsecond during the test, then restore the interval."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


@pytest.fixture(params=["default queue", "small queue"])
def queue_size(request, monkeypatch):
    """The logger's own queue thresholds, or tiny ones: the flush thread then drains every
    few calls, and log() itself past a few hundred, while the threads log."""
    if request.param == "small queue":
        monkeypatch.setattr(logger_module, "DRAIN_AT", 64)
        monkeypatch.setattr(logger_module, "DRAIN_LIMIT", 512)
    return request.param


def test_eight_threads_lose_no_point_and_define_each_key_once(tmp_path, switch_often, queue_size):
    """Threads logging shared keys, their own keys and keys all of them define at once keep
    every accepted point, exactly once, in memory and on disk; a key two threads try to
    give different kinds keeps one kind and refuses the other's calls. Also when the queue
    is drained every few calls, by the flush thread and by log() at once."""
    logger = hypertuner.Logger(name="threads", dir=tmp_path, flush_every=0.001)
    start = threading.Barrier(THREADS)
    accepted: list[Counter] = [Counter() for _ in range(THREADS)]
    refused = [0] * THREADS
    failures: list[BaseException] = []

    def work(k: int) -> None:
        try:
            start.wait()
            for i in range(CALLS):
                values = {"shared": float(i), f"own/{k}": float(k), f"new/{i % 64}": float(i)}
                logger.log(values, i)
                accepted[k].update(values.keys())
                # Even threads log "clash" as a number, odd ones as text: whichever
                # kind is defined first must win, for every thread.
                clash = {"clash": float(i) if k % 2 == 0 else f"text {i}"}
                try:
                    logger.log(clash, i)
                except hypertuner.InvalidValueError:
                    refused[k] += 1
                else:
                    accepted[k].update(clash.keys())
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    logger.close()

    expected = sum(accepted, Counter())
    run = hypertuner.load(logger.path)
    assert run.status == "finished"
    on_disk = {key: len(run[key]) for key in run}
    assert on_disk == dict(expected)  # every accepted point once: none lost, none doubled
    assert {key: len(logger[key]) for key in logger} == dict(expected)
    assert sorted(run) == sorted(logger)
    clash_kind = run["clash"].kind
    assert clash_kind in ("number", "text")
    winners = [k for k in range(THREADS) if (k % 2 == 0) == (clash_kind == "number")]
    assert all(refused[k] == 0 for k in winners)
    assert all(refused[k] == CALLS for k in range(THREADS) if k not in winners)
    for key in run:  # the points on disk are the ones in memory, in the same order
        np.testing.assert_array_equal(run[key].steps, logger[key].steps)
        assert run[key].values.tolist() == logger[key].values.tolist()
    # Per thread, its own key holds its calls in order.
    for k in range(THREADS):
        np.testing.assert_array_equal(run[f"own/{k}"].steps, np.arange(CALLS, dtype=float))


def test_readers_in_other_threads_see_each_writers_points_in_order(
    tmp_path, switch_often, queue_size
):
    """Four threads log their own key while two others read every key again and again: each
    read is an exact prefix of that writer's calls, at least as long as the calls that had
    returned before the read began."""
    logger = hypertuner.Logger(name="readers", dir=tmp_path, flush_every=0.001)
    writers, calls = 4, 3000
    returned = [0] * writers
    stop = threading.Event()
    failures: list[str] = []

    def write(k: int) -> None:
        for i in range(calls):
            logger.log({f"w{k}": float(i), "shared": float(k)}, i)
            returned[k] = i + 1

    def read() -> None:
        while not stop.is_set():
            for k in range(writers):
                before = returned[k]
                if f"w{k}" not in logger:
                    continue
                values = logger[f"w{k}"].values
                if len(values) < before or not np.array_equal(values, np.arange(len(values))):
                    failures.append(f"w{k}: {len(values)} points after {before} calls")

    threads = [threading.Thread(target=write, args=(k,)) for k in range(writers)]
    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in threads + readers:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    for thread in readers:
        thread.join()
    logger.close()
    assert failures == []
    run = hypertuner.load(logger.path)
    assert len(run["shared"]) == writers * calls
    for k in range(writers):
        np.testing.assert_array_equal(run[f"w{k}"].values, np.arange(calls, dtype=np.float64))
