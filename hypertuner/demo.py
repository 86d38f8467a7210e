"""A small model trained with numpy alone, logged with hypertuner.

Run it as ``python -m hypertuner.demo [--params FILE.json]``, or with ``--lab`` to
open the quickstart notebook in JupyterLab and watch it train live. It trains a
two-layer network on a synthetic two-spiral problem with mini-batch SGD and logs
train/val loss and accuracy, the learning rate, the phase and a best-so-far flag.
The notebooks call :func:`train` directly.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import HypertunerError
from .logger import Logger
from .params import Params, params

__all__ = ["DEFAULTS", "main", "open_quickstart", "quickstart_path", "spirals", "train"]

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


def train(config: Params | dict[str, Any] | None = None, logger: Logger | None = None) -> Logger:
    """Train the spiral classifier, logging every step; returns the (closed) logger.

    Parameters
    ----------
    config : Params or dict, optional
        Overrides of :data:`DEFAULTS` (lr, hidden, batch, steps, warmup, seed, pause).
    logger : Logger, optional
        Where to log; a new one recording ``config`` is made if omitted.
    """
    cfg = Params({**DEFAULTS, **dict(config or {})})
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
            if cfg.pause:
                time.sleep(cfg.pause)
    return logger


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry: train once and print where the run went."""
    parser = argparse.ArgumentParser(
        prog="python -m hypertuner.demo", description="Train a small numpy model and log it."
    )
    parser.add_argument(
        "--params", metavar="FILE.json", help="hyperparameters overriding the defaults"
    )
    parser.add_argument("--dir", help="folder for the run (default $HYPERTUNER_DIR or ./runs)")
    parser.add_argument(
        "--lab", action="store_true", help="open the quickstart notebook in JupyterLab instead"
    )
    args = parser.parse_args(argv)
    if args.lab:
        return open_quickstart()
    try:
        config = params(DEFAULTS, argv=["--params", args.params] if args.params else [])
    except HypertunerError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    logger = train(config, Logger(dir=args.dir, params=config))
    run_val = logger["val/loss"].values
    print(f"run {logger.name}: {logger.points:,} points in {logger.path}")
    print(
        f"val/loss {run_val[0]:.3f} -> {run_val[-1]:.3f}, val/acc {logger['val/acc'].values[-1]:.3f}"
    )
    return 0


def quickstart_path() -> Path:
    """The quickstart notebook: in notebooks/ of a checkout, or shipped in the package."""
    here = Path(__file__).resolve().parent
    for candidate in (
        here.parent / "notebooks" / "quickstart.ipynb",
        here / "notebooks" / "quickstart.ipynb",
    ):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("the quickstart notebook is not installed with this copy of hypertuner")


def open_quickstart() -> int:
    """Start JupyterLab on the quickstart notebook; returns its exit code."""
    notebook = quickstart_path()
    if importlib.util.find_spec("jupyterlab") is None:
        print(
            "JupyterLab is not installed: pip install 'hypertuner[demo]' (or jupyterlab)",
            file=sys.stderr,
        )
        return 2
    command = [sys.executable, "-m", "jupyterlab", str(notebook)]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # JupyterLab refuses root unless told
    return subprocess.call(command, cwd=notebook.parent)


if __name__ == "__main__":
    sys.exit(main())
