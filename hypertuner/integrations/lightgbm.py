"""LightGBM: a callback that logs each boosting round's evaluations to a run.

Importing this module imports ``lightgbm``; importing ``hypertuner`` does not.

>>> from hypertuner.integrations.lightgbm import hypertuner_callback
>>> lightgbm.train(params, dtrain, valid_sets=[dvalid], callbacks=[hypertuner_callback()])
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from lightgbm.callback import CallbackEnv

from ..logger import Logger
from ..params import coerce, current_dict, json_entries

__all__ = ["HypertunerCallback", "hypertuner_callback"]


def hypertuner_callback(
    name: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    *,
    params: Any = None,
    display: bool | None = None,
) -> HypertunerCallback:
    """Make a callback for ``lightgbm.train`` / ``lightgbm.cv`` that logs to a new run.

    Each round's ``evaluation_result_list`` is logged as ``<data>/<metric>`` at the
    round number (``valid_0/l2`` for the first of ``valid_sets``, unless named with
    ``valid_names``); under ``lightgbm.cv`` the standard deviation over folds is
    logged too, as ``<data>/<metric>-stdv``. The run records LightGBM's params
    (those that are JSON values; numpy arrays as lists) and is closed, ``finished``, after the last
    round; each training makes a new run.

    Parameters
    ----------
    name, dir, display
        As for :class:`hypertuner.Logger`.
    params : dict, Params or path to a JSON file, optional
        More hyperparameters to record beside LightGBM's, winning on a clash
        (default: those of the last ``hypertuner.params()``, if any).

    Notes
    -----
    A training that stops before its last round (early stopping, an error) never
    reaches it, so its run stays open until the next training with this callback
    or interpreter exit closes it ``finished`` (``crashed`` if an error ends the
    program). To close it at once, keep the callback and call ``close()``::

        callback = hypertuner_callback()
        lightgbm.train(params, dtrain, valid_sets=[dvalid],
                       callbacks=[lightgbm.early_stopping(5), callback])
        callback.close()

    LightGBM tells callbacks no rank: in distributed training, give it to one worker.
    """
    return HypertunerCallback(name, dir, params=params, display=display)


class HypertunerCallback:
    """The callable :func:`hypertuner_callback` returns; see there.

    ``logger`` is the current run's :class:`hypertuner.Logger`, or None outside training.
    """

    # After log_evaluation (10) and record_evaluation (20), before early_stopping
    # (30): the round at which early stopping raises is still logged.
    order = 25
    before_iteration = False

    def __init__(
        self,
        name: str | None = None,
        dir: str | os.PathLike[str] | None = None,
        *,
        params: Any = None,
        display: bool | None = None,
    ) -> None:
        self._name = name
        self._dir = dir
        self._params = None if params is None else coerce(params)
        self._display = display
        self.logger: Logger | None = None

    def __call__(self, env: CallbackEnv) -> None:
        if self.logger is None or env.iteration == env.begin_iteration:
            self.close()  # the run of an earlier training that stopped early
            self.logger = Logger(
                self._name, self._dir, self._record(env.params), display=self._display
            )
        values: dict[str, Any] = {}
        for result in env.evaluation_result_list or ():
            # (data, metric, value, higher is better[, std dev]): a tuple before 4.7,
            # an EvalResult named tuple since, whose std dev is None outside cv().
            key = f"{result[0]}/{result[1]}"
            values[key] = result[2]
            if len(result) > 4 and result[4] is not None:
                values[f"{key}-stdv"] = result[4]
        if values:
            self.logger.log(values, env.iteration)
        if env.iteration == env.end_iteration - 1:
            self.close()
        elif self.logger.should_stop:  # a sweep pruned this trial: end training here
            from lightgbm.callback import EarlyStopException

            self.close()
            raise EarlyStopException(env.iteration, env.evaluation_result_list or [])

    def close(self, status: str = "finished") -> None:
        """Close the current run with ``status``; does nothing if there is none."""
        logger, self.logger = self.logger, None
        if logger is not None:
            logger.close(status)

    def _record(self, lightgbm_params: Mapping[str, Any] | None) -> dict[str, Any]:
        """LightGBM's params that are JSON values (arrays as lists), under the ones given."""
        recorded = json_entries(lightgbm_params or {})
        recorded.update(current_dict() if self._params is None else self._params)
        return recorded
