"""Benchmark of ``log()`` with the values real training loops pass, side by side.

Each variant logs 5 keys per call (the same 5 numbers each time, in the form the
variant names) in a fresh process, and the microseconds per call are the median of
``--repeat`` processes, including ``close()``. The ratio is to the same call with
plain Python floats, whose target is at most 1.5x. A last pair compares 1 key per
call with a raw append of the same point to a buffered binary file (target 2x).

Run it from the repository root::

    python benchmarks/bench_values.py            # 100,000 calls per variant, 5 processes
    python benchmarks/bench_values.py --quick    # the CI smoke test
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

SETUP = r"""
import collections, struct, tempfile, time
import numpy as np
import hypertuner

calls = {calls}
keys = ["loss", "acc", "lr", "grad_norm", "tokens"]
base = [0.25, 0.875, 1e-3, 1.5, 4096.0]
"""

# name -> (code making `make(step)`, which returns the call's values, and the step form)
VARIANTS = {
    "Python float": ("make = lambda i: dict(zip(keys, base))", "i"),
    "np.float64": ("v = [np.float64(x) for x in base]\nmake = lambda i: dict(zip(keys, v))", "i"),
    "np.float32": ("v = [np.float32(x) for x in base]\nmake = lambda i: dict(zip(keys, v))", "i"),
    "np.int64 and np.bool_": (
        "v = [np.int64(3), np.bool_(True), np.int32(7), np.uint8(1), np.int64(-5)]\n"
        "make = lambda i: dict(zip(keys, v))",
        "i",
    ),
    "int and float alternating": (
        "a = dict(zip(keys, [1, 2, 3, 4, 5])); b = dict(zip(keys, base))\n"
        "make = lambda i: a if i % 2 else b",
        "i",
    ),
    "nested dict": (
        "make = lambda i: {'train': {'loss': base[0], 'acc': base[1]}, "
        "'val': {'loss': base[3], 'acc': base[4]}, 'lr': base[2]}",
        "i",
    ),
    "OrderedDict": (
        "make = lambda i: collections.OrderedDict(zip(keys, base))",
        "i",
    ),
    "float step": ("make = lambda i: dict(zip(keys, base))", "i * 0.5"),
    # Kept as tensors (a detached copy each), converted per drain: no .item() per value.
    "torch 0-d tensor (CPU)": (
        "import torch\nmake = lambda i: dict(zip(keys, [torch.tensor(x) for x in base]))",
        "i",
    ),
}

RUN = r"""
with tempfile.TemporaryDirectory() as folder:
    values = [make(i) for i in range(calls)]
    steps = [{step} for i in range(calls)]
    started = time.perf_counter()
    logger = hypertuner.Logger(dir=folder, display=False)
    log = logger.log
    for i in range(calls):
        log(values[i], steps[i])
    logger.close()
    print((time.perf_counter() - started) / calls * 1e6)
"""

ONE_KEY = r"""
with tempfile.TemporaryDirectory() as folder:
    started = time.perf_counter()
    logger = hypertuner.Logger(dir=folder, display=False)
    log = logger.log
    for i in range(calls):
        log({"loss": 0.25}, i)
    logger.close()
    print((time.perf_counter() - started) / calls * 1e6)
"""

RAW = r"""
with tempfile.TemporaryDirectory() as folder:
    pack = struct.Struct("<ddd").pack
    started = time.perf_counter()
    with open(folder + "/raw.bin", "wb") as handle:
        write = handle.write
        for i in range(calls):
            values = {"loss": 0.25}
            write(pack(i, time.time(), values["loss"]))
    print((time.perf_counter() - started) / calls * 1e6)
"""


def measure(code: str, calls: int, repeat: int) -> float:
    """Median microseconds per call over ``repeat`` fresh processes."""
    times = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", SETUP.format(calls=calls) + code],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        times.append(float(out))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 calls, 1 process each")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    calls, repeat = (10_000, 1) if args.quick else (100_000, args.repeat)
    print(f"log() of 5 keys per call, µs per call, median of {repeat} processes\n")
    print(f"   {'value passed':<28}{'µs/call':>9}{'vs float':>10}   target <= 1.5x")
    plain = None
    for name, (make, step) in VARIANTS.items():
        took = measure(make + RUN.format(step=step), calls, repeat)
        plain = plain or took
        ratio = took / plain
        verdict = "" if name == "Python float" else ("PASS" if ratio <= 1.5 else "MISS")
        print(f"   {name:<28}{took:9.2f}{ratio:9.2f}x   {verdict}")
    one, raw = measure(ONE_KEY, calls, repeat), measure(RAW, calls, repeat)
    print(f"\n1 key per call: log() {one:.2f} µs, raw append {raw:.2f} µs")
    ratio = one / raw
    print(f"   ratio {ratio:.2f}x   target <= 2x  {'PASS' if ratio <= 2 else 'MISS'}")


if __name__ == "__main__":
    main()
