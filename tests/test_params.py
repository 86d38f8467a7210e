"""Tests for hypertuner.params: reading, merging, checking and holding hyperparameters."""

from __future__ import annotations

import copy
import json
import os
import pickle
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hypertuner.errors import ParamsError
from hypertuner.params import Params, coerce, current, params

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # A HYPERTUNER_PARAMS left in the developer's shell must not leak into the tests.
    monkeypatch.delenv("HYPERTUNER_PARAMS", raising=False)


def write(tmp_path: Path, data: object, name: str = "p.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


DEFAULTS = {
    "lr": 0.01,
    "epochs": 10,
    "amp": False,
    "name": "run",
    "seed": None,
    "layers": [64, 64],
    "model": {"hidden": 64, "act": "relu"},
}


# --- Params ----------------------------------------------------------------------------


def test_fields_are_attributes_and_nested_dicts_are_params() -> None:
    """Keys are attributes and nested dicts become nested Params."""
    p = Params({"lr": 0.01, "model": {"hidden": 64}})
    assert p.lr == 0.01
    assert isinstance(p.model, Params)
    assert p.model.hidden == 64


def test_params_is_a_read_only_mapping() -> None:
    """Params supports indexing, len, iteration in order, `in` and dict()."""
    p = Params({"b": 1, "a": {"c": 2}})
    assert isinstance(p, Mapping)
    assert p["b"] == 1
    assert len(p) == 2
    assert list(p) == ["b", "a"]
    assert "a" in p and "z" not in p
    assert dict(p) == {"b": 1, "a": Params({"c": 2})}
    with pytest.raises(KeyError):
        p["z"]
    with pytest.raises(TypeError):
        p["b"] = 2  # type: ignore[index]


def test_repr_is_readable_and_nested() -> None:
    """repr shows keyword-style fields, nested Params included."""
    assert repr(Params({"lr": 0.01, "model": {"hidden": 64}})) == (
        "Params(lr=0.01, model=Params(hidden=64))"
    )
    assert repr(Params()) == "Params()"


def test_repr_of_non_identifier_keys_uses_a_dict() -> None:
    """repr falls back to dict form when a key is not a valid keyword argument."""
    assert repr(Params({"a b": 1, "class": 2})) == "Params({'a b': 1, 'class': 2})"


def test_missing_attribute_names_field_and_known_fields() -> None:
    """Reading a missing field raises AttributeError naming it and the known fields."""
    with pytest.raises(
        AttributeError, match=re.escape("Params has no field 'lrr'; known fields: lr, model")
    ):
        _ = Params({"lr": 0.01, "model": {}}).lrr
    with pytest.raises(
        AttributeError, match=re.escape("Params has no field 'x'; known fields: none")
    ):
        _ = Params().x


def test_setting_or_deleting_an_attribute_is_refused() -> None:
    """Params is immutable: setting or deleting an attribute raises AttributeError."""
    p = Params({"lr": 0.01})
    with pytest.raises(AttributeError, match=re.escape("Params is read-only; cannot set 'lr'")):
        p.lr = 0.1
    with pytest.raises(AttributeError, match=re.escape("Params is read-only; cannot set 'x'")):
        p.x = 1
    with pytest.raises(AttributeError, match=re.escape("Params is read-only; cannot delete 'lr'")):
        del p.lr


def test_params_compare_by_content() -> None:
    """Two Params with the same content are equal; different content is not."""
    assert Params({"a": 1, "b": {"c": [1, 2]}}) == Params({"b": {"c": [1, 2]}, "a": 1})
    assert Params({"a": 1}) != Params({"a": 2})
    assert Params({"a": 1}) != Params({"a": 1, "b": 2})


def test_to_dict_returns_fresh_plain_json_dicts() -> None:
    """to_dict gives plain nested dicts and lists that can be changed without effect."""
    p = Params({"model": {"hidden": 64}, "stages": [{"n": 1}]})
    d = p.to_dict()
    assert d == {"model": {"hidden": 64}, "stages": [{"n": 1}]}
    assert type(d["model"]) is dict and type(d["stages"][0]) is dict
    json.dumps(d)
    d["model"]["hidden"] = 1
    d["stages"].append(2)
    assert p.model.hidden == 64 and len(p.stages) == 1


def test_constructor_copies_its_input() -> None:
    """Changing the mapping after building Params does not change the Params."""
    source = {"model": {"hidden": 64}, "layers": [1, 2]}
    p = Params(source)
    source["model"]["hidden"] = 1
    source["layers"].append(3)
    assert p.model.hidden == 64 and p.layers == [1, 2]


def test_dicts_inside_lists_become_params() -> None:
    """A dict inside a list is reachable by attribute too."""
    assert Params({"stages": [{"lr": 0.1}]}).stages[0].lr == 0.1


def test_from_mapping_equals_constructor() -> None:
    """Params.from_mapping(m) is the same as Params(m)."""
    assert Params.from_mapping({"a": {"b": 1}}) == Params({"a": {"b": 1}})


def test_constructor_rejects_a_non_mapping() -> None:
    """Params of something other than a mapping is a ParamsError."""
    with pytest.raises(
        ParamsError, match=re.escape("Params needs a mapping (got [1] that is a list)")
    ):
        Params([1])  # type: ignore[arg-type]


def test_constructor_rejects_non_json_values() -> None:
    """Params refuses values that JSON cannot hold, naming the key."""
    with pytest.raises(ParamsError, match=re.escape("'model.act' must be a JSON value")):
        Params({"model": {"act": print}})


def test_params_survive_pickle_and_copy() -> None:
    """pickle, copy and deepcopy give an equal Params."""
    p = Params({"lr": 0.01, "model": {"hidden": 64}})
    assert pickle.loads(pickle.dumps(p)) == p
    assert copy.copy(p) == p
    assert copy.deepcopy(p) == p


def test_dir_lists_fields_for_tab_completion() -> None:
    """dir() includes the fields, so Jupyter can complete them."""
    assert {"lr", "to_dict"} <= set(dir(Params({"lr": 1})))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True), inner, max_size=3
        )
    ),
    max_leaves=10,
)
json_objects = st.dictionaries(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True), json_values, max_size=5
)


@given(json_objects)
def test_to_dict_round_trips(data: dict) -> None:
    """Params(x).to_dict() == x for any JSON-like nested dict with identifier keys."""
    p = Params(data)
    assert p.to_dict() == data
    assert Params(p.to_dict()) == p
    assert json.loads(json.dumps(p.to_dict())) == data


# --- params(): finding the file ----------------------------------------------------------


def test_no_flag_and_no_env_returns_defaults() -> None:
    """Without --params or HYPERTUNER_PARAMS the result is the defaults."""
    assert params(DEFAULTS, argv=[]) == Params(DEFAULTS)


def test_no_flag_no_env_no_defaults_returns_empty_params() -> None:
    """Without a file or defaults the result is an empty Params."""
    p = params(argv=["--epochs", "3"])
    assert isinstance(p, Params) and len(p) == 0


def test_flag_with_separate_path(tmp_path: Path) -> None:
    """`--params PATH` reads the file and merges it over the defaults."""
    path = write(tmp_path, {"lr": 0.1})
    p = params(DEFAULTS, argv=["--params", str(path)])
    assert p.lr == 0.1 and p.epochs == 10


def test_flag_with_equals_path(tmp_path: Path) -> None:
    """`--params=PATH` reads the file too."""
    path = write(tmp_path, {"lr": 0.1})
    assert params(DEFAULTS, argv=[f"--params={path}"]).lr == 0.1


def test_other_arguments_are_ignored(tmp_path: Path) -> None:
    """The script's own flags around --params are left alone."""
    path = write(tmp_path, {"epochs": 3})
    argv = ["-v", "--gpu", "0", "--params", str(path), "data.csv", "--params-extra"]
    assert params(DEFAULTS, argv=argv).epochs == 3


def test_last_flag_wins(tmp_path: Path) -> None:
    """With --params given twice the last one is used."""
    first, last = write(tmp_path, {"epochs": 1}, "a.json"), write(tmp_path, {"epochs": 2}, "b.json")
    assert params(DEFAULTS, argv=["--params", str(first), f"--params={last}"]).epochs == 2


def test_arguments_after_double_dash_are_not_read(tmp_path: Path) -> None:
    """A --params after `--` belongs to the script and is not read."""
    path = write(tmp_path, {"epochs": 3})
    assert params(DEFAULTS, argv=["--", "--params", str(path)]).epochs == 10


def test_argv_defaults_to_sys_argv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without argv, sys.argv[1:] is searched."""
    path = write(tmp_path, {"epochs": 4})
    monkeypatch.setattr(sys, "argv", ["train.py", "--params", str(path)])
    assert params(DEFAULTS).epochs == 4


def test_env_var_used_without_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """HYPERTUNER_PARAMS names the file when the command line has no --params."""
    monkeypatch.setenv("HYPERTUNER_PARAMS", str(write(tmp_path, {"epochs": 5})))
    assert params(DEFAULTS, argv=[]).epochs == 5


def test_flag_beats_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--params on the command line wins over HYPERTUNER_PARAMS."""
    monkeypatch.setenv("HYPERTUNER_PARAMS", str(write(tmp_path, {"epochs": 5}, "env.json")))
    flag = write(tmp_path, {"epochs": 6}, "flag.json")
    assert params(DEFAULTS, argv=["--params", str(flag)]).epochs == 6


def test_empty_env_var_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty HYPERTUNER_PARAMS counts as unset."""
    monkeypatch.setenv("HYPERTUNER_PARAMS", "")
    assert params(DEFAULTS, argv=[]) == Params(DEFAULTS)


@pytest.mark.parametrize("argv", [["--params"], ["--params", "--verbose"], ["--params="]])
def test_flag_without_path_is_an_error(argv: list[str]) -> None:
    """--params with no path after it is a ParamsError."""
    with pytest.raises(
        ParamsError,
        match=re.escape("--params needs a path to a JSON file, as in --params params.json"),
    ):
        params(DEFAULTS, argv=argv)


# --- params(): reading the file ------------------------------------------------------------


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    """A --params file that does not exist is a ParamsError naming it."""
    path = tmp_path / "nope.json"
    with pytest.raises(ParamsError, match=re.escape(f"params file {str(path)!r} not found")):
        params(argv=["--params", str(path)])


def test_missing_file_from_env_var_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing file named by HYPERTUNER_PARAMS is reported with where it came from."""
    path = str(tmp_path / "nope.json")
    monkeypatch.setenv("HYPERTUNER_PARAMS", path)
    with pytest.raises(
        ParamsError, match=re.escape(f"params file {path!r} (from HYPERTUNER_PARAMS) not found")
    ):
        params(argv=[])


def test_directory_is_an_error(tmp_path: Path) -> None:
    """A path that cannot be read as a file is a ParamsError with the reason."""
    with pytest.raises(
        ParamsError, match=re.escape(f"cannot read params file {str(tmp_path)!r}: ")
    ):
        params(argv=["--params", str(tmp_path)])


def test_invalid_json_gives_path_line_and_column(tmp_path: Path) -> None:
    """Broken JSON is a ParamsError with the path, line and column."""
    path = write(tmp_path, '{\n  "lr": 0.1,\n  "epochs": \n}')
    with pytest.raises(
        ParamsError,
        match=re.escape(
            f"params file {str(path)!r} is not valid JSON: Expecting value at line 4, column 1"
        ),
    ):
        params(argv=["--params", str(path)])


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    """A UTF-8 file starting with a BOM, as some Windows editors write, is read."""
    path = tmp_path / "p.json"
    path.write_bytes(b'\xef\xbb\xbf{"lr": 0.5}')
    assert params(argv=["--params", str(path)]).lr == 0.5


@pytest.mark.parametrize(
    "data, kind",
    [([1], "an array"), ('"x"', "a string"), (3, "a number"), (True, "a boolean"), (None, "null")],
)
def test_top_level_must_be_an_object(tmp_path: Path, data: object, kind: str) -> None:
    """A file whose top-level JSON value is not an object is a ParamsError."""
    path = write(tmp_path, json.dumps(data))
    with pytest.raises(
        ParamsError,
        match=re.escape(
            f"params file {str(path)!r} must hold a JSON object at the top level, not {kind}"
        ),
    ):
        params(argv=["--params", str(path)])


def test_without_defaults_the_file_is_taken_as_is(tmp_path: Path) -> None:
    """With no defaults any keys and values in the file are accepted."""
    path = write(tmp_path, {"anything": [1, "x"], "nested": {"k": None}})
    assert params(argv=["--params", str(path)]).to_dict() == {
        "anything": [1, "x"],
        "nested": {"k": None},
    }


# --- params(): merging and checking against defaults --------------------------------------


def run(tmp_path: Path, data: object, defaults: dict | None = None) -> Params:
    return params(
        DEFAULTS if defaults is None else defaults, argv=["--params", str(write(tmp_path, data))]
    )


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    """A key not in the defaults is a ParamsError listing the known keys."""
    with pytest.raises(
        ParamsError,
        match=re.escape(
            "unknown parameter 'lrr'; known parameters: lr, epochs, amp, name, seed, layers, model"
        ),
    ):
        run(tmp_path, {"lrr": 0.1})


def test_unknown_nested_key_uses_dotted_path(tmp_path: Path) -> None:
    """An unknown key in a nested dict is named by its dotted path."""
    with pytest.raises(
        ParamsError,
        match=re.escape(
            "unknown parameter 'model.hiden'; known parameters: model.hidden, model.act"
        ),
    ):
        run(tmp_path, {"model": {"hiden": 32}})


def test_empty_defaults_know_no_keys(tmp_path: Path) -> None:
    """defaults={} still checks keys, and every key is unknown."""
    with pytest.raises(
        ParamsError, match=re.escape("unknown parameter 'lr'; known parameters: none")
    ):
        run(tmp_path, {"lr": 0.1}, defaults={})


def test_wrong_type_is_an_attrs_style_error(tmp_path: Path) -> None:
    """A value of the wrong type is reported as in attrs."""
    with pytest.raises(
        ParamsError, match=re.escape("'lr' must be a float (got '0.1' that is a str)")
    ):
        run(tmp_path, {"lr": "0.1"})


def test_wrong_nested_type_uses_dotted_path(tmp_path: Path) -> None:
    """A nested value of the wrong type is named by its dotted path."""
    with pytest.raises(
        ParamsError, match=re.escape("'model.hidden' must be an int (got 6.5 that is a float)")
    ):
        run(tmp_path, {"model": {"hidden": 6.5}})


def test_int_is_accepted_for_a_float_and_kept_as_int(tmp_path: Path) -> None:
    """An int where the default is a float is accepted and stays an int."""
    lr = run(tmp_path, {"lr": 1}).lr
    assert lr == 1 and type(lr) is int


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("lr", True, "'lr' must be a float (got True that is a bool)"),
        ("epochs", False, "'epochs' must be an int (got False that is a bool)"),
        ("epochs", 3.0, "'epochs' must be an int (got 3.0 that is a float)"),
        ("amp", 1, "'amp' must be a bool (got 1 that is an int)"),
        ("name", 3, "'name' must be a str (got 3 that is an int)"),
        ("lr", None, "'lr' must be a float (got None that is a NoneType)"),
        ("layers", 64, "'layers' must be a list (got 64 that is an int)"),
        ("model", [1], "'model' must be a dict (got [1] that is a list)"),
    ],
)
def test_type_rules(tmp_path: Path, key: str, value: object, message: str) -> None:
    """Bools are not numbers, floats are not ints, and None only fits a None default."""
    with pytest.raises(ParamsError, match=re.escape(message)):
        run(tmp_path, {key: value})


@pytest.mark.parametrize("value", [1, "x", [1], {"a": 1}, None, True])
def test_none_default_accepts_anything(tmp_path: Path, value: object) -> None:
    """A key whose default is None takes a value of any type."""
    assert run(tmp_path, {"seed": value}).to_dict()["seed"] == value


def test_dicts_merge_recursively(tmp_path: Path) -> None:
    """A nested dict in the file changes only the keys it names."""
    p = run(tmp_path, {"model": {"hidden": 128}})
    assert p.model == Params({"hidden": 128, "act": "relu"})


def test_lists_replace_lists(tmp_path: Path) -> None:
    """A list in the file replaces the default list whole."""
    assert run(tmp_path, {"layers": [32]}).layers == [32]


def test_result_keeps_default_order_and_leaves_defaults_alone(tmp_path: Path) -> None:
    """Merging keeps the defaults' key order and does not modify the defaults."""
    before = copy.deepcopy(DEFAULTS)
    p = run(tmp_path, {"model": {"act": "gelu"}, "lr": 0.5})
    assert list(p) == list(DEFAULTS)
    assert DEFAULTS == before


def test_defaults_may_be_params() -> None:
    """A Params works as defaults."""
    assert params(Params({"lr": 0.1}), argv=[]) == Params({"lr": 0.1})


def test_defaults_must_be_a_mapping() -> None:
    """defaults of another type is a ParamsError."""
    with pytest.raises(
        ParamsError, match=re.escape("defaults must be a dict or a Params (got 'lr' that is a str)")
    ):
        params("lr", argv=[])  # type: ignore[arg-type]


# --- current() ---------------------------------------------------------------------------


def test_current_is_none_before_any_call() -> None:
    """current() is None in a fresh process that has not called params()."""
    code = "from hypertuner.params import current; print(current())"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "None"


def test_current_is_the_latest_result(tmp_path: Path) -> None:
    """current() returns the very object the latest params() call returned."""
    first = params({"a": 1}, argv=[])
    assert current() is first
    second = run(tmp_path, {"lr": 0.2})
    assert current() is second


# --- coerce() ----------------------------------------------------------------------------


def test_coerce_dict_returns_a_fresh_equal_dict() -> None:
    """coerce(dict) returns an equal dict that shares nothing with the input."""
    source = {"model": {"hidden": 64}, "layers": [1]}
    out = coerce(source)
    assert out == source
    out["model"]["hidden"] = 1
    out["layers"].append(2)
    assert source == {"model": {"hidden": 64}, "layers": [1]}


def test_coerce_params_returns_to_dict() -> None:
    """coerce(Params) returns its plain dict."""
    assert coerce(Params({"model": {"hidden": 64}})) == {"model": {"hidden": 64}}


def test_coerce_reads_a_path(tmp_path: Path) -> None:
    """coerce reads a JSON file given as str or as Path."""
    path = write(tmp_path, {"lr": 0.1})
    assert coerce(str(path)) == coerce(path) == {"lr": 0.1}


def test_coerce_path_errors_match_params(tmp_path: Path) -> None:
    """coerce reports a missing file as params() does."""
    path = tmp_path / "nope.json"
    with pytest.raises(ParamsError, match=re.escape(f"params file {str(path)!r} not found")):
        coerce(path)


def test_coerce_rejects_other_types() -> None:
    """coerce names what it got and what it accepts."""
    with pytest.raises(
        ParamsError,
        match=re.escape(
            "params must be a dict, a Params or a path to a JSON file (got 3 that is an int)"
        ),
    ):
        coerce(3)  # type: ignore[arg-type]


def test_coerce_rejects_non_string_keys() -> None:
    """A key that is not a string is named, with the dict it sits in."""
    with pytest.raises(ParamsError, match=re.escape("key 1 is an int; keys must be strings")):
        coerce({1: "a"})
    with pytest.raises(
        ParamsError, match=re.escape("key (1, 2) in 'model' is a tuple; keys must be strings")
    ):
        coerce({"model": {(1, 2): "a"}})


def test_coerce_rejects_non_json_values_naming_the_key() -> None:
    """A value JSON cannot hold is named by its dotted path and list index."""
    with pytest.raises(
        ParamsError,
        match=re.escape(
            "'model.shape' must be a JSON value: str, int, float, bool, None, list or dict "
            "(got {1, 2} that is a set)"
        ),
    ):
        coerce({"model": {"shape": {1, 2}}})
    with pytest.raises(ParamsError, match=re.escape("'layers[1]' must be a JSON value")):
        coerce({"layers": [1, object()]})


@pytest.mark.parametrize("value", [float("nan"), float("inf"), np.float32("nan")])
def test_coerce_rejects_non_finite_floats(value: object) -> None:
    """nan and infinity are refused, since JSON cannot hold them."""
    with pytest.raises(
        ParamsError, match=re.escape("'lr' must be a finite number, as JSON has no nan or infinity")
    ):
        coerce({"lr": value})


def test_coerce_converts_numpy_scalars_and_tuples() -> None:
    """numpy scalars become Python values and tuples become lists."""
    out = coerce(
        {
            "a": np.int64(3),
            "b": np.float32(0.5),
            "c": np.bool_(True),
            "d": np.str_("x"),
            "e": (1, np.array(2)),
        }
    )
    assert out == {"a": 3, "b": 0.5, "c": True, "d": "x", "e": [1, 2]}
    assert [type(out[k]) for k in "abcd"] == [int, float, bool, str]
    assert type(out["e"][1]) is int
    json.dumps(out)
