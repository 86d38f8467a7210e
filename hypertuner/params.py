"""Hyperparameters: defaults in the script, overridden by a JSON file per run::

    p = params({"lr": 0.01, "model": {"hidden": 64}})  # train.py --params wide.json
    p.lr, p.model.hidden

The latest result is kept (:func:`current`) so that a ``Logger`` can record it.
"""

from __future__ import annotations

import json
import keyword
import math
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import ParamsError

__all__ = ["Params", "coerce", "current", "current_dict", "json_entries", "params"]

_FLAG = "--params"
_ENV_VAR = "HYPERTUNER_PARAMS"
_JSON_KINDS = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}
_current: Params | None = None


def _a(name: str) -> str:
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def _got(value: Any) -> str:
    return f"got {value!r} that is {_a(type(value).__name__)}"


def _plain(value: Any, where: str) -> Any:
    """Return a fresh JSON-ready copy of *value*; *where* is its dotted key, for errors."""
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                place = f" in {where!r}" if where else ""
                raise ParamsError(
                    f"key {key!r}{place} is {_a(type(key).__name__)}; keys must be strings"
                )
            out[str(key)] = _plain(item, f"{where}.{key}" if where else key)
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if value is None or isinstance(value, bool):
        return value
    # Subclasses (IntEnum, numpy.float64, numpy.str_) become the base type so that
    # json.dumps and equality with values read back from disk behave the same.
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            # Python's json would write NaN, but the browser's JSON.parse rejects it.
            raise ParamsError(
                f"{where!r} must be a finite number, as JSON has no nan or infinity ({_got(value)})"
            )
        return float(value)
    if getattr(value, "shape", None) == () and callable(getattr(value, "item", None)):
        # numpy scalars and 0-d arrays, detected without importing numpy.
        return _plain(value.item(), where)
    raise ParamsError(
        f"{where!r} must be a JSON value: str, int, float, bool, None, list or dict ({_got(value)})"
    )


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return [_freeze(item) for item in value]
    # Params() checks the already-checked dict again: a cost only of nesting depth.
    return Params(value) if isinstance(value, dict) else value


def _thaw(value: Any) -> Any:
    if isinstance(value, list):
        return [_thaw(item) for item in value]
    return value.to_dict() if isinstance(value, Params) else value


class Params(Mapping[str, Any]):
    """Read-only hyperparameters, reachable as fields (``p.lr``) or keys (``p["lr"]``).

    Parameters
    ----------
    mapping : Mapping, optional
        Copied; nested mappings, also inside lists, become ``Params``. Values must be
        JSON values (numpy scalars are converted), else a ``ParamsError`` is raised.

    Notes
    -----
    A key that is not an identifier or names a method (``keys``, ``to_dict``) is
    reachable only as ``p["key"]``. Lists stay lists: their items are not frozen.
    """

    __slots__ = ("_fields",)
    _fields: dict[str, Any]

    def __init__(self, mapping: Mapping[str, Any] | None = None) -> None:
        if not isinstance(mapping, (Mapping, type(None))):
            raise ParamsError(f"Params needs a mapping ({_got(mapping)})")
        plain = _plain(mapping or {}, "")
        object.__setattr__(self, "_fields", {k: _freeze(v) for k, v in plain.items()})

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> Params:
        """Return ``Params(mapping)``; see the class for details."""
        return cls(mapping)

    def to_dict(self) -> dict[str, Any]:
        """Return the values as fresh plain nested dicts and lists, ready for ``json.dumps``."""
        return {key: _thaw(value) for key, value in self._fields.items()}

    def __getitem__(self, key: str) -> Any:
        return self._fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __getattr__(self, name: str) -> Any:
        # object.__getattribute__, so that an unset _fields cannot recurse in here.
        fields = object.__getattribute__(self, "_fields")
        if name in fields:
            return fields[name]
        known = ", ".join(fields) or "none"
        raise AttributeError(
            f"Params has no field {name!r}; known fields: {known}", name=name, obj=self
        )

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Params is read-only; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Params is read-only; cannot delete {name!r}")

    def __dir__(self) -> list[str]:
        # Lets Jupyter tab-complete the fields.
        return [*super().__dir__(), *(k for k in self._fields if k.isidentifier())]

    def __reduce__(self) -> tuple[Any, ...]:
        # The default protocol would restore _fields through __setattr__, which refuses.
        return (type(self), (self.to_dict(),))

    def __repr__(self) -> str:
        if all(k.isidentifier() and not keyword.iskeyword(k) for k in self._fields):
            return "Params(" + ", ".join(f"{k}={v!r}" for k, v in self._fields.items()) + ")"
        return f"Params({self._fields!r})"


def _read(path: str | os.PathLike[str], origin: str = "") -> dict[str, Any]:
    shown = f"{os.fspath(path)!r}{origin}"
    try:
        # utf-8-sig: editors on Windows like to start the file with a BOM.
        text = Path(path).expanduser().read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ParamsError(f"params file {shown} not found") from None
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise ParamsError(f"cannot read params file {shown}: {reason}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParamsError(
            f"params file {shown} is not valid JSON: {exc.msg} "
            f"at line {exc.lineno}, column {exc.colno}"
        ) from None
    if not isinstance(data, dict):
        raise ParamsError(
            f"params file {shown} must hold a JSON object at the top level, "
            f"not {_JSON_KINDS[type(data)]}"
        )
    return _plain(data, "")


def _path_in(argv: Sequence[str]) -> str | None:
    path = None
    args = iter(argv)
    for arg in args:
        if arg == "--":
            break  # what follows is the script's own positional arguments
        if arg == _FLAG:
            path = next(args, None)
            if path is None or path.startswith("-"):
                path = ""  # argparse also refuses an option as the value
        elif arg.startswith(_FLAG + "="):
            path = arg[len(_FLAG) + 1 :]
        else:
            continue
        if not path:
            raise ParamsError(f"{_FLAG} needs a path to a JSON file, as in {_FLAG} params.json")
    return path  # the last --params wins, as with argparse


def _check_type(dotted: str, default: Any, value: Any) -> None:
    if default is None:
        return
    if isinstance(default, bool):
        ok, want = isinstance(value, bool), "a bool"
    elif isinstance(default, int):
        ok, want = isinstance(value, int) and not isinstance(value, bool), "an int"
    elif isinstance(default, float):
        # JSON has one number type, and JavaScript writes 1.0 as 1: an int must do.
        ok, want = isinstance(value, (int, float)) and not isinstance(value, bool), "a float"
    else:  # str, list or dict: defaults went through _plain
        ok, want = isinstance(value, type(default)), _a(type(default).__name__)
    if not ok:
        raise ParamsError(f"{dotted!r} must be {want} ({_got(value)})")


def _merge(defaults: dict[str, Any], loaded: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    merged = dict(defaults)
    for key, value in loaded.items():
        dotted = prefix + key
        if key not in defaults:
            known = ", ".join(prefix + k for k in defaults) or "none"
            raise ParamsError(f"unknown parameter {dotted!r}; known parameters: {known}")
        if isinstance(defaults[key], dict) and isinstance(value, dict):
            merged[key] = _merge(defaults[key], value, dotted + ".")
        else:
            _check_type(dotted, defaults[key], value)
            merged[key] = value
    return merged


def params(defaults: Mapping[str, Any] | None = None, argv: Sequence[str] | None = None) -> Params:
    """Return this run's hyperparameters: a JSON file merged over *defaults*.

    The file is named by ``--params PATH`` or ``--params=PATH`` (the last wins, and
    nothing after ``--`` is read), else by ``$HYPERTUNER_PARAMS`` if set and not empty.
    Other arguments are ignored. With no file the result holds *defaults*, or nothing.

    Parameters
    ----------
    defaults : Mapping, optional
        The known parameters. When given, the file may set only these, each to the
        default's type: an int will do for a float (and stays an int), a bool is not a
        number, a None default takes anything, dicts merge and lists replace lists.
    argv : sequence of str, optional
        Command-line arguments; ``sys.argv[1:]`` when None.

    Returns
    -------
    Params
        The merged values, which :func:`current` returns from now on.

    Raises
    ------
    ParamsError
        If ``--params`` has no path; the file is missing or not a JSON object; or a
        key is unknown or a value of the wrong type.
    """
    global _current
    if defaults is not None and not isinstance(defaults, Mapping):
        raise ParamsError(f"defaults must be a dict or a Params ({_got(defaults)})")
    base = None if defaults is None else _plain(defaults, "")
    path, origin = _path_in(sys.argv[1:] if argv is None else argv), ""
    if path is None and os.environ.get(_ENV_VAR):
        path, origin = os.environ[_ENV_VAR], f" (from {_ENV_VAR})"
    if path is None:
        merged = base or {}
    else:
        loaded = _read(path, origin)
        merged = loaded if base is None else _merge(base, loaded)
    _current = Params(merged)
    return _current


def current() -> Params | None:
    """Return the result of the latest :func:`params` call in this process, or None."""
    return _current


def current_dict() -> dict[str, Any]:
    """The latest :func:`params` as a fresh dict, empty if it was never called."""
    return _current.to_dict() if _current is not None else {}


def coerce(value: Mapping[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
    """Return hyperparameters as a fresh dict of JSON values, ready for ``json.dumps``.

    Parameters
    ----------
    value : Mapping, Params, str or os.PathLike
        A dict or ``Params``, or the path of a JSON file holding an object. Tuples
        become lists and numpy scalars Python values.

    Raises
    ------
    ParamsError
        If *value* is of another type, the file is not a JSON object, or a key is not
        a str or a value not a finite JSON value (the key is named).
    """
    if isinstance(value, Params):
        return value.to_dict()  # already checked when it was built
    if isinstance(value, Mapping):
        return _plain(value, "")
    if isinstance(value, (str, os.PathLike)):
        return _read(value)
    raise ParamsError(f"params must be a dict, a Params or a path to a JSON file ({_got(value)})")


def json_entries(mapping: Mapping[Any, Any] | Any) -> dict[str, Any]:
    """The entries of a framework's config that have a JSON form, as a fresh dict.

    Nested mappings (and ``argparse.Namespace``) become dicts; keys become strings;
    numpy scalars become numbers and numpy arrays lists. Entries with no JSON form (a
    module, a class, a callable, a NaN) are left out rather than refused: a training
    framework's config holds such things, and the rest is still worth recording.
    """
    if not isinstance(mapping, Mapping):
        mapping = vars(mapping)
    plain: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, Mapping) or type(value).__name__ == "Namespace":
            plain[str(key)] = json_entries(value)
            continue
        if getattr(value, "shape", ()) != () and callable(getattr(value, "tolist", None)):
            value = value.tolist()  # a numpy array (class weights, constraints...)
        try:
            plain[str(key)] = _plain(value, str(key))
        except ParamsError:
            pass
    return plain
