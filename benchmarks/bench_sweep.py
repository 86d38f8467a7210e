"""Benchmark of sweeps: what the controller costs per trial, and how fast a prune stops.

1. Overhead per trial: N trials of a script that logs one point, run one at a time
   by the sweep (random sampler, no pruner), against the same N processes started
   directly, one after the other. The difference over N is what the sweep adds per
   trial: Optuna's ask and tell on the journal file, the params file, following the
   run, the launcher. Printed for the random and the TPE sampler.
2. Prune latency: a script logs its objective every 10 ms and, at a step the
   benchmark does not know in advance, a value above a ThresholdPruner's limit.
   Printed from that point's wall time to the stop request (the controller reading
   the run file and deciding), and from the request to the process's end: for a
   script that checks ``logger.should_stop`` and for one that never does (ended by
   the launcher after the grace period, 1 s by default).

Run it from the repository root::

    python benchmarks/bench_sweep.py            # 20 trials, 5 prunes each
    python benchmarks/bench_sweep.py --quick    # 4 trials, 1 prune each: the CI smoke test
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import optuna

import hypertuner

ONE_POINT = """
import hypertuner
p = hypertuner.params({"x": 0.5})
with hypertuner.Logger() as log:
    log.log({"loss": p.x}, 0)
"""

# Logs 0.0 until step `bad`, then 100.0 (over the pruner's limit) until stopped.
SPIKE = """
import time, hypertuner
p = hypertuner.params({"bad": 50, "check": True})
with hypertuner.Logger(flush_every=0.1) as log:
    step = 0
    while True:
        log.log({"loss": 100.0 if step >= p.bad else 0.0}, step)
        if p.check and log.should_stop:
            break
        step += 1
        time.sleep(0.01)
"""


def overhead(folder: Path, trials: int, sampler: str) -> tuple[float, float]:
    """Seconds per trial run directly and by a sweep."""
    script = folder / "one.py"
    script.write_text(textwrap.dedent(ONE_POINT))
    params = folder / "p.json"
    params.write_text(json.dumps({"x": 0.5}))
    started = time.perf_counter()
    for _ in range(trials):
        subprocess.run(
            [sys.executable, str(script), "--params", str(params)],
            check=True,
            env={"HYPERTUNER_DIR": str(folder / f"direct-{sampler}")} | _env(),
        )
    direct = (time.perf_counter() - started) / trials
    started = time.perf_counter()
    sweep = hypertuner.sweep(
        script,
        {"x": hypertuner.uniform(0, 1)},
        objective="loss",
        trials=trials,
        pruner=None,
        sampler=sampler,
        seed=0,
        dir=folder / f"sweep-{sampler}",
        display=False,
    )
    sweep.wait()
    swept = (time.perf_counter() - started) / trials
    assert all(t.state == "complete" for t in sweep.trials), sweep.trials
    return direct, swept


def prune_latency(folder: Path, prunes: int, check: bool) -> tuple[list[float], list[float]]:
    """(point -> stop request, stop request -> process ended) per pruned trial."""
    script = folder / "spike.py"
    script.write_text(textwrap.dedent(SPIKE))
    sweep = hypertuner.sweep(
        script,
        {"bad": list(range(40, 40 + prunes * 7, 7)), "check": check},
        objective="loss",
        trials=prunes,
        sampler="grid",
        pruner=optuna.pruners.ThresholdPruner(upper=50.0),
        dir=folder / f"prune-{check}",
        display=False,
    )
    sweep.wait()
    decide, stop = [], []
    for trial in sweep.trials:
        assert trial.state == "pruned", trial
        run = trial.run
        series = run["loss"]
        spiked = float(series.walls[(series.values > 50).argmax()])
        asked = json.loads((trial.folder / "stop.json").read_text())["time"]
        decide.append(asked - spiked)
        stop.append(trial.stop_seconds)
    return decide, stop


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 trials and 1 prune per case")
    args = parser.parse_args()
    trials = 4 if args.quick else 20
    prunes = 1 if args.quick else 5
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"Overhead per trial ({trials} trials of a one-point script, one at a time)")
        print(f"{'sampler':<10}{'direct s/trial':>16}{'swept s/trial':>16}{'overhead s':>13}")
        for sampler in ("random", "tpe"):
            direct, swept = overhead(folder, trials, sampler)
            print(f"{sampler:<10}{direct:>16.3f}{swept:>16.3f}{swept - direct:>13.3f}")
        print()
        print(f"Prune latency ({prunes} pruned trials per row, median and max, seconds)")
        print(f"{'script':<28}{'point -> request':>20}{'request -> stopped':>22}")
        for check, label in ((True, "checks should_stop"), (False, "never checks (grace 1 s)")):
            decide, stop = prune_latency(folder, prunes, check)
            print(
                f"{label:<28}{statistics.median(decide):>11.2f} / {max(decide):<6.2f}"
                f"{statistics.median(stop):>13.2f} / {max(stop):<6.2f}"
            )


if __name__ == "__main__":
    main()
