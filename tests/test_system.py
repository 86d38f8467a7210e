"""Logger(system=...): CPU and memory sampled by the flush thread into system/ keys."""

from __future__ import annotations

import math
import subprocess
import sys
import time

import pytest

import hypertuner

BASIC = {
    "system/cpu_percent",
    "system/process_cpu_percent",
    "system/memory_percent",
    "system/process_memory_mb",
}


def test_system_metrics_are_sampled_while_training_runs(tmp_path):
    """With system=0.05 the flush thread logs the machine's and the process's CPU and memory
    at the wall time, beside the training's own keys, and they reopen from disk."""
    logger = hypertuner.Logger(dir=tmp_path, system=0.05, flush_every=0.05)
    step = 0
    deadline = time.monotonic() + 120
    while "system/memory_percent" not in logger or len(logger["system/memory_percent"]) < 3:
        logger.log({"loss": 1.0 / (step + 1)}, step)  # training goes on meanwhile
        step += 1
        assert time.monotonic() < deadline, "no system samples arrived"
        time.sleep(0.001)
    logger.close()
    run = hypertuner.load(logger.path)
    assert BASIC <= set(run)
    for key in BASIC:
        series = run[key]
        assert series.kind == "number" and len(series) >= 3
        assert series.timed  # logged at the wall time: their x is time
        assert all(math.isfinite(v) and v >= 0 for v in series.values.tolist())
    assert all(0 <= v <= 100 for v in run["system/memory_percent"].values.tolist())
    assert run["system/process_memory_mb"].values[-1] > 1
    assert len(run["loss"]) == step


@pytest.mark.parametrize("value", [0, -1.0, math.nan, math.inf, "yes", None])
def test_bad_system_values_are_refused_before_any_folder_exists(value, runs_folder):
    """system takes True, False or a positive finite number of seconds; others are refused."""
    with pytest.raises(ValueError, match=r"system must be True, False or a positive"):
        hypertuner.Logger(system=value)
    assert not runs_folder.exists() or list(runs_folder.iterdir()) == []


def test_without_psutil_system_says_what_to_install(monkeypatch, runs_folder):
    """If psutil cannot be imported, system=True names the package to install; no run is made."""
    monkeypatch.setitem(sys.modules, "psutil", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"needs psutil, which is not installed: pip install"):
        hypertuner.Logger(system=True)
    assert not runs_folder.exists() or list(runs_folder.iterdir()) == []


def test_a_logger_without_system_metrics_imports_no_psutil():
    """Sampling code loads only when asked for: a plain Logger imports neither psutil nor NVML."""
    code = (
        "import sys, tempfile, hypertuner\n"
        "with tempfile.TemporaryDirectory() as d:\n"
        "    hypertuner.Logger(dir=d, display=False).close()\n"
        "print(sorted(m for m in ('psutil', 'pynvml', 'hypertuner._system') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
