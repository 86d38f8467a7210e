"""The XGBoost and LightGBM callbacks, with the real libraries on tiny data, on CPU."""

from __future__ import annotations

import subprocess
import sys

import lightgbm
import numpy as np
import pytest
import xgboost

import hypertuner
from hypertuner.integrations.lightgbm import hypertuner_callback
from hypertuner.integrations.xgboost import HypertunerCallback

ROUNDS = 5
XGB_PARAMS = {"objective": "reg:squarederror", "eval_metric": "rmse", "max_depth": 2, "eta": 0.3}
LGB_PARAMS = {
    "objective": "regression", "num_leaves": 4, "learning_rate": 0.3, "min_data_in_leaf": 5,
    "num_threads": 1, "verbose": -1, "seed": 0,
}  # fmt: skip


def data() -> tuple[np.ndarray, np.ndarray]:
    """200 samples of a noisy linear target in 4 features."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    return x, x @ np.array([1.0, -2.0, 0.5, 3.0]) + rng.normal(scale=0.1, size=200)


def xgb_sets() -> tuple[xgboost.DMatrix, xgboost.DMatrix]:
    x, y = data()
    return xgboost.DMatrix(x[:150], y[:150]), xgboost.DMatrix(x[150:], y[150:])


def lgb_sets() -> tuple[lightgbm.Dataset, lightgbm.Dataset]:
    x, y = data()
    train = lightgbm.Dataset(x[:150], y[:150])
    return train, lightgbm.Dataset(x[150:], y[150:], reference=train)


# -- XGBoost -----------------------------------------------------------------------


def test_xgboost_logs_every_round_of_every_eval_set(runs_folder):
    """Each round's train/rmse and valid/rmse land at rounds 0..4, equal to evals_result."""
    dtrain, dvalid = xgb_sets()
    history: dict = {}
    xgboost.train(
        {**XGB_PARAMS, "nthread": 1}, dtrain, num_boost_round=ROUNDS,
        evals=[(dtrain, "train"), (dvalid, "valid")], evals_result=history, verbose_eval=False,
        callbacks=[HypertunerCallback("xgb", params=XGB_PARAMS)],
    )  # fmt: skip
    run = hypertuner.load(runs_folder / "xgb")
    assert run.status == "finished"
    assert sorted(run) == ["train/rmse", "valid/rmse"]
    for data_name in ("train", "valid"):
        series = run[f"{data_name}/rmse"]
        assert series.steps.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
        assert series.values.tolist() == history[data_name]["rmse"]


def test_xgboost_records_the_params_given_to_the_callback(runs_folder):
    """The run's params are exactly those passed as HypertunerCallback(params=...)."""
    dtrain, _ = xgb_sets()
    callback = HypertunerCallback("xgb", params=XGB_PARAMS)
    xgboost.train(XGB_PARAMS, dtrain, num_boost_round=2, evals=[(dtrain, "train")],
                  verbose_eval=False, callbacks=[callback])  # fmt: skip
    assert hypertuner.load(runs_folder / "xgb").params.to_dict() == XGB_PARAMS
    assert callback.logger is None


def test_xgboost_cv_logs_the_mean_and_std_over_folds(runs_folder):
    """Under xgboost.cv each metric's mean is <data>/<metric> and its std <data>/<metric>-std."""
    dtrain, _ = xgb_sets()
    table = xgboost.cv(XGB_PARAMS, dtrain, num_boost_round=3, nfold=3, seed=0,
                       callbacks=[HypertunerCallback("cv")])  # fmt: skip
    run = hypertuner.load(runs_folder / "cv")
    assert run.status == "finished"
    assert sorted(run) == ["test/rmse", "test/rmse-std", "train/rmse", "train/rmse-std"]
    assert run["test/rmse"].values.tolist() == table["test-rmse-mean"].tolist()
    assert run["test/rmse-std"].values.tolist() == table["test-rmse-std"].tolist()
    assert run["test/rmse"].steps.tolist() == [0.0, 1.0, 2.0]


# -- LightGBM ----------------------------------------------------------------------


def test_lightgbm_logs_every_round_and_records_its_params(runs_folder):
    """valid/l2 gets one point per round at 0..4, equal to record_evaluation; params kept."""
    dtrain, dvalid = lgb_sets()
    history: dict = {}
    lightgbm.train(
        LGB_PARAMS, dtrain, num_boost_round=ROUNDS, valid_sets=[dvalid], valid_names=["valid"],
        callbacks=[hypertuner_callback("lgb"), lightgbm.record_evaluation(history)],
    )  # fmt: skip
    run = hypertuner.load(runs_folder / "lgb")
    assert run.status == "finished"
    assert list(run) == ["valid/l2"]
    assert run["valid/l2"].steps.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert run["valid/l2"].values.tolist() == history["valid"]["l2"]
    params = run.params.to_dict()
    assert {key: params[key] for key in LGB_PARAMS} == LGB_PARAMS


def test_lightgbm_names_unnamed_sets_as_lightgbm_does_and_merges_given_params(runs_folder):
    """Unnamed valid sets log as valid_0/..., and params given are recorded over LightGBM's."""
    dtrain, dvalid = lgb_sets()
    lightgbm.train(
        {**LGB_PARAMS, "metric": ["l2", "l1"]}, dtrain, num_boost_round=3,
        valid_sets=[dtrain, dvalid],
        callbacks=[hypertuner_callback("lgb", params={"seed": 7, "note": "sweep 1"})],
    )  # fmt: skip
    run = hypertuner.load(runs_folder / "lgb")
    assert sorted(run) == ["training/l1", "training/l2", "valid_1/l1", "valid_1/l2"]
    assert all(run[key].steps.tolist() == [0.0, 1.0, 2.0] for key in run)
    assert run.params["seed"] == 7 and run.params["note"] == "sweep 1"
    assert run.params["metric"] == ["l2", "l1"]


def test_lightgbm_params_that_are_not_json_values_are_left_out(runs_folder):
    """A numpy array param is recorded as a list; an infinite one, which JSON lacks, is not."""
    dtrain, dvalid = lgb_sets()
    lightgbm.train(
        {**LGB_PARAMS, "monotone_constraints": np.array([1, 0, 0, 0]),
         "max_delta_step": float("inf")},
        dtrain, num_boost_round=2, valid_sets=[dvalid], callbacks=[hypertuner_callback("lgb")],
    )  # fmt: skip
    run = hypertuner.load(runs_folder / "lgb")
    assert run.status == "finished" and "max_delta_step" not in run.params
    assert run.params["monotone_constraints"] == [1, 0, 0, 0]
    assert run.params["num_leaves"] == 4


def test_lightgbm_early_stopping_logs_the_last_round_and_close_finishes_the_run(runs_folder):
    """Stopped early, the run holds every round up to the stop and close() marks it finished."""
    dtrain, dvalid = lgb_sets()
    callback = hypertuner_callback("lgb")
    booster = lightgbm.train(
        LGB_PARAMS, dtrain, num_boost_round=50, valid_sets=[dvalid], valid_names=["valid"],
        callbacks=[lightgbm.early_stopping(1, min_delta=1e9, verbose=False), callback],
    )  # fmt: skip
    assert booster.current_iteration() < 50
    assert callback.logger is not None and callback.logger["valid/l2"].steps.tolist() == [0, 1]
    callback.close()
    run = hypertuner.load(runs_folder / "lgb")
    assert run.status == "finished" and run["valid/l2"].steps.tolist() == [0.0, 1.0]


def test_lightgbm_cv_logs_the_mean_and_stdv_over_folds(runs_folder):
    """Under lightgbm.cv each metric's mean is <data>/<metric> and its stdv <data>/<metric>-stdv."""
    dtrain, _ = lgb_sets()
    table = lightgbm.cv(LGB_PARAMS, dtrain, num_boost_round=3, nfold=3, stratified=False,
                        seed=0, callbacks=[hypertuner_callback("cv")])  # fmt: skip
    run = hypertuner.load(runs_folder / "cv")
    assert run.status == "finished"
    assert sorted(run) == ["valid/l2", "valid/l2-stdv"]
    assert run["valid/l2"].values.tolist() == table["valid l2-mean"]
    assert run["valid/l2-stdv"].values.tolist() == table["valid l2-stdv"]


# -- Imports -----------------------------------------------------------------------


def imported_after(statement: str) -> set[str]:
    """The frameworks among sys.modules after running ``statement`` in a fresh interpreter."""
    code = (
        f"import sys\n{statement}\n"
        "print(' '.join(m for m in ('keras', 'xgboost', 'lightgbm') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    return set(done.stdout.split())


def test_importing_hypertuner_imports_no_framework():
    """`import hypertuner` leaves keras, xgboost and lightgbm unimported."""
    assert imported_after("import hypertuner") == set()


@pytest.mark.parametrize("framework", ["xgboost", "lightgbm"])
def test_an_integration_imports_only_its_own_framework(framework):
    """Importing hypertuner.integrations.<framework> imports that framework and no other."""
    assert imported_after(f"import hypertuner.integrations.{framework}") == {framework}


def test_a_pruned_sweep_trial_stops_xgboost_after_the_round(pruned_trial):
    dtrain, dvalid = xgb_sets()
    booster = xgboost.train(
        XGB_PARAMS, dtrain, num_boost_round=ROUNDS, evals=[(dvalid, "valid")],
        callbacks=[HypertunerCallback()], verbose_eval=False,
    )  # fmt: skip
    assert booster.num_boosted_rounds() == 1
    run = hypertuner.load(pruned_trial)
    assert run.status == "pruned" and run["valid/rmse"].steps.tolist() == [0.0]


def test_a_pruned_sweep_trial_stops_lightgbm_after_the_round(pruned_trial):
    train, valid = lgb_sets()
    booster = lightgbm.train(
        LGB_PARAMS, train, num_boost_round=ROUNDS, valid_sets=[valid], valid_names=["valid"],
        callbacks=[hypertuner_callback()],
    )  # fmt: skip
    assert booster.current_iteration() == 1
    run = hypertuner.load(pruned_trial)
    assert run.status == "pruned" and len(run["valid/l2"]) == 1
