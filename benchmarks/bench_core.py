"""Core benchmark of hypertuner: the cost of ``log()``, bytes on disk and in memory, reopening.

What it measures, all in one run and printed as one table:

1. ``Logger.log()`` in microseconds per call, for a dict of 5 floats and one of 50
   floats (keys ``train/loss_0`` ...). Everything is counted: the wall time from
   creating the Logger through N calls and ``close()`` (so background flushes and
   the final flush are included), divided by N.
2. The same points, side by side, written by
   (a) a plain Python baseline that builds the same dict and packs the step and the
       values with a precompiled ``struct.Struct`` into a buffered binary file, and
   (b) tensorboardX's ``SummaryWriter.add_scalar`` once per key (N/20 calls, as it
       is slow), in microseconds per ``log`` call (all keys of one call),
   with the ratios hypertuner / baseline and tensorboardX / hypertuner.
   Then the latency of single calls: each of N 5-key calls timed on its own
   (``perf_counter_ns`` around the call, the drains by the background thread, the
   flushes and the garbage collector all running as they would), in fresh processes;
   the median over the processes of the p50, p99, p99.9 and p99.99 and the longest
   call, with the target p99.9 <= 10x p50 (no call stalls for a drain).
3. Bytes on disk per point: ``points.htr`` + ``run.json`` over the points logged
   (the 5-key run).
4. Memory per point: bytes held by the series after the run (sum of
   ``Series.nbytes()`` over keys, over the points), and the peak traced by
   ``tracemalloc`` from before the Logger is created to after ``close()``. Tracing
   slows Python down, so this is a separate pass, never mixed with the timings.
   The peak is mostly the buffers of a flush, so it depends on how many calls one
   flush carries: tracing slows logging several times, so this pass flushes more
   often than an untraced run and its peak can be lower than an untraced run's.
5. Reopening 10 million points (1 million with ``--quick``): ``hypertuner.load``
   plus touching every key's ``.values`` (points are read on first access), next
   to ``np.fromfile`` of the same points file, the floor for getting those bytes
   into memory. The file was just written, so it is in the page cache: this times
   reading and checking, not a cold disk. Peak memory of both is traced by
   ``tracemalloc`` in a fresh process each, over the size of the data.

Each timing is repeated (3 times by default), the contenders interleaved, and the
best (minimum) is reported: on a shared machine the minimum is the run least
disturbed by others. Each figure is printed with its design target and PASS or
MISS. A miss is reported, never raised: the exit status is 0 either way.

Run it from the repository root::

    python benchmarks/bench_core.py            # full run, about 40 s on 2 cores
    python benchmarks/bench_core.py --quick    # short run, the CI smoke test

Runs are written to a temporary folder that is removed at the end.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import hypertuner

try:
    import tensorboardX
    from tensorboardX import SummaryWriter
except ImportError:
    tensorboardX = None
    SummaryWriter = None

# Design targets.
MAX_LOG_VS_BASELINE = 2.0  # log() within 2x of the plain Python baseline
MAX_TAIL_VS_MEDIAN = 10.0  # p99.9 of a 5-key log() within 10x of its median
MIN_PEER_VS_LOG = 10.0  # ... and at least 10x faster than the fastest peer
MAX_HELD_BYTES = 32.0  # bytes held in memory per numeric point
MAX_DISK_BYTES = 28.0  # bytes on disk per numeric point
MAX_REOPEN_SECONDS = 1.0  # reopen 10 million points
MAX_REOPEN_VS_FROMFILE = 1.5  # ... within 1.5x of np.fromfile of the same bytes
MAX_REOPEN_MEMORY = 1.2  # ... with a peak of at most 1.2x the data's size

KEY_COUNTS = (5, 50)
PEER_FRACTION = 20  # tensorboardX makes N / 20 calls


@dataclass(frozen=True)
class Sizes:
    """How much work one run of the benchmark does."""

    calls: dict[int, int]  # key count -> log() calls for hypertuner and the baseline
    reopen_points: int
    latency_calls: int  # 5-key calls timed one by one, per process


FULL = Sizes(calls={5: 200_000, 50: 50_000}, reopen_points=10_000_000, latency_calls=300_000)
QUICK = Sizes(calls={5: 20_000, 50: 5_000}, reopen_points=1_000_000, latency_calls=30_000)


def metric_keys(count: int) -> list[tuple[str, float]]:
    """(key, weight) pairs; a call logs ``weight * x`` under each key."""
    return [(f"train/loss_{i}", 1.0 + i / count) for i in range(count)]


# -- 1-2. log() cost ------------------------------------------------------------------
#
# The three writers build the same dict the same way, inline (a helper function
# would add a call per log). Each returns the seconds from creating its writer
# through closing it.


def log_run(
    folder: Path, name: str, keys: list[tuple[str, float]], calls: int
) -> tuple[float, Path]:
    """Log ``calls`` calls into a new run; return the seconds it took and the run's path."""
    start = time.perf_counter()
    logger = hypertuner.Logger(name, dir=folder)
    log = logger.log
    for step in range(calls):
        x = step * 1e-3
        log({key: x * w for key, w in keys}, step)
    logger.close()
    return time.perf_counter() - start, logger.path


def time_hypertuner(folder: Path, keys: list[tuple[str, float]], calls: int) -> float:
    return log_run(folder, "bench", keys, calls)[0]


def time_baseline(folder: Path, keys: list[tuple[str, float]], calls: int) -> float:
    pack = struct.Struct("<d" + "d" * len(keys)).pack
    folder.mkdir(parents=True)
    start = time.perf_counter()
    with open(folder / "points.bin", "wb") as handle:
        write = handle.write
        for step in range(calls):
            x = step * 1e-3
            d = {key: x * w for key, w in keys}
            write(pack(step, *d.values()))
    return time.perf_counter() - start


def time_tensorboardx(folder: Path, keys: list[tuple[str, float]], calls: int) -> float:
    start = time.perf_counter()
    writer = SummaryWriter(logdir=str(folder))
    add_scalar = writer.add_scalar
    for step in range(calls):
        x = step * 1e-3
        d = {key: x * w for key, w in keys}
        for key, value in d.items():
            add_scalar(key, value, step)
    writer.close()
    return time.perf_counter() - start


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def measure_log(root: Path, sizes: Sizes, repeat: int) -> tuple[dict, dict]:
    """Best µs per call of each (writer, key count), and the disk use of the first runs."""
    writers: dict[str, Callable[[Path, list, int], float]] = {
        "hypertuner": time_hypertuner,
        "baseline": time_baseline,
    }
    if SummaryWriter is not None:
        writers["tensorboardX"] = time_tensorboardx
    best: dict[tuple[str, int], float] = {}
    disk: dict[tuple[str, int], tuple[int, int]] = {}  # -> (bytes, points)
    for rep in range(repeat):
        for count in KEY_COUNTS:
            keys = metric_keys(count)
            for name, timer in writers.items():
                calls = sizes.calls[count]
                if name == "tensorboardX":
                    calls //= PEER_FRACTION
                folder = root / f"{name}-{count}-{rep}"
                gc.collect()
                seconds = timer(folder, keys, calls)
                per_call = seconds / calls * 1e6
                best[name, count] = min(per_call, best.get((name, count), per_call))
                if rep == 0:
                    disk[name, count] = (folder_bytes(folder), calls * count)
                shutil.rmtree(folder)
    return best, disk


# The latency of each of N calls, in a fresh process: what a training loop sees per step.
LATENCY_CHILD = r"""
import json, struct, sys, tempfile, time
import numpy as np
import hypertuner
calls = int(sys.argv[1])
keys = [(f"train/loss_{i}", 1.0 + i / 5) for i in range(5)]
now = time.perf_counter_ns
taken = np.empty(calls, np.int64)
with tempfile.TemporaryDirectory() as folder:
    logger = hypertuner.Logger("latency", dir=folder)
    log = logger.log
    for step in range(calls):
        x = step * 1e-3
        values = {key: x * w for key, w in keys}
        started = now()
        log(values, step)
        taken[step] = now() - started
    logger.close()
# The baseline's writes, timed the same way: the tail the machine itself adds.
pack = struct.Struct("<dddddd").pack
base = np.empty(calls, np.int64)
with tempfile.TemporaryDirectory() as folder, open(folder + "/points.bin", "wb") as handle:
    write = handle.write
    for step in range(calls):
        x = step * 1e-3
        values = {key: x * w for key, w in keys}
        started = now()
        write(pack(step, *values.values()))
        base[step] = now() - started
timer = np.empty(10_000, np.int64)  # what the timing itself costs
for i in range(len(timer)):
    started = now()
    timer[i] = now() - started
figures = {}
for name, times in (("log", taken), ("baseline", base)):
    us = times / 1000
    found = np.percentile(us, [50, 99, 99.9, 99.99])
    figures[name] = dict(zip(["p50", "p99", "p99.9", "p99.99"], found), max=float(us.max()))
figures["timer"] = float(np.median(timer)) / 1000
print(json.dumps(figures))
"""


def measure_latency(calls: int, repeat: int) -> dict:
    """The median over ``repeat`` fresh processes of each latency percentile, in µs."""
    runs = []
    for _ in range(repeat):
        result = subprocess.run(
            [sys.executable, "-c", LATENCY_CHILD, str(calls)],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(result.stdout))
    median = {
        who: {name: float(np.median([run[who][name] for run in runs])) for name in runs[0][who]}
        for who in ("log", "baseline")
    }
    median["timer"] = float(np.median([run["timer"] for run in runs]))
    return median


# -- 3. bytes on disk ---------------------------------------------------------------------


def measure_disk(root: Path, calls: int) -> tuple[int, int, int]:
    """(points.htr bytes, run.json bytes, points) of a 5-key run."""
    logger = hypertuner.Logger("disk", dir=root)
    keys = metric_keys(5)
    for step in range(calls):
        x = step * 1e-3
        logger.log({key: x * w for key, w in keys}, step)
    logger.close()
    data = (logger.path / "points.htr").stat().st_size
    info = (logger.path / "run.json").stat().st_size
    points = logger.points
    shutil.rmtree(logger.path)
    return data, info, points


# -- 4. memory ----------------------------------------------------------------------------


def measure_memory(root: Path, calls: int) -> tuple[int, int, int]:
    """(bytes held by the series, tracemalloc peak, points) of a 5-key run."""
    keys = metric_keys(5)
    gc.collect()
    tracemalloc.start()
    logger = hypertuner.Logger("memory", dir=root)
    for step in range(calls):
        x = step * 1e-3
        logger.log({key: x * w for key, w in keys}, step)
    logger.close()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    points = logger.points
    held = sum(series.nbytes() for series in logger.values())
    shutil.rmtree(logger.path)
    return held, peak, points


# -- 5. reopening -------------------------------------------------------------------------


def measure_reopen(root: Path, points: int, repeat: int) -> dict:
    """Write ``points`` points (5 keys a call), then time reopening them and np.fromfile."""
    keys = metric_keys(5)
    calls = points // len(keys)
    write_seconds, path = log_run(root, "reopen", keys, calls)
    gc.collect()  # free the writer's copy of the points before reading them back
    data_file = path / "points.htr"

    times, fromfile = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        data = np.fromfile(data_file, np.uint8)
        fromfile.append(time.perf_counter() - start)
        del data
        gc.collect()
        start = time.perf_counter()
        run = hypertuner.load(path)
        read = sum(len(run[key].values) for key in run)
        times.append(time.perf_counter() - start)
        assert read == calls * len(keys), (read, calls * len(keys))
        held = sum(series.nbytes() for series in run.values())
        del run
        gc.collect()
    file_bytes = data_file.stat().st_size
    peaks = {which: reopen_peak(which, path) for which in ("hypertuner", "fromfile")}
    shutil.rmtree(path)
    return {
        "points": calls * len(keys),
        "write_seconds": write_seconds,
        "times": times,
        "fromfile": fromfile,
        "file_bytes": file_bytes,
        "held": held,
        "peaks": peaks,
    }


# The peak of one reopen, traced in a fresh process so nothing earlier counts.
PEAK_CHILD = """
import sys, tracemalloc
import numpy as np
import hypertuner
which, path = sys.argv[1], sys.argv[2]
tracemalloc.start()
if which == "hypertuner":
    run = hypertuner.load(path)
    read = sum(len(run[key].values) for key in run)
else:
    data = np.fromfile(path + "/points.htr", np.uint8)
print(tracemalloc.get_traced_memory()[1])
"""


def reopen_peak(which: str, path: Path) -> int:
    """Peak bytes traced while ``which`` ("hypertuner" or "fromfile") reads the run."""
    result = subprocess.run(
        [sys.executable, "-c", PEAK_CHILD, which, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(result.stdout)


# -- report -------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def row(label: str, *cells: str, note: str = "") -> str:
    """One table line: a label, right-aligned cells, then the target and verdict."""
    line = "  " + label.ljust(34) + "".join(cell.rjust(18) for cell in cells)
    return line + ("   " + note if note else "")


def report_log(best: dict, sizes: Sizes) -> None:
    def cells(name: str, digits: int) -> list[str]:
        return [f"{best[name, count]:.{digits}f}" for count in KEY_COUNTS]

    print("1-2. log() cost, µs per call: creating the writer, N calls and close(), over N")
    print(row("", *(f"{count} floats" for count in KEY_COUNTS)))
    print(row("calls: hypertuner and baseline", *(f"{sizes.calls[c]:,}" for c in KEY_COUNTS)))
    if SummaryWriter is not None:
        peer_calls = (f"{sizes.calls[c] // PEER_FRACTION:,}" for c in KEY_COUNTS)
        print(row("calls: tensorboardX", *peer_calls))
    print(row("hypertuner Logger.log", *cells("hypertuner", 2)))
    print(row("baseline: struct.pack to a file", *cells("baseline", 2)))
    if SummaryWriter is not None:
        print(row("tensorboardX add_scalar per key", *cells("tensorboardX", 1)))

    ratios = []
    for count in KEY_COUNTS:
        ratio = best["hypertuner", count] / best["baseline", count]
        ratios.append(f"{ratio:.2f}x {verdict(ratio <= MAX_LOG_VS_BASELINE)}")
    print(row("hypertuner / baseline", *ratios, note=f"target <= {MAX_LOG_VS_BASELINE:g}x"))
    if SummaryWriter is None:
        print(row("tensorboardX / hypertuner", *("skipped" for _ in KEY_COUNTS)))
        return
    ratios = []
    for count in KEY_COUNTS:
        ratio = best["tensorboardX", count] / best["hypertuner", count]
        ratios.append(f"{ratio:.0f}x {verdict(ratio >= MIN_PEER_VS_LOG)}")
    print(row("tensorboardX / hypertuner", *ratios, note=f"target >= {MIN_PEER_VS_LOG:g}x"))


def report_latency(latency: dict, calls: int, repeat: int) -> None:
    print(
        f"1b. log() latency, 5 floats: each of {calls:,} calls timed alone, "
        f"median over {repeat} fresh processes (µs)"
    )
    print(row("", "p50", "p99", "p99.9", "p99.99", "longest"))
    names = ("p50", "p99", "p99.9", "p99.99", "max")
    for label, who in (
        ("hypertuner Logger.log", "log"),
        ("baseline: struct.pack write", "baseline"),
    ):
        print(row(label, *(f"{latency[who][name]:.2f}" for name in names)))
    ratio = latency["log"]["p99.9"] / latency["log"]["p50"]
    target = f"target <= {MAX_TAIL_VS_MEDIAN:g}x  {verdict(ratio <= MAX_TAIL_VS_MEDIAN)}"
    print(row("p99.9 / p50", f"{ratio:.1f}x", note=target))
    floor = latency["baseline"]["p99.9"] / latency["baseline"]["p50"]
    print(row("... of the baseline (the machine)", f"{floor:.1f}x"))
    print(row("the timing itself (an empty pair)", f"{latency['timer']:.2f}"))


def report_disk(disk: tuple[int, int, int], peer_disk: dict, calls: int) -> None:
    data_bytes, info_bytes, points = disk
    per_point = (data_bytes + info_bytes) / points
    print(f"3. Disk, 5-float run of {calls:,} calls ({points:,} points)")
    print(row("points.htr + run.json, bytes", f"{data_bytes:,} + {info_bytes:,}"))
    target = f"target <= {MAX_DISK_BYTES:g}  {verdict(per_point <= MAX_DISK_BYTES)}"
    print(row("bytes per point", f"{per_point:.2f}", note=target))
    for count in KEY_COUNTS:
        if ("tensorboardX", count) in peer_disk:
            size, peer_points = peer_disk["tensorboardX", count]
            label = f"tensorboardX, {count} floats (compare)"
            print(row(label, f"{size / peer_points:.2f}"))


def report_memory(memory: tuple[int, int, int], calls: int) -> None:
    held, peak, points = memory
    per_point = held / points
    print(f"4. Memory, 5-float run of {calls:,} calls (a separate pass, under tracemalloc)")
    target = f"target <= {MAX_HELD_BYTES:g}  {verdict(per_point <= MAX_HELD_BYTES)}"
    print(row("held per point: Series.nbytes()", f"{per_point:.2f}", note=target))
    print(row("peak per point while logging", f"{peak / points:.2f}", note="(no target)"))


def report_reopen(reopen: dict, repeat: int) -> None:
    points = reopen["points"]
    best = min(reopen["times"])
    floor = min(reopen["fromfile"])
    ratio = best / floor
    limit = MAX_REOPEN_SECONDS * points / 10_000_000  # the target, scaled for --quick
    scaled = "" if points == 10_000_000 else " (1 s per 10M points, scaled)"
    print(
        f"5. Reopen {points:,} points: load() and every key's .values, next to np.fromfile "
        f"of the same file, best of {repeat} interleaved (the file is in the page cache)"
    )
    target = f"target < {limit:g}  {verdict(best < limit)}{scaled}"
    print(row("hypertuner, seconds", f"{best:.3f}", note=target))
    print(row("np.fromfile, seconds", f"{floor:.3f}"))
    # Checking every record's CRC-32 costs more than copying its bytes; at 10M points
    # both sides also pay for fresh memory, which is what the target is set for.
    at = "" if points == 10_000_000 else " (set for 10M points: fixed costs weigh more here)"
    target = (
        f"target <= {MAX_REOPEN_VS_FROMFILE:g}x  {verdict(ratio <= MAX_REOPEN_VS_FROMFILE)}{at}"
    )
    print(row("hypertuner / np.fromfile", f"{ratio:.2f}x", note=target))
    data = reopen["file_bytes"]
    peak = reopen["peaks"]["hypertuner"] / data
    floor_peak = reopen["peaks"]["fromfile"] / data
    target = f"target <= {MAX_REOPEN_MEMORY:g}  {verdict(peak <= MAX_REOPEN_MEMORY)}"
    print(row("peak memory / data, hypertuner", f"{peak:.2f}", note=target))
    print(row("peak memory / data, np.fromfile", f"{floor_peak:.2f}"))
    print(row("peak, hypertuner / np.fromfile", f"{peak / floor_peak:.2f}x"))
    print(row("points per second", f"{points / best / 1e6:.1f} M"))
    print(row("every repetition: hypertuner", " ".join(f"{t:.3f}" for t in reopen["times"])))
    print(row("every repetition: np.fromfile", " ".join(f"{t:.3f}" for t in reopen["fromfile"])))
    print(row("points.htr, MB", f"{data / 1e6:.0f}"))
    print(row("held per point after reopen", f"{reopen['held'] / points:.2f}"))
    print(row("writing them took, seconds", f"{reopen['write_seconds']:.1f}"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time hypertuner's log(), measure its bytes on disk and in memory, "
        "and time reopening a large run; print figures next to their targets."
    )
    parser.add_argument(
        "--quick", action="store_true", help="a short run (seconds), for the CI smoke test"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="repetitions of each timing; the best is kept (3)"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    sizes = QUICK if args.quick else FULL
    began = time.perf_counter()

    kind = "quick" if args.quick else "full"
    peer = f"tensorboardX {tensorboardX.__version__}" if tensorboardX else "no tensorboardX"
    print(f"hypertuner {hypertuner.__version__} core benchmark ({kind} run)")
    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, {peer}, "
        f"{os.cpu_count()} CPUs, {platform.platform()}"
    )
    print(
        f"Timings: best (minimum) of {args.repeat} interleaved repetitions, to damp the noise "
        "of a shared machine."
    )
    if SummaryWriter is None:
        print("tensorboardX not installed: skipped")
    sys.stdout.flush()

    with tempfile.TemporaryDirectory(prefix="hypertuner-bench-") as tmp:
        root = Path(tmp)
        best, peer_disk = measure_log(root, sizes, args.repeat)
        latency = measure_latency(sizes.latency_calls, args.repeat)
        disk = measure_disk(root, sizes.calls[5])
        memory = measure_memory(root, sizes.calls[5])
        reopen = measure_reopen(root, sizes.reopen_points, args.repeat)

    print()
    report_log(best, sizes)
    print()
    report_latency(latency, sizes.latency_calls, args.repeat)
    print()
    report_disk(disk, peer_disk, sizes.calls[5])
    print()
    report_memory(memory, sizes.calls[5])
    print()
    report_reopen(reopen, args.repeat)
    print()
    print(f"Total benchmark time: {time.perf_counter() - began:.1f} s")
    return 0  # a benchmark reports; a miss is not a failure


if __name__ == "__main__":
    sys.exit(main())
