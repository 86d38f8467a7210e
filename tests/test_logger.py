"""The write path: Logger creation, log() rules and errors, closing, flushing."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import threading
import time
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hypertuner
from hypertuner import (
    InvalidStepError,
    InvalidValueError,
    Logger,
    RunClosedError,
    runfile,
)


class FakeTensor:
    """Stands in for a torch/jax scalar: only .item() is known about it."""

    def __init__(self, value):
        self._value = value

    def item(self):
        return self._value


class Clock:
    """A clock that advances one second per reading."""

    def __init__(self, start=1_000_000.0):
        self.now = start

    def __call__(self):
        self.now += 1.0
        return self.now


def test_new_run_folder_under_default_dir(runs_folder):
    """A Logger makes a new folder under $HYPERTUNER_DIR holding run.json and the points file."""
    logger = Logger()
    assert logger.path.parent == runs_folder
    assert (logger.path / "run.json").is_file()
    assert (logger.path / runfile.DATA_FILE).is_file()
    assert re.fullmatch(r"\d{8}-\d{6}-[a-z]+-[a-z]+", logger.name)


def test_dir_argument_wins_over_environment(tmp_path):
    """dir= chooses the parent folder of the run."""
    logger = Logger(dir=tmp_path / "elsewhere")
    assert logger.path.parent == tmp_path / "elsewhere"


def test_default_dir_is_runs_in_working_directory(tmp_path, monkeypatch):
    """Without dir or $HYPERTUNER_DIR, runs go to ./runs."""
    monkeypatch.delenv("HYPERTUNER_DIR")
    monkeypatch.chdir(tmp_path)
    logger = Logger()
    assert logger.path.parent.resolve() == (tmp_path / "runs").resolve()


def test_named_runs_get_unique_folders(runs_folder):
    """A name that is taken gets -2, -3 appended."""
    names = [Logger(name="baseline").name for _ in range(3)]
    assert names == ["baseline", "baseline-2", "baseline-3"]


def test_default_names_are_unique():
    """Many loggers created in the same second never share a folder."""
    paths = {Logger().path for _ in range(40)}
    assert len(paths) == 40


@pytest.mark.parametrize("name", ["", "a/b", "..", 3])
def test_bad_name_is_refused(name):
    """A name that cannot be a folder name is a ValueError."""
    with pytest.raises(ValueError, match="name must"):
        Logger(name=name)


def test_run_json_describes_the_run():
    """run.json records format, name, status, host, pid, version and params."""
    logger = Logger(params={"lr": 0.1})
    info = json.loads((logger.path / "run.json").read_text())
    assert info["format"] == runfile.FORMAT_VERSION
    assert info["name"] == logger.name
    assert info["status"] == "running"
    assert info["params"] == {"lr": 0.1}
    assert info["version"] == hypertuner.__version__
    assert isinstance(info["pid"], int) and info["host"]


def test_log_keeps_every_kind_and_the_order_of_calls():
    """Numbers, bools and text come back exactly, in call order, even when steps repeat."""
    logger = Logger()
    for i, step in enumerate([0, 1, 1, 0, 5]):
        logger.log({"Square": i**2, "Word of the day": "Peacock", "ok": i % 2 == 0}, step)
    assert logger["Square"].steps.tolist() == [0, 1, 1, 0, 5]
    assert logger["Square"].values.tolist() == [0, 1, 4, 9, 16]
    assert logger["Word of the day"].values.tolist() == ["Peacock"] * 5
    assert logger["ok"].values.tolist() == [True, False, True, False, True]
    assert logger.kinds == {"Square": "number", "Word of the day": "text", "ok": "bool"}
    assert len(logger) == 3 and logger.points == 15


def test_missing_step_uses_the_time_of_the_call():
    """Without a step, the wall-clock time of the call is the x position."""
    clock = Clock()
    logger = Logger(clock=clock)
    logger.log({"loss": 0.25})
    logger.log({"loss": 0.5})
    series = logger["loss"]
    assert series.steps.tolist() == series.walls.tolist() == [1_000_002.0, 1_000_003.0]


def test_scalars_of_other_libraries_are_accepted():
    """numpy scalars, 0-d arrays, tensor-like .item() objects and Fractions are stored."""
    logger = Logger()
    logger.log(
        {
            "f32": np.float32(1.5),
            "i64": np.int64(7),
            "b": np.bool_(True),
            "zero_d": np.array(2.5),
            "tensor": FakeTensor(3.25),
            "tensor_bool": FakeTensor(False),
            "text": np.str_("hi"),
            "frac": Fraction(1, 4),
        },
        0,
    )
    assert logger.kinds == {
        "f32": "number",
        "i64": "number",
        "b": "bool",
        "zero_d": "number",
        "tensor": "number",
        "tensor_bool": "bool",
        "text": "text",
        "frac": "number",
    }
    assert [logger[k].values[0] for k in ("f32", "i64", "zero_d", "tensor", "frac")] == [
        1.5,
        7,
        2.5,
        3.25,
        0.25,
    ]


def test_nested_dicts_flatten_with_slashes():
    """{'train': {'loss': 1}} is logged as 'train/loss'."""
    logger = Logger()
    logger.log({"train": {"loss": 1.0, "opt": {"lr": 0.1}}, "val/loss": 2.0}, 3)
    assert list(logger) == ["train/loss", "train/opt/lr", "val/loss"]


def test_nan_and_inf_are_kept():
    """NaN and infinities are points like any other."""
    logger = Logger()
    logger.log({"x": math.nan}, 0)
    logger.log({"x": math.inf}, 1)
    logger.log({"x": -math.inf}, 2)
    values = logger["x"].values
    assert math.isnan(values[0]) and values[1] == math.inf and values[2] == -math.inf


def test_views_are_read_only():
    """The arrays a series hands out cannot be written to."""
    logger = Logger()
    logger.log({"x": 1.0}, 0)
    with pytest.raises(ValueError, match="read-only"):
        logger["x"].values[0] = 2.0


def test_many_points_and_mixed_key_sets():
    """Calls with different key sets interleave without losing or misplacing a point."""
    logger = Logger()
    for i in range(10_000):
        logger.log({"train/loss": float(i)}, i)
        if i % 100 == 0:
            logger.log({"val/loss": -float(i), "train/loss": float(i) + 0.5}, i)
    train = logger["train/loss"]
    assert len(train) == 10_100
    assert train.values[:3].tolist() == [0.0, 0.5, 1.0]
    assert logger["val/loss"].values.tolist() == [-float(i) for i in range(0, 10_000, 100)]


BAD_VALUES = [
    (
        {"a": None},
        "log(): the value of 'a' is None; log a number, a bool, a str, or a numpy/tensor "
        "scalar, or leave the key out.",
    ),
    (
        {"a": [1, 2]},
        "log(): the value of 'a' must be a number, a bool, a str, or a numpy/tensor scalar "
        "(got [1, 2] that is a list).",
    ),
    (
        {"a": {}},
        "log(): the value of 'a' is an empty dict.",
    ),
    (
        {"a": 1j},
        "log(): the value of 'a' must be a number, a bool, a str, or a numpy/tensor scalar "
        "(got 1j that is a complex).",
    ),
    (
        {"a": np.array([1.0, 2.0])},
        "log(): the value of 'a' must be a number, a bool, a str, or a numpy/tensor scalar "
        "(got array([1., 2.]) that is a ndarray; .item() failed: ValueError: can only "
        "convert an array of size 1 to a Python scalar).",
    ),
    ({3: 1.0}, "log(): keys must be non-empty strings (got 3 that is an int)."),
    ({"": 1.0}, "log(): keys must be non-empty strings (got '')."),
    (
        {"a": 10**400},
        "log(): the value of 'a' is too large to store as a number "
        "(got an int of 401 digits; the limit is 2**1023).",
    ),
]


@pytest.mark.parametrize(("values", "message"), BAD_VALUES)
def test_bad_values_raise_naming_key_and_value(values, message):
    """A value or key that cannot be stored raises InvalidValueError (a TypeError)."""
    logger = Logger()
    with pytest.raises(InvalidValueError, match=re.escape(message)) as caught:
        logger.log(values, 0)
    assert isinstance(caught.value, TypeError)


def test_a_key_keeps_its_first_kind():
    """After a number, a str or bool for the same key is refused with both kinds named."""
    logger = Logger()
    logger.log({"loss": 0.5}, 0)
    message = (
        "log(): 'loss' was first logged as a number, so its values must stay a number "
        "(got 'high' that is a str)."
    )
    with pytest.raises(InvalidValueError, match=re.escape(message)):
        logger.log({"loss": "high"}, 1)
    with pytest.raises(InvalidValueError, match="must stay a number .got True that is a bool"):
        logger.log({"loss": True}, 1)
    logger.log({"flag": False}, 0)
    with pytest.raises(InvalidValueError, match="'flag' was first logged as a bool"):
        logger.log({"flag": 1.0}, 1)


def test_a_failed_call_stores_nothing():
    """A call with one bad value keeps none of its values, and defines no new key."""
    logger = Logger()
    logger.log({"a": 1.0}, 0)
    with pytest.raises(InvalidValueError):
        logger.log({"a": 2.0, "new": 3.0, "bad": None}, 1)
    with pytest.raises(InvalidValueError):
        logger.log({"a": 2.0, "b": 1.0, "a2": [1]}, 1)
    assert list(logger) == ["a"]
    assert logger["a"].values.tolist() == [1.0]
    logger.close()
    assert hypertuner.load(logger.path)["a"].values.tolist() == [1.0]


def test_a_call_in_the_same_key_order_with_a_new_type_is_checked():
    """A call that matches a cached key order but not its value types takes the full check."""
    logger = Logger()
    for i in range(3):
        logger.log({"a": float(i), "b": i}, i)
    with pytest.raises(InvalidValueError, match="'b' was first logged as a number"):
        logger.log({"a": 1.0, "b": "x"}, 3)
    with pytest.raises(InvalidValueError, match="too large"):
        logger.log({"a": 1.0, "b": 10**400}, 3)
    assert logger["b"].values.tolist() == [0, 1, 2]


def test_values_must_be_a_dict():
    """log() of something that is not a mapping names what it got."""
    logger = Logger()
    with pytest.raises(
        InvalidValueError, match=re.escape("log() takes a dict of name -> value (got list)")
    ):
        logger.log([("a", 1.0)], 0)


@pytest.mark.parametrize(
    "step",
    [math.nan, math.inf, "3", True, [1], 2**1100, np.float64("nan")],
    ids=["nan", "inf", "str", "bool", "list", "huge-int", "numpy-nan"],
)
def test_bad_steps_raise(step):
    """A step that is not a finite real number raises InvalidStepError (a ValueError)."""
    logger = Logger()
    with pytest.raises(
        InvalidStepError, match=re.escape("log(): step must be a finite number or None")
    ):
        logger.log({"a": 1.0}, step)
    assert len(logger) == 0  # nothing of the call is kept, not even its new key


def test_steps_of_other_libraries_are_accepted():
    """numpy integers, floats and tensor-like steps are converted to float."""
    logger = Logger()
    for step in (np.int64(3), np.float32(4.5), FakeTensor(5), 2**60):
        logger.log({"a": 1.0}, step)
    assert logger["a"].steps.tolist() == [3.0, 4.5, 5.0, float(2**60)]


def test_the_callers_dict_may_be_reused():
    """Changing the dict after log() does not change what was logged."""
    logger = Logger()
    values = {"a": 1.0}
    logger.log(values, 0)
    values["a"] = 99.0
    logger.log(values, 1)
    assert logger["a"].values.tolist() == [1.0, 99.0]


def test_close_marks_finished_and_refuses_more_points():
    """close() flushes, marks the run finished, and log() afterwards raises."""
    logger = Logger()
    logger.log({"a": 1.0}, 0)
    logger.close()
    logger.close()  # closing twice is harmless
    assert logger.closed and logger.status == "finished"
    info = json.loads((logger.path / "run.json").read_text())
    assert info["status"] == "finished" and info["ended"] >= info["created"]
    message = f"log(): run {logger.name!r} is closed; create a new Logger"
    with pytest.raises(RunClosedError, match=re.escape(message)):
        logger.log({"a": 2.0}, 1)


def test_context_manager_closes_and_marks_errors_as_crashed():
    """A with-block closes the run: finished normally, crashed when the block raised."""
    with Logger() as good:
        good.log({"a": 1.0}, 0)
    assert hypertuner.load(good.path).status == "finished"
    with pytest.raises(ZeroDivisionError):
        with Logger() as bad:
            bad.log({"a": 1.0}, 0)
            1 / 0  # noqa: B018
    run = hypertuner.load(bad.path)
    assert run.status == "crashed"
    assert run.info["error"] == "ZeroDivisionError: division by zero"
    assert run["a"].values.tolist() == [1.0]


def test_a_run_that_never_logged_leaves_nothing_behind(runs_folder):
    """Closing a logger that accepted no point removes its run folder; one point keeps it."""
    with Logger():
        pass
    with pytest.raises(ZeroDivisionError):
        with Logger():
            1 / 0  # noqa: B018
    refused = Logger()
    with pytest.raises(InvalidValueError):
        refused.log({"a": object()}, 0)
    refused.close()
    assert list(runs_folder.iterdir()) == []
    with Logger() as kept:
        kept.log({"a": 1.0}, 0)
    assert list(runs_folder.iterdir()) == [kept.path]
    assert sorted(p.name for p in kept.path.iterdir()) == ["points.htr", "run.json"]
    assert hypertuner.load(kept.path)["a"].values.tolist() == [1.0]


def test_removing_an_untouched_run_keeps_files_it_did_not_make():
    """Only the files a logger makes are removed: others, and so the folder, stay."""
    logger = Logger()
    (logger.path / "checkpoint.pt").write_bytes(b"weights")
    (logger.path / ".run.json.tmp").write_bytes(b"{")  # as a crash mid-rewrite leaves it
    logger.close()
    assert [p.name for p in logger.path.iterdir()] == ["checkpoint.pt"]
    assert logger.closed and logger.status == "finished"


def test_a_script_whose_first_log_raises_leaves_no_run_folder(tmp_path):
    """A script dying on its first log() leaves an empty runs folder (the exit hook closes it)."""
    script = (
        "import sys, hypertuner\n"
        "logger = hypertuner.Logger(dir=sys.argv[1])\n"
        "logger.log({'a': object()})\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "hypertuner.errors.InvalidValueError: log(): the value of 'a'" in result.stderr
    assert list((tmp_path / "runs").iterdir()) == []


def test_background_thread_flushes_without_close():
    """Points reach the disk within the flush interval while the logger stays open."""
    logger = Logger(flush_every=0.05)
    logger.log({"a": 1.0}, 0)
    run = hypertuner.load(logger.path)
    for _ in range(200):
        if run.refresh():
            break
        logger._stop.wait(0.02)
    assert run["a"].values.tolist() == [1.0]
    assert run.status == "running"


def test_disk_errors_warn_once_keep_points_and_retry(monkeypatch):
    """A refused write warns once, never raises, and the points land once the disk recovers."""
    logger = Logger(flush_every=1000)
    logger.log({"a": 1.0}, 0)
    real_pwritev = runfile.os.pwritev
    calls = []

    def full_disk(fd, buffers, offset):
        calls.append(len(buffers))
        written = real_pwritev(fd, [bytes(buffers[0][:5])], offset)  # a torn write, then ENOSPC
        assert written == 5
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runfile.os, "pwritev", full_disk)
    with pytest.warns(hypertuner.HypertunerWarning, match="No space left on device"):
        assert logger.flush() is False
    logger.log({"a": 2.0}, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert logger.flush() is False  # the second refusal is silent
    monkeypatch.setattr(runfile.os, "pwritev", real_pwritev)
    logger.log({"a": 3.0}, 2)
    logger.close()
    assert len(calls) == 2
    run = hypertuner.load(logger.path)
    assert run["a"].values.tolist() == [1.0, 2.0, 3.0]
    assert run.status == "finished"


def test_flush_interval_must_be_positive():
    """flush_every must be a positive number of seconds."""
    with pytest.raises(
        ValueError,
        match=re.escape(
            "flush_every must be a positive, finite number of seconds, at most "
            "threading.TIMEOUT_MAX (got 0)"
        ),
    ):
        Logger(flush_every=0)


def test_params_from_last_params_call_are_recorded(tmp_path):
    """A Logger made after hypertuner.params() records those params."""
    config = tmp_path / "config.json"
    config.write_text('{"lr": 0.01, "model": {"hidden": 64}}')
    hypertuner.params(argv=["--params", str(config)])
    logger = Logger()
    assert logger.params.lr == 0.01 and logger.params.model.hidden == 64


def test_explicit_params_win(tmp_path):
    """Logger(params=...) takes a dict, a Params or a JSON path, over params()."""
    config = tmp_path / "config.json"
    config.write_text('{"lr": 0.5}')
    hypertuner.params(argv=["--params", str(config)])
    assert Logger(params={"lr": 0.1}).params.lr == 0.1
    assert Logger(params=hypertuner.Params({"lr": 0.2})).params.lr == 0.2
    assert Logger(params=str(config)).params.lr == 0.5
    with pytest.raises(hypertuner.ParamsError, match="params must be a dict, a Params or a path"):
        Logger(params=3)


def test_logger_reads_like_a_run():
    """Indexing a key that was never logged names the known keys."""
    logger = Logger()
    logger.log({"a": 1.0}, 0)
    with pytest.raises(KeyError, match=re.escape("no key 'b' was logged (keys: 'a')")):
        logger["b"]
    assert "a" in logger and "b" not in logger
    assert repr(logger) == f"<Logger {logger.name!r} running: 1 key, 1 points>"


class _Unconvertible:
    """A number-like object whose conversions raise what a real tensor wrapper might."""

    def __float__(self):
        raise ZeroDivisionError("no value yet")

    def item(self):
        raise KeyError("lazy")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"a": {"b": 1.0}, "a/b": 2.0},
            "log(): 'a/b' is given twice, as a nested dict and as a '/' name; give it once, "
            "or one of the two values would be lost.",
        ),
        (
            {"a/b": 2.0, "a": {"b": 1.0}},
            "log(): 'a/b' is given twice, as a nested dict and as a '/' name; give it once, "
            "or one of the two values would be lost.",
        ),
        (
            {"t": np.timedelta64(5, "s")},
            "log(): the value of 't' is a duration or a date (got np.timedelta64(5,'s') that "
            "is a timedelta64); log a number, such as seconds: value / np.timedelta64(1, 's').",
        ),
        (
            {"u": _Unconvertible()},
            "log(): the value of 'u' must be a number, a bool, a str, or a numpy/tensor scalar "
            "(got {r} that is a _Unconvertible; .item() failed: KeyError: 'lazy').",
        ),
        (
            {"\ud800x": 1.0},
            "log(): the key '\\ud800x' is not valid Unicode text (surrogates not allowed at "
            "character 0); keys must encode as UTF-8.",
        ),
    ],
)
def test_more_bad_values_are_refused_whole(values, message):
    """Name collisions, conversions that raise, durations and unencodable keys are refused at
    the call, naming the key; nothing of the call is kept, and later calls work."""
    logger = Logger()
    logger.log({"ok": 1.0}, 0)
    expected = message.replace("{r}", repr(next(iter(values.values()))))
    with pytest.raises(InvalidValueError) as caught:
        logger.log(values, 1)
    assert str(caught.value) == expected
    assert list(logger) == ["ok"]
    logger.log({"ok": 2.0}, 1)
    logger.close()
    assert hypertuner.load(logger.path)["ok"].values.tolist() == [1.0, 2.0]


class _BadFloat(float):
    """A float subclass whose float() conversion raises (a broken user type)."""

    def __float__(self):
        raise ArithmeticError("broken")


def test_a_number_whose_conversion_raises_is_refused_by_name():
    """A numbers.Real whose __float__ raises is an InvalidValueError naming the key."""
    logger = Logger()
    with pytest.raises(InvalidValueError, match=r"the value of 'f' .*ArithmeticError: broken"):
        logger.log({"f": _BadFloat(1.0)}, 0)
    logger.close()


@pytest.mark.parametrize("value", [True, math.inf, math.nan, -1, threading.TIMEOUT_MAX * 2, "1"])
def test_bad_flush_intervals_are_refused_before_any_folder_exists(value, runs_folder):
    """flush_every must be a finite positive number (not a bool), at most TIMEOUT_MAX;
    a refused one leaves no run folder."""
    with pytest.raises(ValueError, match=re.escape(f"(got {value!r})")):
        Logger(flush_every=value)
    assert not runs_folder.exists() or list(runs_folder.iterdir()) == []


NUMPY_SCALARS = [
    np.float16(1.5), np.float32(0.1), np.float64(1e300), np.longdouble(2.5),
    np.int8(-8), np.int16(300), np.int32(-7), np.int64(2**60),
    np.uint8(255), np.uint16(7), np.uint32(2**31), np.uint64(2**63),
]  # fmt: skip


@pytest.mark.parametrize("calls", [1, 5])
def test_numpy_scalars_store_as_their_float64_value(calls):
    """Every numpy float and int dtype stores float(value) exactly as the slow path would,
    np.bool_ a bool and np.str_ text, on the first call and on the fast path after it."""
    logger = Logger()
    values = {f"n{i}": v for i, v in enumerate(NUMPY_SCALARS)}
    values.update({"flag": np.bool_(True), "name": np.str_("adam")})
    for step in range(calls):
        logger.log(values, step)
    logger.close()
    run = hypertuner.load(logger.path)
    for i, value in enumerate(NUMPY_SCALARS):
        assert run[f"n{i}"].values.tolist() == [float(value)] * calls, (i, value)
        assert run[f"n{i}"].kind == "number"
    assert run["flag"].kind == "bool" and run["flag"].values.tolist() == [True] * calls
    assert run["name"].kind == "text" and run["name"].values.tolist() == ["adam"] * calls


def test_alternating_int_and_float_values_keep_every_point():
    """A key logged as an int one step and a float the next keeps both, in order."""
    logger = Logger()
    for step in range(6):
        logger.log({"tokens": step if step % 2 else float(step) + 0.5}, step)
    logger.close()
    assert hypertuner.load(logger.path)["tokens"].values.tolist() == [
        0.5, 1.0, 2.5, 3.0, 4.5, 5.0,
    ]  # fmt: skip


def test_nested_dicts_and_dict_subclasses_log_like_flat_dicts():
    """Nested dicts, OrderedDict and defaultdict store what the same flat dict would, also
    when a nested dict's keys or types change between calls (a new key, a refused kind)."""
    from collections import OrderedDict, defaultdict

    logger = Logger()
    for step in range(3):
        logger.log({"train": {"loss": 1.0 / (step + 1), "acc": 0.5}, "lr": 0.1}, step)
    logger.log({"train": {"loss": 0.2, "acc": 0.6, "f1": 0.7}, "lr": 0.1}, 3)  # a new inner key
    with pytest.raises(InvalidValueError, match="'train/acc' was first logged as a number"):
        logger.log({"train": {"loss": 0.1, "acc": "high"}, "lr": 0.1}, 4)
    logger.log(OrderedDict([("lr", 0.05), ("epoch", 1)]), 5)
    extra = defaultdict(float)
    extra["lr"] = 0.01
    logger.log(extra, 6)
    logger.close()
    run = hypertuner.load(logger.path)
    assert list(run) == ["train/loss", "train/acc", "lr", "train/f1", "epoch"]
    assert run["train/loss"].values.tolist() == [1.0, 0.5, 1 / 3, 0.2]
    assert run["train/acc"].steps.tolist() == [0, 1, 2, 3]
    assert run["lr"].values.tolist() == [0.1, 0.1, 0.1, 0.1, 0.05, 0.01]
    assert run["train/f1"].steps.tolist() == [3] and run["epoch"].values.tolist() == [1.0]


@pytest.mark.parametrize("step", [math.nan, math.inf, -math.inf, np.float64("nan")])
def test_float_steps_that_are_not_finite_are_refused(step):
    """The fast check of float steps still refuses NaN and infinities."""
    logger = Logger()
    logger.log({"a": 1.0}, 0.5)
    with pytest.raises(hypertuner.InvalidStepError):
        logger.log({"a": 2.0}, step)
    logger.close()
    assert hypertuner.load(logger.path)["a"].steps.tolist() == [0.5]


def test_set_params_records_params_given_after_the_run_began():
    """set_params() replaces the run's params in run.json at once; a reader sees them."""
    logger = Logger(params={"lr": 0.1})
    logger.set_params({"lr": 0.01, "model": {"hidden": 64}})
    assert hypertuner.load(logger.path).params.to_dict() == {"lr": 0.01, "model": {"hidden": 64}}
    logger.log({"loss": 1.0}, 0)
    logger.close()
    with pytest.raises(hypertuner.RunClosedError, match="set_params\\(\\): run '.*' is closed"):
        logger.set_params({"lr": 1.0})
    assert hypertuner.load(logger.path).params.lr == 0.01


def test_close_records_the_status_and_error_given():
    """close(status, error=...) records both; an unknown status is refused, naming the known."""
    logger = Logger()
    logger.log({"loss": 1.0}, 0)
    with pytest.raises(ValueError, match="close\\(\\): status must be one of 'running', "):
        logger.close("exploded")
    logger.close("crashed", error=RuntimeError("CUDA out of memory"))
    run = hypertuner.load(logger.path)
    assert run.status == "crashed"
    assert run.info["error"] == "RuntimeError: CUDA out of memory"


def test_json_entries_keeps_what_has_a_json_form():
    """json_entries() keeps JSON values and nested mappings, and leaves out the rest."""
    from argparse import Namespace

    from hypertuner.params import json_entries

    config = {"lr": np.float32(0.5), "layers": (1, 2), "act": np.tanh, "nan": math.nan,
              "opt": Namespace(name="adam", betas=[0.9, 0.99]), 3: "three"}  # fmt: skip
    assert json_entries(config) == {
        "lr": 0.5, "layers": [1, 2], "opt": {"name": "adam", "betas": [0.9, 0.99]}, "3": "three",
    }  # fmt: skip


# -- the queue: drained by the flush thread, by readers, and by log() only far past it --


@pytest.fixture
def small_queue(monkeypatch):
    """A queue drained every 64 entries (32 calls), and by log() itself past 512."""
    from hypertuner import logger as logger_module

    monkeypatch.setattr(logger_module, "DRAIN_AT", 64)
    monkeypatch.setattr(logger_module, "DRAIN_LIMIT", 512)
    return logger_module


def drains_by_thread(monkeypatch, logger_module):
    """Record the thread of every drain that finds something queued."""
    seen: list[str] = []
    real_drain = logger_module.Logger._drain

    def drain(self):
        if self._queue:
            seen.append(threading.current_thread().name)
        real_drain(self)

    monkeypatch.setattr(logger_module.Logger, "_drain", drain)
    return seen


def test_the_flush_thread_drains_the_queue_when_log_wakes_it(small_queue, monkeypatch):
    """Past DRAIN_AT, log() only wakes the flush thread: the queue empties with no reader and
    no log() draining it (while below DRAIN_LIMIT), and every point arrives in order."""
    monkeypatch.setattr(small_queue, "DRAIN_LIMIT", 10**9)  # never in the training thread
    seen = drains_by_thread(monkeypatch, small_queue)
    logger = Logger(flush_every=1000)
    for step in range(1000):
        logger.log({"loss": step * 0.5, "ok": step % 3 == 0}, step)
    deadline = time.monotonic() + 30
    while logger._queue and time.monotonic() < deadline:  # noqa: SLF001 - what is queued
        time.sleep(0.001)
    assert logger._queue == []  # noqa: SLF001
    assert seen and set(seen) == {f"hypertuner-flush-{logger.name}"}
    assert logger["loss"].values.tolist() == [step * 0.5 for step in range(1000)]
    assert logger["ok"].values.tolist() == [step % 3 == 0 for step in range(1000)]
    logger.close()


def test_memory_stays_bounded_when_the_flush_thread_cannot_drain(small_queue, monkeypatch):
    """With a flush thread that never drains, log() drains itself once the queue passes
    DRAIN_LIMIT: the queue never holds more, and no point is lost or reordered."""
    stuck = threading.Event()

    def flush_loop(self):
        stuck.wait()  # a flush thread that is busy (a slow disk) the whole time

    monkeypatch.setattr(small_queue.Logger, "_flush_loop", flush_loop)
    seen = drains_by_thread(monkeypatch, small_queue)
    logger = Logger()
    longest = 0
    try:
        for step in range(5000):
            values = {"loss": float(step), "name": f"s{step}"} if step % 7 else {"loss": 0.5}
            logger.log(values, step)
            longest = max(longest, len(logger._queue))  # noqa: SLF001 - what is queued
    finally:
        stuck.set()
    assert longest <= small_queue.DRAIN_LIMIT
    assert len(seen) >= 5000 * 2 // small_queue.DRAIN_LIMIT
    assert set(seen) == {threading.current_thread().name}
    values = [float(step) if step % 7 else 0.5 for step in range(5000)]
    assert logger["loss"].values.tolist() == values
    assert logger["name"].values.tolist() == [f"s{step}" for step in range(5000) if step % 7]
    logger.close()
    assert hypertuner.load(logger.path)["loss"].values.tolist() == values


def test_readers_see_every_point_logged_before_they_asked(small_queue):
    """While one thread logs and the flush thread drains, a reader in another thread always
    sees at least the calls that had returned before it read, as an exact prefix."""
    logger = Logger(flush_every=0.001)
    done = 0
    stop = threading.Event()
    failures: list[str] = []

    def read() -> None:
        while not stop.is_set():
            returned = done
            steps = logger["x"].steps if "x" in logger else np.zeros(0)
            if len(steps) < returned:
                failures.append(f"read {len(steps)} points after {returned} calls returned")
            if not np.array_equal(steps, np.arange(len(steps), dtype=np.float64)):
                failures.append("not the calls in order")

    reader = threading.Thread(target=read)
    reader.start()
    for step in range(20_000):
        logger.log({"x": float(step), "y": 1.0} if step % 2 else {"x": float(step)}, step)
        done = step + 1
    stop.set()
    reader.join()
    assert failures == []
    logger.close()


@st.composite
def call_sequences(draw):
    """Calls of a few shapes sharing keys (numbers, bools, texts, a nested dict), with reads
    (which drain) between some of them."""
    shapes = [
        lambda i: {"loss": i * 0.25},
        lambda i: {"loss": float(i), "acc": i % 2 == 0},
        lambda i: {"acc": i % 3 == 0, "note": f"n{i}"},
        lambda i: {"train": {"loss": -float(i), "lr": 1e-3}, "loss": i + 0.5},
        lambda i: {"lr": i, "loss": 2.0**-i},
    ]
    calls = draw(st.lists(st.tuples(st.sampled_from(range(5)), st.booleans()), max_size=300))
    return [(shapes[shape], read) for shape, read in calls]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(calls=call_sequences())
def test_interleaved_shapes_keep_each_keys_points_in_call_order(small_queue, calls):
    """Calls of shapes that share keys, drained at any point (by the flush thread, by log()
    past the limit, by reads), store each key's points in the order of the calls, in memory
    and on disk."""
    logger = Logger(flush_every=0.001)
    expected: dict[str, list] = {}
    for step, (make, read) in enumerate(calls):
        values = make(step)
        logger.log(values, step)
        for key, value in hypertuner._values.flatten(values).items():
            expected.setdefault(key, []).append((float(step), value))
        if read:  # a reader sees every point logged so far, whatever is queued
            for key, points in expected.items():
                assert logger[key].values.tolist() == [value for _, value in points]
    logger.close()
    got = {
        key: list(zip(logger[key].steps.tolist(), logger[key].values.tolist())) for key in logger
    }
    assert got == expected
    if expected:
        run = hypertuner.load(logger.path)
        assert {
            key: list(zip(run[key].steps.tolist(), run[key].values.tolist())) for key in run
        } == expected


def test_a_nested_dict_that_changes_form_keeps_every_point():
    """A nested dict that gains a key, then alternates between two forms, call after call
    (its cached check failing, then rebuilt), stores exactly what the flat calls would."""
    logger = Logger()
    expected: dict[str, list[float]] = {"train/loss": [], "train/acc": [], "lr": []}
    for step in range(120):
        inner = {"loss": float(step)}
        if step >= 40 and (step < 80 or step % 2):
            inner["acc"] = step / 100
        logger.log({"train": inner, "lr": 0.5}, step)
        for key, value in {"train/loss": inner["loss"], "lr": 0.5}.items():
            expected[key].append(value)
        if "acc" in inner:
            expected["train/acc"].append(inner["acc"])
    logger.close()
    run = hypertuner.load(logger.path)
    assert {key: run[key].values.tolist() for key in run} == expected
