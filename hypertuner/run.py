"""The read side: a run reopened from disk (:mod:`hypertuner.runlist` lists many).

A :class:`Run` has the same read API as a live :class:`~hypertuner.Logger`, so a
chart never needs to know which one it was given. Points are read on first use,
and :meth:`Run.refresh` reads only what was appended since, which is how a notebook
follows a run that another process (or another machine) is still writing.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._base import RunBase, runs_dir
from .runfile import DATA_FILE
from .runinfo import INFO_FILE, read_info
from .runreader import Chunk, RunReader
from .series import Series

__all__ = ["Run", "load"]


class Run(RunBase):
    """A run on disk, finished or still being written.

    Use :func:`hypertuner.load` to open one. Points are read when first asked for.

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

    def _sync(self) -> None:
        if not self._loaded:
            self._loaded = True
            self._add(self._reader.read(), whole=True)

    def refresh(self) -> int:
        """Read points appended since the last read; return how many were new.

        Only the bytes after the last whole record read are read again.
        """
        self._info = read_info(self._path)
        if not self._loaded:
            before = 0
            self._sync()
        else:
            before = self.points
            self._add(self._reader.read(), whole=False)
        return self.points - before

    def _add(self, read: tuple[list[int], list[Chunk]], whole: bool) -> None:
        new_keys, chunks = read
        for key_id in new_keys:
            name, kind = self._reader.keys[key_id]
            self._series[name] = Series(name, kind)
        by_key: dict[int, list[Chunk]] = {}
        for chunk in chunks:
            by_key.setdefault(chunk.key_id, []).append(chunk)
        for key_id, parts in by_key.items():
            series = self._series[self._reader.keys[key_id][0]]
            if whole and len(series) == 0:
                # Reopening: one concatenation per column, no growth copies.
                series.adopt(
                    *(
                        np.concatenate([getattr(c, col) for c in parts])
                        for col in ("steps", "walls", "values")
                    )
                )
            else:
                for chunk in parts:
                    series.extend(chunk.steps, chunk.walls, chunk.values)

    @property
    def bytes_read(self) -> int:
        """Bytes read from the points file so far.

        Each whole record is read once; only a torn tail (a record still being
        written when a read came) is read again by the next refresh.
        """
        return self._reader.bytes_read


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
