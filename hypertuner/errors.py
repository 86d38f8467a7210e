"""Exceptions and warnings raised by hypertuner.

Every exception derives from :class:`HypertunerError`, and also from the built-in
exception a caller would naturally catch, so ``except TypeError`` keeps working::

    HypertunerError
    ├── InvalidValueError   (TypeError)         log() got a key or value it cannot keep
    ├── InvalidStepError    (ValueError)        log() got a step that is not a finite number
    ├── ParamsError         (ValueError)        a hyperparameter file or value is unusable
    ├── RunFormatError      (ValueError)        a run on disk is not one this version reads
    ├── RunNotFoundError    (FileNotFoundError) no run at the given path
    └── RunClosedError      (RuntimeError)      log() on a logger that was closed

    HypertunerWarning (UserWarning)             trouble that must not stop training,
                                                such as a disk that refuses a flush
"""

from __future__ import annotations

__all__ = [
    "HypertunerError",
    "HypertunerWarning",
    "InvalidStepError",
    "InvalidValueError",
    "ParamsError",
    "RunClosedError",
    "RunFormatError",
    "RunNotFoundError",
    "SweepError",
]


class HypertunerError(Exception):
    """Base class of every exception raised by hypertuner."""


class InvalidValueError(HypertunerError, TypeError):
    """``log()`` received a key or a value that it cannot store."""


class InvalidStepError(HypertunerError, ValueError):
    """``log()`` received a step that is not a finite real number."""


class ParamsError(HypertunerError, ValueError):
    """Hyperparameters could not be read, parsed or merged."""


class RunFormatError(HypertunerError, ValueError):
    """A run folder or data file is not in a format this version can read."""


class RunNotFoundError(HypertunerError, FileNotFoundError):
    """No run exists at the given path."""


class RunClosedError(HypertunerError, RuntimeError):
    """The logger was closed; it accepts no more points."""


class SweepError(HypertunerError, RuntimeError):
    """A sweep that cannot start or go on; the message says why."""


class HypertunerWarning(UserWarning):
    """Something went wrong that must not interrupt a training loop."""
