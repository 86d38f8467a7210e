"""Benchmark of runs with very many keys: flush time and memory per key.

Per-item metrics (one key per sample, per layer, per class) make runs of 100,000 keys
and more, each with a point or two. Two figures matter there:

1. The flush of N new keys, each logged in its own call: the seconds one
   ``Logger.flush()`` takes to write N key records and N one-point chunks. A crash
   loses what was not flushed, so this must stay under the one-second promise.
   Printed for N and N/10, so the ratio shows whether the cost is linear.
2. Bytes held per one-point key: the memory ``tracemalloc`` sees held after N
   one-point keys were logged and drained (series, buffers, per-key records, the
   call-shape cache), over N.

Run it from the repository root::

    python benchmarks/bench_keys.py            # 100,000 keys
    python benchmarks/bench_keys.py --quick    # 10,000 keys, the CI smoke test
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
import tracemalloc

import hypertuner

TARGET_FLUSH_SECONDS = 1.0
TARGET_BYTES_PER_KEY = 1024


def log_new_keys(folder: str, count: int) -> hypertuner.Logger:
    logger = hypertuner.Logger(dir=folder, flush_every=3600, display=False)
    for i in range(count):
        logger.log({f"item/{i}": float(i)}, i)
    logger._drain()  # noqa: SLF001 - measure the flush alone, not the queue
    return logger


def flush_seconds(folder: str, count: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        logger = log_new_keys(folder, count)
        gc.collect()
        started = time.perf_counter()
        assert logger.flush()
        best = min(best, time.perf_counter() - started)
        logger.close()
    return best


def bytes_per_key(folder: str, count: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    logger = log_new_keys(folder, count)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    logger.close()
    return held / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 keys, one repetition")
    args = parser.parse_args()
    count = 10_000 if args.quick else 100_000
    repeat = 1 if args.quick else 3
    with tempfile.TemporaryDirectory() as folder:
        small = flush_seconds(folder, count // 10, repeat)
        large = flush_seconds(folder, count, repeat)
        per_key = bytes_per_key(folder, count)
    verdict = "PASS" if large <= TARGET_FLUSH_SECONDS else "MISS"
    print(f"best of {repeat}\n")
    print("1. flush of new keys, one point each, each logged in its own call")
    print(f"   {count // 10:>9,} keys   {small:8.3f} s")
    print(
        f"   {count:>9,} keys   {large:8.3f} s   target <= {TARGET_FLUSH_SECONDS:.0f} s  {verdict}"
    )
    print(f"   ratio ({count:,} / {count // 10:,})   {large / small:6.1f}x   (10x is linear)\n")
    verdict = "PASS" if per_key <= TARGET_BYTES_PER_KEY else "MISS"
    print(f"2. memory held per one-point key ({count:,} keys)")
    print(f"   {per_key:8.0f} bytes   target <= {TARGET_BYTES_PER_KEY} bytes  {verdict}")


if __name__ == "__main__":
    main()
