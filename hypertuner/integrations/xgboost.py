"""XGBoost: a training callback that logs each boosting round's evaluations to a run.

Importing this module imports ``xgboost``; importing ``hypertuner`` does not.

>>> from hypertuner.integrations.xgboost import HypertunerCallback
>>> xgboost.train(params, dtrain, evals=[(dvalid, "valid")],
...               callbacks=[HypertunerCallback(params=params)])
"""

from __future__ import annotations

import os
from typing import Any

from xgboost import collective
from xgboost.callback import TrainingCallback

from ..logger import Logger
from ..params import coerce

__all__ = ["HypertunerCallback"]


class HypertunerCallback(TrainingCallback):
    """Log every round's ``evals`` results as ``<data>/<metric>`` at the round number.

    The run is made when training begins and closed, ``finished``, when it ends; each
    ``xgboost.train()`` makes a new run. With ``evals=[(dvalid, "valid")]`` and the
    ``rmse`` metric, round ``i`` logs ``{"valid/rmse": ...}`` at step ``i``. Under
    ``xgboost.cv()`` each metric's mean is logged as ``<data>/<metric>`` and its
    standard deviation as ``<data>/<metric>-std``. With no ``evals`` nothing is logged,
    and a run that got no point is removed when it closes, as any empty run is.

    Parameters
    ----------
    name, dir, display
        As for :class:`hypertuner.Logger`.
    params : dict, Params or path to a JSON file, optional
        Hyperparameters to record (default: those of the last ``hypertuner.params()``).
        XGBoost does not hand its params to callbacks, so pass the dict given to
        ``xgboost.train``: ``HypertunerCallback(params=params)``.

    Notes
    -----
    In distributed training only the worker of rank 0 (``xgboost.collective``) logs.
    A training that raises never reaches ``after_training``: its run stays open until
    the interpreter exits, which closes it (``crashed`` when the error ends the
    program), unless you call ``callback.close("crashed")`` first. ``callback.logger``
    is the current run's :class:`hypertuner.Logger` (None outside training).
    """

    def __init__(
        self,
        name: str | None = None,
        dir: str | os.PathLike[str] | None = None,
        *,
        params: Any = None,
        display: bool | None = None,
    ) -> None:
        super().__init__()
        self._name = name
        self._dir = dir
        self._params = None if params is None else coerce(params)
        self._display = display
        self.logger: Logger | None = None

    def before_training(self, model: Any) -> Any:
        self.close("crashed")  # a run still open here is one whose training raised
        if collective.get_rank() == 0:
            self.logger = Logger(self._name, self._dir, self._params, display=self._display)
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: dict) -> bool:
        if self.logger is not None and evals_log:
            values: dict[str, Any] = {}
            for data, metrics in evals_log.items():
                for metric, history in metrics.items():
                    latest = history[-1]
                    if isinstance(latest, tuple):  # xgboost.cv(): (mean, std) over folds
                        values[f"{data}/{metric}"], values[f"{data}/{metric}-std"] = latest
                    else:
                        values[f"{data}/{metric}"] = latest
            self.logger.log(values, epoch)
        # True ends training: only when a sweep pruned this trial.
        return self.logger is not None and self.logger.should_stop

    def after_training(self, model: Any) -> Any:
        self.close()
        return model

    def close(self, status: str = "finished") -> None:
        """Close the current run with ``status``; does nothing if there is none."""
        logger, self.logger = self.logger, None
        if logger is not None:
            logger.close(status)
