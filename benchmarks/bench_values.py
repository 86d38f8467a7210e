"""Benchmark of ``log()`` with the values real training loops pass, side by side.

Each variant logs 5 keys per call (the same 5 numbers each time, in the form the
variant names) in a fresh process, and the microseconds per call are the median of
``--repeat`` processes, including ``close()``; the variants take turns, so drift in
the machine's load reaches all of them alike. The ratio is to the same call with
plain Python floats, whose target is at most 1.5x. A last pair compares 1 key per
call with a raw append of the same point to a buffered binary file (target 2x).

Then the tensor path: how many conversions (``Tensor.item()`` calls, and stacks,
each one transfer from the device) logging 10,000 one-element tensors takes, read at
the call on the CPU, and kept for the drain as on a GPU (simulated on the CPU); and
how many passes the drain takes to read 10,000 JAX arrays.

Run it from the repository root::

    python benchmarks/bench_values.py            # 100,000 calls per variant, 5 processes
    python benchmarks/bench_values.py --quick    # the CI smoke test
"""

from __future__ import annotations

import argparse
import json
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
    # Read with .item() at the call (a CPU tensor waits for nothing).
    "torch 0-d tensor (CPU)": (
        "import torch\nmake = lambda i: dict(zip(keys, [torch.tensor(x) for x in base]))",
        "i",
    ),
    # Kept as a detached copy each and converted per drain, as on a GPU (no target: a
    # GPU's tensors cost what their copy does, on the GPU's own queue).
    "torch 0-d tensor (kept, as on a GPU)": (
        "import torch\nfrom hypertuner import _values\n_values.EAGER_DEVICES = frozenset()\n"
        "make = lambda i: dict(zip(keys, [torch.tensor(x) for x in base]))",
        "i",
    ),
    # Kept as they are (they never change) and read per drain, on every device. The
    # same five arrays each call: making 500,000 of them would take longer than this.
    "JAX 0-d array (CPU backend)": (
        "import jax.numpy as jnp\nv = [jnp.float32(x) for x in base]\n"
        "make = lambda i: dict(zip(keys, v))",
        "i",
    ),
}
NO_TARGET = {"Python float", "torch 0-d tensor (kept, as on a GPU)"}

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


# Counts the conversions of 10,000 tensor values (5 per call): Tensor.item() calls, and
# torch.stack calls (the drain's one transfer per device).
CONVERSIONS = r"""
import json, tempfile, torch
import hypertuner
from hypertuner import _values
if {kept}:
    _values.EAGER_DEVICES = frozenset()  # as a GPU's tensors are handled
counts = {{"item": 0, "stack": 0}}
real_item, real_stack = torch.Tensor.item, torch.stack
def item(self):
    counts["item"] += 1
    return real_item(self)
def stack(*args, **kwargs):
    counts["stack"] += 1
    return real_stack(*args, **kwargs)
torch.Tensor.item, torch.stack = item, stack
tensors = [[torch.tensor(float(i + k)) for k in range(5)] for i in range(2000)]
with tempfile.TemporaryDirectory() as folder:
    logger = hypertuner.Logger(dir=folder, display=False)
    for i, row in enumerate(tensors):
        logger.log(dict(zip("abcde", row)), i)
    logger.close()
print(json.dumps(counts))
"""


# Counts the drain's reads of 10,000 JAX arrays (5 per call): each pass reads many.
JAX_READS = r"""
import json, tempfile
import jax.numpy as jnp
import hypertuner
from hypertuner import logger as logger_module
passes = []
real_read = logger_module.read_kept
def read_kept(values):
    passes.append(len(values))
    return real_read(values)
logger_module.read_kept = read_kept
arrays = [[jnp.float32(i + k) for k in range(5)] for i in range(2000)]
with tempfile.TemporaryDirectory() as folder:
    logger = hypertuner.Logger(dir=folder, display=False)
    for i, row in enumerate(arrays):
        logger.log(dict(zip("abcde", row)), i)
    logger.close()
print(json.dumps(passes))
"""


def run(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout


def measure_all(programs: dict[str, str], repeat: int) -> dict[str, float]:
    """Median microseconds per call of each program, over ``repeat`` rounds of fresh
    processes in which the programs take turns."""
    times: dict[str, list[float]] = {name: [] for name in programs}
    for _ in range(repeat):
        for name, code in programs.items():
            times[name].append(float(run(code)))
    return {name: statistics.median(found) for name, found in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 calls, 1 process each")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    calls, repeat = (10_000, 1) if args.quick else (100_000, args.repeat)
    setup = SETUP.format(calls=calls)
    programs = {
        name: setup + make + RUN.format(step=step) for name, (make, step) in VARIANTS.items()
    }
    programs["1 key"] = setup + ONE_KEY
    programs["raw"] = setup + RAW
    took = measure_all(programs, repeat)
    print(f"log() of 5 keys per call, µs per call, median of {repeat} processes\n")
    print(f"   {'value passed':<38}{'µs/call':>9}{'vs float':>10}   target <= 1.5x")
    plain = took["Python float"]
    for name in VARIANTS:
        ratio = took[name] / plain
        verdict = "" if name in NO_TARGET else ("PASS" if ratio <= 1.5 else "MISS")
        print(f"   {name:<38}{took[name]:9.2f}{ratio:9.2f}x   {verdict}")
    one, raw = took["1 key"], took["raw"]
    print(f"\n1 key per call: log() {one:.2f} µs, raw append {raw:.2f} µs")
    ratio = one / raw
    print(f"   ratio {ratio:.2f}x   target <= 2x  {'PASS' if ratio <= 2 else 'MISS'}")
    print("\nTensor path, conversions per 10,000 values logged (5 one-element tensors a call)")
    for label, kept in (("CPU tensors, read at the call", False), ("kept, as on a GPU", True)):
        counts = json.loads(run(CONVERSIONS.format(kept=kept)))
        print(
            f"   {label:<38}{counts['item']:>7,} Tensor.item()  "
            f"{counts['stack']:>3} stacks (one transfer each)"
        )
    passes = json.loads(run(JAX_READS))
    print(
        f"   {'JAX arrays, kept for the drain':<38}{sum(passes):>7,} values read in "
        f"{len(passes)} drain passes (the largest {max(passes):,})"
    )


if __name__ == "__main__":
    main()
