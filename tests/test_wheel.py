"""The wheel: built from this checkout, installed into a fresh virtual environment, used there.

An editable install reads ``js/`` and ``notebooks/`` from the checkout, so only a real
wheel in an environment of its own shows whether the package ships what it needs.
Everything below runs in that environment, from a folder outside the checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib

from hypertuner._resources import SHIPPED, module

ROOT = Path(__file__).resolve().parents[1]

USE_IT = f"""
import json, sys
from pathlib import Path
import hypertuner
from hypertuner._resources import resource
from hypertuner.board import board_for

where = Path(hypertuner.__file__).resolve()
with hypertuner.Logger(dir="runs", name="wheel", display=False) as logger:
    for i in range(50):
        phase = "warm" if i < 10 else "on"
        logger.log({{"loss": 1 / (i + 1), "phase": phase, "ok": i % 2 == 0}}, i)
run = hypertuner.load("runs/wheel")
board = board_for(run)
view = hypertuner.compare("runs", follow=False)
print(json.dumps({{
    "package": str(where.parent),
    "engine_esm": board._engine._esm,
    "compare_esm": next(c for c in view.children if type(c).__name__ == "RunsTable")._esm,
    "compare": [type(child).__name__ for child in view.children],
    "resources": {{name: str(resource(name)) for name in {sorted(SHIPPED)!r}}},
    "charts": list(board._engine.names),
    "status": run.status,
}}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel of this checkout, built with hatchling (no network needed)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(out), str(ROOT)],
        check=True, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    (built,) = out.glob("hypertuner-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment (no system site-packages) with only the wheel installed,
    with its sweep extra (Optuna)."""
    folder = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, timeout=300)
    python = folder / "bin" / "python"
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    done = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", f"{wheel}[sweep]"],
        capture_output=True, text=True, timeout=900, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


def in_venv(venv: Path, cwd: Path, *command: str, timeout: float = 300):
    """Run a command of the venv's bin/ in ``cwd``, with no trace of the test's environment."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("HYPERTUNER_DIR", "HYPERTUNER_PARAMS", "PYTHONPATH", "VIRTUAL_ENV")
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        [str(venv / "bin" / command[0]), *command[1:]],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def test_pyproject_ships_every_resource_the_package_loads():
    """pyproject.toml puts exactly the files _resources.SHIPPED names into hypertuner/_static."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    included = config["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert included == {
        f"{folder}/{name}": f"hypertuner/_static/{name}" for name, folder in SHIPPED.items()
    }


def test_wheel_holds_the_package_its_modules_and_notebook(wheel):
    """The wheel holds every module, the browser modules, the quickstart and py.typed; no tests."""
    names = set(zipfile.ZipFile(wheel).namelist())
    for name, folder in SHIPPED.items():
        shipped = zipfile.ZipFile(wheel).read(f"hypertuner/_static/{name}")
        assert shipped == (ROOT / folder / name).read_bytes(), name
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "hypertuner").rglob("*.py")}
    assert modules <= names, modules - names
    assert "hypertuner/py.typed" in names
    assert not [n for n in names if n.startswith(("tests/", "js/", "notebooks/", "benchmarks/"))]


def test_installed_wheel_logs_builds_a_board_and_a_comparison(venv, tmp_path):
    """From the installed wheel: log a run, build its board and a comparison, find each resource."""
    done = in_venv(venv, tmp_path, "python", "-c", USE_IT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == ""
    found = json.loads(done.stdout)
    package = Path(found["package"])
    assert package.is_relative_to(venv), package  # the wheel's copy, not the checkout's
    # each module with js/ticks.js inlined, as the checkout builds it
    assert found["engine_esm"] == module("engine.js")
    assert found["compare_esm"] == module("compare.js")
    assert "import {" not in found["engine_esm"] and "function niceTicks" in found["compare_esm"]
    assert found["compare"] == ["HTML", "RunsTable", "Board"]
    for name, path in found["resources"].items():
        assert Path(path) == package / "_static" / name
    assert found["charts"] == ["loss", "ok"]  # phase is text: it goes to the table
    assert found["status"] == "finished"


def test_installed_commands_work(venv, tmp_path):
    """The installed `hypertuner` command and the headless demo run from the wheel."""
    done = in_venv(venv, tmp_path, "hypertuner", "demo", "--help")
    assert done.returncode == 0, done.stderr
    assert "quickstart notebook" in done.stdout and "--no-browser" in done.stdout

    (tmp_path / "cfg.json").write_text(json.dumps({"lr": 1.5, "steps": 300}))
    done = in_venv(venv, tmp_path, "python", "-m", "hypertuner.demo", "--params", "cfg.json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("lr=1.5, steps=300: val/loss "), done.stdout

    done = in_venv(venv, tmp_path, "hypertuner", "ls")
    assert done.returncode == 0, done.stderr
    assert "finished" in done.stdout and "lr=1.5" in done.stdout, done.stdout
    # The demo's run went to ./runs of where it was started, not into the package.
    assert len(list((tmp_path / "runs").iterdir())) == 1
    assert not list(venv.rglob("run.json"))


def test_installed_wheel_sweeps_and_shows_the_sweep_view(venv, tmp_path):
    """From the installed wheel: `hypertuner sweep` runs trials; the view's module ships."""
    (tmp_path / "train.py").write_text(
        "import hypertuner\n"
        "p = hypertuner.params({'lr': 0.1})\n"
        "with hypertuner.Logger() as log:\n"
        "    log.log({'loss': p.lr}, 0)\n"
    )
    (tmp_path / "space.json").write_text('{"lr": [0.1, 0.2]}')
    done = in_venv(
        venv, tmp_path, "hypertuner", "sweep", "train.py", "--space", "space.json",
        "--objective", "loss", "--trials", "2", "--sampler", "grid", "--dir", "s",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines()[-1].endswith(", loss 0.1, params {'lr': 0.1}")
    view = in_venv(
        venv, tmp_path, "python", "-c",
        "import hypertuner.tune.view as v, pathlib; print(pathlib.Path(v._ESM).read_text() == "
        f"pathlib.Path({str(ROOT / 'js' / 'sweep.js')!r}).read_text(), v._ESM)",
    )  # fmt: skip
    assert view.returncode == 0, view.stderr[-3000:]
    same, path = view.stdout.split()
    assert same == "True" and Path(path).is_relative_to(venv)
