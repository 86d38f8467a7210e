"""The Lightning logger, driven by a real Trainer on a tiny regression, on CPU."""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import hypertuner
from hypertuner.integrations.lightning import HypertunerLogger

# 64 samples in batches of 16: 4 optimizer steps an epoch.
SAMPLES, BATCH, EPOCHS = 64, 16, 3


class Regression(L.LightningModule):
    """A linear layer fitting a linear target; ``fail_at`` raises at that training batch."""

    def __init__(self, lr: float = 0.05, hidden: int = 4, fail_at: int | None = None, error=None):
        super().__init__()
        self.save_hyperparameters(ignore=["error"])
        self.error = error
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        if self.hparams.fail_at is not None and self.global_step == self.hparams.fail_at:
            raise self.error
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.layer(x), y)
        self.log("train/loss", loss, sync_dist=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val/loss", torch.nn.functional.mse_loss(self.layer(x), y), sync_dist=True)

    def test_step(self, batch, batch_idx):
        x, y = batch
        self.log("test/loss", torch.nn.functional.mse_loss(self.layer(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def data(batch_size: int = BATCH) -> DataLoader:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(SAMPLES, 4, generator=generator)
    y = x @ torch.tensor([[1.0], [2.0], [-1.0], [0.5]]) + 0.1
    return DataLoader(TensorDataset(x, y), batch_size=batch_size)


def trainer(logger, **options) -> L.Trainer:
    settings = dict(
        max_epochs=EPOCHS,
        accelerator="cpu",
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
    )
    return L.Trainer(logger=logger, **{**settings, **options})


def points(run, key: str) -> list[tuple[float, float]]:
    return list(zip(run[key].steps.tolist(), run[key].values.tolist()))


def test_fit_records_params_and_every_point_at_lightnings_steps(tmp_path):
    """fit() ends finished, save_hyperparameters() as params, each point where CSVLogger has it."""
    logger = HypertunerLogger(dir=tmp_path / "runs")
    reference = L.pytorch.loggers.CSVLogger(tmp_path / "csv")
    fitted = trainer([logger, reference])
    fitted.fit(Regression(), data(), data(32))

    run = hypertuner.load(logger.log_dir)
    assert run.status == "finished"
    assert run.params.to_dict() == {"lr": 0.05, "hidden": 4, "fail_at": None}
    assert fitted.log_dir == logger.save_dir == str(run.path)
    assert logger.name == run.name and logger.version == ""
    assert logger.experiment is not None and logger.experiment.path == run.path

    with open(Path(reference.log_dir) / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for key in ("train/loss", "val/loss", "epoch"):
        expected = [(float(row["step"]), float(row[key])) for row in rows if row[key]]
        assert points(run, key) == expected
    steps_per_epoch = SAMPLES // BATCH
    assert run["train/loss"].steps.tolist() == list(range(EPOCHS * steps_per_epoch))
    assert run["val/loss"].steps.tolist() == [steps_per_epoch * e - 1 for e in (1, 2, 3)]
    assert all(math.isfinite(v) for v in run["train/loss"].values)


def test_a_run_that_raises_in_training_step_reads_crashed(tmp_path):
    """An error in training_step closes the run crashed, with the error and earlier points kept."""
    logger = HypertunerLogger(dir=tmp_path)
    with pytest.raises(RuntimeError, match="boom"):
        trainer(logger).fit(Regression(fail_at=2, error=RuntimeError("boom")), data())

    run = hypertuner.load(logger.log_dir)
    assert run.status == "crashed"
    assert run.info["error"] == "RuntimeError: boom"
    assert run["train/loss"].steps.tolist() == [0.0, 1.0]


def test_ctrl_c_in_training_reads_interrupted(tmp_path):
    """A KeyboardInterrupt during fit (Lightning then exits) closes the run interrupted."""
    logger = HypertunerLogger(dir=tmp_path)
    handler = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(SystemExit):
            trainer(logger).fit(Regression(fail_at=1, error=KeyboardInterrupt()), data())
    finally:
        signal.signal(signal.SIGINT, handler)  # Lightning ignores SIGINT from then on

    run = hypertuner.load(logger.log_dir)
    assert run.status == "interrupted"
    assert run["train/loss"].steps.tolist() == [0.0]


def test_a_later_stage_logs_to_a_new_run_with_the_same_params(tmp_path):
    """trainer.test() after fit() logs to a new run, named after the first, with the same params."""
    logger = HypertunerLogger("exp", tmp_path)
    fitted = trainer(logger, max_epochs=1)
    model = Regression(lr=0.1)
    fitted.fit(model, data())
    fitted.test(model, data())

    fit_run, test_run = hypertuner.load(tmp_path / "exp"), hypertuner.load(tmp_path / "exp-2")
    assert (fit_run.status, test_run.status) == ("finished", "finished")
    assert set(fit_run) == {"train/loss", "epoch"} and set(test_run) == {"test/loss", "epoch"}
    assert (
        fit_run.params.to_dict()
        == test_run.params.to_dict()
        == {
            "lr": 0.1,
            "hidden": 4,
            "fail_at": None,
        }
    )
    assert logger.log_dir == str(test_run.path)


def test_steps_may_repeat_or_go_back_and_every_point_is_kept(tmp_path):
    """log_metrics keeps tensors and floats at repeated and decreasing steps, in call order."""
    logger = HypertunerLogger(dir=tmp_path)
    logger.log_hyperparams(Namespace(lr=0.5, act=torch.nn.ReLU, nested={"depth": 2}))
    for value, step in ((torch.tensor(1.5), 5), (2.5, 5), (torch.tensor(3.5), 2)):
        logger.log_metrics({"loss": value}, step)
    logger.finalize("success")

    run = hypertuner.load(logger.log_dir)
    assert points(run, "loss") == [(5.0, 1.5), (5.0, 2.5), (2.0, 3.5)]
    assert run.params.to_dict() == {"lr": 0.5, "nested": {"depth": 2}}  # a class is left out
    assert run.status == "finished"


def test_params_logged_late_are_recorded_in_the_same_run(tmp_path):
    """Params logged after the run folder holds other files (LightningCLI's config.yaml)
    and after points are recorded in that run, with the files and points kept."""
    logger = HypertunerLogger("exp", tmp_path)
    (Path(logger.log_dir) / "config.yaml").write_text("lr: 0.1\n")  # as LightningCLI saves it
    logger.log_metrics({"loss": 1.0}, 0)
    logger.log_hyperparams({"lr": 0.1})
    logger.log_hyperparams({"batch": 32})
    logger.finalize("success")

    run = hypertuner.load(tmp_path / "exp")
    assert run.params.to_dict() == {"lr": 0.1, "batch": 32}
    assert run["loss"].values.tolist() == [1.0]
    assert (tmp_path / "exp" / "config.yaml").read_text() == "lr: 0.1\n"
    assert [r.name for r in hypertuner.runs(tmp_path)] == ["exp"]


def test_two_ddp_ranks_make_one_run(tmp_path):
    """Under DDP with two processes only rank 0 makes and writes a run."""
    logger = HypertunerLogger(dir=tmp_path)
    trainer(logger, devices=2, strategy="ddp_fork", max_epochs=2).fit(
        Regression(), data(), data(32)
    )

    (run,) = hypertuner.runs(tmp_path)
    assert run.status == "finished"
    assert run.params.lr == 0.05
    # Each rank trains on half of each epoch's batches: 2 steps an epoch.
    assert run["train/loss"].steps.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert run["val/loss"].steps.tolist() == [1.0, 3.0]


def test_rank_1_in_the_environment_writes_nothing(tmp_path):
    """With RANK=1 set, as torchrun sets it for the second process, no run is made."""
    code = (
        "import sys, json\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from test_integration_lightning import HypertunerLogger, Regression, data, trainer\n"
        f"logger = HypertunerLogger(dir={str(tmp_path / 'runs')!r})\n"
        "trainer(logger).fit(Regression(), data(), data(32))\n"
        "logger.experiment.log({'extra': 1.0}, 0)  # a stand-in that does nothing\n"
        "print(json.dumps([logger.log_dir, logger.save_dir]))\n"
    )
    env = {**os.environ, "RANK": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == [None, None]
    assert not (tmp_path / "runs").exists()


def test_importing_hypertuner_imports_no_framework():
    """Importing hypertuner and hypertuner.integrations loads no torch, lightning, transformers."""
    code = (
        "import sys, hypertuner, hypertuner.integrations\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'lightning', 'pytorch_lightning', 'transformers')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


SWEPT_TRAINER = """
import lightning as L
import torch
import hypertuner
from hypertuner.integrations.lightning import HypertunerLogger

p = hypertuner.params({"lr": 0.05})

class Regression(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.layer(x), y)
        self.log("train/loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=p.lr)

x = torch.randn(64, 4)
pairs = torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True))
data = torch.utils.data.DataLoader(pairs, batch_size=16)
trainer = L.Trainer(max_epochs=10**6, accelerator="cpu", logger=HypertunerLogger(flush_every=0.05),
                    log_every_n_steps=1, enable_checkpointing=False, enable_progress_bar=False,
                    enable_model_summary=False)
trainer.fit(Regression(), data)
"""


def test_a_swept_lightning_trial_is_stopped_and_reads_pruned(tmp_path, monkeypatch):
    """A sweep's trial training with Lightning (which cannot see should_stop) is stopped
    by its launcher, through Lightning's own SIGTERM handling, and its run reads pruned."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text(SWEPT_TRAINER)
    sweep = hypertuner.sweep(
        "train.py", {"lr": [0.05, 0.01]}, objective="train/loss", trials=1, sampler="grid",
        grace=0.2, dir="sweep", display=False,
    )  # fmt: skip

    def stop_once_training() -> None:  # it would train for a million epochs otherwise
        for trial in sweep.trials:
            run = trial.run if trial.state == "running" else None
            if run is not None and "train/loss" in run and len(run["train/loss"]) >= 5:
                trial.stop()

    sweep.watch(stop_once_training)
    assert sweep.wait(300), sweep.trials
    (trial,) = sweep.trials
    assert trial.state == "pruned", trial
    run = trial.run
    assert run.status == "pruned"
    assert len(run["train/loss"]) >= 5
    assert "Received SIGTERM" in (trial.folder / "stderr.log").read_text()
