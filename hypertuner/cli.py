"""The ``hypertuner`` command: list, show and export runs, and open the demo.

::

    hypertuner ls [DIR]                                  the runs in a folder, as a table
    hypertuner show RUN                                  one run: facts, params, its keys
    hypertuner export RUN [--format csv|parquet] [-o FILE]   every point, long format
    hypertuner demo                                      the quickstart notebook in JupyterLab
    hypertuner sweep SCRIPT --space FILE --objective KEY  tune a script's params with Optuna

Usage errors exit with status 2 (argparse's convention), other failures (no such
run, an unwritable file) with 1; both print ``hypertuner: error: ...`` to stderr.
Runs still being written, or with a damaged tail, are read up to their last whole
record; a damaged run is named as such (``ls``, ``show``) or warned about
(``export``).

Run folders come from other people and machines, so nothing in them is trusted:
every line printed goes through :func:`~hypertuner._table.format_text` (a name
holding a terminal escape sequence prints as ``\\x1b[...``), ``export`` names its
default file after the run only as one plain file name in the current folder, and
CSV text cells that a spreadsheet would run as a formula are quoted with ``'``.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from itertools import repeat
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ._base import runs_dir
from ._table import format_duration, format_number, format_table, format_text, format_time
from ._version import __version__
from .errors import HypertunerError, RunNotFoundError
from .run import Run, load
from .runlist import duration, runs

__all__ = ["main"]

PROG = "hypertuner"


class _Failure(Exception):
    """A failure to report in one line, with exit status 1."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``hypertuner`` command and return its exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name; ``sys.argv[1:]`` when None.
    """
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    script_args: list[str] = []
    if argv[:1] == ["sweep"] and "--" in argv:  # the rest is the training script's
        cut = argv.index("--")
        argv, script_args = argv[:cut], argv[cut + 1 :]
    try:
        args = parser.parse_args(argv)
        args.script_args = script_args
        with warnings.catch_warnings():
            # A skipped run folder is worth one line on stderr, not a traceback-style report.
            warnings.simplefilter("always")
            warnings.showwarning = _print_warning
            return args.command(args)
    except SystemExit as stop:  # --help, --version, or a usage error argparse printed
        return stop.code if isinstance(stop.code, int) else 0 if stop.code is None else 2
    except (_Failure, HypertunerError) as exc:
        _print(f"{PROG}: error: {exc}", sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader of our output went away (`hypertuner export RUN -o - | head`).
        _silence_stdout()
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="List, show and export hypertuner runs.",
        epilog=f"'{PROG} COMMAND --help' describes each command.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    ls = commands.add_parser(
        "ls",
        help="list the runs in a folder",
        description="List the runs in a folder, oldest first, with the params that differ.",
    )
    ls.add_argument(
        "dir", nargs="?", metavar="DIR", help="the runs folder (default: $HYPERTUNER_DIR or ./runs)"
    )
    ls.set_defaults(command=_ls)

    show = commands.add_parser(
        "show",
        help="describe one run",
        description="Describe one run: its status and timing, its params, and each "
        "key's last, min and max.",
    )
    show.add_argument(
        "run", metavar="RUN", help="a run folder, or the name of a run in the runs folder"
    )
    show.set_defaults(command=_show)

    export = commands.add_parser(
        "export",
        help="write a run's points to CSV or Parquet",
        description="Write every point of a run in long format: key, step, time (ISO 8601, "
        "UTC), value. In Parquet, value is a float (booleans 0 and 1) and the points of "
        "text keys have their value in an extra text column.",
    )
    export.add_argument(
        "run", metavar="RUN", help="a run folder, or the name of a run in the runs folder"
    )
    export.add_argument(
        "--format",
        choices=("csv", "parquet"),
        help="the file format (default: parquet if FILE ends in .parquet, else csv)",
    )
    export.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write (default: RUN_NAME.csv or .parquet here; '-' writes CSV to stdout)",
    )
    export.set_defaults(command=_export, parser=export)

    demo = commands.add_parser(
        "demo",
        help="open the quickstart notebook in JupyterLab",
        description="Start JupyterLab on the quickstart notebook, which trains a small "
        "model and shows it live; Ctrl-C stops it. The same as python -m hypertuner.demo --lab.",
    )
    from .demo import add_lab_arguments

    add_lab_arguments(demo)
    demo.set_defaults(command=_demo)

    sweep = commands.add_parser(
        "sweep",
        help="tune a training script's params with Optuna",
        description="Run trials of SCRIPT (python SCRIPT --params <trial>/params.json) with "
        "params drawn from the space, prune the unpromising ones from their live runs, "
        "and print each trial as it ends. Running it again on the same --dir resumes the "
        "sweep; Ctrl-C stops it and the running trials.",
        epilog='The space file is a JSON object: {"lr": {"loguniform": [1e-4, 1]}, '
        '"dropout": {"uniform": [0, 0.5]}, "layers": {"randint": [1, 4]}, '
        '"hidden": [32, 64, 128], "epochs": 10}: a list is a choice, a plain value is fixed. '
        "Arguments after -- go to the script.",
    )
    sweep.add_argument("script", metavar="SCRIPT", help="the training script")
    sweep.add_argument("--space", required=True, metavar="FILE", help="the search space (JSON)")
    sweep.add_argument("--objective", required=True, metavar="KEY", help="the key to optimise")
    sweep.add_argument("--mode", default="min", choices=("min", "max"))
    sweep.add_argument("--summary", default="last", choices=("last", "min", "max"))
    sweep.add_argument("--trials", type=int, default=16, metavar="N")
    sweep.add_argument("--parallel", type=int, default=1, metavar="N")
    sweep.add_argument(
        "--pruner", default="median", choices=("median", "hyperband", "none"), help="(median)"
    )
    sweep.add_argument("--sampler", default="tpe", choices=("tpe", "random", "grid"))
    sweep.add_argument("--seed", type=int, default=None)
    sweep.add_argument("--dir", default=None, help="the sweep's folder (sweeps/SCRIPT-NAME)")
    sweep.set_defaults(command=_sweep)
    return parser


# -- sweep ------------------------------------------------------------------------------


def _sweep(args: argparse.Namespace) -> int:
    from .tune.space import from_json
    from .tune.sweep import Sweep

    try:
        text = Path(args.space).read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise _Failure(f"cannot read the space file {args.space!r}: {exc}") from None
    space = from_json(text, args.space)
    extra = args.script_args
    printed: set[int] = set()

    def report() -> None:  # from the controller thread: one line per trial that ended
        for trial in sweep.trials:
            if trial.state != "running" and trial.number not in printed:
                printed.add(trial.number)
                _print(_trial_line(trial, sweep), sys.stdout)

    sweep = Sweep(
        args.script,
        space,
        objective=args.objective,
        mode=args.mode,
        summary=args.summary,
        trials=args.trials,
        parallel=args.parallel,
        pruner=None if args.pruner == "none" else args.pruner,
        sampler=args.sampler,
        dir=args.dir,
        args=extra,
        seed=args.seed,
        display=False,
    )
    sweep.watch(report)
    _print(
        f"sweeping {sweep.dir}: {sweep.total} trials, {sweep.mode} {sweep.objective}", sys.stdout
    )
    try:
        sweep.wait()
    except KeyboardInterrupt:
        _print("stopped: the running trials were stopped", sys.stderr)
        return 130
    best = sweep.best
    _print(
        f"best: trial {best.number}, {sweep.objective} {format_number(best.value)}, "
        f"params {best.params}"
        if best is not None
        else "no trial completed",
        sys.stdout,
    )
    return 0 if best is not None else 1


def _trial_line(trial: Any, sweep: Any) -> str:
    value = "" if trial.value is None else f" {sweep.objective} {format_number(trial.value)}"
    where = f" at step {trial.pruned_step}" if trial.state == "pruned" else ""
    line = f"trial {trial.number} {trial.state}{where}:{value} {trial.params}"
    if trial.error:
        line += f" ({trial.error.strip().splitlines()[-1][:200]})"
    return line


# -- ls ---------------------------------------------------------------------------------


def _ls(args: argparse.Namespace) -> int:
    root = runs_dir(args.dir)
    try:
        listing = runs(root)
    except RunNotFoundError as exc:
        hint = "" if args.dir else " (give DIR, or set HYPERTUNER_DIR)"
        raise _Failure(f"{exc}{hint}") from None
    _print(repr(listing) if listing else f"no runs in {root}")
    return 0


# -- show -------------------------------------------------------------------------------


def _show(args: argparse.Namespace) -> int:
    run = _load(args.run)
    damage = run.damage  # reads the points; shown here, so not warned about
    facts = [
        ("name", run.name),
        ("status", run.status),
        ("path", str(run.path)),
        ("created", format_time(run.created, zone=True)),
        ("ended", format_time(run.ended, zone=True)),
        ("duration", format_duration(duration(run, time.time()))),
        ("points", f"{run.points:,}"),
    ]
    if damage is not None:
        facts.append(("damaged", f"{damage}; the points before that record are shown"))
    if run.info.get("error"):
        facts.append(("error", format_text(run.info["error"], 200)))
    width = max(len(label) for label, _ in facts) + 2
    lines = [f"{label:<{width}}{value}" for label, value in facts]
    params = run.info.get("params") or {}
    lines.append("params" if params else f"{'params':<{width}}none")
    lines.extend(_param_lines(params, "  "))
    lines.append("")
    lines.append(_keys_table(run) if len(run) else "no points yet")
    _print("\n".join(lines))
    return 0


def _param_lines(params: dict[str, Any], indent: str) -> Iterator[str]:
    """Nested params as ``name  value`` lines, a section's fields indented below it."""
    names = {name: format_text(name, None) for name in params}
    width = max((len(shown) for shown in names.values()), default=0) + 2
    for name, value in params.items():
        if isinstance(value, dict) and value:
            yield f"{indent}{names[name]}"
            yield from _param_lines(value, indent + "  ")
        else:
            yield f"{indent}{names[name]:<{width}}{format_text(repr(value), 60)}"


def _keys_table(run: Run) -> str:
    rows = []
    for key, series in run.items():
        count = len(series)
        if series.kind == "number" and count:
            last, low, high = (format_number(v) for v in series.stats())
        else:
            last, low, high = (format_text(series.values[-1]) if count else "-"), "", ""
        rows.append((key, series.kind, f"{count:,}", last, low, high))
    return format_table(("key", "kind", "points", "last", "min", "max"), rows, right=(2, 3, 4, 5))


# -- export -----------------------------------------------------------------------------


def _export(args: argparse.Namespace) -> int:
    output = args.output
    fmt = args.format or ("parquet" if output and output.endswith(".parquet") else "csv")
    if output == "-" and fmt == "parquet":
        args.parser.error("'-o -' writes CSV only; give a file name for parquet")
    run = _load(args.run)
    points = run.points  # read them all first: a damaged file fails before we write
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401  (checked before anything is written)
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            raise _Failure("parquet export needs pyarrow: pip install pyarrow") from None
    if output == "-":
        _write_csv(run, _Encodable(sys.stdout))
        return 0
    path = Path(output or f"{_safe_file_name(run.name)}.{fmt}")
    try:
        if fmt == "csv":
            with open(path, "w", encoding="utf-8", errors="backslashreplace", newline="") as handle:
                _write_csv(run, handle)
        else:
            _write_parquet(run, path)
    except OSError as exc:
        raise _Failure(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    _print(f"wrote {points:,} point{'s' * (points != 1)} of run {run.name} to {path}")
    return 0


def _safe_file_name(name: str) -> str:
    """A run's name as one plain file name in the current folder, for ``export``.

    Only the last component of a path is kept, path separators and characters that
    are not printable become ``_``, leading dots go (no ``..``, no hidden file), and
    the result is cut to 200 bytes of UTF-8; an empty result is ``run``.

    Examples
    --------
    >>> _safe_file_name("../../../escaped")
    'escaped'
    """
    last = re.split(r"[/\\]", name)[-1]
    cleaned = "".join(char if char.isprintable() else "_" for char in last).lstrip(".")
    cleaned = cleaned.encode("utf-8", "ignore")[:200].decode("utf-8", "ignore")
    return cleaned or "run"


# A CSV cell a spreadsheet would run as a formula starts with one of these.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(text: str) -> str:
    """A text cell a spreadsheet shows as text: a formula-like start gets a ``'``."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _write_csv(run: Run, handle: TextIO) -> None:
    # The csv module quotes fields holding a character of the line terminator only: with
    # "\r\n" a text holding a lone CR is quoted too (else readers split its row), and
    # _RowsEndInLF writes each row's end as "\n".
    writer = csv.writer(_RowsEndInLF(handle), lineterminator="\r\n")
    writer.writerow(("key", "step", "time", "value"))
    for key, series in run.items():
        steps = [_step_text(step) for step in series.steps.tolist()]
        if series.kind == "number":
            values = [repr(value) for value in series.values.tolist()]  # exact; nan, inf kept
        elif series.kind == "bool":
            values = ["true" if value else "false" for value in series.values.tolist()]
        else:
            values = [_text_cell(value) for value in series.values.tolist()]
        cells = zip(repeat(_text_cell(key)), steps, _iso_times(series.walls).tolist(), values)
        writer.writerows(cells)


class _RowsEndInLF:
    """Passes rows from csv.writer on with their "\r\n" ending written as "\n"."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, row: str) -> int:
        # csv.writer writes each row in one call, ending in its terminator.
        return self._stream.write(row[:-2] + "\n" if row.endswith("\r\n") else row)


class _Encodable:
    """A text stream that writes what its encoding cannot hold as backslash escapes.

    Text values may hold lone surrogates (the format keeps them); printed as they
    are, they would make writing CSV to stdout fail halfway.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._encoding = getattr(stream, "encoding", None) or "utf-8"

    def write(self, text: str) -> int:
        safe = text.encode(self._encoding, "backslashreplace").decode(self._encoding)
        return self._stream.write(safe)


def _write_parquet(run: Run, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    items = list(run.items())
    counts = [len(series) for _, series in items]
    texts = [series.kind == "text" for _, series in items]
    # Text rows have no number: their value is null, and their text goes in "text".
    numbers = [
        np.full(count, np.nan) if is_text else series.values.astype(np.float64)
        for (_, series), count, is_text in zip(items, counts, texts, strict=True)
    ]
    columns = {
        "key": pa.array(
            np.repeat(np.array([key for key, _ in items], dtype=object), counts), pa.string()
        ),
        "step": pa.array(_concat(series.steps for _, series in items), pa.float64()),
        "time": pa.array(
            _micros(_concat(series.walls for _, series in items)), pa.timestamp("us", tz="UTC")
        ),
        "value": pa.array(
            _concat(numbers), pa.float64(), mask=np.repeat(texts, counts).astype(bool)
        ),
    }
    if any(texts):
        text = _concat(
            series.values if is_text else np.full(count, None, dtype=object)
            for (_, series), count, is_text in zip(items, counts, texts, strict=True)
        )
        columns["text"] = pa.array(text, pa.string(), from_pandas=True)
    pq.write_table(pa.table(columns), path)


def _concat(arrays: Iterator[np.ndarray]) -> np.ndarray:
    parts = list(arrays)
    return np.concatenate(parts) if parts else np.empty(0)


def _micros(walls: np.ndarray) -> np.ndarray:
    """Seconds since the epoch as whole microseconds (int64)."""
    return np.round(np.asarray(walls, np.float64) * 1e6).astype(np.int64)


def _iso_times(walls: np.ndarray) -> np.ndarray:
    """ISO 8601 UTC times to the microsecond: ``2026-11-26T10:15:30.250000Z``."""
    return np.datetime_as_string(_micros(walls).astype("datetime64[us]"), unit="us", timezone="UTC")


def _step_text(step: float) -> str:
    """A step as written: ``3`` for a whole number, else the float's shortest form."""
    return str(int(step)) if step.is_integer() and abs(step) < 2**53 else repr(step)


# -- demo -------------------------------------------------------------------------------


def _demo(args: argparse.Namespace) -> int:
    from .demo import open_lab

    try:
        return open_lab(args)
    except FileNotFoundError as exc:
        raise _Failure(str(exc)) from None


# -- shared -----------------------------------------------------------------------------


def _load(name: str) -> Run:
    try:
        return load(name)
    except RunNotFoundError:
        what = "a file, neither" if Path(name).is_file() else "neither"
        raise _Failure(
            f"no run {name!r}: it is {what} a run folder "
            f"nor the name of a run in {str(runs_dir())!r}"
        ) from None


def _print(text: str, stream: TextIO | None = None) -> None:
    """Print ``text`` line by line, each made safe for a terminal (see format_text)."""
    lines = (format_text(line, None) for line in text.split("\n"))
    print("\n".join(lines), file=_Encodable(sys.stdout if stream is None else stream))


def _print_warning(message: Warning | str, *args: Any, **kwargs: Any) -> None:
    _print(f"{PROG}: warning: {message}", sys.stderr)


def _silence_stdout() -> None:
    """Send what is left of stdout nowhere, so exiting does not fail on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
