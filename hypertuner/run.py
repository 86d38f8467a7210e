"""The read side: a run reopened from disk (:mod:`hypertuner.runlist` lists many).

A :class:`Run` has the same read API as a live :class:`~hypertuner.Logger`, so a
chart never needs to know which one it was given. Points are read on first use,
and :meth:`Run.refresh` reads only what was appended since, which is how a notebook
follows a run that another process (or another machine) is still writing.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Any

from ._base import RunBase, runs_dir
from .errors import HypertunerWarning
from .runfile import DATA_FILE
from .runinfo import INFO_FILE, read_info, saved_summary
from .runreader import Columns, RunReader
from .series import Series

__all__ = ["Run", "load"]


class Run(RunBase):
    """A run on disk, finished or still being written.

    Use :func:`hypertuner.load` to open one. Points are read when first asked for.
    A damaged points file is read up to the damage (see :attr:`damage`).

    Examples
    --------
    >>> run = hypertuner.load("runs/20261126-101530-swift-heron")
    >>> run["loss"].values.min(), run.params.lr
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._info = read_info(self._path)
        self._reader = RunReader(self._path / DATA_FILE)
        self._series: dict[str, Series] = {}
        self._loaded = False
        self._told: str | None = None  # the damage the user was told of
        self._saved: tuple[dict, Any] | None = None  # (the run.json read, its summary)
        self._known = 0  # points told of by a summary before they were read

    def _sync(self) -> None:
        if not self._loaded:
            self._read_points(warn=True)

    @property
    def loaded(self) -> bool:
        """Whether the points were read (they are read when first asked for)."""
        return self._loaded

    @property
    def damage(self) -> str | None:
        """Why the points file reads only in part, or None when it reads whole.

        For example ``"points.htr, record at byte 1234: a chunk of 3 numbers must be
        81 bytes (got 40)"``: the points before that record are read, none after it.
        A run still being written is not damaged by its torn last record. Reading
        this reads the points if they were not read yet; the warning a run gives
        when it finds damage is not given for damage read here.
        """
        if not self._loaded:
            self._read_points(warn=False)
        self._told = self._reader.damage
        return self._reader.damage

    def saved_summary(self) -> tuple[int, dict[str, tuple]] | None:
        """What run.json says of the points of a run closed cleanly, while they are
        not read: the number of points and, per key, (kind, count, last, min, max).
        None when the points were read, or when the summary is missing, damaged or no
        longer holds (the points file changed since the close)."""
        if self._loaded:
            return None
        if self._saved is None or self._saved[0] is not self._info:
            self._saved = (self._info, saved_summary(self._info, self._path))
        if self._saved[1] is not None:
            self._known = self._saved[1][0]
        return self._saved[1]

    @property
    def points(self) -> int:
        """The number of points, over all keys (from run.json when it holds)."""
        saved = self.saved_summary()
        return saved[0] if saved is not None else super().points

    @property
    def kinds(self) -> dict[str, str]:
        """Each key's kind: ``"number"``, ``"bool"`` or ``"text"`` (from run.json when
        it holds)."""
        saved = self.saved_summary()
        if saved is not None:
            return {name: entry[0] for name, entry in saved[1].items()}
        return super().kinds

    def summaries(self) -> dict[str, tuple[int, float, float, float]]:
        """Each number or bool key's count, last, min and max (see Series.stats),
        from run.json when it holds, so that listing finished runs reads no points."""
        saved = self.saved_summary()
        if saved is not None:
            return {name: entry[1:] for name, entry in saved[1].items() if entry[0] != "text"}
        return {
            name: (len(series), *series.stats())
            for name, series in self.items()
            if series.kind != "text" and len(series)
        }

    def reload_info(self) -> None:
        """Read ``run.json`` again: the status, the end time, any error.

        A run folder now holding another run (its ``id`` changed: the folder was
        replaced) starts over: the points read so far are dropped, and the new
        run's are read when next asked for.

        Raises
        ------
        RunNotFoundError
            If the run folder or its ``run.json`` is gone.
        RunFormatError
            If ``run.json`` cannot be read or is damaged.
        """
        info = read_info(self._path)
        if info["id"] != self._info["id"]:
            self._start_over()
        self._info = info

    def refresh(self) -> int:
        """Read ``run.json`` and the points appended since the last read.

        Only the bytes after the last whole record read are read again. When the
        run folder was replaced by another run, or its points file was replaced or
        cut short, the run starts over and reads its points from the beginning.

        Returns
        -------
        int
            How many points were new: those appended, or every point after starting
            over (or on the first read, but those :attr:`points` already counted
            from run.json's summary). A run closed cleanly whose summary holds is
            not read: the summary counts its points.
        """
        self.reload_info()  # a replaced run starts over: none of it was counted yet
        if self._loaded:
            return self._read_points(warn=True)
        known = self._known  # points a summary told of: not new
        saved = self.saved_summary()
        if saved is not None:  # closed, unchanged: run.json says it all, nothing is read
            return max(0, saved[0] - known)
        self._read_points(warn=True)
        total = self.points
        return total - known if total >= known else total  # shorter: rewritten, all new

    def _start_over(self) -> None:
        self._known = 0
        self._series = {}
        self._reader.start_over()
        self._told = None

    def _read_points(self, warn: bool) -> int:
        """Read what is new in the points file into the series; return the new points."""
        found = self._reader.read_columns(final=self.status != "running")
        self._loaded = True
        if found.restarted:
            self._series = {}
            self._told = None
        self._add(found)
        if warn and self._reader.damage is not None and self._reader.damage != self._told:
            self._told = self._reader.damage
            points = sum(len(series) for series in self._series.values())
            warnings.warn(
                f"run {str(self._path)!r} is damaged: {self._reader.damage}; "
                f"the {points:,} points before that record are read, none after it",
                HypertunerWarning,
                stacklevel=_outside_stacklevel(),
            )
        if found.restarted:
            return sum(len(series) for series in self._series.values())
        return found.points

    def _add(self, found: Columns) -> None:
        for key_id in found.new_keys:
            name, kind = self._reader.keys[key_id]
            self._series[name] = Series(name, kind)
        for key_id, (steps, walls, values) in found.columns.items():
            series = self._series[self._reader.keys[key_id][0]]
            if len(series) == 0:
                series.adopt(steps, walls, values)  # read into place: no copy
            else:
                series.extend(steps, walls, values)

    @property
    def bytes_read(self) -> int:
        """Bytes read from the points file so far.

        Each whole record is read once; only the frame header of a torn tail (a
        record still being written when a read came) is read again by the next
        refresh, and everything when the run starts over.
        """
        return self._reader.bytes_read

    @property
    def bytes_reread(self) -> int:
        """How many of :attr:`bytes_read` were read again (``bytes_read - bytes_reread``
        is the size of the points read)."""
        return self._reader.bytes_reread


def _outside_stacklevel() -> int:
    """The stacklevel of the nearest caller outside hypertuner, for warnings."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] == "hypertuner":
        level += 1
        frame = frame.f_back
    return level


def load(path: str | os.PathLike[str]) -> Run:
    """Open a saved (or still running) run.

    Parameters
    ----------
    path : str or path
        The run folder (``logger.path``), a file inside it, or a run name under
        ``$HYPERTUNER_DIR`` / ``./runs``.

    Raises
    ------
    RunNotFoundError
        If there is no run there (nothing, a folder without ``run.json``, or a file).
    RunFormatError
        If the run's ``run.json`` cannot be read or is damaged, or the run was
        written in a format this version cannot read.
    """
    folder = Path(path)
    if folder.is_file() and folder.name in (INFO_FILE, DATA_FILE):
        folder = folder.parent
    if not (folder / INFO_FILE).exists() and not folder.is_absolute():
        named = runs_dir() / folder
        if (named / INFO_FILE).exists():
            folder = named
    return Run(folder)
