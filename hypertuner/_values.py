"""The one place that judges what kind of value ``log()`` was given.

Three kinds exist: numbers (kept as float64), booleans and text. A key keeps the
kind of its first value. The fast path in ``Logger.log`` looks a call's value types
up in its cache of call shapes, built from :data:`FAST_KINDS`, and runs the shape's
:func:`fast_check`; anything else comes here to be normalised or refused.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np

from .errors import InvalidStepError, InvalidValueError

__all__ = [
    "BOOL",
    "EAGER_DEVICES",
    "FAST_KINDS",
    "FAST_TEXT_CHARS",
    "INT_LIMIT",
    "KIND_NAMES",
    "KIND_PHRASES",
    "MAX_TEXT_BYTES",
    "NUMBER",
    "TEXT",
    "check_name",
    "describe",
    "fast_check",
    "flatten",
    "is_kept",
    "kept_groups",
    "normalise",
    "normalise_step",
    "read_kept",
]

NUMBER, BOOL, TEXT = 0, 1, 2
KIND_NAMES = {NUMBER: "number", BOOL: "bool", TEXT: "text"}
KIND_PHRASES = {NUMBER: "a number", BOOL: "a bool", TEXT: "text (a str)"}

# Types whose instances need no conversion: the drain turns a block of them into
# float64 columns in one C-level pass (numpy's scalars convert there as floats do).
# A Python int must also be within INT_LIMIT; numpy's ints always are.
FAST_KINDS: dict[type, int] = {float: NUMBER, int: NUMBER, bool: BOOL, str: TEXT}
FAST_KINDS.update(
    dict.fromkeys(
        (np.float16, np.float32, np.float64, np.longdouble, np.int8, np.int16, np.int32)
        + (np.int64, np.uint8, np.uint16, np.uint32, np.uint64),
        NUMBER,
    )
)
FAST_KINDS.update({np.bool_: BOOL, np.str_: TEXT})

ACCEPTED = "a number, a bool, a str, or a numpy/tensor scalar"

# Beyond this an int cannot be held by a float64 at all.
INT_LIMIT = 2**1023

# The longest text value one record of the run file holds, in UTF-8 bytes (the same
# bound as runfile.MAX_TEXT_BYTES: a quarter gigabyte less a point's framing).
MAX_TEXT_BYTES = (1 << 28) - 9 - 24
# A str of at most this many characters is within MAX_TEXT_BYTES whatever it holds
# (UTF-8 takes at most 4 bytes a character), so the fast path checks only its length.
FAST_TEXT_CHARS = MAX_TEXT_BYTES // 4


def describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} that is {_article(type(value).__name__)}"


def _article(name: str) -> str:
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def normalise(key: str, value: Any) -> tuple[int, float | bool | str]:
    """Return ``(kind, plain Python value)`` for one logged value.

    Raises
    ------
    InvalidValueError
        If the value is not a number, bool, str or a scalar with ``.item()``.
    """
    kind = FAST_KINDS.get(type(value))
    if kind is not None and type(value) is not int:
        if kind == TEXT and len(value) > FAST_TEXT_CHARS:
            _check_text(key, value)
        return kind, value
    torch = sys.modules.get("torch")  # a tensor can only exist once torch is imported
    if torch is not None and isinstance(value, torch.Tensor):
        return _tensor(key, value, torch)
    jax = sys.modules.get("jax")
    if jax is not None and isinstance(value, jax.Array):
        return _jax_array(key, value, jax)
    if value is None:
        raise InvalidValueError(
            f"log(): the value of {key!r} is None; log {ACCEPTED}, or leave the key out."
        )
    if isinstance(value, bool):
        return BOOL, bool(value)
    if isinstance(value, str):
        text = str(value)
        if len(text) > FAST_TEXT_CHARS:
            _check_text(key, text)
        return TEXT, text
    if getattr(getattr(value, "dtype", None), "kind", None) in ("m", "M"):
        # numpy's timedelta64 counts as an integer to Python; neither it nor a
        # datetime64 has a unit-free value to plot.
        raise InvalidValueError(
            f"log(): the value of {key!r} is a duration or a date (got {describe(value)}); "
            "log a number, such as seconds: value / np.timedelta64(1, 's')."
        )
    try:
        if isinstance(value, numbers.Integral):
            return NUMBER, _int_value(key, value)
        if isinstance(value, numbers.Real):
            return NUMBER, float(value)
    except InvalidValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - a user type's __int__/__float__ may raise anything
        raise InvalidValueError(
            f"log(): the value of {key!r} must be {ACCEPTED} "
            f"(got {describe(value)}; converting it failed: {type(exc).__name__}: {exc})."
        ) from None
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, (list, tuple, dict, set)):
        # numpy scalars, 0-d arrays, jax arrays: all expose .item()
        # and none needs to be imported to be read this way.
        try:
            plain = item()
        except Exception as exc:  # noqa: BLE001 - whatever .item() raises, the call is refused
            raise InvalidValueError(
                f"log(): the value of {key!r} must be {ACCEPTED} "
                f"(got {describe(value)}; .item() failed: {type(exc).__name__}: {exc})."
            ) from None
        if plain is not value and type(plain) in (int, float, bool, str):
            return normalise(key, plain)
    raise InvalidValueError(
        f"log(): the value of {key!r} must be {ACCEPTED} (got {describe(value)})."
    )


# Devices whose tensors are read at the call: there .item() waits for no queue of
# work, and is cheaper than keeping a copy. Tensors elsewhere (CUDA, MPS...) are kept.
EAGER_DEVICES = frozenset({"cpu"})


def _tensor(key: str, value: Any, torch: Any) -> tuple[int, Any]:
    """A one-element torch tensor: read now on the CPU, else kept: no GPU sync per call.

    On an accelerator its kind comes from its dtype, and a detached copy is kept, so
    an in-place change after the call, a CUDA graph replaying, or the autograd graph
    never reach it; the logger converts the tensors of a drain together, one
    transfer per device.
    """
    if value.is_cpu and "cpu" in EAGER_DEVICES:
        # On the CPU .item() waits for nothing: read it now, checking only on failure.
        try:
            plain = value.item()
        except RuntimeError:
            plain = None  # not one element: said below
        if plain is not None and type(plain) is not complex:
            return normalise(key, plain)
    count = value.numel()
    if count != 1:
        raise InvalidValueError(
            f"log(): the value of {key!r} is a tensor of {count:,} elements "
            f"(shape {tuple(value.shape)}); log one number per key, e.g. tensor.mean()."
        )
    if value.dtype.is_complex:
        raise InvalidValueError(
            f"log(): the value of {key!r} is a complex tensor ({value.dtype}); log its .real "
            "or .abs()."
        )
    kind = BOOL if value.dtype == torch.bool else NUMBER
    return kind, value.detach().reshape(()).clone()


def _jax_array(key: str, value: Any, jax: Any) -> tuple[int, Any]:
    """A one-element JAX array: kept as it is, its kind from its dtype.

    A JAX array never changes once made, so keeping it needs no copy, and reading
    it (which waits for the computation making it, on any device, the CPU too) is
    left to the drain: one wait per drain instead of one per call.
    """
    if isinstance(value, jax.core.Tracer):
        raise InvalidValueError(
            f"log(): the value of {key!r} is a JAX tracer: log() was called inside a "
            "transformed function (jax.jit, grad, vmap...), where values are not known yet. "
            "Return the value from the function and log it outside."
        )
    count = value.size
    if count != 1:
        raise InvalidValueError(
            f"log(): the value of {key!r} is a JAX array of {count:,} elements "
            f"(shape {tuple(value.shape)}); log one number per key, e.g. array.mean()."
        )
    kind = value.dtype.kind
    if kind == "c":
        raise InvalidValueError(
            f"log(): the value of {key!r} is a complex JAX array ({value.dtype}); log its "
            ".real or abs()."
        )
    if value.is_deleted():
        raise InvalidValueError(
            f"log(): the value of {key!r} is a deleted JAX array (donated to a jitted "
            "function?); log it before it is donated."
        )
    return (BOOL if kind == "b" else NUMBER), (value.reshape(()) if value.ndim else value)


def is_kept(value: Any) -> bool:
    """Whether a normalised value is kept for the drain to read (a tensor, a JAX array)."""
    return type(value) not in FAST_KINDS


def read_kept(values: Sequence[Any]) -> list[float]:
    """Read kept values (torch tensors of one device, or JAX arrays) as floats, together.

    Torch tensors are stacked into one tensor, so a device's values come over in
    one transfer. JAX arrays are asked to start their copies to the host first
    (off the CPU), so the waits overlap. Raises whatever the framework raises.
    """
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(values[0], torch.Tensor):
        return torch.stack(list(values)).to("cpu", torch.float64).tolist()
    if next(iter(values[0].devices())).platform != "cpu":
        for value in values:
            value.copy_to_host_async()
    return np.fromiter(map(np.asarray, values), np.float64, len(values)).tolist()


def kept_groups(column: Sequence[Any]) -> dict[Any, list[int]]:
    """Where a column's kept values are, by what :func:`read_kept` reads together:
    each torch device's tensors, and JAX's arrays. Plain values are left out."""
    torch = sys.modules.get("torch")
    tensor = torch.Tensor if torch is not None else ()
    types = set(map(type, column))
    if len(types) == 1:  # the usual column: one kind of value throughout
        (kind,) = types
        if kind in FAST_KINDS:
            return {}
        if not issubclass(kind, tensor):
            return {"jax": list(range(len(column)))}
        devices = set(map(_DEVICE, column))
        if len(devices) == 1:
            return {devices.pop(): list(range(len(column)))}
    groups: dict[Any, list[int]] = {}
    for at, value in enumerate(column):
        if type(value) not in FAST_KINDS:
            group = value.device if isinstance(value, tensor) else "jax"
            groups.setdefault(group, []).append(at)
    return groups


def _check_text(key: str, text: str) -> None:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_TEXT_BYTES:
        raise InvalidValueError(
            f"log(): the text of {key!r} is {size:,} bytes long; a text value may be at most "
            f"{MAX_TEXT_BYTES:,} bytes (256 MiB). Save it to a file and log its path."
        )


def check_name(key: str) -> None:
    """Refuse a key that cannot be written as UTF-8 (a lone surrogate, say)."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidValueError(
            f"log(): the key {key!r} is not valid Unicode text ({exc.reason} at "
            f"character {exc.start}); keys must encode as UTF-8."
        ) from None


def _int_value(key: str, value: Any) -> float:
    number = int(value)
    if not -INT_LIMIT < number < INT_LIMIT:
        raise InvalidValueError(
            f"log(): the value of {key!r} is too large to store as a number "
            f"(got an int of {len(str(abs(number)))} digits; the limit is 2**1023)."
        )
    return float(number)


def normalise_step(step: Any) -> float:
    """Return a logged step as a float, refusing anything that is not a finite number."""
    plain = step
    if isinstance(step, bool) or not isinstance(step, numbers.Real):
        item = getattr(step, "item", None)
        try:
            plain = item() if callable(item) and not isinstance(step, bool) else None
        except (ValueError, RuntimeError, TypeError):
            plain = None
        if isinstance(plain, bool) or not isinstance(plain, (int, float)):
            raise InvalidStepError(
                f"log(): step must be a finite number or None (got {describe(step)})."
            )
    try:
        value = float(plain)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise InvalidStepError(
            f"log(): step must be a finite number or None (got {describe(step)})."
        )
    return value


def flatten(values: Any, prefix: str = "", flat: dict[str, Any] | None = None) -> dict[str, Any]:
    """Flatten nested mappings into ``parent/child`` keys, checking every key is a string.

    Raises
    ------
    InvalidValueError
        For a key that is not a non-empty str, an empty nested dict, or one name
        given twice (``{"a": {"b": 1}, "a/b": 2}``: one value would be lost).
    """
    if flat is None:
        flat = {}
    for key, value in values.items():
        if type(key) is not str and not isinstance(key, str):
            raise InvalidValueError(f"log(): keys must be non-empty strings (got {describe(key)}).")
        if not key:
            raise InvalidValueError("log(): keys must be non-empty strings (got '').")
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            if not value:
                raise InvalidValueError(f"log(): the value of {name!r} is an empty dict.")
            flatten(value, name + "/", flat)
        elif name in flat:
            raise InvalidValueError(
                f"log(): {name!r} is given twice, as a nested dict and as a '/' name; "
                "give it once, or one of the two values would be lost."
            )
        else:
            flat[str(name)] = value
    return flat


# A check a cached call shape runs on the call's outer values: its flat values to
# queue, or None to take the full check.
Check = Callable[[tuple], "Sequence[Any] | None"]


def fast_check(
    inner_keys: Sequence[tuple[str, ...] | None],
    flat_types: tuple[type, ...],
    tensors: Mapping[int, type],
    kept: Mapping[int, Any] | None = None,
) -> Check | None:
    """What a call of a cached shape must pass before it is queued; None for nothing.

    The shape's calls have the same outer keys and value types as the one that was
    accepted. ``inner_keys`` gives, per outer value, the keys of the dict it was
    (None for a value); ``flat_types`` the flat values' types; ``tensors`` maps the
    positions of CPU tensors among them to the type their ``.item()`` gave, and
    ``kept`` the positions of values kept for the drain (tensors off the CPU, JAX
    arrays) to their dtype.

    The check returns the flat values, or None (the call then takes the full check,
    which raises or caches its shape anew) when a nested dict has other keys or
    value types, a tensor is off the CPU, a tensor or JAX array is of another dtype
    or not 0-d,
    an int is beyond INT_LIMIT, or a text is longer than FAST_TEXT_CHARS. Each part
    is a few C-level calls; a shape of plain floats needs none (None is returned).
    """
    read = [tensors.get(i, t) for i, t in enumerate(flat_types)]
    width = len(read)
    kept = kept or {}
    parts: list[Check] = []
    if any(keys is not None for keys in inner_keys):
        parts.append(_unnester(inner_keys, flat_types))
    if tensors:
        parts.append(_tensor_reader(tuple(tensors), tuple(tensors.values()), width))
    if kept:
        torch = sys.modules.get("torch")
        copies = tuple(
            at for at in kept if torch is not None and issubclass(flat_types[at], torch.Tensor)
        )
        parts.append(_keeper(tuple(kept), tuple(kept.values()), copies, width))
    ints = tuple(i for i, t in enumerate(read) if t is int)
    if ints:
        parts.append(
            _bounded(ints, width, lambda ints: -INT_LIMIT < min(ints) and max(ints) < INT_LIMIT)
        )
    texts = tuple(i for i, t in enumerate(read) if i not in kept and FAST_KINDS[t] == TEXT)
    if texts:
        parts.append(_bounded(texts, width, lambda texts: max(map(len, texts)) <= FAST_TEXT_CHARS))
    if len(parts) <= 1:
        return parts[0] if parts else None

    def check(row: tuple) -> Sequence[Any] | None:
        for part in parts:
            row = part(row)
            if row is None:
                return None
        return row

    return check


def _picker(positions: tuple[int, ...], width: int) -> Callable[[Sequence[Any]], Sequence[Any]]:
    """A function giving the values at ``positions`` of a row, as a sequence."""
    if len(positions) == width:
        return lambda row: row
    if len(positions) == 1:
        (at,) = positions
        return lambda row: (row[at],)
    return itemgetter(*positions)


def _bounded(positions: tuple[int, ...], width: int, fits: Callable[[Any], bool]) -> Check:
    """A check passing a row whose values at ``positions`` all ``fits``."""
    pick = _picker(positions, width)
    return lambda row: row if fits(pick(row)) else None


def _unnester(inner_keys: Sequence[tuple[str, ...] | None], flat_types: tuple[type, ...]) -> Check:
    """The check of a shape with nested dicts: their keys, then every flat value's type.

    Made from source for each shape (as dataclasses and attrs make their methods):
    a loop over the outer values would cost the call more than all else it does.
    Only names are put in the source; the keys and types are passed as globals.
    """
    names = [f"v{i}" for i in range(len(inner_keys))]
    tests = [
        f"tuple({name}) == K{i}"
        for i, (name, keys) in enumerate(zip(names, inner_keys))
        if keys is not None
    ]
    parts = [name if keys is None else f"*{name}.values()" for name, keys in zip(names, inner_keys)]
    source = (
        "def unnest(row):\n"
        f"    {', '.join(names)}, = row\n"
        f"    if {' and '.join(tests)}:\n"
        f"        flat = ({', '.join(parts)},)\n"
        "        if tuple(map(type, flat)) == T:\n"
        "            return flat\n"
        "    return None\n"
    )
    namespace: dict[str, Any] = {f"K{i}": keys for i, keys in enumerate(inner_keys)}
    namespace["T"] = flat_types
    exec(source, namespace)  # noqa: S102 - our own source: no value reaches it
    return namespace["unnest"]


_IS_CPU = attrgetter("is_cpu")


def _tensor_reader(positions: tuple[int, ...], item_types: tuple[type, ...], width: int) -> Check:
    """The check of a shape with CPU tensors: read them with ``.item()`` now.

    On the CPU ``.item()`` waits for nothing and is cheaper than keeping a copy
    (which an in-place change or the autograd graph must not reach). The types the
    items have must be those cached: a bool tensor stays a bool, a float a number.
    """
    torch = sys.modules["torch"]
    item = torch.Tensor.item
    pick = _picker(positions, width)
    every = len(positions) == width

    def read(row: Sequence[Any]) -> Sequence[Any] | None:
        tensors = pick(row)
        if not all(map(_IS_CPU, tensors)):
            return None
        try:
            items = tuple(map(item, tensors))
        except Exception:  # noqa: BLE001 - not one element, or unreadable: the full check says
            return None
        if tuple(map(type, items)) != item_types:
            return None
        if every:
            return items
        flat = list(row)
        for at, value in zip(positions, items):
            flat[at] = value
        return flat

    return read


_DEVICE = attrgetter("device")
_DTYPE = attrgetter("dtype")
_SHAPE = attrgetter("shape")


def _keeper(
    positions: tuple[int, ...], dtypes: tuple[Any, ...], copies: tuple[int, ...], width: int
) -> Check:
    """The check of a shape with kept values: the same dtypes, 0-d; tensors copied.

    ``copies`` are the positions of torch tensors: each is queued as a detached copy
    (an in-place change after the call, a CUDA graph replaying, or its autograd graph
    must not reach what is stored). A JAX array never changes: it is queued as it is.
    """
    pick = _picker(positions, width)
    scalars = ((),) * len(positions)  # torch.Size() == () too

    def keep(row: Sequence[Any]) -> Sequence[Any] | None:
        values = pick(row)
        if tuple(map(_DTYPE, values)) != dtypes or tuple(map(_SHAPE, values)) != scalars:
            return None
        if not copies:
            return row
        flat = list(row)
        for at in copies:
            flat[at] = flat[at].detach().clone()
        return flat

    return keep
