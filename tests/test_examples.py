"""The README's code examples, read from README.md itself and run as a user would.

Every fenced block of the README is preceded by a comment naming it, either
``<!-- example: NAME -->`` (run here) or ``<!-- not run: REASON -->``; a block with
neither fails the first test, so an example cannot be added that nothing runs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import hypertuner

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(
    r"(?:<!-- (example|not run): ?(.*?) -->\n)?```(\w*)\n(.*?)```", re.DOTALL | re.MULTILINE
)
STEPS = np.arange(10, dtype=np.float64)


def blocks() -> list[tuple[str | None, str, str, str]]:
    """(marker, name or reason, language, code) of every fenced block in the README."""
    return [m.groups() for m in BLOCK.finditer(README.read_text())]


def example(name: str) -> str:
    (code,) = [code for kind, label, _, code in blocks() if kind == "example" and label == name]
    return code


def user_env(tmp_path: Path) -> dict[str, str]:
    """A fresh shell's environment: `python` is this interpreter, no run folder is set."""
    env = {k: v for k, v in os.environ.items() if k not in ("HYPERTUNER_DIR", "HYPERTUNER_PARAMS")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_python(tmp_path: Path, code: str, *args: str) -> tuple[float, float]:
    """Run ``code`` as a script in ``tmp_path``; return the time span around it."""
    script = tmp_path / "example.py"
    script.write_text(code)
    started = time.time()
    done = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=tmp_path, env=user_env(tmp_path), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no warning either
    return started, time.time()


def test_every_readme_block_is_run_or_says_why_not():
    """Each fenced block in the README is marked as an example run here, or says why it is not."""
    found = blocks()
    assert found, "no fenced blocks found in the README"
    unmarked = [code.splitlines()[0] for kind, _, _, code in found if kind is None]
    assert unmarked == [], "README blocks with no <!-- example: --> or <!-- not run: --> marker"
    examples = {label: lang for kind, label, lang, _ in found if kind == "example"}
    assert examples == {
        "usage": "python",
        "compare-loop": "bash",
        "compare": "python",
        "sweep-script": "python",
        "sweep": "python",
        "sweep-cli": "bash",
    }


def test_usage_example_logs_reopens_and_lists(tmp_path):
    """The first example logs two runs, closes them, and reads back exactly what it logged."""
    started, ended = run_python(tmp_path, example("usage"))
    listing = hypertuner.runs(tmp_path / "runs")
    assert [run.status for run in listing] == ["finished"]
    (run,) = listing
    assert started <= run.created <= run.ended <= ended
    assert run.params.to_dict() == {"lr": 0.01, "hidden": 64}
    assert list(run) == ["Square", "Word of the day", "ok", "loss"]
    assert run.kinds == {
        "Square": "number",
        "Word of the day": "text",
        "ok": "bool",
        "loss": "number",
    }
    for key in ("Square", "Word of the day", "ok"):
        np.testing.assert_array_equal(run[key].steps, STEPS)
        assert np.all((started <= run[key].walls) & (run[key].walls <= ended))
    np.testing.assert_array_equal(run["Square"].values, STEPS**2)
    assert run["Square"].values.dtype == np.float64
    assert run["Word of the day"].values.tolist() == ["Peacock"] * 10
    assert run["ok"].values.dtype == np.bool_ and run["ok"].values.tolist() == [True] * 10
    loss = run["loss"]
    assert loss.values.tolist() == [0.25]
    # No step given: the x is the wall-clock time of the call.
    assert loss.steps[0] == loss.walls[0] and run["ok"].walls[-1] <= loss.steps[0] <= run.ended
    assert run.points == 31

    frame = run.to_pandas()
    assert list(frame.columns) == ["key", "step", "time", "value"]
    assert frame["key"].value_counts().to_dict() == {
        "Square": 10, "Word of the day": 10, "ok": 10, "loss": 1,
    }  # fmt: skip
    square = frame[frame["key"] == "Square"]
    assert square["step"].tolist() == STEPS.tolist()
    assert square["value"].tolist() == [float(i**2) for i in range(10)]
    last = frame.iloc[-1]
    assert (last["key"], last["value"], last["step"]) == ("loss", 0.25, loss.steps[0])
    assert abs(last["time"] - pd.Timestamp(loss.walls[0], unit="s", tz="UTC")) < pd.Timedelta(
        1, "us"
    )


def test_usage_example_with_params_file(tmp_path):
    """Run as `python script.py --params config.json`, the file's values override the defaults."""
    (tmp_path / "config.json").write_text(json.dumps({"lr": 0.03}))
    run_python(tmp_path, example("usage"), "--params", "config.json")
    (run,) = hypertuner.runs(tmp_path / "runs")
    assert run.params.to_dict() == {"lr": 0.03, "hidden": 64}
    assert run.status == "finished"


def test_compare_loop_trains_four_runs_that_learn_and_compare_finds_them(tmp_path, monkeypatch):
    """The shell loop trains four learning rates, each labelled line says how it did, every
    model learns, and the compare example in that folder lists the four runs."""
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", example("compare-loop")],
        cwd=tmp_path, env=user_env(tmp_path), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    folder = tmp_path / "hypertuner-demo"
    listing = hypertuner.runs(folder / "runs")
    rates = sorted(run.params.lr for run in listing)
    assert rates == [0.7, 1.0, 1.5, 2.0]
    labels = sorted(line.split(": ")[0] for line in done.stdout.splitlines())
    assert labels == ["lr=0.7", "lr=1.0", "lr=1.5", "lr=2.0"], done.stdout
    for run in listing:
        assert run.status == "finished"
        assert run["val/acc"].values[-1] >= 0.8, (run.params.lr, run["val/acc"].values[-1])
        # Learning: chance is 0.5 and lr=0.1 ends near 0.6; loss falls by well over a third.
        assert run["val/loss"].values[-1] < 0.6 * run["val/loss"].values[0]

    monkeypatch.delenv("HYPERTUNER_DIR")  # as in a fresh shell
    monkeypatch.chdir(folder)
    view = eval(example("compare"), {"hypertuner": hypertuner})
    try:
        assert sorted(run.params.lr for run in view.runs) == rates
    finally:
        view.close()


def test_sweep_examples_tune_the_script_then_resume_from_the_shell(tmp_path):
    """The README's sweep finds the optimum's decade; the command adds four trials."""
    (tmp_path / "train.py").write_text(example("sweep-script"))
    script = tmp_path / "sweep.py"
    script.write_text(example("sweep"))
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path, env=user_env(tmp_path), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    runs = tmp_path / "sweeps" / "lr" / "runs"
    first = {
        run.name: (run.params.to_dict(), run["val/loss"].values.tolist())
        for run in hypertuner.runs(runs)
    }
    assert len(first) == 16
    best_line, table = done.stdout.split("\n", 1)
    best = eval(best_line.rsplit("} ", 1)[0] + "}")  # the params dict printed first
    assert 1e-3 <= best["lr"] <= 1e-1 and best["layers"] in (1, 2, 3)
    assert "16 of 16 trials" in table

    shell = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", example("sweep-cli")],
        cwd=tmp_path, env=user_env(tmp_path), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert shell.returncode == 0, shell.stderr
    lines = shell.stdout.splitlines()
    assert lines[0] == "sweeping sweeps/lr: 20 trials, min val/loss"
    assert len([line for line in lines if line.startswith("trial ")]) == 20
    assert lines[-1].startswith("best: trial ")
    after = {
        run.name: (run.params.to_dict(), run["val/loss"].values.tolist())
        for run in hypertuner.runs(runs)
    }
    assert len(after) == 20
    assert {name: after[name] for name in first} == first  # the first sixteen unchanged
