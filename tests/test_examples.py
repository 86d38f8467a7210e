"""The README's two examples, run as scripts, leave runs that reopen with what they logged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import hypertuner

EXAMPLE_A = """\
import hypertuner
logger = hypertuner.Logger()
for i in range(10):
    logger.log({"Square": i**2, "Word of the day": "Peacock", "ok": True}, i)
"""

EXAMPLE_B = """\
import hypertuner
params = hypertuner.params()            # reads `--params config.json` from the command line
logger = hypertuner.Logger()            # a new run folder under ./runs/, params recorded
for i in range(10):
    logger.log({"Square": i**2, "Cube": i**3, "Float": 3.18e5,
                "Word of the day": "Peacock", "This is working": True}, i)
logger.log({"loss": 0.25})              # no step: the wall-clock time of the call is its x
logger.close()
"""

STEPS = np.arange(10, dtype=np.float64)


def run_script(tmp_path: Path, source: str, *args: str) -> tuple[hypertuner.Run, float, float]:
    """Run ``source`` as a script in ``tmp_path``; return its only run and the time span around it."""
    script = tmp_path / "example.py"
    script.write_text(source)
    env = dict(os.environ)
    env.pop("HYPERTUNER_DIR", None)
    env.pop("HYPERTUNER_PARAMS", None)
    started = time.time()
    done = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    ended = time.time()
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no warning either
    folders = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    assert len(folders) == 1, folders
    return hypertuner.load(folders[0]), started, ended


def test_example_without_close_reopens_finished(tmp_path: Path) -> None:
    """Example (a), which never calls close(), reopens finished with every value it logged."""
    run, started, ended = run_script(tmp_path, EXAMPLE_A)

    assert run.status == "finished"  # closed by the interpreter-exit handler
    assert started <= run.created <= run.ended <= ended
    assert len(run.params) == 0
    assert list(run) == ["Square", "Word of the day", "ok"]
    assert run.kinds == {"Square": "number", "Word of the day": "text", "ok": "bool"}
    for key in run:
        np.testing.assert_array_equal(run[key].steps, STEPS)
        assert np.all((started <= run[key].walls) & (run[key].walls <= ended))
    assert run["Square"].values.dtype == np.float64
    np.testing.assert_array_equal(run["Square"].values, STEPS**2)
    assert run["Word of the day"].values.tolist() == ["Peacock"] * 10
    assert run["ok"].values.dtype == np.bool_
    assert run["ok"].values.tolist() == [True] * 10
    assert run.points == 30

    frame = run.to_pandas()
    assert list(frame.columns) == ["key", "step", "time", "value"]
    assert len(frame) == 30
    assert frame["key"].value_counts().to_dict() == {"Square": 10, "Word of the day": 10, "ok": 10}
    square = frame[frame["key"] == "Square"]
    assert square["step"].tolist() == STEPS.tolist()
    assert square["value"].tolist() == [float(i**2) for i in range(10)]
    assert frame[frame["key"] == "ok"]["value"].tolist() == [True] * 10
    assert frame[frame["key"] == "Word of the day"]["value"].tolist() == ["Peacock"] * 10


def test_example_with_params_reopens_with_params_and_values(tmp_path: Path) -> None:
    """Example (b) run with --params config.json records the params, every value, and a wall-clock step."""
    (tmp_path / "config.json").write_text(json.dumps({"lr": 0.01, "hidden": 64}))
    run, started, ended = run_script(tmp_path, EXAMPLE_B, "--params", "config.json")

    assert run.status == "finished"
    assert started <= run.created <= run.ended <= ended
    assert run.params.lr == 0.01
    assert run.params.hidden == 64
    assert run.params.to_dict() == {"lr": 0.01, "hidden": 64}

    keys = ["Square", "Cube", "Float", "Word of the day", "This is working", "loss"]
    assert list(run) == keys
    assert run.kinds == {
        "Square": "number",
        "Cube": "number",
        "Float": "number",
        "Word of the day": "text",
        "This is working": "bool",
        "loss": "number",
    }
    for key in keys[:-1]:
        np.testing.assert_array_equal(run[key].steps, STEPS)
    np.testing.assert_array_equal(run["Square"].values, STEPS**2)
    np.testing.assert_array_equal(run["Cube"].values, STEPS**3)
    np.testing.assert_array_equal(run["Float"].values, np.full(10, 3.18e5))
    assert run["Word of the day"].values.tolist() == ["Peacock"] * 10
    assert run["This is working"].values.dtype == np.bool_
    assert run["This is working"].values.tolist() == [True] * 10

    loss = run["loss"]
    assert loss.values.tolist() == [0.25]
    assert len(loss.steps) == 1
    # No step given: the x is the wall-clock time of the call, within the script's lifetime.
    assert started <= loss.steps[0] <= ended
    assert loss.steps[0] == loss.walls[0]
    assert run["Square"].walls[-1] <= loss.steps[0] <= run.ended
    assert run.points == 51

    frame = run.to_pandas()
    assert len(frame) == 51
    assert frame["key"].tolist() == [key for key in keys[:-1] for _ in range(10)] + ["loss"]
    cube = frame[frame["key"] == "Cube"]
    assert cube["step"].tolist() == STEPS.tolist()
    assert cube["value"].tolist() == [float(i**3) for i in range(10)]
    assert frame[frame["key"] == "This is working"]["value"].tolist() == [True] * 10
    last = frame.iloc[-1]
    assert last["key"] == "loss"
    assert last["value"] == 0.25
    assert last["step"] == loss.steps[0]
    assert abs(last["time"] - pd.Timestamp(loss.walls[0], unit="s", tz="UTC")) < pd.Timedelta(
        1, "us"
    )
