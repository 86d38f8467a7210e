"""The benchmark scripts still run and print their figures (timings are not judged here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize(
    ("script", "lines"),
    [
        (
            "bench_core.py",
            ["hypertuner / baseline", "p99.9 / p50", "bytes per point", "held per point", "Reopen"],
        ),
        ("bench_board.py", ["with the board shown", "bytes of one redraw", "build its board"]),
        ("bench_keys.py", ["flush of new keys", "memory held per one-point key"]),
        ("bench_values.py", ["np.float32", "nested dict", "1 key per call", "per 10,000 values"]),
        ("bench_sweep.py", ["Overhead per trial", "checks should_stop", "never checks"]),
        ("bench_browser.py", ["board built", "finish lag", "header lag", "every chart back"]),
    ],
)
def test_benchmark_runs_quick(script, lines, tmp_path):
    """`--quick` completes and prints each figure the README records."""
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for line in lines:
        assert line in result.stdout
