"""What a live logger and a reopened run have in common: run facts and series."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from ._notebook import in_notebook
from .params import Params
from .runinfo import live_status
from .series import SeriesMap

__all__ = ["RunBase", "runs_dir"]

DEFAULT_DIR = "runs"


def runs_dir(dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder runs go in: ``dir``, else ``$HYPERTUNER_DIR``, else ``./runs``."""
    if dir is not None:
        return Path(dir)
    return Path(os.environ.get("HYPERTUNER_DIR") or DEFAULT_DIR)


class RunBase(SeriesMap):
    """Run facts read from ``run.json`` plus the mapping of key -> Series."""

    _info: dict[str, Any]
    _path: Path

    @property
    def path(self) -> Path:
        """The run folder."""
        return self._path

    @property
    def name(self) -> str:
        """The run's name (also its folder's name)."""
        return self._info["name"]

    @property
    def id(self) -> str:
        """A unique id, stable across copies of the run folder."""
        return self._info["id"]

    @property
    def params(self) -> Params:
        """The hyperparameters the run was trained with (empty if none)."""
        return Params(self._info.get("params") or {})

    @property
    def status(self) -> str:
        """``"running"``, ``"finished"``, ``"crashed"`` or ``"interrupted"`` (Ctrl-C).

        A run still marked running whose writer died on this host reads crashed.
        """
        return live_status(self._info)

    @property
    def created(self) -> float:
        """When the run started, in seconds since the epoch."""
        return self._info["created"]

    @property
    def ended(self) -> float | None:
        """When the run was closed, in seconds since the epoch, or None."""
        return self._info.get("ended")

    def now(self) -> float:
        """The time by this run's clock, in seconds since the epoch (a Logger's is injectable)."""
        return time.time()

    @property
    def info(self) -> dict[str, Any]:
        """A copy of everything ``run.json`` records."""
        return dict(self._info)

    # A Mapping compares by contents; a run is an object with an identity.
    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        return self is other

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """In a notebook, the board; elsewhere (terminal IPython) a text summary."""
        if not in_notebook():
            from .board.fallback import summary

            return {"text/plain": summary(self)}
        from .board import board_for

        return board_for(self)._repr_mimebundle_(include=include, exclude=exclude)

    def __repr__(self) -> str:
        keys = len(self)
        return (
            f"<{type(self).__name__} {self.name!r} {self.status}: "
            f"{keys} key{'s' * (keys != 1)}, {self.points:,} points>"
        )
