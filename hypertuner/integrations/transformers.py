"""Hugging Face transformers: a ``Trainer`` callback that logs training to a run.

Importing this module imports ``transformers``; importing ``hypertuner`` does not.

>>> from hypertuner.integrations.transformers import HypertunerCallback
>>> trainer = Trainer(model, args, train_dataset=..., callbacks=[HypertunerCallback()])
>>> trainer.train()  # its logs land in a run: train/loss, eval/loss, learning rate...
"""

from __future__ import annotations

import numbers
import os
import warnings
from collections.abc import Mapping
from typing import Any

from transformers import TrainerCallback

from ..errors import HypertunerWarning
from ..logger import Logger
from ..params import current_dict, json_entries

__all__ = ["HypertunerCallback"]


class HypertunerCallback(TrainerCallback):
    """Log a ``Trainer``'s logs to a hypertuner run, one run per ``train()``.

    Parameters
    ----------
    name, dir, flush_every, display
        As for :class:`hypertuner.Logger`.

    Notes
    -----
    ``train()`` makes the run, recording as params the ``TrainingArguments`` (those
    that are JSON values) with the model's config under ``model``, over those of
    ``hypertuner.params()``, and closes it, ``finished``, when training ends. Each of
    the Trainer's logs is logged at ``state.global_step``: ``eval_loss`` as
    ``eval/loss``, ``test_*`` as ``test/*``, ``epoch`` as it is and every other key
    under ``train/`` (``loss`` as ``train/loss``, the closing summary's ``train_loss``
    as ``train/train_loss``). Numbers are logged as floats; other values (text,
    lists) are left out, and a ``HypertunerWarning`` names each such key once.

    Only the world process zero (``state.is_world_process_zero``) writes. A
    ``trainer.evaluate()`` outside ``train()`` logs to a run of its own, with the same
    params, closed when it ends. The Trainer has no hook for a ``train()`` that
    raises: that run is closed ``crashed`` when the next ``train()`` begins, or else
    at interpreter exit like any open run (``crashed`` if the error ended the program,
    ``finished`` otherwise); ``callback.close("crashed")`` in an ``except`` marks it at once.
    ``callback.logger`` is the current run's :class:`hypertuner.Logger` (None before
    training and on other processes).
    """

    def __init__(
        self,
        name: str | None = None,
        dir: str | os.PathLike[str] | None = None,
        *,
        flush_every: float = 1.0,
        display: bool | None = None,
    ) -> None:
        self._name = name
        self._dir = dir
        self._flush_every = flush_every
        self._display = display
        self._training = False  # between on_train_begin and on_train_end
        self._dropped: set[str] = set()  # keys already warned about
        self.logger: Logger | None = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Make the run, with the training arguments and model config as params."""
        if not state.is_world_process_zero:
            return
        self.close("crashed")  # a run still open here is one whose train() raised
        self._training = True
        self._start(args, kwargs.get("model"))

    def on_log(
        self,
        args: Any,
        state: Any,
        control: Any,
        logs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Log ``logs`` at the global step, in ``train/``, ``eval/`` and ``test/`` sections."""
        if not state.is_world_process_zero or not logs:
            return
        values = {}
        for key, value in logs.items():
            number = _number(value)
            if number is not None:
                values[_section(key)] = number
            elif key not in self._dropped:
                self._dropped.add(key)
                warnings.warn(
                    f"hypertuner logs numbers only; the Trainer's {key!r} "
                    f"(a {type(value).__name__}) is left out of the run.",
                    HypertunerWarning,
                    stacklevel=2,
                )
        if not values:
            return
        if self.logger is None:
            self._start(args, kwargs.get("model"))
        self.logger.log(values, state.global_step)
        if self.logger.should_stop:
            control.should_training_stop = True  # a sweep pruned this trial

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Close the run of a ``trainer.evaluate()`` made outside ``train()``, finished."""
        if state.is_world_process_zero and not self._training:
            self.close()

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Close the run, finished."""
        if state.is_world_process_zero:
            self._training = False
            self.close()

    def close(self, status: str = "finished") -> None:
        """Close the current run with ``status``; does nothing if there is none."""
        logger, self.logger = self.logger, None
        if logger is not None:
            logger.close(status)

    def _start(self, args: Any, model: Any) -> None:
        params = current_dict()
        params.update(json_entries(args.to_dict()))
        config = getattr(model, "config", None)
        if config is not None and hasattr(config, "to_dict"):
            params["model"] = json_entries(config.to_dict())
        self.logger = Logger(
            self._name, self._dir, params, flush_every=self._flush_every, display=self._display
        )


def _section(key: str) -> str:
    for prefix in ("eval", "test"):
        if key.startswith(prefix + "_"):
            return f"{prefix}/{key[len(prefix) + 1 :]}"
    return key if key == "epoch" else f"train/{key}"


def _number(value: Any) -> float | None:
    """``value`` as a float if it is a number (or a 0-d tensor/array of one), else None."""
    if isinstance(value, numbers.Real):
        return float(value)
    item = getattr(value, "item", None)
    if getattr(value, "shape", None) == () and callable(item):
        plain = item()
        if isinstance(plain, numbers.Real):
            return float(plain)
    return None
