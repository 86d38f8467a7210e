"""The demo gate: the browser tests decide how far ``hypertuner.demo.train`` goes.

The JupyterLab server's environment names a gate file (``$HYPERTUNER_DEMO_GATE``,
see :data:`hypertuner.demo.GATE_ENV`); its kernels, and the trainers they start,
inherit it. ``train()`` logs step ``s`` only once the file holds a number greater
than ``s`` (no file, or no number in it, holds 0; ``inf`` lets everything through),
checking again every 20 ms while held. So a test holds training at a step it
knows, looks at the board for as long as it needs, and then lets it go on: a
training cell shows [*] for exactly as long as a test needs it to, however fast or
loaded the machine is.

A trainer re-reads the file only once it has used up the allowance it last read,
so allowances only ever go up while training runs; :meth:`DemoGate.hold` is for
before any training starts.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from hypertuner.demo import GATE_ENV

__all__ = ["GATE_ENV", "DemoGate"]


class DemoGate:
    """The gate file named by ``$HYPERTUNER_DEMO_GATE`` in the server's environment."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.allowed = math.inf  # what the file says, as last written from here

    def allow(self, steps: int) -> None:
        """Let training log steps ``0 .. steps - 1`` and hold it before step ``steps``."""
        if steps < 0:
            raise ValueError(f"an allowance is a number of steps, at least 0 (got {steps})")
        self._write(str(int(steps)))
        self.allowed = int(steps)

    def hold(self) -> None:
        """Hold training before its first step (for before a notebook runs)."""
        self.allow(0)

    def release(self) -> None:
        """Let every trainer run to its end, now and later."""
        self._write("inf")
        self.allowed = math.inf

    @property
    def last_step(self) -> float:
        """The last step training may log now (``inf`` when released)."""
        return self.allowed - 1

    def _write(self, text: str) -> None:
        # Written aside, then renamed over: a trainer polling every 20 ms never
        # reads a half-written number (which it would take as 0 and hold at).
        scratch = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        scratch.write_text(text + "\n")
        os.replace(scratch, self.path)

    def __repr__(self) -> str:
        return f"<DemoGate {self.path} allows {self.allowed} steps>"
