"""The Keras 3 callback, with real Keras on the torch backend: tiny models fitted on CPU."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

os.environ["KERAS_BACKEND"] = "torch"  # read by Keras when first imported

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import hypertuner  # noqa: E402
from hypertuner.integrations.keras import HypertunerCallback  # noqa: E402

# Keras's torch backend hands numpy 2 tensors through np.array(): not ours, and noisy.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

# 64 samples, a quarter held out: 48 to train on, 6 batches of 8 per epoch.
SAMPLES, BATCH, EPOCHS = 64, 8, 3
BATCHES_PER_EPOCH = 6


@pytest.fixture(autouse=True)
def no_rank(monkeypatch):
    """Train as a single process, whatever launched the tests."""
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("LOCAL_RANK", raising=False)


def fit(*callbacks: keras.callbacks.Callback) -> keras.callbacks.History:
    """Fit a one-layer model on random data with a validation split."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(SAMPLES, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 3.0], "float32"))[:, None]
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse")
    return model.fit(
        x, y, batch_size=BATCH, epochs=EPOCHS, validation_split=0.25, verbose=0,
        callbacks=list(callbacks),
    )  # fmt: skip


def test_fit_logs_each_epoch_under_train_and_val_and_finishes(runs_folder):
    """Epoch logs land at epochs 0..2 as train/loss and val/loss, equal to the history."""
    history = fit(HypertunerCallback("fit", params={"hidden": 1}))
    run = hypertuner.load(runs_folder / "fit")
    assert run.status == "finished"
    assert sorted(run) == ["train/loss", "val/loss"]
    for key, logged in (("train/loss", "loss"), ("val/loss", "val_loss")):
        assert run[key].steps.tolist() == [0.0, 1.0, 2.0]
        assert run[key].values.tolist() == history.history[logged]


def test_the_run_records_the_given_params_and_the_optimizer_config(runs_folder):
    """Params are the ones given plus the optimizer's class and JSON-safe config."""
    fit(HypertunerCallback("fit", params={"hidden": 1, "seed": 0}))
    params = hypertuner.load(runs_folder / "fit").params.to_dict()
    optimizer = params.pop("optimizer")
    assert params == {"hidden": 1, "seed": 0}
    assert optimizer["class_name"] == "SGD" and "name" not in optimizer
    assert optimizer["learning_rate"] == pytest.approx(0.01)
    assert optimizer["momentum"] == 0.0 and optimizer["nesterov"] is False


def test_without_params_the_run_records_those_of_hypertuner_params(runs_folder):
    """With no params given, the latest hypertuner.params() is recorded, plus the optimizer."""
    hypertuner.params({"lr": 0.01}, argv=[])
    fit(HypertunerCallback("fit"))
    params = hypertuner.load(runs_folder / "fit").params
    assert params["lr"] == 0.01 and params["optimizer"]["class_name"] == "SGD"


def test_batches_are_not_logged_and_async_dispatch_stays_on_by_default(runs_folder):
    """By default the callback has no batch hook: Keras keeps dispatching batches async."""
    callback = HypertunerCallback("fit")
    # Keras decides this from whether any callback overrides a batch-end hook.
    assert keras.callbacks.CallbackList([callback])._async_train is True
    fit(callback)
    assert not any(key.startswith("batch/") for key in hypertuner.load(runs_folder / "fit"))


def test_batch_logging_when_asked_logs_every_n_batches(runs_folder):
    """log_every_n_batches=2 logs batch/loss at batches 2, 4, ... 18 of the whole fit."""
    callback = HypertunerCallback("fit", log_every_n_batches=2)
    assert keras.callbacks.CallbackList([callback])._async_train is False
    fit(callback)
    run = hypertuner.load(runs_folder / "fit")
    total = EPOCHS * BATCHES_PER_EPOCH
    assert run["batch/loss"].steps.tolist() == list(range(2, total + 1, 2))
    assert run["train/loss"].steps.tolist() == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("every", [0, -1, 1.5, "2"])
def test_a_bad_batch_interval_raises_at_the_call(every):
    """log_every_n_batches must be a positive int; anything else raises ValueError."""
    with pytest.raises(ValueError, match=r"log_every_n_batches must be a positive int or None"):
        HypertunerCallback(log_every_n_batches=every)


@pytest.mark.parametrize("variable", ["RANK", "LOCAL_RANK"])
def test_a_process_of_another_rank_writes_nothing(runs_folder, monkeypatch, variable):
    """Under RANK=1 (or LOCAL_RANK=1 alone) fit runs as usual and no run folder is made."""
    monkeypatch.setenv(variable, "1")
    callback = HypertunerCallback("fit", log_every_n_batches=1)
    history = fit(callback)
    assert len(history.history["loss"]) == EPOCHS
    assert callback.logger is None
    assert not runs_folder.exists() or not any(runs_folder.iterdir())


def test_rank_zero_logs(runs_folder, monkeypatch):
    """Under RANK=0 the callback logs as in a single process."""
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    fit(HypertunerCallback("fit"))
    assert hypertuner.load(runs_folder / "fit").status == "finished"


def test_each_fit_makes_its_own_run(runs_folder):
    """One callback used for two fits makes two finished runs."""
    callback = HypertunerCallback("fit")
    fit(callback)
    fit(callback)
    for name in ("fit", "fit-2"):
        run = hypertuner.load(runs_folder / name)
        assert run.status == "finished" and len(run["train/loss"]) == EPOCHS


def test_a_fit_that_raises_leaves_the_run_to_the_next_fit_which_marks_it_crashed(runs_folder):
    """A fit that raises keeps its run open with its points; the next fit closes it crashed."""
    callback = HypertunerCallback("fit")

    def fail(epoch, logs):
        if epoch == 1:
            raise RuntimeError("out of data")

    with pytest.raises(RuntimeError, match="out of data"):
        fit(callback, keras.callbacks.LambdaCallback(on_epoch_end=fail))
    assert callback.logger is not None and callback.logger["train/loss"].steps.tolist() == [0, 1]
    fit(callback)
    assert hypertuner.load(runs_folder / "fit").status == "crashed"
    assert hypertuner.load(runs_folder / "fit-2").status == "finished"


def test_a_script_whose_fit_raises_reads_crashed_after_it_dies(tmp_path):
    """In a real process, an uncaught error in fit marks the run crashed at exit, points kept."""
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent(
            """
            import os
            os.environ["KERAS_BACKEND"] = "torch"
            import keras, numpy as np
            from hypertuner.integrations.keras import HypertunerCallback

            def fail(epoch, logs):
                if epoch == 1:
                    raise RuntimeError("out of data")

            x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss="mse")
            model.fit(x, x[:, :1], epochs=3, verbose=0, callbacks=[
                HypertunerCallback("fit"), keras.callbacks.LambdaCallback(on_epoch_end=fail)])
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK")}
    env["HYPERTUNER_DIR"] = str(tmp_path / "runs")
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 1 and "RuntimeError: out of data" in done.stderr
    run = hypertuner.load(tmp_path / "runs" / "fit")
    assert run.status == "crashed" and run.info["error"] == "RuntimeError: out of data"
    assert run["train/loss"].steps.tolist() == [0.0, 1.0]


def test_importing_the_keras_integration_imports_keras_and_no_other_framework():
    """`import hypertuner.integrations.keras` imports keras, and neither xgboost nor lightgbm."""
    code = (
        "import sys\nimport hypertuner\nassert 'keras' not in sys.modules\n"
        "import hypertuner.integrations.keras\n"
        "print(' '.join(m for m in ('keras', 'xgboost', 'lightgbm') if m in sys.modules))"
    )
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["keras"]


def test_a_pruned_sweep_trial_stops_after_the_epoch(pruned_trial):
    """A stop request from a sweep ends fit() after its first epoch; the run reads pruned."""
    history = fit(HypertunerCallback("fit"))
    assert len(history.history["loss"]) == 1  # of EPOCHS
    run = hypertuner.load(pruned_trial)
    assert run.status == "pruned" and run["train/loss"].steps.tolist() == [0.0]
