"""System metrics for ``Logger(system=True)``: CPU, memory and, where present, GPUs.

A :class:`Sampler` is asked for one sample every few seconds by the logger's flush
thread, which logs it under ``system/...`` keys (their own section on the board). It
reads through psutil, and NVIDIA GPUs through NVML (``nvidia-ml-py``) when that is
installed and finds a driver; without NVML it reports the memory torch has allocated
on each CUDA device when torch is already imported. Nothing here is imported unless
``system`` is on.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["Sampler"]

_MB = 1 << 20


class Sampler:
    """Reads the machine's and this process's figures; :meth:`sample` gives them by key."""

    def __init__(self) -> None:
        try:
            import psutil
        except ImportError:
            raise ImportError(
                "Logger(system=True) needs psutil, which is not installed: pip install psutil "
                "(or pip install 'hypertuner[system]')"
            ) from None
        self._psutil = psutil
        self._process = psutil.Process()
        # cpu_percent() measures since its last call: this call starts the clock.
        self._process.cpu_percent()
        psutil.cpu_percent()
        self._gpus = _nvml_handles()

    def sample(self) -> dict[str, float]:
        """One reading of every figure, as ``system/...`` key -> number."""
        psutil = self._psutil
        memory = psutil.virtual_memory()
        values = {
            "system/cpu_percent": psutil.cpu_percent(),
            "system/process_cpu_percent": self._process.cpu_percent(),
            "system/memory_percent": memory.percent,
            "system/process_memory_mb": self._process.memory_info().rss / _MB,
        }
        if self._gpus:
            values.update(_nvml_sample(self._gpus))
        else:
            values.update(_torch_sample())
        return values


def _nvml_handles() -> list[Any]:
    try:
        import pynvml

        pynvml.nvmlInit()
        return [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
    except Exception:  # noqa: BLE001 - no NVML, no driver, no GPU: no GPU figures
        return []


def _nvml_sample(handles: list[Any]) -> dict[str, float]:
    import pynvml

    values: dict[str, float] = {}
    for i, handle in enumerate(handles):
        try:
            use = pynvml.nvmlDeviceGetUtilizationRates(handle)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
        except Exception:  # noqa: BLE001 - a GPU that stopped answering: skip it this time
            continue
        values[f"system/gpu{i}/utilization_percent"] = float(use.gpu)
        values[f"system/gpu{i}/memory_used_mb"] = memory.used / _MB
        values[f"system/gpu{i}/memory_percent"] = 100.0 * memory.used / max(memory.total, 1)
    return values


def _torch_sample() -> dict[str, float]:
    torch = sys.modules.get("torch")  # never imported here: only if training already did
    try:
        if torch is None or not torch.cuda.is_available():
            return {}
        return {
            f"system/gpu{i}/torch_allocated_mb": torch.cuda.memory_allocated(i) / _MB
            for i in range(torch.cuda.device_count())
        }
    except Exception:  # noqa: BLE001 - a CUDA error must not stop the sampling
        return {}
