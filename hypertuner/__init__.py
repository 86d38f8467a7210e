"""hypertuner: watch training live in a notebook, keep every point, compare runs.

>>> import hypertuner
>>> logger = hypertuner.Logger()
>>> logger.log({"loss": 0.25}, step=1)
"""

from __future__ import annotations

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
)
from .logger import Logger
from .params import Params, params
from .run import Run, load
from .runlist import RunList, runs
from .series import Series

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
    "__version__",
    "compare",
    "load",
    "params",
    "runs",
]
