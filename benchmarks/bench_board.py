"""Benchmark the notebook board: what drawing costs the training loop.

Prints, measured side by side in one run:

1. ``log()`` µs per call of a 5-float dict inside a real IPython kernel (started with
   jupyter_client), with the board displayed and without it, and their ratio
   (target: at most 1.5x). The kernel sends every widget message as it would to
   JupyterLab; nobody draws them, so this is the kernel's share of the cost.
2. Bytes per redraw for one line as the series grows from 1 thousand to 10 million
   points (target: flat, since each line is decimated to ~2,000 points).
   Then what one redraw costs the kernel after 1,000 new points, per series length:
   seconds and the peak of memory allocated, next to decimating the whole series
   anew (``minmax`` and ``bucket_means``, what a redraw did before the buckets
   became stable). Target: flat in the series length (O(new + drawn points)).
3. Opening a 10-million-point run and building its board, which decimates every
   chart and serialises the first message (target: under 2 s).
4. Opening a comparison of 300 runs, and one refresh of it (target: under 2 s).

Run ``python benchmarks/bench_board.py`` (``--quick`` for a short smoke run).
Timings are the best of a few repetitions: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

KERNEL_CODE = """
import time, tempfile, hypertuner
folder = tempfile.mkdtemp()

def per_call(display, calls):
    logger = hypertuner.Logger(dir=folder, display=display)
    start = time.perf_counter()
    for i in range(calls):
        logger.log({"train/loss": 1.0 / (i + 1), "train/acc": i * 1e-6, "val/loss": 0.5,
                    "lr": 0.001, "grad_norm": 2.0}, i)
    logger.close()
    return (time.perf_counter() - start) / calls * 1e6

def best(display, calls, repeat):
    return min(per_call(display, calls) for _ in range(repeat))

def per_call_wide(display, calls, width):
    # A model's size: per-layer metrics, every one changing at every step.
    names = [f"layer_{k // 16}/grad_norm_{k}" for k in range(width)]
    logger = hypertuner.Logger(dir=folder, display=display)
    start = time.perf_counter()
    for i in range(calls):
        logger.log({name: 1.0 / (i + k + 1) for k, name in enumerate(names)}, i)
    logger.close()
    return (time.perf_counter() - start) / calls * 1e6
"""


def kernel_ratio(calls: int, repeat: int, width: int = 5) -> tuple[float, float]:
    """µs per log() of ``width`` keys without and with the board, measured inside one
    real kernel (5: the dict of ``per_call``; more: ``per_call_wide``)."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3")
    try:
        client.execute_interactive(KERNEL_CODE, timeout=120, output_hook=lambda msg: None)
        results: dict[str, float] = {}

        def keep(msg: dict) -> None:
            if msg["msg_type"] == "execute_result":
                results["value"] = float(msg["content"]["data"]["text/plain"])

        timings = {True: [], False: []}
        for _ in range(repeat):  # interleaved, so drift hits both alike
            for display in (False, True):
                code = (
                    f"per_call({display}, {calls})"
                    if width == 5
                    else f"per_call_wide({display}, {calls}, {width})"
                )
                client.execute_interactive(code, timeout=600, output_hook=keep)
                timings[display].append(results["value"])
        return min(timings[False]), min(timings[True])
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


class _Comm:
    """Stands in for a kernel comm and counts the bytes of each message."""

    kernel = "bench"

    def __init__(self, **kwargs: object) -> None:
        self.comm_id = str(kwargs.get("comm_id") or id(self))
        self.sizes: list[int] = []

    def send(self, data=None, metadata=None, buffers=None) -> None:  # noqa: ANN001
        self.sizes.append(sum(memoryview(b).nbytes for b in buffers or []))

    def open(self, *args: object, **kwargs: object) -> None:
        pass

    def on_msg(self, callback: object) -> None:
        pass

    def close(self, *args: object, **kwargs: object) -> None:
        pass


def redraw_bytes(lengths: list[int], folder: Path) -> list[tuple[int, int]]:
    """Binary bytes sent by one redraw of a one-line board, per series length."""
    import ipywidgets.comm

    import hypertuner
    from hypertuner.board import board_for

    ipywidgets.comm.create_comm = lambda **kwargs: _Comm(**kwargs)
    rows = []
    for length in lengths:
        logger = hypertuner.Logger(dir=folder, display=False, flush_every=3600)
        values = np.random.default_rng(0).normal(size=length)
        steps = np.arange(length, dtype=float)
        # Fill the store directly: this measures drawing, not logging.
        logger.log({"loss": 0.0}, 0)
        logger["loss"].extend(steps, steps, values)
        board = board_for(logger)
        board.redraw(full=True)
        rows.append((length, board._engine.comm.sizes[-1]))
        logger.close()
    return rows


def redraw_cost(lengths: list[int], folder: Path, repeat: int) -> list[tuple[int, ...]]:
    """Per length: (length, s and bytes of one redraw after 1,000 new points, s and
    bytes of decimating the whole series anew), best of ``repeat``."""
    import tracemalloc

    import ipywidgets.comm

    import hypertuner
    from hypertuner.board import board_for
    from hypertuner.downsample import bucket_means, minmax

    ipywidgets.comm.create_comm = lambda **kwargs: _Comm(**kwargs)
    rows = []
    for length in lengths:
        logger = hypertuner.Logger(dir=folder, display=False, flush_every=3600)
        values = np.random.default_rng(0).normal(size=length + 1000 * (2 * repeat + 1))
        steps = np.arange(len(values), dtype=float)
        logger.log({"loss": 0.0}, 0)
        series = logger["loss"]
        series.extend(steps[1:length], steps[1:length], values[1:length])
        board = board_for(logger)
        board.redraw(full=True)
        at = length
        seconds, peaks = [], []
        for traced in [False] * repeat + [True] * repeat:
            series.extend(steps[at : at + 1000], steps[at : at + 1000], values[at : at + 1000])
            at += 1000
            if traced:
                tracemalloc.start()
            start = time.perf_counter()
            board.redraw()
            took = time.perf_counter() - start
            if traced:
                peaks.append(tracemalloc.get_traced_memory()[1])
                tracemalloc.stop()
            else:
                seconds.append(took)
        whole = series.values
        anew = []
        for _ in range(repeat):
            start = time.perf_counter()
            minmax(whole, 2000), bucket_means(whole, 2000)
            anew.append(time.perf_counter() - start)
        tracemalloc.start()
        minmax(whole, 2000), bucket_means(whole, 2000)
        anew_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rows.append((length, min(seconds), min(peaks), min(anew), anew_peak))
        logger.close()
    return rows


def open_and_draw(points: int, folder: Path, repeat: int) -> tuple[float, float]:
    """Seconds to load a run of ``points`` numeric points and build its board."""
    import ipywidgets.comm

    import hypertuner
    from hypertuner.board.board import Board

    ipywidgets.comm.create_comm = lambda **kwargs: _Comm(**kwargs)
    keys = 5
    calls = points // keys
    with hypertuner.Logger(dir=folder, display=False, flush_every=3600) as logger:
        base = np.random.default_rng(1).normal(size=calls)
        for key in range(keys):
            logger.log({f"train/metric_{key}": 0.0}, 0)
        for key in range(keys):
            series = logger[f"train/metric_{key}"]
            steps = np.arange(1, calls, dtype=float)
            series.extend(steps, steps, base[1:] + key)
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        run = hypertuner.load(logger.path)
        board = Board(run)
        timings.append(time.perf_counter() - start)
        assert run.points == points and len(board._charts) == keys
    load_only = []
    for _ in range(repeat):
        start = time.perf_counter()
        run = hypertuner.load(logger.path)
        _ = [run[key].values for key in run]
        load_only.append(time.perf_counter() - start)
    return min(timings), min(load_only)


def compare_many(count: int, folder: Path) -> tuple[float, float]:
    """Seconds to open a comparison of ``count`` runs, and to refresh it once."""
    import ipywidgets.comm

    import hypertuner

    ipywidgets.comm.create_comm = lambda **kwargs: _Comm(**kwargs)
    steps = np.arange(1000, dtype=float)
    for i in range(count):
        lr = 10 ** -(1 + i % 4)
        with hypertuner.Logger(dir=folder, params={"lr": lr, "seed": i}, display=False) as logger:
            for key in ("train/loss", "val/loss", "val/acc"):
                logger.log({key: 1.0}, 0)
                logger[key].extend(steps[1:], steps[1:], np.exp(-steps[1:] * lr))
    start = time.perf_counter()
    view = hypertuner.compare(folder, follow=False)
    opened = time.perf_counter() - start
    start = time.perf_counter()
    view.refresh()
    refreshed = time.perf_counter() - start
    view.close()
    return opened, refreshed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args()
    calls = 20_000 if args.quick else 1_000_000
    repeat = 2 if args.quick else 3
    big = 1_000_000 if args.quick else 10_000_000
    lengths = [1_000, 100_000, 1_000_000] if args.quick else [1_000, 100_000, 1_000_000, 10_000_000]

    print("hypertuner board benchmark" + (" (quick)" if args.quick else ""))
    print(f"best of {repeat} interleaved repetitions\n")
    plain, shown = kernel_ratio(calls, repeat)
    ratio = shown / plain
    print(f"1. log() of a 5-float dict in a kernel, {calls:,} calls (close included)")
    print(f"   without a board        {plain:8.2f} µs/call")
    print(f"   with the board shown   {shown:8.2f} µs/call")
    verdict = "PASS" if ratio <= 1.5 else "MISS"
    print(f"   ratio                  {ratio:8.2f}x   target <= 1.5x  {verdict}\n")

    print("1b. log() of many keys in a kernel, unpaced (drawing's largest share), no browser")
    print(f"   {'keys':>5} {'calls':>8}   {'no board':>10} {'board shown':>12}   ratio")
    for width, wide_calls in (
        (64, 2_000 if args.quick else 30_000),
        (500, 500 if args.quick else 4_000),
    ):
        plain, shown = kernel_ratio(wide_calls, repeat, width)
        print(
            f"   {width:>5} {wide_calls:>8,}   {plain:8.1f}µs {shown:10.1f}µs   "
            f"{shown / plain:5.2f}x   target <= 1.2x  {'PASS' if shown <= 1.2 * plain else 'MISS'}"
        )
    print()

    with tempfile.TemporaryDirectory() as tmp:
        rows = redraw_bytes(lengths, Path(tmp))
        print("2. bytes of one redraw of one line")
        for length, size in rows:
            print(f"   {length:>12,} points   {size:>8,} bytes")
        flat = rows[-1][1] <= rows[1][1] * 1.05
        print(f"   flat beyond the budget: {'PASS' if flat else 'MISS'}\n")

        costs = redraw_cost(lengths, Path(tmp), repeat)
        print("2b. one redraw in the kernel after 1,000 new points, next to decimating anew")
        print(f"   {'points':>12}   {'redraw':>9} {'peak MB':>8}   {'anew':>9} {'peak MB':>8}")
        for length, took, peak, anew, anew_peak in costs:
            print(
                f"   {length:>12,}   {took * 1e3:7.2f}ms {peak / 1e6:8.2f}   "
                f"{anew * 1e3:7.2f}ms {anew_peak / 1e6:8.2f}"
            )
        flat = costs[-1][1] <= 5 * costs[1][1]
        print(f"   redraw flat in the series length: {'PASS' if flat else 'MISS'}\n")

        seconds, load_only = open_and_draw(big, Path(tmp), repeat)
        limit = 2.0 * big / 10_000_000
        print(f"3. open a {big:,}-point run (5 keys) and build its board")
        print(
            f"   load + decimate + first message   {seconds:6.3f} s   target < {limit:.1f} s  "
            f"{'PASS' if seconds < limit else 'MISS'}"
        )
        print(f"   of which reading the points        {load_only:6.3f} s\n")

    with tempfile.TemporaryDirectory() as tmp:
        count = 60 if args.quick else 300
        opened, refreshed = compare_many(count, Path(tmp))
        print(f"4. compare {count} runs (3 keys x 1,000 points each)")
        print(
            f"   open the view (table, summaries, overlay)  {opened:6.3f} s   target < 2 s  "
            f"{'PASS' if opened < 2 else 'MISS'}"
        )
        print(f"   one follow refresh                         {refreshed:6.3f} s")


if __name__ == "__main__":
    main()
