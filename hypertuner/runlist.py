"""The runs in a folder: listing, filtering, summarising and following them.

:func:`runs` reads only each run's ``run.json``; a run reads its points when first
asked for, and :meth:`RunList.refresh` reads only what was appended since.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ._base import runs_dir
from ._table import format_duration, format_table, format_text, format_time
from .errors import HypertunerError, HypertunerWarning, ParamsError, RunNotFoundError
from .run import Run
from .runfile import DATA_FILE
from .runinfo import INFO_FILE, STATUSES
from .runreader import count_points
from .series import require_pandas

__all__ = ["RunList", "duration", "flat_params", "runs"]

_MISSING = object()  # a param a run does not have


class RunList(list):
    """Runs, oldest first; prints as a table, filters, summarises and refreshes.

    :func:`runs` makes one for a folder. It is a plain ``list`` of :class:`Run`
    otherwise: index it, loop over it, ``len()`` it.

    Examples
    --------
    >>> runs = hypertuner.runs()
    >>> runs.filter(status="finished", **{"model.hidden": 64}).varying()
    ['lr', 'seed']
    >>> runs.summary(["val/loss"]).sort_values("val/loss/min")
    """

    # Where refresh() looks for runs: a folder (a list from runs()), or the list a
    # filter was applied to, with the test it applied. A list made otherwise (by
    # hand, or a slice) has neither and refresh() only updates the runs it holds.
    _dir: Path | None = None
    _source: RunList | None = None
    _test: Callable[[Run], bool] | None = None

    def __getitem__(self, index: Any) -> Any:
        found = super().__getitem__(index)
        return RunList(found) if isinstance(index, slice) else found

    # -- selecting --------------------------------------------------------------------

    def filter(self, predicate: Callable[[Run], bool] | None = None, /, **criteria: Any) -> RunList:
        """The runs that pass a test, oldest first.

        Parameters
        ----------
        predicate : callable, optional
            A function of a :class:`Run` returning true for the runs to keep.
        **criteria
            ``status="finished"`` keeps runs of that status; any other name keeps
            runs whose hyperparameter of that name equals the value. Nested
            parameters go by dotted names, ``**{"model.hidden": 64}``. A run without
            the parameter does not match. All conditions must hold.

        Returns
        -------
        RunList
            The matching runs. Its :meth:`refresh` refreshes this list and applies
            the same test again, so runs that start to match join it.

        Raises
        ------
        TypeError
            If ``predicate`` is not callable.
        ValueError
            If ``status`` is not one of the statuses a run can have.
        ParamsError
            If a parameter is named that no run in the list has, as a leaf or a
            section (likely a typo); the message lists the known ones. An empty
            list raises nothing, having nothing to filter.

        Examples
        --------
        >>> runs.filter(status="finished", lr=0.01)
        >>> runs.filter(lambda run: run.params.get("lr", 0) > 0.001)
        """
        if predicate is not None and not callable(predicate):
            raise TypeError(
                "filter() takes a function of a run, or keyword arguments such as "
                f"status='finished' (got {predicate!r} that is {type(predicate).__name__})"
            )
        if "status" in criteria and criteria["status"] not in STATUSES:
            allowed = ", ".join(repr(status) for status in STATUSES)
            raise ValueError(f"status must be one of {allowed} (got {criteria['status']!r})")
        for name in criteria:
            if name != "status" and self and all(_param(run, name) is _MISSING for run in self):
                known = dict.fromkeys(param for run in self for param in flat_params(run))
                raise ParamsError(
                    f"unknown parameter {name!r}; known parameters: {', '.join(known) or 'none'}"
                )

        def test(run: Run) -> bool:
            return _meets(run, criteria) and (predicate is None or bool(predicate(run)))

        selected = RunList(run for run in self if test(run))
        selected._source, selected._test = self, test
        return selected

    def varying(self) -> list[str]:
        """The hyperparameters whose values differ between these runs.

        Nested parameters are named with dots (``model.hidden``). A parameter that
        some runs have and others lack varies too. The order is that in which the
        names first appear, oldest run first.
        """
        flats = [flat_params(run) for run in self]
        names = dict.fromkeys(name for flat in flats for name in flat)
        first = flats[0] if flats else {}
        return [
            name
            for name in names
            if any(not _equal(f.get(name, _MISSING), first.get(name, _MISSING)) for f in flats)
        ]

    # -- summarising ------------------------------------------------------------------

    def summary(self, metrics: str | Iterable[str] | None = None) -> Any:
        """One row per run: status, timing, hyperparameters and metric statistics.

        This reads every run's points (each run reads its file once and keeps them).
        Runs whose points file is damaged or cannot be read are left out, with one
        :class:`~hypertuner.HypertunerWarning` naming them and why.

        Parameters
        ----------
        metrics : str or iterable of str, optional
            The keys to summarise. By default every numeric key of any run; a key
            named here may also be a bool key (counted as 0 and 1).

        Returns
        -------
        pandas.DataFrame
            Indexed by run name. Columns: ``status``, ``created`` (UTC datetime),
            ``duration`` (seconds, so far for a running run), ``points``, then every
            hyperparameter by dotted name, those that vary first (one that shares
            a name with an earlier column is called ``params.<name>``), then for each
            metric ``<key>/last``, ``<key>/min`` and ``<key>/max``. Missing values
            are NaN; min and max skip NaN.

        Raises
        ------
        ImportError
            If pandas is not installed.
        """
        pd = require_pandas("summary()")
        kept = RunList()
        left_out = []
        for run in self:
            problem = _problem(run)
            if problem is None:
                kept.append(run)
            else:
                left_out.append(f"{run.name!r} ({problem})")
        if left_out:
            warnings.warn(
                f"summary() left out {len(left_out)} damaged run{'s' * (len(left_out) > 1)}: "
                f"{'; '.join(left_out)}",
                HypertunerWarning,
                stacklevel=2,
            )
        return kept._summary(pd, metrics)

    def _summary(self, pd: Any, metrics: str | Iterable[str] | None) -> Any:
        now = time.time()
        created = np.array([run.created for run in self], float)
        columns: dict[str, Any] = {
            "status": [run.status for run in self],
            "created": pd.to_datetime(created, unit="s", utc=True).as_unit("ns"),
            "duration": np.array([duration(run, now) for run in self], float),
            "points": np.array([run.points for run in self], np.int64),
        }
        flats = [flat_params(run) for run in self]
        varying = self.varying()
        every = dict.fromkeys(name for flat in flats for name in flat)
        for name in [*varying, *(name for name in every if name not in varying)]:
            column = f"params.{name}" if name in columns else name
            columns[column] = [flat.get(name, np.nan) for flat in flats]
        if metrics is None:
            keys = dict.fromkeys(
                key for run in self for key, kind in run.kinds.items() if kind == "number"
            )
        else:
            keys = dict.fromkeys([metrics] if isinstance(metrics, str) else metrics)
        summaries = [run.summaries() for run in self]  # once per run, not once per key
        missing = (0, math.nan, math.nan, math.nan)
        for key in keys:
            stats = np.array(
                [summary.get(key, missing)[1:] for summary in summaries], float
            ).reshape(len(self), 3)
            for i, stat in enumerate(("last", "min", "max")):
                columns[f"{key}/{stat}"] = stats[:, i]
        return pd.DataFrame(columns, index=pd.Index([run.name for run in self], name="name"))

    def __repr__(self) -> str:
        if not self:
            return "RunList([])"
        shown = self.varying() or list(dict.fromkeys(n for run in self for n in flat_params(run)))
        now = time.time()
        rows = []
        notes = []
        for run in self:
            flat = flat_params(run)
            params = ", ".join(f"{name}={flat[name]!r}" for name in shown if name in flat)
            points, problem = _points(run)
            if points is None:
                count = "?"
                notes.append(f"{run.name}: cannot read its points: {problem}")
            elif problem is not None:
                count = f"{points:,} damaged"
                notes.append(f"{run.name}: {problem}")
            else:
                count = f"{points:,}"
            rows.append(
                (
                    run.name,
                    run.status,
                    format_time(run.created),
                    format_duration(duration(run, now)),
                    count,
                    params,
                )
            )
        header = ("name", "status", "started", "duration", "points", "params")
        table = format_table(header, rows, right=(3, 4))
        if notes:
            # Below the table: the reasons are too long for a column.
            table += "\n\n" + "\n".join(format_text(note, None) for note in notes)
        return table

    # -- following ----------------------------------------------------------------------

    def refresh(self) -> int:
        """Catch up with the disk; return how many new points were read.

        A list from :func:`runs` lists its folder again, so new runs join it (their
        points are read when first needed) and runs whose folder was deleted leave
        it. Every run re-reads ``run.json`` (its status may have changed), and runs
        whose points were already read read what was appended since, and only that.
        A list from :meth:`filter` refreshes the list it was taken from, then applies
        its test again.
        """
        counts, problems = self._update()
        for problem in problems:
            warnings.warn(problem, HypertunerWarning, stacklevel=2)
        return sum(counts.get(run, 0) for run in self)

    def _update(self) -> tuple[dict[Run, int], list[str]]:
        """Refresh in place; return new points per run and the folders skipped."""
        if self._source is not None and self._test is not None:
            counts, problems = self._source._update()
            self[:] = [run for run in self._source if self._test(run)]
            return counts, problems
        counts: dict[Run, int] = {}
        problems: list[str] = []
        for run in list(self):
            try:
                if run.loaded or run._known:  # read, or counted from run.json's summary
                    counts[run] = run.refresh()
                else:
                    run.reload_info()  # status and end time; points are read when needed
            except RunNotFoundError:
                self.remove(run)  # its folder was deleted
            except (HypertunerError, OSError) as exc:
                problems.append(f"could not refresh run {str(run.path)!r}: {exc}")
        if self._dir is not None and self._dir.is_dir():
            known = {run.path.name for run in self}
            found, skipped = _open_runs(self._dir, skip=known)
            problems.extend(skipped)
            if found:
                self.extend(found)
                self.sort(key=_age)
        return counts, problems


def runs(dir: str | os.PathLike[str] | None = None) -> RunList:
    """List the runs in a folder (default ``$HYPERTUNER_DIR`` or ``./runs``), oldest first.

    Only each run's ``run.json`` is read here; a run reads its points when first
    asked for. Folders that are not runs are skipped, and so, with a
    :class:`~hypertuner.HypertunerWarning` naming them, are runs whose ``run.json``
    cannot be read.

    Raises
    ------
    RunNotFoundError
        If the folder does not exist.
    """
    root = runs_dir(dir)
    if not root.is_dir():
        raise RunNotFoundError(f"no runs folder at {str(root)!r}")
    found, problems = _open_runs(root, skip=set())
    for problem in problems:
        warnings.warn(problem, HypertunerWarning, stacklevel=2)
    listing = RunList(sorted(found, key=_age))
    listing._dir = root
    return listing


def _open_runs(root: Path, skip: set[str]) -> tuple[list[Run], list[str]]:
    """Open the run folders in ``root`` not named in ``skip``; also say which failed."""
    found: list[Run] = []
    problems: list[str] = []
    for child in sorted(root.iterdir()):
        # exists(), not is_file(): a run.json that is a folder is a damaged run to report.
        if child.name in skip or not (child / INFO_FILE).exists():
            continue
        try:
            run = Run(child)
        except RunNotFoundError:
            continue  # removed since it was listed (a logger that never logged, say)
        except HypertunerError as exc:
            problems.append(
                f"skipped run folder {str(child)!r}: cannot read its {INFO_FILE} ({exc})"
            )
            continue
        found.append(run)
    return found, problems


def _age(run: Run) -> tuple[float, str]:
    return run.created, run.name  # of the types read_info checked


def flat_params(run: Run) -> dict[str, Any]:
    """A run's hyperparameters as plain values under dotted names."""
    return _flatten(run.info.get("params") or {})


def _flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _param(run: Run, name: str) -> Any:
    """The hyperparameter under a dotted name (a leaf or a whole section), or _MISSING."""
    flat = flat_params(run)
    if name in flat:
        return flat[name]
    node: Any = run.info.get("params") or {}
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _equal(a: Any, b: Any) -> bool:
    """Equality of two param values, where True is not 1 and missing is only missing."""
    if a is _MISSING or b is _MISSING:
        return a is b
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return bool(a == b)


def _meets(run: Run, criteria: dict[str, Any]) -> bool:
    for name, wanted in criteria.items():
        found = run.status if name == "status" else _param(run, name)
        if not _equal(found, wanted):
            return False
    return True


def duration(run: Run, now: float) -> float:
    """Seconds from start to end; so far if running; to the last write if crashed."""
    if run.ended is not None:
        return run.ended - run.created
    if run.status == "running":
        return now - run.created
    times = []
    for name in (DATA_FILE, INFO_FILE):
        try:
            times.append((run.path / name).stat().st_mtime)
        except OSError:
            pass
    return max(times) - run.created if times else math.nan


def _points(run: Run) -> tuple[int | None, str | None]:
    """How many points a run holds, and its damage, without keeping them if not read yet.

    The count is None, with the reason, for a points file that cannot be read at all.
    """
    try:
        if run.saved_summary() is not None:
            return run.points, None  # closed whole, unchanged since
        if run.loaded:
            return run.points, run.damage
        return count_points(run.path / DATA_FILE, final=run.status != "running")
    except (HypertunerError, OSError) as exc:
        return None, str(exc)


def _problem(run: Run) -> str | None:
    """Why a run's points cannot all be read (damage, an unreadable file), or None."""
    if run.saved_summary() is not None:
        return None  # closed whole, and its points file unchanged since
    try:
        return run.damage
    except (HypertunerError, OSError) as exc:
        return str(exc)
