"""A small model trained with numpy alone, logged with hypertuner.

Run it as ``python -m hypertuner.demo [--params FILE.json]``, or with ``--lab`` to
open the quickstart notebook in JupyterLab and watch it train live. It trains a
two-layer network on a synthetic two-spiral problem with mini-batch SGD and logs
train/val loss and accuracy, the learning rate, the phase and a best-so-far flag.
The notebooks call :func:`train` directly.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._lab import DEMO_FOLDER, open_notebook
from .errors import HypertunerError, ParamsError
from .logger import Logger
from .params import Params, params

__all__ = [
    "DEFAULTS",
    "GATE_ENV",
    "add_lab_arguments",
    "check_config",
    "main",
    "open_lab",
    "spirals",
    "train",
]

DEFAULTS: dict[str, Any] = {
    "lr": 1.0,
    "hidden": 64,
    "batch": 64,
    "steps": 3000,
    "warmup": 200,
    "seed": 0,
    "pause": 0.0,  # seconds to wait per step, to watch a fast model train at a human pace
}


def spirals(points: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved noisy spirals: inputs (points, 2) and labels (points,)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, points)
    angle = rng.uniform(0.25, 3.0 * np.pi, points)
    radius = angle / (3.0 * np.pi)
    sign = np.where(labels == 1, 1.0, -1.0)
    inputs = np.stack([sign * radius * np.cos(angle), sign * radius * np.sin(angle)], axis=1)
    return inputs + rng.normal(0.0, 0.03, inputs.shape), labels


def _forward(weights: dict[str, np.ndarray], inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hidden = np.tanh(inputs @ weights["w1"] + weights["b1"])
    logits = hidden @ weights["w2"] + weights["b2"]
    return hidden, 1.0 / (1.0 + np.exp(-logits[:, 0]))


def _loss(prob: np.ndarray, labels: np.ndarray) -> float:
    prob = np.clip(prob, 1e-7, 1 - 1e-7)
    return float(-np.mean(labels * np.log(prob) + (1 - labels) * np.log(1 - prob)))


# (name, lowest allowed value, whether the value must be a whole number)
_LIMITS = (
    ("lr", 0.0, False),
    ("hidden", 1, True),
    ("batch", 1, True),
    ("steps", 1, True),
    ("warmup", 0, True),
    ("seed", 0, True),
    ("pause", 0.0, False),
)

# Set to a file's path, training logs step s only once the file holds a number
# greater than s (a missing file holds 0), so whoever writes the file decides how
# far training goes: the browser tests use it to keep a training cell running
# exactly as long as they look at it, however fast or loaded the machine is.
GATE_ENV = "HYPERTUNER_DEMO_GATE"


def check_config(config: Params | dict[str, Any] | None) -> Params:
    """:data:`DEFAULTS` overridden by ``config``, each value checked.

    Raises
    ------
    ParamsError
        For an unknown name, a value of the wrong type, or one out of range (a
        learning rate must be above 0, steps and batch at least 1, ...).
    """
    given = dict(config or {})
    unknown = [name for name in given if name not in DEFAULTS]
    if unknown:
        raise ParamsError(
            f"unknown parameter {unknown[0]!r}; known parameters: {', '.join(DEFAULTS)}"
        )
    cfg = {**DEFAULTS, **given}
    for name, low, whole in _LIMITS:
        value = cfg[name]
        if whole:
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
            want = f"a whole number of at least {low}"
        else:
            ok = (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and math.isfinite(value)
                and (value > low if name == "lr" else value >= low)
            )
            want = f"a number {'above' if name == 'lr' else 'of at least'} {low:g}"
        if not ok:
            raise ParamsError(f"{name!r} must be {want} (got {value!r})")
    return Params(cfg)


class _Gate:
    """How many steps the file named by ``$HYPERTUNER_DEMO_GATE`` allows (see GATE_ENV)."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.allowed = 0.0

    def wait(self, step: int) -> None:
        """Return once the file allows ``step``; re-read only when the last allowance is used."""
        while step >= self.allowed:
            try:
                self.allowed = float(self.path.read_text().strip() or 0)
            except (OSError, ValueError):
                self.allowed = 0.0
            if step >= self.allowed:
                time.sleep(0.02)


def train(config: Params | dict[str, Any] | None = None, logger: Logger | None = None) -> Logger:
    """Train the spiral classifier, logging every step; returns the (closed) logger.

    Parameters
    ----------
    config : Params or dict, optional
        Overrides of :data:`DEFAULTS` (lr, hidden, batch, steps, warmup, seed, pause).
    logger : Logger, optional
        Where to log; a new one recording ``config`` is made if omitted.

    Raises
    ------
    ParamsError
        If ``config`` names an unknown parameter or a value out of range; no run
        is made then.
    """
    cfg = check_config(config)
    gate = _Gate(os.environ[GATE_ENV]) if os.environ.get(GATE_ENV) else None
    if logger is None:
        logger = Logger(params=cfg)
    rng = np.random.default_rng(cfg.seed)
    inputs, labels = spirals(2000, cfg.seed)
    val_inputs, val_labels = spirals(500, cfg.seed + 1)
    weights = {
        "w1": rng.normal(0.0, 1.0, (2, cfg.hidden)),
        "b1": np.zeros(cfg.hidden),
        "w2": rng.normal(0.0, 1.0 / np.sqrt(cfg.hidden), (cfg.hidden, 1)),
        "b2": np.zeros(1),
    }
    best = np.inf
    with logger:
        for step in range(cfg.steps):
            if gate is not None:
                gate.wait(step)
            warm = step < cfg.warmup
            lr = cfg.lr * (
                (step + 1) / cfg.warmup if warm else 0.5 * (1 + np.cos(np.pi * step / cfg.steps))
            )
            batch = rng.integers(0, len(inputs), cfg.batch)
            x, y = inputs[batch], labels[batch]
            hidden, prob = _forward(weights, x)
            grad_logit = (prob - y)[:, None] / len(y)
            grad_hidden = (grad_logit @ weights["w2"].T) * (1 - hidden**2)
            weights["w2"] -= lr * hidden.T @ grad_logit
            weights["b2"] -= lr * grad_logit.sum(0)
            weights["w1"] -= lr * x.T @ grad_hidden
            weights["b1"] -= lr * grad_hidden.sum(0)
            values: dict[str, Any] = {
                "train/loss": _loss(prob, y),
                "train/acc": float(np.mean((prob > 0.5) == y)),
                "lr": float(lr),
                "phase": "warmup" if warm else "cosine",
            }
            if step % 25 == 0 or step == cfg.steps - 1:
                _, val_prob = _forward(weights, val_inputs)
                val_loss = _loss(val_prob, val_labels)
                is_best = val_loss < best
                best = min(best, val_loss)
                values.update(
                    {
                        "val/loss": val_loss,
                        "val/acc": float(np.mean((val_prob > 0.5) == val_labels)),
                        "is_best": bool(is_best),
                    }
                )
            logger.log(values, step)
            if logger.should_stop:  # a sweep pruned this trial
                break
            if cfg.pause:
                time.sleep(cfg.pause)
    return logger


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry: train once and print where the run went, or open JupyterLab."""
    parser = argparse.ArgumentParser(
        prog="python -m hypertuner.demo",
        description="Train a small numpy model and log it, or (--lab) open the quickstart "
        "notebook in JupyterLab to watch it train live.",
    )
    parser.add_argument(
        "--params", metavar="FILE.json", help="hyperparameters overriding the defaults"
    )
    parser.add_argument("--dir", help="folder for the run (default $HYPERTUNER_DIR or ./runs)")
    lab = parser.add_argument_group("JupyterLab")
    lab.add_argument(
        "--lab", action="store_true", help="open the quickstart notebook in JupyterLab instead"
    )
    add_lab_arguments(lab)
    args = parser.parse_args(argv)
    if args.lab:
        return open_lab(args)
    try:
        config = check_config(
            params(DEFAULTS, argv=["--params", args.params] if args.params else [])
        )
    except HypertunerError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    logger = train(config, Logger(dir=args.dir, params=config))
    val_loss, val_acc = logger["val/loss"].values, logger["val/acc"].values
    # One line per run, labelled with its params: several trainers may share a terminal.
    given = ", ".join(f"{k}={v}" for k, v in config.items() if k == "lr" or v != DEFAULTS[k])
    line = (
        f"{given}: val/loss {val_loss[0]:.3f} -> {val_loss[-1]:.3f}, val/acc {val_acc[-1]:.3f} "
        f"(run {logger.name}, {logger.points:,} points in {logger.path})\n"
    )
    # One write of the whole line: print() writes the text and its newline apart, and
    # trainers sharing a pipe then run their lines together.
    sys.stdout.write(line)
    sys.stdout.flush()
    return 0


def add_lab_arguments(parser: Any) -> None:
    """The options of opening the quickstart in JupyterLab (shared with ``hypertuner demo``)."""
    parser.add_argument(
        "--folder",
        default=str(DEMO_FOLDER),
        help=f"work folder for the notebook and its runs (default ./{DEMO_FOLDER})",
    )
    parser.add_argument("--port", type=int, help="port to serve on (default 8888 or the next free)")
    parser.add_argument(
        "--no-browser", dest="browser", action="store_false", help="do not open a web browser"
    )


def open_lab(args: argparse.Namespace) -> int:
    """Serve the quickstart in JupyterLab from ``args.folder`` until stopped."""
    return open_notebook(args.folder, port=args.port, browser=args.browser)


if __name__ == "__main__":
    sys.exit(main())
