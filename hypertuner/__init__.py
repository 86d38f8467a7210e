"""hypertuner: watch training live in a notebook, keep every point, compare runs.

>>> import hypertuner
>>> logger = hypertuner.Logger()
>>> logger.log({"loss": 0.25}, step=1)
"""

from __future__ import annotations

import typing

from ._version import __version__
from .board import compare
from .errors import (
    HypertunerError,
    HypertunerWarning,
    InvalidStepError,
    InvalidValueError,
    ParamsError,
    RunClosedError,
    RunFormatError,
    RunNotFoundError,
    SweepError,
)
from .logger import Logger
from .params import Params, params
from .run import Run, load
from .runlist import RunList, runs
from .series import Series
from .tune.space import SpaceError, loguniform, randint, uniform


def sweep(script: typing.Any, space: typing.Any, **options: typing.Any) -> typing.Any:
    """Tune a training script's hyperparameters with Optuna: :func:`hypertuner.tune.sweep.sweep`.

    Loads Optuna and the controller only when called, so ``import hypertuner`` stays light.
    """
    from .tune.sweep import sweep as start

    return start(script, space, **options)


__all__ = [
    "HypertunerError",
    "HypertunerWarning",
    "InvalidStepError",
    "InvalidValueError",
    "Logger",
    "Params",
    "ParamsError",
    "Run",
    "RunClosedError",
    "RunFormatError",
    "RunList",
    "RunNotFoundError",
    "Series",
    "SpaceError",
    "SweepError",
    "__version__",
    "compare",
    "load",
    "loguniform",
    "params",
    "randint",
    "runs",
    "sweep",
    "uniform",
]
