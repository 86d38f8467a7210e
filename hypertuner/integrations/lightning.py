"""Lightning: a logger that writes a ``Trainer``'s metrics and hyperparameters to a run.

Importing this module imports ``lightning``; importing ``hypertuner`` does not.

>>> from hypertuner.integrations.lightning import HypertunerLogger
>>> trainer = lightning.Trainer(logger=HypertunerLogger(), max_epochs=10)
>>> trainer.fit(model)  # its self.log() values and save_hyperparameters() land in the run
"""

from __future__ import annotations

import os
import sys
from argparse import Namespace
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import Logger as LightningLogger
from lightning.pytorch.loggers.logger import rank_zero_experiment
from lightning.pytorch.utilities import rank_zero_only

from .._notebook import in_notebook
from .._process import status_of
from ..logger import Logger
from ..params import current_dict, json_entries

__all__ = ["HypertunerLogger"]

# What a Logger puts in its folder: a folder holding only these holds no one else's files.


class HypertunerLogger(LightningLogger):
    """Log a Lightning ``Trainer``'s metrics to a hypertuner run, keeping every point.

    Parameters
    ----------
    name, dir, flush_every, display
        As for :class:`hypertuner.Logger`. The live board is shown from the first point.

    Notes
    -----
    Only the process of global rank 0 (Lightning's ``rank_zero_only.rank``) makes and
    writes a run; on the others every method does nothing and ``log_dir`` is None.
    ``experiment`` is the run's :class:`hypertuner.Logger`.

    ``log_metrics`` logs the values Lightning hands over (tensors or numbers) at its
    step, under the names given to ``self.log()``; steps may repeat or go back, and
    every point is kept. The hyperparameters of ``save_hyperparameters()`` are the
    run's params. ``finalize`` closes the run: ``finished`` after a stage that
    succeeded, ``interrupted`` on Ctrl-C, ``crashed`` (with the error recorded)
    otherwise. A stage that logs after that, such as ``trainer.test()`` after
    ``trainer.fit()``, logs to a new run with the same params.

    Lightning asks for ``log_dir`` when ``fit()`` starts, before it hands over the
    hyperparameters, so the run is made then and the params are written into it when
    they arrive (:meth:`hypertuner.Logger.set_params`).
    """

    def __init__(
        self,
        name: str | None = None,
        dir: str | os.PathLike[str] | None = None,
        *,
        flush_every: float = 1.0,
        display: bool | None = None,
    ) -> None:
        super().__init__()
        self._name = name
        self._dir = dir
        self._flush_every = flush_every
        self._display = display
        self._params: dict[str, Any] = {}
        self._run: Logger | None = None
        self._shown = False  # the current run's board is shown (or was not wanted)

    # -- what Lightning asks of a logger -----------------------------------------------

    @property
    def name(self) -> str:
        """The run's name (its folder's name); on other ranks the name asked for, or ''."""
        run = self._current()
        return run.name if run is not None else self._name or ""

    @property
    def version(self) -> str:
        """Always ``''``: a run is not versioned, each one is a folder of its own."""
        return ""

    @property
    def save_dir(self) -> str | None:
        """The run folder (also ``trainer.log_dir``), or None on other ranks."""
        run = self._current()
        return None if run is None else str(run.path)

    @property
    def log_dir(self) -> str | None:
        """The run folder, or None on other ranks."""
        return self.save_dir

    @property
    @rank_zero_experiment
    def experiment(self) -> Logger:
        """The current run's :class:`hypertuner.Logger`, to log to it directly.

        On other ranks it is Lightning's stand-in whose every method does nothing, so
        ``self.logger.experiment.log({...}, step)`` may run on every rank.
        """
        return self._current()

    @rank_zero_only
    def log_hyperparams(
        self, params: Mapping[str, Any] | Namespace, *args: Any, **kwargs: Any
    ) -> None:
        """Record ``params`` (a dict or Namespace) as the run's hyperparameters.

        Entries that are not JSON values (modules, classes, non-finite floats) are left
        out. They are merged into those recorded before, and written to the run at once.
        """
        merged = {**self._params, **json_entries(params or {})}
        if merged == self._params:
            return
        self._params = merged
        run = self._run
        if run is not None and not run.closed:
            run.set_params({**current_dict(), **merged})

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Log ``metrics`` (name -> tensor or number) at ``step`` (wall time if None)."""
        run = self._run
        if run is None or run.closed:
            run = self._run = self._make(self._name, self._dir)
        run.log(dict(metrics), step)
        if not self._shown:
            self._shown = True
            if self._display or (self._display is None and in_notebook()):
                run._show_or_warn(stacklevel=4)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """Close the run: ``finished`` if ``status`` is "success", else as the error says."""
        run = self._run
        if run is None or run.closed:
            return
        # Lightning finalizes inside its ``except`` block, so the error is at hand.
        error = sys.exc_info()[1]
        if status in ("success", "finished"):
            run.close("finished")
        else:  # crashed (error recorded), or interrupted by Ctrl-C
            run.close("crashed" if error is None else status_of(error), error=error)

    # -- the run -----------------------------------------------------------------

    def _current(self) -> Logger | None:
        """The current (or last) run, made now if there is none; None on other ranks."""
        if rank_zero_only.rank != 0:
            return None
        if self._run is None:
            self._run = self._make(self._name, self._dir)
        return self._run

    def _make(self, name: str | None, dir: str | os.PathLike[str] | Path | None) -> Logger:
        self._shown = False
        params = {**current_dict(), **self._params}  # hypertuner.params(), under Lightning's
        return Logger(name, dir, params, flush_every=self._flush_every, display=False)
