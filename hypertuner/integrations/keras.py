"""Keras 3: a callback that logs ``fit()`` to a hypertuner run.

Importing this module imports ``keras``; importing ``hypertuner`` does not.

>>> from hypertuner.integrations.keras import HypertunerCallback
>>> model.fit(x, y, validation_split=0.2, epochs=10, callbacks=[HypertunerCallback()])
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import keras

from ..logger import Logger
from ..params import coerce, current_dict, json_entries

__all__ = ["HypertunerCallback"]


class HypertunerCallback(keras.callbacks.Callback):
    """Log each epoch of ``model.fit()`` (and every N batches, when asked) to a new run.

    The run is made when training begins and closed, ``finished``, when it ends; each
    ``fit()`` makes a new run. At each epoch's end its ``logs`` are logged at the epoch
    number: ``val_loss`` as ``val/loss``, ``loss`` as ``train/loss``.

    Parameters
    ----------
    name, dir, display
        As for :class:`hypertuner.Logger`.
    log_every_n_batches : int, optional
        Also log the batch ``logs`` (Keras's running means over the epoch) every N
        training batches, as ``batch/loss`` and so on, at the number of batches trained
        so far in this ``fit()``. Off by default: a callback that handles batch ends
        turns off Keras's asynchronous dispatch of batch callbacks, which is why this
        one only has a batch hook when asked for one.
    params : dict, Params or path to a JSON file, optional
        Hyperparameters to record (default: those of the last ``hypertuner.params()``).
        The optimizer's class and config are added as ``optimizer`` (its
        ``class_name`` and the config entries that are plain JSON values, without its
        per-instance ``name``) unless ``params`` has that key.

    Notes
    -----
    Only the process of rank 0 logs: where ``$RANK`` (else ``$LOCAL_RANK``), as
    ``torchrun`` sets them, names another rank, the callback writes nothing.

    Keras has no hook for a ``fit()`` that raises, so such a run stays open until the
    next ``fit()`` with this callback closes it ``crashed``, or the interpreter exits,
    which closes it ``crashed`` when the error ends the program and ``finished``
    otherwise (a notebook kernel that caught it, say). To mark it at once, call
    ``callback.close("crashed")`` in an ``except`` block. ``callback.logger`` is the
    current run's :class:`hypertuner.Logger` (None before training or on other ranks).
    """

    def __init__(
        self,
        name: str | None = None,
        dir: str | os.PathLike[str] | None = None,
        *,
        log_every_n_batches: int | None = None,
        params: Any = None,
        display: bool | None = None,
    ) -> None:
        super().__init__()
        if log_every_n_batches is not None:
            if type(log_every_n_batches) is not int or log_every_n_batches < 1:
                raise ValueError(
                    "log_every_n_batches must be a positive int or None "
                    f"(got {log_every_n_batches!r})"
                )
            # An instance attribute, not a method of the class: Keras reads the class's
            # default (no-op) hook as "safe to dispatch asynchronously".
            self.on_train_batch_end = self._log_batch
        self._name = name
        self._dir = dir
        self._every = log_every_n_batches
        # Not self.params: Keras sets that to fit()'s own settings.
        self._run_params = None if params is None else coerce(params)
        self._display = display
        self._batches = 0
        self.logger: Logger | None = None

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        self.close("crashed")  # a run still open here is one whose fit() raised
        self._batches = 0
        if not _rank_zero():
            return
        params = self._run_params
        if params is None:
            params = current_dict()
        params = dict(params)
        if "optimizer" not in params:
            optimizer = _optimizer_config(self.model)
            if optimizer:
                params["optimizer"] = optimizer
        self.logger = Logger(self._name, self._dir, params, display=self._display)

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        if self.logger is not None and logs:
            self.logger.log({_split(key): value for key, value in logs.items()}, epoch)
        if self.logger is not None and self.logger.should_stop:
            self.model.stop_training = True  # a sweep pruned this trial: end after this epoch

    def _log_batch(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        self._batches += 1
        if self.logger is not None and logs and self._batches % self._every == 0:
            self.logger.log({f"batch/{key}": value for key, value in logs.items()}, self._batches)

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        self.close()

    def close(self, status: str = "finished") -> None:
        """Close the current run with ``status``; does nothing if there is none."""
        logger, self.logger = self.logger, None
        if logger is not None:
            logger.close(status)


def _split(key: str) -> str:
    return f"val/{key[4:]}" if key.startswith("val_") else f"train/{key}"


def _rank_zero() -> bool:
    """False where the launcher's environment names a rank other than 0."""
    for variable in ("RANK", "LOCAL_RANK"):
        rank = os.environ.get(variable, "").strip()
        if rank:
            return rank == "0"
    return True


def _optimizer_config(model: Any) -> dict[str, Any]:
    """The optimizer's class and the entries of its config that are plain JSON values."""
    try:
        optimizer = model.optimizer
        config = optimizer.get_config()
    except Exception:  # noqa: BLE001 - no optimizer, or an odd one: record none
        return {}
    # Its name is made unique per instance ("SGD", then "sgd_2"): it would show as a
    # hyperparameter that differs between runs trained alike.
    config.pop("name", None)
    return {"class_name": type(optimizer).__name__, **json_entries(config)}
