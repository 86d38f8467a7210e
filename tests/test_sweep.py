"""Sweeps: real Optuna studies of real trial processes, pruned from their live run files.

Trials here are small scripts written into the test's folder. Where a test needs a
trial to be running when something happens, the script waits at a gate (a file
the test creates) instead of racing a loop of fixed length.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import optuna
import pytest

import hypertuner
from hypertuner.runinfo import process_start
from hypertuner.tune.space import SpaceError
from hypertuner.tune.sweep import SweepError, reported

# A loss curve whose floor is lowest at lr = 0.01; the script waits at step 5 until
# its gate opens (or it is asked to stop), so the controller always judges it there.
TRAIN = """
import math, os, sys, time
from pathlib import Path
import hypertuner

p = hypertuner.params({"lr": 0.1, "hidden": 32, "steps": 30})
with hypertuner.Logger(flush_every=0.05) as log:
    folder = log.path
    for step in range(p.steps):
        floor = 0.1 + (math.log10(p.lr) + 2) ** 2
        log.log({"val/loss": floor + 2.0 * math.exp(-step / 8), "hidden": p.hidden}, step)
        if step == 4:
            log.flush()
            while not (folder / "go").exists() and not log.should_stop:
                time.sleep(0.02)
        if log.should_stop:
            break
"""

GATE_SECONDS = 300  # an upper bound only: a gate normally opens within a second


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def open_gates(sweep: hypertuner.tune.sweep.Sweep) -> None:
    """A sweep listener: let each trial past step 5 once the controller judged step 4."""
    judged = {
        t.number for t in sweep.study.get_trials(deepcopy=False) if 4 in t.intermediate_values
    }
    for trial in sweep.trials:
        if trial.state == "running" and trial.number in judged:
            if not (trial.folder / "stop.json").exists():
                (trial.folder / "go").touch()


def start(tmp_path: Path, script: str = TRAIN, **options) -> hypertuner.tune.sweep.Sweep:
    train = write(tmp_path / "train.py", script)
    options.setdefault("objective", "val/loss")
    options.setdefault("dir", tmp_path / "sweep")
    options.setdefault("display", False)
    space = options.pop("space", {"lr": hypertuner.loguniform(1e-4, 1.0), "hidden": [32, 64]})
    return hypertuner.sweep(train, space, **options)


def finish(sweep, timeout: float = GATE_SECONDS) -> None:
    assert sweep.wait(timeout), f"the sweep did not end in {timeout} s: {sweep.trials}"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


# -- the whole loop -------------------------------------------------------------------


def test_sweep_finds_the_optimum_and_prunes_bad_trials(tmp_path):
    # The median pruner, judging step 4 only: a trial let past its gate is not pruned later.
    median = optuna.pruners.MedianPruner(n_warmup_steps=4, interval_steps=1000)
    sweep = start(tmp_path, trials=16, parallel=3, pruner=median, seed=0)
    sweep.watch(lambda: open_gates(sweep))
    finish(sweep)

    trials = sweep.trials
    assert [t.number for t in trials] == list(range(16))
    states = {t.state for t in trials}
    assert states <= {"complete", "pruned"}, [(t.number, t.state, t.error) for t in trials]
    best = sweep.best
    assert 1e-3 <= best.params["lr"] <= 1e-1, best
    assert best.value == pytest.approx(min(t.value for t in trials if t.state == "complete"))

    pruned = [t for t in trials if t.state == "pruned"]
    assert pruned, "no trial was pruned"
    complete_points = {len(t.run["val/loss"]) for t in trials if t.state == "complete"}
    assert complete_points == {30}
    for trial in pruned:
        run = trial.run
        assert run.status == "pruned"
        assert len(run["val/loss"]) < 30  # stopped early: it never passed its gate
        assert trial.pruned_step == 4
        assert trial.stop_seconds is not None
    frozen = {t.number: t for t in sweep.study.trials}
    for trial in trials:
        # Every trial is a run holding the params Optuna drew, and the state it was told.
        recorded = trial.run.params.to_dict()  # the script's defaults, with the trial's params
        assert {name: recorded[name] for name in trial.params} == trial.params
        assert recorded["steps"] == 30
        assert trial.params == frozen[trial.number].params
        want = optuna.trial.TrialState.PRUNED if trial.state == "pruned" else None
        assert frozen[trial.number].state == (want or optuna.trial.TrialState.COMPLETE)
    # The runs are ordinary runs: listed, with the pruned status.
    listed = hypertuner.runs(sweep.dir / "runs")
    assert sorted(r.status for r in listed) == sorted(
        "pruned" if t.state == "pruned" else "finished" for t in trials
    )
    text = sweep.table()
    assert "16 of 16 trials" in text and "pruned" in text and "best" in text
    assert not (sweep.dir / "controller.json").exists()


def test_a_script_that_never_checks_is_stopped_by_the_launcher(tmp_path):
    """Pruning does not rely on the script: it is terminated after the grace period."""
    script = """
    import time, hypertuner
    hypertuner.params({"x": 1})
    with hypertuner.Logger(flush_every=0.05) as log:
        for step in range(10**9):
            log.log({"loss": 1.0}, step)
            time.sleep(0.01)
    """
    sweep = start(tmp_path, script, objective="loss", space={"x": [1, 2]}, trials=1, grace=0.2)
    sweep.watch(lambda: [t.stop() for t in sweep.trials if t.run is not None and t.run.points])
    finish(sweep)
    (trial,) = sweep.trials
    assert trial.state == "pruned"
    assert trial.run.status == "pruned"  # the launcher marked the killed writer's run
    assert trial.stop_seconds is not None and trial.stop_seconds >= 0.2
    launch = json.loads((trial.folder / "launch.json").read_text())
    assert process_start(launch["pid"]) != launch["pid_start"]  # the process is gone


# -- resuming and failing ---------------------------------------------------------------

QUICK = """
import hypertuner
p = hypertuner.params({"lr": 0.1, "hidden": 32})
with hypertuner.Logger() as log:
    for step in range(5):
        log.log({"val/loss": p.lr * (5 - step) + p.hidden / 1000}, step)
"""


def test_sweeping_the_folder_again_resumes(tmp_path):
    first = start(tmp_path, QUICK, trials=4, parallel=2, pruner=None, seed=1)
    finish(first)
    before = [(t.number, t.state, t.params, t.value) for t in first.trials]

    again = start(tmp_path, QUICK, trials=6, parallel=2, pruner=None, seed=1)
    finish(again)
    after = [(t.number, t.state, t.params, t.value) for t in again.trials]
    assert after[:4] == before
    assert len(after) == 6 and all(state == "complete" for _, state, _, _ in after)
    assert len(hypertuner.runs(tmp_path / "sweep" / "runs")) == 6


def test_a_different_objective_on_the_same_folder_is_refused(tmp_path):
    finish(start(tmp_path, QUICK, trials=1, pruner=None))
    with pytest.raises(SweepError, match="objective='val/loss', not 'loss'"):
        start(tmp_path, QUICK, objective="loss", trials=2)


def test_failing_trials_fail_and_the_sweep_goes_on(tmp_path):
    script = """
    import hypertuner
    p = hypertuner.params({"hidden": 32})
    with hypertuner.Logger() as log:
        log.log({"val/loss": 1.0 / p.hidden}, 0)
        if p.hidden == 64:
            raise ValueError("hidden 64 is broken")
    """
    sweep = start(
        tmp_path, script, space={"hidden": [32, 64, 128]}, sampler="grid", trials=10, pruner=None
    )
    finish(sweep)
    by_hidden = {t.params["hidden"]: t for t in sweep.trials}
    assert len(sweep.trials) == 3  # a grid is done once each cell was tried
    assert by_hidden[64].state == "failed"
    assert "ValueError: hidden 64 is broken" in by_hidden[64].error
    assert by_hidden[64].run.status == "crashed"
    assert {by_hidden[32].state, by_hidden[128].state} == {"complete"}
    assert sweep.best.params["hidden"] == 128
    assert "hidden 64 is broken" in sweep.table()


def test_an_objective_never_logged_stops_the_sweep_with_a_clear_error(tmp_path):
    script = """
    import hypertuner
    hypertuner.params({"lr": 0.1})
    with hypertuner.Logger() as log:
        log.log({"loss": 1.0, "acc": 0.5}, 0)
    """
    sweep = start(tmp_path, script, space={"lr": [0.1, 0.2, 0.3]}, trials=6)
    with pytest.raises(
        SweepError, match=r"trial 0 logged no 'val/loss' \(it logged 'loss', 'acc'\)"
    ):
        sweep.wait(GATE_SECONDS)
    assert len(sweep.trials) == 1  # parallel=1: nothing else was launched


def test_a_controller_killed_outright_leaves_no_trial_and_resumes(tmp_path):
    """SIGKILL the controller mid-sweep: its trials end with it; a new one finishes."""
    script = """
    import time, hypertuner
    from pathlib import Path
    p = hypertuner.params({"lr": 0.1})
    with hypertuner.Logger(flush_every=0.05) as log:
        log.log({"val/loss": p.lr}, 0)
        log.flush()
        while not Path("gate").exists():
            time.sleep(0.02)
        log.log({"val/loss": p.lr / 2}, 1)
    """
    write(tmp_path / "train.py", script)
    controller = textwrap.dedent(
        """
        import hypertuner
        space = {"lr": [0.1, 0.2, 0.3, 0.4]}
        s = hypertuner.sweep("train.py", space, objective="val/loss", trials=4, parallel=2,
                             sampler="grid", pruner=None, dir="sweep", display=False)
        s.wait()
        print("done", len(s.trials))
        """
    )
    first = subprocess.Popen([sys.executable, "-c", controller], cwd=tmp_path)
    runs = tmp_path / "sweep" / "runs"
    deadline = time.monotonic() + GATE_SECONDS
    while len([r for r in runs.glob("*/run.json")]) < 2:
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.05)
    pids = [json.loads(p.read_text()) for p in runs.glob("*/launch.json")]
    first.kill()
    first.wait()
    for launch in pids:  # the trials get SIGTERM as their launcher dies
        while process_start(launch["pid"]) == launch["pid_start"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)

    (tmp_path / "gate").touch()
    second = subprocess.run(
        [sys.executable, "-c", controller],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=GATE_SECONDS,
    )
    assert second.returncode == 0, second.stderr
    assert "done 4" in second.stdout
    study = optuna.load_study(
        study_name="hypertuner",
        storage=optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(tmp_path / "sweep" / "journal.log"))
        ),
    )
    states = sorted(t.state.name for t in study.trials)
    assert states == ["COMPLETE", "COMPLETE", "FAIL", "FAIL"]
    failed = [t for t in study.trials if t.state.name == "FAIL"]
    assert all("controller stopped" in t.user_attrs["error"] for t in failed)


def test_a_live_controller_keeps_the_folder(tmp_path):
    script = """
    import time, hypertuner
    from pathlib import Path
    hypertuner.params({"lr": 0.1})
    with hypertuner.Logger() as log:
        log.log({"val/loss": 1.0}, 0)
        while not Path("gate").exists():
            time.sleep(0.02)
    """
    sweep = start(tmp_path, script, space={"lr": [0.1, 0.2]}, trials=2)
    try:
        with pytest.raises(SweepError, match=rf"being swept by pid {os.getpid()}"):
            start(tmp_path, script, space={"lr": [0.1, 0.2]}, trials=2)
    finally:
        (tmp_path / "gate").touch()
        finish(sweep)


def test_stop_now_stops_the_running_trials(tmp_path):
    script = """
    import time, hypertuner
    hypertuner.params({"lr": 0.1})
    with hypertuner.Logger(flush_every=0.05) as log:
        step = 0
        while not log.should_stop:
            log.log({"val/loss": 1.0}, step)
            step += 1
            time.sleep(0.01)
    """
    sweep = start(tmp_path, script, space={"lr": [0.1, 0.2, 0.3]}, trials=3, parallel=2)
    sweep.watch(lambda: sweep.stop(now=True) if any(t.run for t in sweep.trials) else None)
    finish(sweep)
    trials = sweep.trials
    assert len(trials) <= 2  # nothing launched after stop()
    for trial in trials:
        assert trial.state == "failed" and "sweep.stop(now=True)" in trial.error
        if trial.run is not None:
            assert trial.run.status == "interrupted"


# -- what the trial sees ----------------------------------------------------------------


def test_the_trial_gets_its_params_folder_and_script_arguments(tmp_path):
    script = """
    import json, os, sys, hypertuner
    p = hypertuner.params({"model": {"hidden": 8, "act": "relu"}, "lr": 0.1})
    log = hypertuner.Logger(name="ignored", dir="elsewhere")
    log.log({"val/loss": p.lr}, 0)
    other = hypertuner.Logger(name="second")
    other.log({"x": 1}, 0)
    print(json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd(), "second": str(other.path)}))
    """
    space = {"model": {"hidden": [16, 32], "act": "gelu"}, "lr": hypertuner.uniform(0.01, 0.02)}
    sweep = start(tmp_path, script, space=space, trials=1, args=["--epochs", "3"])
    finish(sweep)
    (trial,) = sweep.trials
    assert trial.run.path == trial.folder == tmp_path / "sweep" / "runs" / "trial-000"
    assert trial.params["model"]["act"] == "gelu" and trial.params["model"]["hidden"] in (16, 32)
    assert 0.01 <= trial.params["lr"] <= 0.02
    assert trial.run.params.to_dict() == trial.params
    said = json.loads((trial.folder / "stdout.log").read_text())
    assert said["argv"] == ["--params", str(trial.folder / "params.json"), "--epochs", "3"]
    assert said["cwd"] == str(tmp_path)
    # A second logger goes to the sweep's runs folder, not over the trial's run.
    assert Path(said["second"]).parent == tmp_path / "sweep" / "runs"


def test_should_stop_and_the_status_a_stopped_run_ends_with(tmp_path):
    from hypertuner.runinfo import read_stop, request_stop

    log = hypertuner.Logger(dir=tmp_path, timer=lambda: clock[0])
    clock = [0.0]
    log.log({"x": 1}, 0)
    assert not log.should_stop
    request_stop(log.path, "pruned")
    assert not log.should_stop  # read at most every 0.2 s by the logger's timer
    clock[0] = 1.0
    assert log.should_stop and read_stop(log.path) == "pruned"
    log.close()
    assert hypertuner.load(log.path).status == "pruned"

    other = hypertuner.Logger(dir=tmp_path)
    other.log({"x": 1}, 0)
    (other.path / "stop.json").write_text("not json")
    other.close()
    assert hypertuner.load(other.path).status == "interrupted"  # a stop, of unknown reason


def test_steps_reported_to_optuna():
    assert all(reported(s) for s in range(64))
    per_octave = [sum(reported(s) for s in range(2**k, 2 ** (k + 1))) for k in range(6, 20)]
    assert per_octave == [32] * len(per_octave)


def test_float_and_repeated_steps_are_counted(tmp_path):
    script = """
    import hypertuner
    hypertuner.params({"lr": 0.1})
    with hypertuner.Logger() as log:
        for step in (0.5, 0.5, 0.25, 3, 3, 10):
            log.log({"val/loss": step}, step)
    """
    sweep = start(tmp_path, script, space={"lr": [0.1, 0.2]}, trials=1, pruner=None)
    finish(sweep)
    (frozen,) = sweep.study.trials
    assert frozen.intermediate_values == {0: 0.5, 1: 0.5, 2: 0.25, 3: 3, 4: 3, 10: 10}


# -- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"pruner": "mediann"},
            "pruner must be None, 'median', 'hyperband' or an optuna pruner (got 'mediann')",
        ),
        (
            {"sampler": "bayes"},
            "sampler must be one of 'tpe', 'random', 'grid' or an optuna sampler (got 'bayes')",
        ),
        ({"trials": 0}, "trials must be a whole number of at least 1 (got 0)"),
        ({"parallel": 0}, "parallel must be a whole number of at least 1 (got 0)"),
        ({"parallel": 2.5}, "parallel must be a whole number of at least 1 (got 2.5)"),
        ({"mode": "minimize"}, "mode must be one of 'min', 'max' (got 'minimize')"),
        ({"summary": "mean"}, "summary must be one of 'last', 'min', 'max' (got 'mean')"),
        ({"objective": ""}, "objective must name a logged key"),
        (
            {"backend": "dask"},
            "backend must be None (local processes) or a dask.distributed.Client (got 'dask')",
        ),
        ({"gpus": []}, "gpus must be a non-empty list of GPU ids"),
        ({"space": {}}, "space is empty"),
        ({"space": {"lr": 0.1}}, "space has only fixed values"),
        ({"space": {"lr": []}}, "space parameter 'lr' is an empty list"),
        ({"space": {"lr": {1, 2}}}, "space parameter 'lr': {1, 2} is neither a JSON value"),
        (
            {"space": {"lr": [[1], [2]]}},
            "space parameter 'lr': a choice must be a str, number, bool or None (got [1])",
        ),
        (
            {"space": {"lr": hypertuner.uniform(0, 1)}, "sampler": "grid"},
            "sampler='grid' needs a list of values for every parameter; 'lr' is uniform",
        ),
    ],
)
def test_bad_arguments_are_refused_naming_the_value(tmp_path, options, message):
    write(tmp_path / "train.py", QUICK)
    space = options.pop("space", {"lr": [0.1, 0.2]})
    options.setdefault("objective", "val/loss")
    with pytest.raises((SweepError, SpaceError), match=re.escape(message)):
        hypertuner.sweep(
            tmp_path / "train.py", space, dir=tmp_path / "sweep", display=False, **options
        )
    assert not (tmp_path / "sweep" / "controller.json").exists()


def test_bad_ranges_and_a_missing_script(tmp_path):
    with pytest.raises(SpaceError, match=r"loguniform\(\): need 0 < low < high \(got 0, 1\)"):
        hypertuner.loguniform(0, 1)
    with pytest.raises(SpaceError, match=r"randint\(\): low must be an int \(got 1.5\)"):
        hypertuner.randint(1.5, 3)
    with pytest.raises(SpaceError, match=r"uniform\(\): high must be a finite number \(got nan\)"):
        hypertuner.uniform(0, math.nan)
    with pytest.raises(SweepError, match="script 'nope.py' not found"):
        hypertuner.sweep("nope.py", {"lr": [1, 2]}, objective="loss", display=False)


def test_optuna_is_loaded_only_by_a_sweep_and_named_when_missing(tmp_path):
    code = """
    import sys, hypertuner
    hypertuner.loguniform(1e-4, 1)
    assert "optuna" not in sys.modules, "import hypertuner loaded optuna"
    sys.modules["optuna"] = None  # as if it were not installed
    open("train.py", "w").write("")
    try:
        hypertuner.sweep("train.py", {"lr": [1, 2]}, objective="loss", display=False)
    except hypertuner.HypertunerError as exc:
        print(exc)
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        'hypertuner.sweep needs Optuna; install it with: pip install "hypertuner[sweep]"'
    )


# -- the command line -------------------------------------------------------------------


def sweep_command(folder, arguments, timeout):
    """Run ``hypertuner sweep ARGUMENTS`` (split at spaces) in ``folder``, as a user does."""
    return subprocess.run(
        [sys.executable, "-m", "hypertuner.cli", "sweep", *arguments.split()],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_command_line_sweeps_and_prints_each_trial(tmp_path):
    write(tmp_path / "train.py", QUICK)
    (tmp_path / "space.json").write_text(
        json.dumps({"lr": {"loguniform": [0.01, 1]}, "hidden": [32, 64]})
    )
    done = sweep_command(
        tmp_path,
        "train.py --space space.json --objective val/loss --trials 3 --parallel 2 --dir s "
        "--seed 2 -- --extra",
        timeout=GATE_SECONDS,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "sweeping s: 3 trials, min val/loss"
    assert sorted(line.split(":")[0] for line in lines[1:4]) == [
        "trial 0 complete",
        "trial 1 complete",
        "trial 2 complete",
    ]
    assert lines[4].startswith("best: trial ")
    argv = json.loads((tmp_path / "s" / "runs" / "trial-000" / "params.json").read_text())
    assert set(argv) == {"lr", "hidden"}

    bad = sweep_command(
        tmp_path, "train.py --space space.json --objective val/loss --dir s --mode max", timeout=60
    )
    assert bad.returncode == 1
    assert bad.stderr.strip() == (
        "hypertuner: error: s holds a sweep with mode='min', not 'max'; "
        "pass the same, or another dir"
    )


def test_each_local_trial_gets_a_gpu_of_its_own(tmp_path):
    script = """
    import os, time, hypertuner
    from pathlib import Path
    hypertuner.params({"lr": 0.1})
    with hypertuner.Logger(flush_every=0.05) as log:
        (log.path / "device").write_text(os.environ["CUDA_VISIBLE_DEVICES"])
        log.log({"val/loss": 1.0}, 0)
        while not (log.path / "go").exists():
            time.sleep(0.02)
    """
    seen: list[list[str]] = []

    def look() -> None:  # while two trials run, a third waits for a free GPU
        running = [t for t in sweep.trials if t.state == "running"]
        devices = [
            (t.folder / "device").read_text() for t in running if (t.folder / "device").exists()
        ]
        seen.append(devices)
        if len(devices) == len(running) == 2 or (running and len(sweep.trials) == 4):
            for trial in running:
                (trial.folder / "go").touch()

    sweep = start(
        tmp_path, script, space={"lr": [0.1, 0.2, 0.3, 0.4]}, sampler="grid", pruner=None,
        trials=4, parallel=3, gpus=["a", "b"],
    )  # fmt: skip
    sweep.watch(look)
    finish(sweep)
    assert [t.state for t in sweep.trials] == ["complete"] * 4
    assert {(t.folder / "device").read_text() for t in sweep.trials} == {"a", "b"}
    assert any(len(devices) == 2 for devices in seen)
    assert all(len(devices) == len(set(devices)) <= 2 for devices in seen)
