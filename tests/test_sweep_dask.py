"""Sweeps on a real Dask cluster: a LocalCluster of two worker processes, no mocks.

Each trial is a task that launches the script on a worker; the controller follows
the run files (here on a local disk, as on shared storage) and asks for stops
through them, which the worker's task enforces.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from distributed import Client, LocalCluster

import hypertuner

TRAIN = """
import time, hypertuner
from pathlib import Path
p = hypertuner.params({"lr": 0.1})
with hypertuner.Logger(flush_every=0.05) as log:
    log.log({"val/loss": p.lr}, 0)
    if p.lr == 0.4:  # this one runs until stopped, and never looks at should_stop
        step = 1
        while True:
            log.log({"val/loss": p.lr}, step)
            step += 1
            time.sleep(0.01)
    log.log({"val/loss": p.lr / 2}, 1)
"""


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with Client(cluster) as dask_client:
        yield dask_client
    cluster.close()


def test_trials_run_as_tasks_on_the_workers_and_stop_there(tmp_path: Path, client, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text(textwrap.dedent(TRAIN))
    sweep = hypertuner.sweep(
        "train.py",
        {"lr": [0.1, 0.2, 0.3, 0.4]},
        objective="val/loss",
        trials=4,
        parallel=2,
        sampler="grid",
        pruner=None,
        backend=client,
        grace=0.2,
        dir=tmp_path / "sweep",
        display=False,
    )

    def stop_the_endless_one() -> None:
        for trial in sweep.trials:
            if trial.params["lr"] == 0.4 and trial.state == "running" and trial.run is not None:
                trial.stop()

    sweep.watch(stop_the_endless_one)
    assert sweep.wait(300), sweep.trials
    by_lr = {t.params["lr"]: t for t in sweep.trials}
    assert {lr: t.state for lr, t in by_lr.items()} == {
        0.1: "complete",
        0.2: "complete",
        0.3: "complete",
        0.4: "pruned",
    }
    assert by_lr[0.4].run.status == "pruned"  # killed on the worker, marked by its task
    assert sweep.best.params == {"lr": 0.1} and sweep.best.value == pytest.approx(0.05)
    workers = set(client.run(lambda: __import__("os").getpid()).values())
    launchers = {
        json.loads((t.folder / "launch.json").read_text())["launcher"] for t in by_lr.values()
    }
    assert launchers <= workers  # every trial was launched by a worker process
