"""A sweep's search space: what each hyperparameter may be, checked without Optuna.

A space is a dict like a params dict, where a value is either fixed, a list (a
choice among its items) or one of :func:`uniform`, :func:`loguniform` and
:func:`randint`. Nested dicts are nested params: ``{"model": {"hidden": [32, 64]}}``
is the parameter ``model.hidden``. This module is imported by ``import
hypertuner``, so it stays free of Optuna, which only :func:`suggest` needs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import HypertunerError
from ..params import coerce

__all__ = [
    "Choice",
    "Fixed",
    "LogUniform",
    "RandInt",
    "SpaceError",
    "Uniform",
    "from_json",
    "grid_of",
    "loguniform",
    "parse",
    "randint",
    "suggest",
    "to_params",
    "uniform",
]


class SpaceError(HypertunerError, ValueError):
    """A search space, or a sweep's other settings, that cannot be swept."""


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SpaceError(f"{name} must be a finite number (got {value!r})")
    return value


@dataclass(frozen=True)
class Uniform:
    """A float drawn evenly from ``[low, high]``."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _number("uniform(): low", self.low)
        _number("uniform(): high", self.high)
        if not self.low < self.high:
            raise SpaceError(f"uniform(): low must be below high (got {self.low!r}, {self.high!r})")

    def __repr__(self) -> str:
        return f"uniform({self.low!r}, {self.high!r})"


@dataclass(frozen=True)
class LogUniform:
    """A float drawn evenly on a log scale from ``[low, high]``, both above 0."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _number("loguniform(): low", self.low)
        _number("loguniform(): high", self.high)
        if not 0 < self.low < self.high:
            raise SpaceError(f"loguniform(): need 0 < low < high (got {self.low!r}, {self.high!r})")

    def __repr__(self) -> str:
        return f"loguniform({self.low!r}, {self.high!r})"


@dataclass(frozen=True)
class RandInt:
    """An int drawn evenly from ``low`` to ``high``, both included."""

    low: int
    high: int

    def __post_init__(self) -> None:
        for what, value in (("low", self.low), ("high", self.high)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise SpaceError(f"randint(): {what} must be an int (got {value!r})")
        if not self.low <= self.high:
            raise SpaceError(f"randint(): low must not exceed high (got {self.low}, {self.high})")

    def __repr__(self) -> str:
        return f"randint({self.low!r}, {self.high!r})"


@dataclass(frozen=True)
class Choice:
    """One of ``options`` (a list in the space)."""

    options: tuple[Any, ...]

    def __repr__(self) -> str:
        return repr(list(self.options))


@dataclass(frozen=True)
class Fixed:
    """A value every trial gets (a plain value in the space)."""

    value: Any


def uniform(low: float, high: float) -> Uniform:
    """A hyperparameter drawn evenly from ``low`` to ``high``."""
    return Uniform(low, high)


def loguniform(low: float, high: float) -> LogUniform:
    """A hyperparameter drawn evenly on a log scale (as learning rates are)."""
    return LogUniform(low, high)


def randint(low: int, high: int) -> RandInt:
    """An integer hyperparameter from ``low`` to ``high``, both included."""
    return RandInt(low, high)


_DRAWN = (Uniform, LogUniform, RandInt)
_CHOICE_TYPES = (type(None), bool, int, float, str)


def parse(space: Any) -> dict[str, Any]:
    """Check a space and return it flat: dotted name -> Uniform/LogUniform/RandInt/Choice/Fixed.

    Raises
    ------
    SpaceError
        If the space is not a dict, is empty, holds nothing to sweep, or holds a
        value of another type (naming the parameter and the value).
    """
    if not isinstance(space, Mapping):
        raise SpaceError(
            f"space must be a dict of parameter -> values (got {type(space).__name__})"
        )
    flat: dict[str, Any] = {}
    _walk(space, "", flat)
    if not flat:
        raise SpaceError("space is empty: give at least one parameter to sweep")
    if not any(not isinstance(v, Fixed) for v in flat.values()):
        raise SpaceError(
            "space has only fixed values, so every trial would be the same: give a "
            "parameter a list of choices or uniform(), loguniform() or randint()"
        )
    return flat


def _walk(mapping: Mapping[Any, Any], prefix: str, flat: dict[str, Any]) -> None:
    for key, value in mapping.items():
        if not isinstance(key, str) or not key or "." in key:
            raise SpaceError(
                f"space keys must be non-empty strings without '.' (got {key!r}); "
                "nest dicts for nested params"
            )
        name = prefix + key
        if isinstance(value, Mapping):
            if not value:
                raise SpaceError(f"space parameter {name!r} is an empty dict")
            _walk(value, name + ".", flat)
        elif isinstance(value, _DRAWN):
            flat[name] = value
        elif isinstance(value, (list, tuple)):
            if not value:
                raise SpaceError(f"space parameter {name!r} is an empty list: nothing to choose")
            for option in value:
                if not isinstance(option, _CHOICE_TYPES) or (
                    isinstance(option, float) and not math.isfinite(option)
                ):
                    raise SpaceError(
                        f"space parameter {name!r}: a choice must be a str, number, bool or "
                        f"None (got {option!r})"
                    )
            if len(set(map(repr, value))) < len(value):
                raise SpaceError(f"space parameter {name!r} lists a choice twice: {list(value)!r}")
            flat[name] = Choice(tuple(value))
        else:
            try:
                fixed = coerce({"v": value})["v"]
            except HypertunerError:
                raise SpaceError(
                    f"space parameter {name!r}: {value!r} is neither a JSON value, a list of "
                    "choices nor uniform(), loguniform() or randint()"
                ) from None
            flat[name] = Fixed(fixed)


def suggest(trial: Any, flat: dict[str, Any]) -> dict[str, Any]:
    """Draw every swept parameter with an Optuna trial; returns dotted name -> value."""
    drawn: dict[str, Any] = {}
    for name, spec in flat.items():
        if isinstance(spec, Uniform):
            drawn[name] = trial.suggest_float(name, spec.low, spec.high)
        elif isinstance(spec, LogUniform):
            drawn[name] = trial.suggest_float(name, spec.low, spec.high, log=True)
        elif isinstance(spec, RandInt):
            drawn[name] = trial.suggest_int(name, spec.low, spec.high)
        elif isinstance(spec, Choice):
            drawn[name] = trial.suggest_categorical(name, list(spec.options))
    return drawn


def to_params(flat: dict[str, Any], drawn: Mapping[str, Any]) -> dict[str, Any]:
    """The nested params dict of one trial: the fixed values and the drawn ones."""
    nested: dict[str, Any] = {}
    for name, spec in flat.items():
        value = spec.value if isinstance(spec, Fixed) else drawn[name]
        *parents, leaf = name.split(".")
        place = nested
        for parent in parents:
            place = place.setdefault(parent, {})
        place[leaf] = value
    return nested


def grid_of(flat: dict[str, Any]) -> dict[str, list[Any]]:
    """The grid a grid sampler walks: every choice of every swept parameter.

    Raises
    ------
    SpaceError
        If a parameter is drawn from a range: a grid needs lists (a randint is
        taken as the list of its integers).
    """
    grid: dict[str, list[Any]] = {}
    for name, spec in flat.items():
        if isinstance(spec, Choice):
            grid[name] = list(spec.options)
        elif isinstance(spec, RandInt):
            grid[name] = list(range(spec.low, spec.high + 1))
        elif isinstance(spec, (Uniform, LogUniform)):
            raise SpaceError(
                f"sampler='grid' needs a list of values for every parameter; {name!r} is {spec!r}"
            )
    return grid


_JSON_DRAWN = {"uniform": uniform, "loguniform": loguniform, "randint": randint}


def from_json(text: str, origin: str = "space") -> dict[str, Any]:
    """A space from JSON, where ``{"loguniform": [lo, hi]}`` (or uniform, randint) draws.

    Any other object is nested params; a list is a choice; a plain value is fixed.

    Raises
    ------
    SpaceError
        If the text is not a JSON object, or a range is not ``[low, high]``.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpaceError(
            f"{origin} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    if not isinstance(data, dict):
        raise SpaceError(f"{origin} must hold a JSON object of parameter -> values")
    return _drawn_from_json(data, "")


def _drawn_from_json(data: dict[str, Any], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _JSON_DRAWN:
            ((kind, bounds),) = value.items()
            if not isinstance(bounds, list) or len(bounds) != 2:
                raise SpaceError(
                    f"space parameter {prefix + key!r}: {kind} needs [low, high] (got {bounds!r})"
                )
            out[key] = _JSON_DRAWN[kind](*bounds)
        elif isinstance(value, dict):
            out[key] = _drawn_from_json(value, f"{prefix}{key}.")
        else:
            out[key] = value
    return out
